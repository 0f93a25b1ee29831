package authserver

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/miekg/dns"

	"github.com/ptzone/ptzone/internal/dnstest"
	"github.com/ptzone/ptzone/internal/tooltest"
	"github.com/ptzone/ptzone/zone"
)

// differentialPT returns a .pt-shaped zone in master-file text: n
// delegations, every fifth secure, every seventh with in-domain glue (two
// addresses), every eleventh served by another's in-domain server
// (sibling glue), every thirteenth two labels deep under an empty
// non-terminal; and a few authoritative names.
func differentialPT(n int) (text string, delegations []string) {
	var b strings.Builder
	b.WriteString(testPT)
	for i := range n {
		name := fmt.Sprintf("dominio%d.pt.", i)
		if i%13 == 0 {
			name = fmt.Sprintf("sub.grupo%d.pt.", i)
		}
		delegations = append(delegations, name)
		switch {
		case i%7 == 0:
			fmt.Fprintf(&b, "%s 86400 IN NS ns1.%s\n%s 86400 IN NS ns2.%s\n", name, name, name, name)
			fmt.Fprintf(&b, "ns1.%s 86400 IN A 198.51.100.%d\nns2.%s 86400 IN AAAA 2001:db8:%x::53\n", name, i%250+1, name, i)
		case i%11 == 0 && i > 7:
			fmt.Fprintf(&b, "%s 86400 IN NS ns1.%s\n%s 86400 IN NS ns.hosting.net.\n", name, delegations[7*(i/77)], name)
		default:
			fmt.Fprintf(&b, "%s 86400 IN NS ns.hosting.net.\n%s 86400 IN NS ns2.hosting.net.\n", name, name)
		}
		if i%5 == 0 {
			fmt.Fprintf(&b, "%s 86400 IN DS %d 13 2 %064X\n", name, 1000+i, i)
		}
	}
	b.WriteString("pt. 3600 IN TXT \"v=spf1 -all\"\nregisto.pt. 3600 IN MX 10 mail.registo.pt.\nmail.registo.pt. 3600 IN A 192.0.2.25\n")
	// A wildcard, which a TLD zone does not hold, but a server must answer
	// from (RFC 4592).
	b.WriteString("*.curinga.pt. 3600 IN A 192.0.2.99\n*.curinga.pt. 3600 IN TXT \"curinga\"\n")
	return b.String(), delegations
}

