package authserver

import (
	"fmt"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/miekg/dns"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"go.uber.org/zap"
	"go.uber.org/zap/zaptest/observer"

	"github.com/ptzone/ptzone/internal/dnstest"
	"github.com/ptzone/ptzone/internal/testkit"
	"github.com/ptzone/ptzone/internal/tooltest"
	"github.com/ptzone/ptzone/zone"
)

// The transfer key, named as docs/operations.md names it.
const (
	xfrKey    = "pt-transfer."
	xfrSecret = "c2VjcmV0LWZvci10aGUtcHQtdHJhbnNmZXJzLW9ubHk=" // a test key
)

// patches is a History held in memory.
type patches []*zone.Patch

func (ps patches) Patches(from, to uint32) ([]*zone.Patch, bool) {
	var out []*zone.Patch
	serial := from
	for _, p := range ps {
		if p.From == serial {
			out = append(out, p)
			serial = p.To
		}
	}
	return out, serial == to
}

// primary serves a signed pt with transfers allowed to loopback clients
// signing with the test key, notifying the given secondaries.
type primary struct {
	srv     *Server
	addr    string
	logs    *observer.ObservedLogs
	reg     *prometheus.Registry
	v1, v2  *zone.Zone
	s1, s2  uint32
	history patches
	// verifier checks answers signed with the zone's keys.
	verifier dnstest.Verifier
}

// metric returns the value of a gauge or counter with the given labels,
// or -1 if the registry has none.
func (p *primary) metric(name string, labels map[string]string) float64 {
	families, _ := p.reg.Gather()
	for _, f := range families {
		if f.GetName() != name {
			continue
		}
	next:
		for _, m := range f.GetMetric() {
			for _, l := range m.GetLabel() {
				if v, ok := labels[l.GetName()]; ok && v != l.GetValue() {
					continue next
				}
			}
			if m.GetGauge() != nil {
				return m.GetGauge().GetValue()
			}
			return m.GetCounter().GetValue()
		}
	}
	return -1
}

func newPrimary(t *testing.T, notify ...string) *primary {
	t.Helper()
	text, _ := differentialPT(300)
	tz := tablePT(t, text)
	// v2: one delegation moved, one gone, one new; a new serial.
	text2 := strings.Replace(text, "1763812800", "1763816400", 1)
	text2 = strings.Replace(text2, "dominio1.pt. 86400 IN NS ns.hosting.net.", "dominio1.pt. 86400 IN NS ns.outro.net.", 1)
	text2 = strings.Replace(text2, "dominio2.pt. 86400 IN NS ns.hosting.net.\ndominio2.pt. 86400 IN NS ns2.hosting.net.\n", "", 1)
	text2 += "novo.pt. 86400 IN NS ns.hosting.net.\nnovo.pt. 86400 IN DS 4242 13 2 " + strings.Repeat("AB", 32) + "\n"
	v2 := testkit.Sign(t, testkit.ReadZone(t, pt, text2), tz.keys, testNow, withoutJitter)
	p, err := zone.DiffPatch(tz.zone, v2, 1763812800, 1763816400)
	if err != nil {
		t.Fatal(err)
	}
	core, logs := observer.New(zap.InfoLevel)
	reg := prometheus.NewRegistry()
	srv := New(Config{
		Registerer: reg, SecondaryPoll: 100 * time.Millisecond,
		TSIG: []TSIGKey{{Name: xfrKey, Secret: xfrSecret}},
		Transfer: map[string]Transfer{"pt.": {AllowFrom: []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}, Keys: []string{xfrKey},
			Notify: notify, NotifyKey: xfrKey}},
	}, zap.New(core))
	pr := &primary{srv: srv, addr: start(t, srv, tz.snap), logs: logs, reg: reg, v1: tz.zone, v2: v2, s1: 1763812800, s2: 1763816400,
		verifier: tz.verifier()}
	pr.history = patches{p}
	return pr
}

