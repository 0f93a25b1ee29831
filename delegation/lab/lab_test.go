package lab

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/miekg/dns"

	"github.com/ptzone/ptzone/internal/testkit"
)

func newLab(t *testing.T) *Lab {
	t.Helper()
	l, err := New()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	return l
}

func healthy(name string) *Zone {
	return &Zone{Name: name, NS: []string{"ns1." + name, "ns2.outro.net"}, Serial: 2026112201,
		Addrs: map[string][]netip.Addr{"ns1." + name: {netip.MustParseAddr("127.0.0.2")}}}
}

func ask(t *testing.T, s *Server, port int, name string, qtype uint16, edns bool, network string) (*dns.Msg, error) {
	t.Helper()
	c := &dns.Client{Net: network, Timeout: 500 * time.Millisecond}
	q := new(dns.Msg)
	q.SetQuestion(name, qtype)
	q.RecursionDesired = false
	if edns {
		q.SetEdns0(1232, true)
	}
	r, _, err := c.Exchange(q, netip.AddrPortFrom(s.Addr, uint16(port)).String())
	return r, err
}

// TestHealthyServer: a healthy server answers for its zone with
// authority, over UDP and TCP, with EDNS and without: SOA, NS, the
// addresses of its in-zone servers, no data and NXDOMAIN with the SOA,
// REFUSED outside its zones; a signed zone's signatures verify.
func TestHealthyServer(t *testing.T) {
	l := newLab(t)
	z := healthy("exemplo.pt")
	z.Signed = true
	s, err := l.Serve(Addr(1), 0, 0, z)
	if err != nil {
		t.Fatal(err)
	}
	for _, network := range []string{"udp", "tcp"} {
		r, err := ask(t, s, l.Port, "ExEmplo.pt.", dns.TypeSOA, true, network)
		if err != nil || !r.Authoritative || r.Rcode != dns.RcodeSuccess || len(r.Answer) != 2 || r.RecursionAvailable {
			t.Fatalf("%s SOA: %v %v", network, r, err)
		}
		if soa := r.Answer[0].(*dns.SOA); soa.Serial != 2026112201 || r.Answer[0].Header().Name != "ExEmplo.pt." {
			t.Errorf("%s SOA: %v", network, r.Answer[0])
		}
	}
	keys, _ := ask(t, s, l.Port, "exemplo.pt.", dns.TypeDNSKEY, true, "udp")
	var dnskeys []*dns.DNSKEY
	var sig *dns.RRSIG
	var set []dns.RR
	for _, rr := range keys.Answer {
		switch v := rr.(type) {
		case *dns.DNSKEY:
			dnskeys = append(dnskeys, v)
			set = append(set, v)
		case *dns.RRSIG:
			sig = v
		}
	}
	if len(dnskeys) != 2 || sig == nil {
		t.Fatalf("DNSKEY: %v", keys)
	}
	ds, _ := z.DS()
	var ksk *dns.DNSKEY
	for _, k := range dnskeys {
		if k.KeyTag() == ds.KeyTag && k.ToDS(dns.SHA256).Digest == ds.Digest {
			ksk = k
		}
	}
	if ksk == nil || sig.KeyTag != ksk.KeyTag() || sig.Verify(ksk, set) != nil || !sig.ValidityPeriod(time.Now()) {
		t.Errorf("the DNSKEY RRset is not signed by the KSK the DS names")
	}
	for _, c := range []struct {
		name  string
		qtype uint16
		rcode int
		n     int
	}{
		{"exemplo.pt.", dns.TypeNS, dns.RcodeSuccess, 2},
		{"ns1.exemplo.pt.", dns.TypeA, dns.RcodeSuccess, 1},
		{"ns1.exemplo.pt.", dns.TypeAAAA, dns.RcodeSuccess, 0},
		{"nada.exemplo.pt.", dns.TypeA, dns.RcodeNameError, 0},
		{"outro.pt.", dns.TypeSOA, dns.RcodeRefused, 0},
	} {
		r, err := ask(t, s, l.Port, c.name, c.qtype, false, "udp")
		if err != nil || r.Rcode != c.rcode || len(r.Answer) != c.n {
			t.Errorf("%s %s: %v %v", c.name, dns.TypeToString[c.qtype], r, err)
		}
	}
}