// knot runs knotd serving a zone file as it is, on a loopback port, until
// the test ends.
func knot(t *testing.T, zoneFile string) string {
	t.Helper()
	knotd := tooltest.Require(t, "knotd")
	dir := t.TempDir()
	port := tooltest.FreePort(t)
	conf := fmt.Sprintf(`server:
    rundir: "%[1]s"
    listen: 127.0.0.1@%[2]d
database:
    storage: "%[1]s/db"
template:
  - id: default
    storage: "%[1]s"
    zonefile-sync: -1
    zonefile-load: whole
    journal-content: none
    semantic-checks: off
zone:
  - domain: pt
    file: "%[3]s"
log:
  - target: stderr
    any: warning
`, dir, port, zoneFile)
	confPath := filepath.Join(dir, "knot.conf")
	if err := os.WriteFile(confPath, []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	log := tooltest.Start(t, knotd, "-c", confPath)
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	waitServing(t, addr, "pt.", log)
	return addr
}

// waitServing waits, at most ten seconds, until addr answers for zone.
func waitServing(t *testing.T, addr, zoneName string, log func() string) {
	t.Helper()
	c := &dns.Client{Timeout: 200 * time.Millisecond}
	q := new(dns.Msg)
	q.SetQuestion(zoneName, dns.TypeSOA)
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		if r, _, err := c.Exchange(q, addr); err == nil && r.Rcode == dns.RcodeSuccess && len(r.Answer) > 0 {
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("%s does not serve %s: %s", addr, zoneName, log())
}

// probe is one query of the differential corpus.
type probe struct {
	name  string
	qtype uint16
	do    bool
	edns  int // 0: no EDNS
	tcp   bool
}

func (p probe) String() string {
	s := fmt.Sprintf("%s %s", p.name, dns.TypeToString[p.qtype])
	if p.qtype == 65280 {
		s = p.name + " TYPE65280"
	}
	if p.do {
		s += " +dnssec"
	}
	if p.edns > 0 {
		s += fmt.Sprintf(" +bufsize=%d", p.edns)
	} else {
		s += " +noedns"
	}
	if p.tcp {
		s += " +tcp"
	}
	return s
}

// corpus returns the queries: every kind of name the zone has or lacks,
// under every type that means something for it, in mixed case, with and
// without DNSSEC records, in buffer sizes small enough to truncate.
func corpus(delegations []string, hashes []string, n int) []probe {
	rng := rand.New(rand.NewPCG(53, 1232))
	names := []string{"pt.", "a.dns.pt.", "b.dns.pt.", "dns.pt.", "registo.pt.", "www.registo.pt.", "mail.registo.pt.",
		"x.registo.pt.", "x.y.registo.pt.", "nao-existe.pt.", "*.pt.", "x.nao-existe.pt.", "grupo13.pt.", "c.pt.",
		"curinga.pt.", "*.curinga.pt.", "x.curinga.pt.", "a.b.curinga.pt."}
	for i, d := range delegations {
		names = append(names, d, "www."+d, "a.b."+d)
		if i%7 == 0 {
			names = append(names, "ns1."+d, "ns2."+d)
		}
	}
	for i := range 50 {
		names = append(names, fmt.Sprintf("nx%d.pt.", i), fmt.Sprintf("a.nx%d.pt.", i))
	}
	for _, h := range hashes {
		names = append(names, h)
	}
	qtypes := []uint16{dns.TypeA, dns.TypeAAAA, dns.TypeNS, dns.TypeDS, dns.TypeSOA, dns.TypeDNSKEY, dns.TypeNSEC3PARAM,
		dns.TypeTXT, dns.TypeMX, dns.TypeZONEMD, dns.TypeNSEC3, dns.TypeCNAME, dns.TypeRRSIG, dns.TypeANY, 65280}
	sizes := []int{0, 512, 1232, 1232, 4096}
	mixCase := func(s string) string {
		b := []byte(s)
		for i := range b {
			if rng.IntN(3) == 0 {
				b[i] = bytes.ToUpper(b[i : i+1])[0]
			}
		}
		return string(b)
	}
	// Every type at the names that are few but telling, with and
	// without DNSSEC records; then random draws.
	var out []probe
	for _, name := range names[:18] {
		for _, qt := range qtypes {
			for _, do := range []bool{false, true} {
				out = append(out, probe{name: name, qtype: qt, do: do, edns: 1232})
			}
		}
	}
	for len(out) < n {
		name := names[rng.IntN(len(names))]
		if rng.IntN(4) == 0 {
			name = mixCase(name)
		}
		out = append(out, probe{name: name, qtype: qtypes[rng.IntN(len(qtypes))], do: rng.IntN(3) > 0,
			edns: sizes[rng.IntN(len(sizes))], tcp: rng.IntN(10) == 0})
	}
	return out
}

// exchange sends a probe to addr.
func exchange(p probe, addr string) (*dns.Msg, error) {
	q := new(dns.Msg)
	q.SetQuestion(p.name, p.qtype)
	q.RecursionDesired = false
	if p.edns > 0 {
		q.SetEdns0(uint16(p.edns), p.do)
	}
	c := &dns.Client{Timeout: 2 * time.Second, UDPSize: uint16(max(p.edns, 512))}
	if p.tcp {
		c.Net = "tcp"
	}
	var r *dns.Msg
	var err error
	for range 3 { // a lost datagram is retried
		if r, _, err = c.Exchange(q, addr); err == nil {
			return r, nil
		}
	}
	return nil, err
}

// sectionSet renders a section as a sorted list of records; OPT is
// rendered apart, as its size and DO bit. Names compare without case
// (RFC 4343), but for owners in the answer and authority sections that
// are the question's name, whose case a response keeps as asked. (Knot
// writes every name that shares a suffix with the question as a
// compression pointer into it, so the suffix of any name takes the
// question's case, which means nothing.)
func sectionSet(rrs []dns.RR, qname string) []string {
	var out []string
	for _, rr := range rrs {
		if opt, ok := rr.(*dns.OPT); ok {
			out = append(out, fmt.Sprintf("OPT size=%d do=%v rcode=%d", opt.UDPSize(), opt.Do(), opt.ExtendedRcode()))
			continue
		}
		asked := qname != "" && strings.EqualFold(rr.Header().Name, qname)
		out = append(out, dnstest.Line(rr, asked, true))
	}
	slices.Sort(out)
	return out
}

// differences lists how two responses differ: header flags and rcode,
// then each section compared as a set.
func differences(ours, theirs *dns.Msg, qname string) []string {
	var d []string
	flag := func(what string, a, b bool) {
		if a != b {
			d = append(d, fmt.Sprintf("%s: ptzone %v, knot %v", what, a, b))
		}
	}
	if ours.Rcode != theirs.Rcode {
		d = append(d, fmt.Sprintf("rcode: ptzone %s, knot %s", dns.RcodeToString[ours.Rcode], dns.RcodeToString[theirs.Rcode]))
	}
	flag("AA", ours.Authoritative, theirs.Authoritative)
	flag("TC", ours.Truncated, theirs.Truncated)
	flag("RA", ours.RecursionAvailable, theirs.RecursionAvailable)
	flag("AD", ours.AuthenticatedData, theirs.AuthenticatedData)
	flag("CD", ours.CheckingDisabled, theirs.CheckingDisabled)
	flag("RD", ours.RecursionDesired, theirs.RecursionDesired)
	for _, s := range []struct {
		name  string
		a, b  []dns.RR
		qname string // "" for a section whose owners compare without case
	}{{"answer", ours.Answer, theirs.Answer, qname}, {"authority", ours.Ns, theirs.Ns, qname}, {"additional", ours.Extra, theirs.Extra, ""}} {
		a, b := sectionSet(s.a, s.qname), sectionSet(s.b, s.qname)
		if !slices.Equal(a, b) {
			var onlyOurs, onlyTheirs []string
			for _, x := range a {
				if !slices.Contains(b, x) {
					onlyOurs = append(onlyOurs, x)
				}
			}
			for _, x := range b {
				if !slices.Contains(a, x) {
					onlyTheirs = append(onlyTheirs, x)
				}
			}
			d = append(d, fmt.Sprintf("%s: only ptzone %q, only knot %q", s.name, onlyOurs, onlyTheirs))
		}
	}
	return d
}

// TestDifferentialKnot: the same signed zone served by ptzone and by Knot
// DNS on loopback answers a corpus of 5,000 queries alike: rcode, flags,
// and each section as a set. Differences that are deliberate are listed,
// with the reason, in deliberate; any other fails the test.
func TestDifferentialKnot(t *testing.T) {
	text, delegations := differentialPT(400)
	tz := signedPT(t, text)
	file := filepath.Join(t.TempDir(), "pt.zone")
	var zoneText bytes.Buffer
	if _, err := tz.zone.WriteTo(&zoneText); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(file, zoneText.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	theirs := knot(t, file)
	// Knot limits no rate by default; 5,000 queries from one client would
	// meet ptzone's limit.
	tz.srv = New(Config{RateLimit: RateLimit{Off: true}}, nil)
	ours := start(t, tz.srv, tz.snap)
	var hashes []string
	for i := range tz.zone.Owners() {
		if _, ok := tz.zone.GetAt(i, zone.TypeNSEC3); ok && i%3 == 0 {
			hashes = append(hashes, tz.zone.Owner(i).String())
		}
	}
	probes := corpus(delegations, hashes, 5000)
	failures, shown, truncated := 0, 0, 0
	for _, p := range probes {
		a, err := exchange(p, ours)
		if err != nil {
			t.Fatalf("ptzone: %s: %v", p, err)
		}
		b, err := exchange(p, theirs)
		if err != nil {
			t.Fatalf("knot: %s: %v", p, err)
		}
		diff := differences(a, b, p.name)
		if len(diff) == 0 {
			continue
		}
		if deliberate(p, a, b) {
			truncated++
			continue
		}
		failures++
		if shown < 15 {
			shown++
			t.Errorf("%s:\n  %s", p, strings.Join(diff, "\n  "))
		}
	}
	if failures > 0 {
		t.Errorf("%d of %d queries answered differently", failures, len(probes))
	}
	t.Logf("%d queries: %d answered alike, %d truncated by both with other records kept, %d otherwise different",
		len(probes), len(probes)-truncated-failures, truncated, failures)
}

// deliberate reports whether a difference between ptzone's response and
// Knot's is one ptzone makes on purpose.
//
// Truncated responses: when both set TC, with the same rcode and flags,
// the records each carries may differ. A client retries over TCP and
// does not use them (RFC 2181 §9); ptzone keeps its sections' records in
// order as far as they fit, each RRset followed by its signatures, where
// Knot writes a section's signatures after all its records.
func deliberate(p probe, ours, theirs *dns.Msg) bool {
	if ours.Truncated && theirs.Truncated {
		o, t := *ours, *theirs
		o.Answer, o.Ns, o.Extra = nil, nil, nil
		t.Answer, t.Ns, t.Extra = nil, nil, nil
		return len(differences(&o, &t, p.name)) == 0
	}
	return false
}