// publish swaps in v2, whose history reaches back to v1.
func (p *primary) publish(t *testing.T) {
	t.Helper()
	snap, err := NewSnapshot(p.v2)
	if err != nil {
		t.Fatal(err)
	}
	if snap, err = snap.WithHistory(pt, p.history); err != nil {
		t.Fatal(err)
	}
	p.srv.Swap(snap)
}

// published is what a server of newPrimary's zone answers once it
// serves v2: its serial, and each change (a delegation moved to another
// server, one gone, a new one with its DS, signed).
var published = []dnstest.Case{
	{Qname: "pt.", Qtype: dns.TypeSOA, EDNS: 1232, AA: true,
		Answer: []string{"pt. 3600 IN SOA a.dns.pt. hostmaster.dns.pt. 1763816400 1800 900 604800 600"}},
	{Qname: "dominio1.pt.", Qtype: dns.TypeNS, EDNS: 1232,
		Ns: []string{"dominio1.pt. 86400 IN NS ns.outro.net.", "dominio1.pt. 86400 IN NS ns2.hosting.net."}},
	{Qname: "dominio2.pt.", Qtype: dns.TypeNS, EDNS: 1232, AA: true, Rcode: dns.RcodeNameError,
		Ns: []string{"pt. 600 IN SOA a.dns.pt. hostmaster.dns.pt. 1763816400 1800 900 604800 600"}},
	{Qname: "novo.pt.", Qtype: dns.TypeDS, EDNS: 1232, DO: true, AA: true,
		Answer: []string{
			"novo.pt. 86400 IN DS 4242 13 2 " + strings.Repeat("AB", 32),
			"novo.pt. 86400 IN RRSIG DS 13 2 86400" + byZSK,
		}},
}

// checkAt sends each case's query to a server at addr, over the
// transport the case says, and checks the response.
func checkAt(t *testing.T, server, addr string, v dnstest.Verifier, cases []dnstest.Case) {
	t.Helper()
	for _, c := range cases {
		cl := &dns.Client{Timeout: 2 * time.Second, UDPSize: max(c.EDNS, dns.MinMsgSize)}
		if c.TCP {
			cl.Net = "tcp"
		}
		r, _, err := cl.Exchange(dnstest.Query(c), addr)
		if err != nil {
			t.Errorf("%s: %s: %v", server, c, err)
			continue
		}
		if err := v.Check(c, r); err != nil {
			t.Errorf("%s: %s:\n%v", server, c, err)
		}
	}
}

// sent returns the kinds of the transfers the primary logged sending.
func (p *primary) sent() []string {
	var kinds []string
	for _, e := range p.logs.FilterMessage("transfer sent").All() {
		kinds = append(kinds, e.ContextMap()["kind"].(string))
	}
	return kinds
}

