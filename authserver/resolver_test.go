package authserver

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/miekg/dns"

	"github.com/ptzone/ptzone/dnssec"
	"github.com/ptzone/ptzone/internal/testkit"
	"github.com/ptzone/ptzone/internal/tooltest"
	"github.com/ptzone/ptzone/zone"
)

// signZone signs a zone text of any origin with new keys, KSK and ZSK,
// NSEC3 with opt-out unless told otherwise, at the real time: unbound
// judges the signatures by its clock.
func signZone(t *testing.T, origin, text string, mod ...func(*dnssec.SignOptions)) (*zone.Zone, []*dnssec.Key) {
	t.Helper()
	o := zone.MustParseName(origin)
	keys := testkit.GenerateKeys(t, o, testNow.Add(-time.Hour))
	return testkit.Sign(t, testkit.ReadZone(t, o, text), keys, time.Now(), mod...), keys
}

// dsLine returns the DS record of a zone's KSK, as a zone file line.
func dsLine(keys []*dnssec.Key) string {
	for _, k := range keys {
		if k.SEP() {
			return k.DNSKEY.ToDS(dns.SHA256).String() + "\n"
		}
	}
	return ""
}

// serveZones starts a server with the zones on a loopback port.
func serveZones(t *testing.T, zones ...*zone.Zone) string {
	t.Helper()
	snap, err := NewSnapshot(zones...)
	if err != nil {
		t.Fatal(err)
	}
	return listen(t, &testZone{snap: snap}, Config{})
}