// TestFaults: each fault shows as the checker must see it.
func TestFaults(t *testing.T) {
	l := newLab(t)
	serve := func(n int, f Fault, z *Zone) *Server {
		s, err := l.Serve(Addr(n), f, 0, z)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	if _, err := ask(t, serve(1, Timeout, healthy("a.pt")), l.Port, "a.pt.", dns.TypeSOA, false, "udp"); err == nil {
		t.Error("Timeout: answered")
	}
	for _, c := range []struct {
		f     Fault
		rcode int
	}{{Refused, dns.RcodeRefused}, {ServFail, dns.RcodeServerFailure}} {
		if r, err := ask(t, serve(int(c.f)+10, c.f, healthy("b.pt")), l.Port, "b.pt.", dns.TypeSOA, false, "udp"); err != nil || r.Rcode != c.rcode {
			t.Errorf("fault %d: %v %v", c.f, r, err)
		}
	}
	if r, err := ask(t, serve(3, NotAuthoritative, healthy("c.pt")), l.Port, "c.pt.", dns.TypeSOA, false, "udp"); err != nil || r.Authoritative || len(r.Answer) != 1 {
		t.Errorf("NotAuthoritative: %v %v", r, err)
	}
	s := serve(4, NoTCP, healthy("d.pt"))
	if r, err := ask(t, s, l.Port, "d.pt.", dns.TypeSOA, false, "udp"); err != nil || r.Rcode != dns.RcodeSuccess {
		t.Errorf("NoTCP over UDP: %v %v", r, err)
	}
	var op *net.OpError
	if _, err := ask(t, s, l.Port, "d.pt.", dns.TypeSOA, false, "tcp"); !errors.As(err, &op) || op.Op != "dial" {
		t.Errorf("NoTCP over TCP: %v, want the connection refused", err)
	}
	s = serve(5, EDNSFormErr, healthy("e.pt"))
	if r, err := ask(t, s, l.Port, "e.pt.", dns.TypeSOA, true, "udp"); err != nil || r.Rcode != dns.RcodeFormatError || r.IsEdns0() != nil {
		t.Errorf("EDNSFormErr with EDNS: %v %v", r, err)
	}
	if r, err := ask(t, s, l.Port, "e.pt.", dns.TypeSOA, false, "udp"); err != nil || r.Rcode != dns.RcodeSuccess {
		t.Errorf("EDNSFormErr without EDNS: %v %v", r, err)
	}
	if r, err := ask(t, serve(6, OpenRecursion, healthy("f.pt")), l.Port, "www.google.com.", dns.TypeA, false, "udp"); err != nil ||
		!r.RecursionAvailable || len(r.Answer) != 1 {
		t.Errorf("OpenRecursion: %v %v", r, err)
	}
	if r, err := ask(t, serve(7, SerialAhead, healthy("g.pt")), l.Port, "g.pt.", dns.TypeSOA, false, "udp"); err != nil ||
		r.Answer[0].(*dns.SOA).Serial != 2026112202 {
		t.Errorf("SerialAhead: %v %v", r, err)
	}
	z := healthy("h.pt")
	z.CNAMEs = map[string]string{"ns1.h.pt": "servidor.h.pt"}
	z.Addrs = map[string][]netip.Addr{"servidor.h.pt": {netip.MustParseAddr("127.0.0.9")}}
	if r, err := ask(t, serve(8, 0, z), l.Port, "ns1.h.pt.", dns.TypeA, false, "udp"); err != nil || len(r.Answer) != 1 ||
		r.Answer[0].Header().Rrtype != dns.TypeCNAME {
		t.Errorf("a CNAME at a name server's name: %v %v", r, err)
	}
	z = healthy("i.pt")
	z.Signed, z.Expired = true, true
	r, err := ask(t, serve(9, 0, z), l.Port, "i.pt.", dns.TypeSOA, true, "udp")
	if err != nil || len(r.Answer) != 2 || r.Answer[1].(*dns.RRSIG).ValidityPeriod(time.Now()) {
		t.Errorf("Expired: %v %v", r, err)
	}
}

// recorder is a ResponseWriter that keeps the answer written.
type recorder struct {
	dns.ResponseWriter // nil: the server uses WriteMsg only
	msg                *dns.Msg
}

func (r *recorder) WriteMsg(m *dns.Msg) error { r.msg = m; return nil }

// TestLatency: a server waits its latency before it answers, not after;
// on the network, the answer comes only once the wait is over.
func TestLatency(t *testing.T) {
	const latency = 50 * time.Millisecond
	l := newLab(t)
	var (
		waited         time.Duration
		answeredBefore bool
		rec            recorder
	)
	l.sleep = func(d time.Duration) { waited, answeredBefore = d, rec.msg != nil }
	s, err := l.Serve(Addr(1), 0, latency, healthy("lento.pt"))
	if err != nil {
		t.Fatal(err)
	}
	q := new(dns.Msg)
	q.SetQuestion("lento.pt.", dns.TypeSOA)
	s.ServeDNS(&rec, q)
	if waited != latency || answeredBefore || rec.msg == nil || len(rec.msg.Answer) != 1 {
		t.Errorf("waited %s (answered before: %v), then answered %v; want a wait of %s, then the SOA", waited, answeredBefore, rec.msg, latency)
	}

	l = newLab(t)
	waits, release := make(chan time.Duration, 1), make(chan struct{})
	l.sleep = func(d time.Duration) {
		waits <- d
		<-release
	}
	if s, err = l.Serve(Addr(1), 0, latency, healthy("lento.pt")); err != nil {
		t.Fatal(err)
	}
	answered := make(chan error, 1)
	go func() {
		c := &dns.Client{Timeout: 10 * time.Second} // a bound only: the test releases the wait
		r, _, err := c.Exchange(q, netip.AddrPortFrom(s.Addr, uint16(l.Port)).String())
		if err == nil && len(r.Answer) != 1 {
			err = fmt.Errorf("answer %v", r)
		}
		answered <- err
	}()
	select {
	case d := <-waits:
		if d != latency {
			t.Errorf("the server waits %s, want its latency %s", d, latency)
		}
	case err := <-answered:
		t.Fatalf("answered (%v) without waiting its latency", err)
	case <-time.After(10 * time.Second):
		t.Fatal("the query never reached the server's wait")
	}
	select {
	case err := <-answered:
		t.Errorf("answered (%v) while the server waits", err)
	default:
	}
	close(release)
	select {
	case err := <-answered:
		if err != nil {
			t.Errorf("after the wait: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("no answer after the wait")
	}
}

// TestCounts: a server counts its queries, and the most it got within
// one second of its clock, the second still going included.
func TestCounts(t *testing.T) {
	l := newLab(t)
	clk := &testkit.Clock{}
	l.now = clk.Now
	s, err := l.Serve(Addr(1), 0, 0, healthy("contado.pt"))
	if err != nil {
		t.Fatal(err)
	}
	second := time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC)
	askAt := func(at time.Duration, n int) {
		t.Helper()
		clk.Set(second.Add(at))
		for range n {
			if _, err := ask(t, s, l.Port, "contado.pt.", dns.TypeSOA, false, "udp"); err != nil {
				t.Fatal(err)
			}
		}
	}
	askAt(900*time.Millisecond, 2) // second 0: 2
	askAt(1100*time.Millisecond, 2)
	askAt(1999*time.Millisecond, 1) // second 1: 3
	askAt(2000*time.Millisecond, 2) // second 2: 2
	if s.Queries() != 7 || s.PeakPerSecond() != 3 {
		t.Errorf("queries %d, peak %d a second; want 7 and 3", s.Queries(), s.PeakPerSecond())
	}
	askAt(2500*time.Millisecond, 2) // second 2, still going: 4
	if s.Queries() != 9 || s.PeakPerSecond() != 4 {
		t.Errorf("queries %d, peak %d a second; want 9 and 4 (the current second)", s.Queries(), s.PeakPerSecond())
	}
}

// TestManyServers: a lab holds hundreds of servers, each on its own
// address.
func TestManyServers(t *testing.T) {
	l := newLab(t)
	var servers []*Server
	for n := 2; n < 302; n++ {
		s, err := l.Serve(Addr(n), 0, 0, healthy("muitos.pt"))
		if err != nil {
			t.Fatalf("server %d on %s: %v", n, Addr(n), err)
		}
		servers = append(servers, s)
	}
	for _, s := range []*Server{servers[0], servers[150], servers[299]} {
		if r, err := ask(t, s, l.Port, "muitos.pt.", dns.TypeSOA, false, "udp"); err != nil || !r.Authoritative {
			t.Errorf("%s: %v %v", s.Addr, r, err)
		}
	}
}

// TestKeySeed: a zone's keys derived from a seed are the same every time
// (the demo's DS stay put run to run), differ by seed and by role, and
// sign what the server serves.
func TestKeySeed(t *testing.T) {
	ds := func(name, seed string) *dns.DS {
		z := healthy(name)
		z.Signed, z.KeySeed = true, seed
		d, err := z.DS()
		if err != nil {
			t.Fatal(err)
		}
		return d
	}
	a, b, other := ds("exemplo.pt", "s"), ds("exemplo.pt", "s"), ds("exemplo.pt", "t")
	if a.Digest != b.Digest || a.KeyTag != b.KeyTag {
		t.Errorf("one seed, two DS: %v and %v", a, b)
	}
	if a.Digest == other.Digest {
		t.Errorf("two seeds, one DS: %v", a)
	}
	if r1, r2 := ds("a.pt", "s"), ds("b.pt", "s"); r1.Digest == r2.Digest {
		t.Errorf("the DS of a.pt and b.pt, one seed, are the same digest, though the owner names differ: %v", r1)
	}

	l := newLab(t)
	z := healthy("exemplo.pt")
	z.Signed, z.KeySeed = true, "s"
	s, err := l.Serve(Addr(1), 0, 0, z)
	if err != nil {
		t.Fatal(err)
	}
	r, err := ask(t, s, l.Port, "exemplo.pt.", dns.TypeDNSKEY, true, "udp")
	if err != nil {
		t.Fatal(err)
	}
	var keys []dns.RR
	var sig *dns.RRSIG
	for _, rr := range r.Answer {
		switch v := rr.(type) {
		case *dns.DNSKEY:
			keys = append(keys, v)
		case *dns.RRSIG:
			sig = v
		}
	}
	if len(keys) != 2 || sig == nil {
		t.Fatalf("DNSKEY: %v", r)
	}
	ksk, zsk := keys[0].(*dns.DNSKEY), keys[1].(*dns.DNSKEY)
	if ksk.Flags != 257 {
		ksk, zsk = zsk, ksk
	}
	if ksk.PublicKey == zsk.PublicKey {
		t.Error("the KSK and the ZSK are one key")
	}
	if ksk.KeyTag() != a.KeyTag || !strings.EqualFold(ksk.ToDS(dns.SHA256).Digest, a.Digest) {
		t.Errorf("the KSK served is not the one the DS names")
	}
	if err := sig.Verify(ksk, keys); err != nil {
		t.Errorf("the DNSKEY RRset's signature by the seeded KSK: %v", err)
	}
}