// waitSerial waits, at most fifteen seconds, until addr serves serial.
func waitSerial(t *testing.T, addr string, serial uint32, log func() string) {
	t.Helper()
	c := &dns.Client{Timeout: 300 * time.Millisecond}
	q := new(dns.Msg)
	q.SetQuestion("pt.", dns.TypeSOA)
	var last string
	deadline := time.Now().Add(15 * time.Second)
	for time.Now().Before(deadline) {
		r, _, err := c.Exchange(q, addr)
		if err == nil && len(r.Answer) > 0 {
			if soa, ok := r.Answer[0].(*dns.SOA); ok && soa.Serial == serial {
				return
			}
			last = r.Answer[0].String()
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("%s does not serve serial %d (last answer %q): %s", addr, serial, last, log())
}

// sameAnswers checks that a secondary answers as the primary over a
// corpus of queries, but for those choice says differ by the secondary's
// own choices.
func sameAnswers(t *testing.T, secondary, primaryAddr string, delegations []string, choice func(probe, *dns.Msg, *dns.Msg) bool) {
	t.Helper()
	failures := 0
	for _, p := range corpus(delegations, nil, 600) {
		p.tcp = true // the same answers, whatever they fit in
		a, err := exchange(p, primaryAddr)
		if err != nil {
			t.Fatal(err)
		}
		b, err := exchange(p, secondary)
		if err != nil {
			t.Fatal(err)
		}
		if d := differences(a, b, p.name); len(d) > 0 && !deliberate(p, a, b) && (choice == nil || !choice(p, a, b)) {
			if failures++; failures <= 5 {
				t.Errorf("%s:\n  %s", p, strings.Join(d, "\n  "))
			}
		}
	}
}

// zoneRecords transfers a zone by AXFR (signed with the test key if
// asked) and returns its records as sorted text, names in lowercase.
func zoneRecords(t *testing.T, addr string, signed bool) []string {
	t.Helper()
	tr := &dns.Transfer{}
	q := new(dns.Msg)
	q.SetAxfr("pt.")
	if signed {
		tr.TsigSecret = map[string]string{xfrKey: xfrSecret}
		q.SetTsig(xfrKey, dns.HmacSHA256, 300, time.Now().Unix())
	}
	ch, err := tr.In(q, addr)
	if err != nil {
		t.Fatalf("AXFR from %s: %v", addr, err)
	}
	var out []string
	for env := range ch {
		if env.Error != nil {
			t.Fatalf("AXFR from %s: %v", addr, env.Error)
		}
		for _, rr := range sectionSet(env.RR, "") {
			out = append(out, rr)
		}
	}
	slices.Sort(out)
	return slices.Compact(out) // the SOA comes twice
}

// sameZone checks that a secondary holds exactly the zone the primary
// serves.
func sameZone(t *testing.T, secondary, primaryAddr string) {
	t.Helper()
	theirs, ours := zoneRecords(t, secondary, false), zoneRecords(t, primaryAddr, true)
	if !slices.Equal(theirs, ours) {
		var missing, extra []string
		for _, rr := range ours {
			if !slices.Contains(theirs, rr) {
				missing = append(missing, rr)
			}
		}
		for _, rr := range theirs {
			if !slices.Contains(ours, rr) {
				extra = append(extra, rr)
			}
		}
		t.Errorf("the secondary's zone differs: %d records missing %.3q, %d extra %.3q", len(missing), missing, len(extra), extra)
	}
}

// runSecondary runs knotd or nsd on a loopback port as a secondary of
// p's zone pt, asking with the transfer key or without, and letting
// loopback clients transfer the zone from it, until the test ends; it
// returns what the server logged. With the key, the zone and the key
// are the manual's snippet as written (docs/operations.md,
// "Secondaries"), after the test's own settings (a temporary directory,
// one port, logs) and followed by one line of the test's that lets
// loopback clients transfer the zone, for the comparison.
func runSecondary(t *testing.T, server string, port int, p *primary, withKey bool) func() string {
	t.Helper()
	path := tooltest.Require(t, server)
	dir := t.TempDir()
	host, primaryPort, err := net.SplitHostPort(p.addr)
	if err != nil {
		t.Fatal(err)
	}
	primaryAt := host + "@" + primaryPort
	snippet := func(name string) string {
		return tooltest.Snippet(t, "../docs/operations.md", name,
			"PRIMARY_ADDRESS", host, "PRIMARY_PORT", primaryPort, "TSIG_SECRET", xfrSecret)
	}
	confPath := filepath.Join(dir, "server.conf")
	var conf string
	var args []string
	if server == "knotd" {
		conf = fmt.Sprintf(`server:
    rundir: "%[1]s"
    listen: 127.0.0.1@%[2]d
database:
    storage: "%[1]s/db"
template:
  - id: default
    storage: "%[1]s"
    zonefile-sync: -1
    zonefile-load: none
    journal-content: changes
    semantic-checks: off
log:
  - target: stderr
    any: info
acl:
  - id: transfer
    address: 127.0.0.1
    action: transfer
`, dir, port)
		if withKey {
			conf += snippet("knot-secondary") + "    acl: transfer\n"
		} else {
			conf += fmt.Sprintf(`remote:
  - id: primary
    address: %[1]s
acl:
  - id: notify
    address: 127.0.0.1
    action: notify
zone:
  - domain: pt
    master: primary
    acl: [notify, transfer]
`, primaryAt)
		}
		if err := os.Mkdir(filepath.Join(dir, "db"), 0o755); err != nil { // the journal's
			t.Fatal(err)
		}
		args = []string{"-c", confPath}
	} else {
		conf = fmt.Sprintf(`server:
    ip-address: 127.0.0.1@%[2]d
    zonesdir: "%[1]s"
    pidfile: "%[1]s/nsd.pid"
    database: ""
    xfrdfile: "%[1]s/xfrd.state"
    xfrdir: "%[1]s"
    zonelistfile: "%[1]s/zone.list"
    username: ""
    chroot: ""
    verbosity: 2
    logfile: "%[1]s/nsd.log"
    minimal-responses: yes
remote-control:
    control-enable: no
`, dir, port)
		if withKey {
			conf += snippet("nsd-secondary")
		} else {
			conf += fmt.Sprintf(`zone:
    name: pt
    zonefile: "%[1]s/pt.zone"
    request-xfr: %[2]s NOKEY
    allow-notify: 127.0.0.1 NOKEY
`, dir, primaryAt)
		}
		conf += "    provide-xfr: 127.0.0.1 NOKEY\n"
		args = []string{"-d", "-c", confPath}
	}
	if err := os.WriteFile(confPath, []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	out := tooltest.Start(t, path, args...)
	return func() string {
		b, _ := os.ReadFile(filepath.Join(dir, "nsd.log"))
		return out() + string(b)
	}
}

// TestKnotSecondary: Knot DNS, a secondary with the transfer key, pulls
// the zone by AXFR, is notified of the next publication and pulls it by
// IXFR, and then answers as ptzone does; a Knot without the key gets
// nothing.
func TestKnotSecondary(t *testing.T) {
	tooltest.Require(t, "knotd")
	port := tooltest.FreePort(t)
	secondary := fmt.Sprintf("127.0.0.1:%d", port)
	p := newPrimary(t, secondary)
	log := runSecondary(t, "knotd", port, p, true)
	waitSerial(t, secondary, p.s1, log)

	p.publish(t)
	waitSerial(t, secondary, p.s2, log)
	if got := p.sent(); len(got) != 2 || got[0] != "AXFR" || got[1] != "IXFR" {
		t.Errorf("transfers sent: %v, want AXFR then IXFR; knot says:\n%s", got, log())
	}
	if n := len(p.logs.FilterMessage("secondary notified").All()); n == 0 {
		t.Error("Knot was not notified")
	}
	// The secondary's serial, polled, is the published one.
	deadline := time.Now().Add(5 * time.Second)
	for p.metric("ptzone_secondary_serial", map[string]string{"zone": "pt.", "secondary": secondary}) != float64(p.s2) {
		if time.Now().After(deadline) {
			t.Fatalf("ptzone_secondary_serial for %s: %v, want %d", secondary,
				p.metric("ptzone_secondary_serial", map[string]string{"zone": "pt.", "secondary": secondary}), p.s2)
		}
		time.Sleep(50 * time.Millisecond)
	}
	// And the operator's status reads it the same.
	if st := p.srv.Secondaries(); len(st) != 1 || st[0].Zone != "pt." || st[0].Secondary != secondary || st[0].Serial != p.s2 || st[0].Error != "" {
		t.Errorf("Secondaries() = %+v, want %s at serial %d", st, secondary, p.s2)
	}
	for _, kind := range []string{"AXFR", "IXFR"} {
		if got := p.metric("ptzone_zone_transfers_total", map[string]string{"zone": "pt.", "kind": kind, "outcome": "sent"}); got < 1 {
			t.Errorf("ptzone_zone_transfers_total %s sent: %v", kind, got)
		}
	}
	if problems, err := testutil.GatherAndLint(p.reg); err != nil || len(problems) > 0 {
		t.Errorf("metrics lint: %v %v", problems, err)
	}
	checkAt(t, "ptzone", p.addr, p.verifier, published)
	checkAt(t, "knotd", secondary, p.verifier, published)
	sameZone(t, secondary, p.addr)
	_, delegations := differentialPT(300)
	sameAnswers(t, secondary, p.addr, append(delegations, "novo.pt."), nil)
}

// TestNSDSecondary: the same with NSD.
func TestNSDSecondary(t *testing.T) {
	tooltest.Require(t, "nsd")
	port := tooltest.FreePort(t)
	secondary := fmt.Sprintf("127.0.0.1:%d", port)
	p := newPrimary(t, secondary)
	log := runSecondary(t, "nsd", port, p, true)
	waitSerial(t, secondary, p.s1, log)
	p.publish(t)
	waitSerial(t, secondary, p.s2, log)
	if got := p.sent(); len(got) != 2 || got[1] != "IXFR" {
		t.Errorf("transfers sent: %v, want a first one then IXFR", got)
	}
	checkAt(t, "ptzone", p.addr, p.verifier, published)
	checkAt(t, "nsd", secondary, p.verifier, published)
	sameZone(t, secondary, p.addr)
	_, delegations := differentialPT(300)
	sameAnswers(t, secondary, p.addr, append(delegations, "novo.pt."), nsdChoices)
}

// nsdChoices reports the queries where NSD answers otherwise than ptzone
// (and Knot) by a choice of its own, the data being the same: ANY, which
// NSD answers with the SOA where ptzone gives the first RRset (RFC 8482
// lets each choose); RRSIG, which NSD answers with every signature at the
// name; the addresses of MX targets, which ptzone adds to the additional
// section as Knot does and NSD's minimal responses leave out; and the
// NSEC3 records proving no data at an empty non-terminal the chain leaves
// out (opt-out) or at a wildcard's own name, where NSD picks others than
// ptzone and Knot, which agree.
func nsdChoices(p probe, ours, theirs *dns.Msg) bool {
	if p.qtype == dns.TypeANY || p.qtype == dns.TypeRRSIG {
		return true
	}
	o, t := *ours, *theirs
	if p.qtype == dns.TypeMX {
		o.Extra, t.Extra = nil, nil
	}
	if ours.Rcode == dns.RcodeSuccess && len(ours.Answer) == 0 && ours.Authoritative {
		nsec3 := func(rr dns.RR) bool {
			sig, isSig := rr.(*dns.RRSIG)
			return rr.Header().Rrtype == dns.TypeNSEC3 || isSig && sig.TypeCovered == dns.TypeNSEC3
		}
		o.Ns = slices.DeleteFunc(slices.Clone(o.Ns), nsec3)
		t.Ns = slices.DeleteFunc(slices.Clone(t.Ns), nsec3)
	}
	return len(differences(&o, &t, p.name)) == 0
}

// TestTransferAccess: a transfer needs the key and an allowed address;
// a bad signature is NOTAUTH; AXFR over UDP is refused; IXFR over UDP
// gets the SOA; a zone not configured for transfers is refused.
func TestTransferAccess(t *testing.T) {
	p := newPrimary(t)
	axfr := func(key, secret string) (int, int, error) {
		tr := &dns.Transfer{}
		q := new(dns.Msg)
		q.SetAxfr("pt.")
		if key != "" {
			tr.TsigSecret = map[string]string{key: secret}
			q.SetTsig(key, dns.HmacSHA256, 300, time.Now().Unix())
		}
		ch, err := tr.In(q, p.addr)
		if err != nil {
			return 0, 0, err
		}
		n, rcode := 0, 0
		for env := range ch {
			if env.Error != nil {
				return n, rcode, env.Error
			}
			n += len(env.RR)
		}
		return n, rcode, nil
	}
	n, _, err := axfr(xfrKey, xfrSecret)
	if want := p.v1.Stats().Records + 1; err != nil || n != want {
		t.Errorf("AXFR with the key: %d records, %v; want %d", n, err, want)
	}
	if n, _, err := axfr("", ""); err == nil || n > 0 {
		t.Errorf("AXFR without the key: %d records, %v", n, err)
	}
	if n, _, err := axfr(xfrKey, "d3Jvbmctc2VjcmV0LXdyb25nLXNlY3JldC13cm9uZw=="); err == nil || n > 0 {
		t.Errorf("AXFR with a wrong secret: %d records, %v", n, err)
	}
	// Requests for names not served count under one label, however many.
	for i := range 3 {
		tr := &dns.Transfer{}
		q := new(dns.Msg)
		q.SetAxfr(fmt.Sprintf("random%d.example.", i))
		if ch, err := tr.In(q, p.addr); err == nil {
			for range ch {
			}
		}
	}
	// The server counts a transfer once its answer is written: the
	// count may trail the client's last answer by a moment.
	refusedOther := func() float64 {
		return p.metric("ptzone_zone_transfers_total", map[string]string{"zone": "other", "kind": "AXFR", "outcome": "refused"})
	}
	for deadline := time.Now().Add(5 * time.Second); refusedOther() != 3 && time.Now().Before(deadline); {
		time.Sleep(10 * time.Millisecond)
	}
	if got := refusedOther(); got != 3 {
		t.Errorf("transfers refused for names not served: %v under zone=other, want 3", got)
	}
	// Over UDP, signed: AXFR, which is TCP only, is malformed; IXFR
	// gets the current SOA, which tells the client whether to come back
	// over TCP (RFC 1995 §2).
	c := &dns.Client{Net: "udp", Timeout: 2 * time.Second, TsigSecret: map[string]string{xfrKey: xfrSecret}}
	for _, tc := range []dnstest.Case{
		{Qname: "pt.", Qtype: dns.TypeAXFR, Rcode: dns.RcodeFormatError},
		{Qname: "pt.", Qtype: dns.TypeIXFR, AA: true,
			Answer: []string{"pt. 3600 IN SOA a.dns.pt. hostmaster.dns.pt. 1763812800 1800 900 604800 600"}},
	} {
		q := dnstest.Query(tc)
		if tc.Qtype == dns.TypeIXFR {
			q.SetIxfr("pt.", p.s1, "a.dns.pt.", "hostmaster.dns.pt.") // the serial the client holds
		}
		q.SetTsig(xfrKey, dns.HmacSHA256, 300, time.Now().Unix())
		r, _, err := c.Exchange(q, p.addr)
		if err == nil {
			err = p.verifier.Check(tc, r)
		}
		if err != nil {
			t.Errorf("%s, signed:\n%v", tc, err)
		}
	}
	// Without a Transfer entry the zone is not transferred at all.
	tz := signedPT(t, testPT)
	addr := listen(t, tz, Config{TSIG: []TSIGKey{{Name: xfrKey, Secret: xfrSecret}}})
	tr := &dns.Transfer{TsigSecret: map[string]string{xfrKey: xfrSecret}}
	q := new(dns.Msg)
	q.SetAxfr("pt.")
	q.SetTsig(xfrKey, dns.HmacSHA256, 300, time.Now().Unix())
	ch, err := tr.In(q, addr)
	if err == nil {
		for env := range ch {
			if env.Error == nil && len(env.RR) > 0 {
				t.Error("a zone without a transfer configuration was transferred")
			}
		}
	}
}

// TestSecondaryWithoutKey: Knot and NSD as secondaries without the
// transfer key ask for the zone and are refused: they never serve it.
func TestSecondaryWithoutKey(t *testing.T) {
	for _, server := range []string{"knotd", "nsd"} {
		t.Run(server, func(t *testing.T) {
			tooltest.Require(t, server)
			port := tooltest.FreePort(t)
			secondary := fmt.Sprintf("127.0.0.1:%d", port)
			p := newPrimary(t)
			log := runSecondary(t, server, port, p, false)
			deadline := time.Now().Add(10 * time.Second)
			for len(p.logs.FilterMessage("transfer refused").All()) == 0 {
				if time.Now().After(deadline) {
					t.Fatalf("no transfer was refused:\n%s", log())
				}
				time.Sleep(50 * time.Millisecond)
			}
			c := &dns.Client{Timeout: time.Second}
			q := new(dns.Msg)
			q.SetQuestion("pt.", dns.TypeSOA)
			if r, _, err := c.Exchange(q, secondary); err == nil && len(r.Answer) > 0 {
				t.Errorf("%s without the key serves the zone: %v", server, r)
			}
			if len(p.sent()) > 0 {
				t.Errorf("transfers sent: %v", p.sent())
			}
		})
	}
}