// TestValidatingResolver: unbound, validating from a trust anchor for a
// test root on loopback that delegates pt to ptzone, finds a name in a
// signed child of pt secure, one in an unsigned child insecure (the
// opt-out span proves it has no DS), a child whose DS signature in pt was
// damaged bogus (SERVFAIL); and a name pt lacks a validated NXDOMAIN: an
// insecure one, as RFC 5155 §9.2 has it when an opt-out span covers the
// next closer name (every span of an opt-out zone is one), and bogus when
// the signature over that span is damaged; in the child, signed without
// opt-out, a secure one. Art 1.1 of the Rules: a domain is delegated to
// its nameservers, and DNSSEC carries its DS (Art 5).
func TestValidatingResolver(t *testing.T) {
	unbound := tooltest.Require(t, "unbound")
	noOptOut := func(o *dnssec.SignOptions) { o.NSEC3.OptOut = false }
	child := func(name string, signed bool) (*zone.Zone, []*dnssec.Key) {
		text := fmt.Sprintf("%[1]s 3600 IN SOA ns.%[1]s hostmaster.%[1]s 1 1800 900 604800 600\n%[1]s 3600 IN NS ns.%[1]s\nns.%[1]s 3600 IN A 127.0.0.1\nwww.%[1]s 3600 IN A 192.0.2.1\n", name)
		if !signed {
			return testkit.ReadZone(t, zone.MustParseName(name), text), nil
		}
		return signZone(t, name, text, noOptOut)
	}
	seguro, seguroKeys := child("seguro.pt.", true)
	quebrado, quebradoKeys := child("quebrado.pt.", true)
	inseguro, _ := child("inseguro.pt.", false)

	ptText := `pt. 3600 IN SOA a.dns.pt. hostmaster.dns.pt. 1 1800 900 604800 600
pt. 172800 IN NS a.dns.pt.
a.dns.pt. 172800 IN A 127.0.0.1
seguro.pt. 86400 IN NS ns.seguro.pt.
ns.seguro.pt. 86400 IN A 127.0.0.1
quebrado.pt. 86400 IN NS ns.quebrado.pt.
ns.quebrado.pt. 86400 IN A 127.0.0.1
inseguro.pt. 86400 IN NS ns.inseguro.pt.
ns.inseguro.pt. 86400 IN A 127.0.0.1
` + strings.Replace(dsLine(seguroKeys), "\t", " ", -1) + strings.Replace(dsLine(quebradoKeys), "\t", " ", -1)
	ptZone, ptKeys := signZone(t, "pt.", ptText)
	// A flipped octet in the signature over quebrado.pt's DS.
	ptZone = testkit.DamageSignatures(t, ptZone, "quebrado.pt.", zone.TypeDS)
	// Two names pt lacks whose next closer names fall in spans no other
	// case's proof uses: the signature over the second's span is damaged.
	probe, err := NewSnapshot(ptZone)
	if err != nil {
		t.Fatal(err)
	}
	coverOf := func(name string) string {
		a := &answerer{sv: probe.zones[0]}
		return probe.zones[0].z.Owner(probe.zones[0].chain.cover(a.hash(zone.MustParseName(name)))).String()
	}
	used := map[string]bool{coverOf("inseguro.pt."): true, coverOf("*.pt."): true}
	var gone, bogus string
	for i := 0; bogus == ""; i++ {
		name := fmt.Sprintf("nx%d.pt.", i)
		if c := coverOf(name); !used[c] {
			used[c] = true
			if gone == "" {
				gone = name
			} else {
				bogus = name
				ptZone = testkit.DamageSignatures(t, ptZone, c, zone.TypeNSEC3)
			}
		}
	}

	rootText := `. 86400 IN SOA a.root-servers.test. nstld.test. 2026112201 1800 900 604800 86400
. 518400 IN NS a.root-servers.test.
a.root-servers.test. 518400 IN A 127.0.0.1
pt. 172800 IN NS a.dns.pt.
a.dns.pt. 172800 IN A 127.0.0.1
` + strings.Replace(dsLine(ptKeys), "\t", " ", -1)
	root, rootKeys := signZone(t, ".", rootText)

	rootAddr := serveZones(t, root)
	ptAddr := serveZones(t, ptZone)
	childAddr := serveZones(t, seguro, quebrado, inseguro)

	var anchor string
	for _, k := range rootKeys {
		if k.SEP() {
			anchor = strings.Replace(k.DNSKEY.String(), "\t", " ", -1)
		}
	}
	dir := t.TempDir()
	port := tooltest.FreePort(t)
	at := func(addr string) string { return strings.Replace(addr, ":", "@", 1) }
	conf := fmt.Sprintf(`server:
    interface: 127.0.0.1@%[2]d
    port: %[2]d
    do-not-query-localhost: no
    username: ""
    chroot: ""
    directory: "%[1]s"
    pidfile: "%[1]s/unbound.pid"
    use-syslog: no
    verbosity: 1
    val-log-level: 2
    do-ip6: no
    qname-minimisation: no
    trust-anchor: "%[3]s"
    module-config: "validator iterator"
    val-permissive-mode: no
remote-control:
    control-enable: no
stub-zone:
    name: "."
    stub-addr: %[4]s
stub-zone:
    name: "pt."
    stub-addr: %[5]s
stub-zone:
    name: "seguro.pt."
    stub-addr: %[6]s
stub-zone:
    name: "quebrado.pt."
    stub-addr: %[6]s
stub-zone:
    name: "inseguro.pt."
    stub-addr: %[6]s
`, dir, port, anchor, at(rootAddr), at(ptAddr), at(childAddr))
	confPath := filepath.Join(dir, "unbound.conf")
	if err := os.WriteFile(confPath, []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	log := tooltest.Start(t, unbound, "-d", "-c", confPath)
	resolver := fmt.Sprintf("127.0.0.1:%d", port)

	ask := func(name string) *dns.Msg {
		t.Helper()
		c := &dns.Client{Timeout: 3 * time.Second}
		q := new(dns.Msg)
		q.SetQuestion(name, dns.TypeA)
		q.SetEdns0(1232, true)
		q.AuthenticatedData = true
		var last error
		for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
			r, _, err := c.Exchange(q, resolver)
			if err == nil {
				return r
			}
			last = err
		}
		t.Fatalf("unbound does not answer %s: %v\n%s", name, last, log())
		return nil
	}
	for _, c := range []struct {
		name  string
		rcode int
		ad    bool
	}{
		{"www.seguro.pt.", dns.RcodeSuccess, true},          // secure
		{"nao-existe.seguro.pt.", dns.RcodeNameError, true}, // secure: no opt-out
		{"www.inseguro.pt.", dns.RcodeSuccess, false},       // insecure: pt proves no DS
		{gone, dns.RcodeNameError, false},                   // insecure: an opt-out span
		{bogus, dns.RcodeServerFailure, false},              // its span's signature damaged
		{"www.quebrado.pt.", dns.RcodeServerFailure, false}, // its DS's signature damaged
	} {
		r := ask(c.name)
		if r.Rcode != c.rcode || r.AuthenticatedData != c.ad {
			t.Errorf("%s: %s, AD %v; want %s, AD %v\n%s", c.name, dns.RcodeToString[r.Rcode], r.AuthenticatedData,
				dns.RcodeToString[c.rcode], c.ad, log())
		}
		if c.rcode == dns.RcodeSuccess && (len(r.Answer) == 0 || r.Answer[0].(*dns.A).A.String() != "192.0.2.1") {
			t.Errorf("%s: answer %v", c.name, r.Answer)
		}
	}
}
