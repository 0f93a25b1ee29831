package authserver

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/miekg/dns"

	"github.com/ptzone/ptzone/dnssec"
	"github.com/ptzone/ptzone/zone"
)

var (
	testNow = time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC)
	pt      = zone.MustParseName("pt.")
)

// testPT is a small pt: the apex and its servers; an authoritative name
// two labels deep (registo.pt. an empty non-terminal in the chain); a
// secure delegation with in-domain glue; insecure ones, one of them using
// the other's server (sibling glue), one two labels deep (c.pt. an empty
// non-terminal left out of the chain, opt-out).
const testPT = `
pt.               3600   IN SOA  a.dns.pt. hostmaster.dns.pt. 1763812800 1800 900 604800 600
pt.               172800 IN NS   a.dns.pt.
pt.               172800 IN NS   b.dns.pt.
a.dns.pt.         172800 IN A    192.0.2.53
b.dns.pt.         172800 IN AAAA 2001:db8::53
www.registo.pt.   3600   IN A    192.0.2.80
seguro.pt.        86400  IN NS   ns1.seguro.pt.
seguro.pt.        86400  IN NS   ns.hosting.net.
seguro.pt.        86400  IN DS   12345 13 2 ABABABABABABABABABABABABABABABABABABABABABABABABABABABABABABABAB
ns1.seguro.pt.    86400  IN A    198.51.100.1
inseguro.pt.      86400  IN NS   ns.hosting.net.
irmao.pt.         86400  IN NS   ns1.seguro.pt.
b.c.pt.           86400  IN NS   ns.hosting.net.
`

type testZone struct {
	zone *zone.Zone
	keys []*dnssec.Key
	snap *Snapshot
	srv  *Server
}

func signedPT(t testing.TB, text string, mod ...func(*dnssec.SignOptions)) *testZone {
	t.Helper()
	unsigned, err := zone.Read(strings.NewReader(text), zone.ReadOptions{Origin: pt, File: "pt.zone"})
	if err != nil {
		t.Fatal(err)
	}
	var keys []*dnssec.Key
	for _, sep := range []bool{true, false} {
		k, err := dnssec.Generate(pt, dnssec.GenerateOptions{SEP: sep}, testNow.Add(-time.Hour), keys)
		if err != nil {
			t.Fatal(err)
		}
		keys = append(keys, k)
	}
	opt := dnssec.DefaultSignOptions(testNow)
	for _, m := range mod {
		m(&opt)
	}
	z, err := dnssec.Sign(unsigned, keys, opt)
	if err != nil {
		t.Fatal(err)
	}
	snap, err := NewSnapshot(z)
	if err != nil {
		t.Fatal(err)
	}
	srv := New(Config{Identity: "ptzone-test"}, nil)
	srv.Swap(snap)
	return &testZone{zone: z, keys: keys, snap: snap, srv: srv}
}

// ask sends one query through Respond.
func (tz *testZone) ask(t testing.TB, name string, qtype uint16, do bool) *dns.Msg {
	t.Helper()
	q := new(dns.Msg)
	q.SetQuestion(name, qtype)
	q.SetEdns0(1232, do)
	r := tz.srv.Respond(q, false)
	if r == nil {
		t.Fatalf("%s %s: no response", name, dns.TypeToString[qtype])
	}
	return r
}

// dnskeys returns the zone's DNSKEY records.
func (tz *testZone) dnskeys(t testing.TB) []*dns.DNSKEY {
	r := tz.ask(t, "pt.", dns.TypeDNSKEY, false)
	var out []*dns.DNSKEY
	for _, rr := range r.Answer {
		out = append(out, rr.(*dns.DNSKEY))
	}
	return out
}

// checkSigned checks that every RRset of a section (but glue, which has
// none) carries a signature that verifies under the zone's keys.
func (tz *testZone) checkSigned(t *testing.T, what string, section []dns.RR) {
	t.Helper()
	keys := tz.dnskeys(t)
	sets := map[[2]string][]dns.RR{}
	sigs := map[[2]string][]*dns.RRSIG{}
	for _, rr := range section {
		h := rr.Header()
		if sig, ok := rr.(*dns.RRSIG); ok {
			k := [2]string{strings.ToLower(h.Name), dns.TypeToString[sig.TypeCovered]}
			sigs[k] = append(sigs[k], sig)
			continue
		}
		k := [2]string{strings.ToLower(h.Name), dns.TypeToString[h.Rrtype]}
		sets[k] = append(sets[k], rr)
	}
	for k, set := range sets {
		if len(sigs[k]) == 0 {
			t.Errorf("%s: %s %s is not signed", what, k[0], k[1])
			continue
		}
		for _, sig := range sigs[k] {
			i := slices.IndexFunc(keys, func(dk *dns.DNSKEY) bool { return dk.KeyTag() == sig.KeyTag })
			if i < 0 {
				t.Errorf("%s: %s %s signed by unknown key %d", what, k[0], k[1], sig.KeyTag)
				continue
			}
			if err := sig.Verify(keys[i], set); err != nil || !sig.ValidityPeriod(testNow) {
				t.Errorf("%s: %s %s: the signature does not verify: %v", what, k[0], k[1], err)
			}
		}
	}
}

func nsec3s(section []dns.RR) []*dns.NSEC3 {
	var out []*dns.NSEC3
	for _, rr := range section {
		if n, ok := rr.(*dns.NSEC3); ok {
			out = append(out, n)
		}
	}
	return out
}

func matching(ns []*dns.NSEC3, name string) *dns.NSEC3 {
	for _, n := range ns {
		if n.Match(name) {
			return n
		}
	}
	return nil
}

func covering(ns []*dns.NSEC3, name string) *dns.NSEC3 {
	for _, n := range ns {
		if n.Cover(name) {
			return n
		}
	}
	return nil
}

func types(section []dns.RR) []string {
	var out []string
	for _, rr := range section {
		out = append(out, strings.ToLower(rr.Header().Name)+" "+dns.TypeToString[rr.Header().Rrtype])
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// TestReferrals: a delegated name, or any name below it, gets a referral
// (RFC 1034 §4.3.2): the child's NS, not authoritative; with DO, its DS
// and signature, or the NSEC3 proof it has none (an opt-out span for an
// unsigned delegation, RFC 5155 §7.2.7); and the glue the zone holds for
// the child's servers, sibling glue included (RFC 9471). Art 1.1 of the
// Rules: a registered domain is delegated to its nameservers.
func TestReferrals(t *testing.T) {
	tz := signedPT(t, testPT)
	for _, name := range []string{"seguro.pt.", "www.seguro.pt.", "a.b.seguro.pt."} {
		r := tz.ask(t, name, dns.TypeA, true)
		if r.Authoritative || r.Rcode != dns.RcodeSuccess || len(r.Answer) != 0 {
			t.Errorf("%s: AA %v, rcode %s, %d answers: want a referral", name, r.Authoritative, dns.RcodeToString[r.Rcode], len(r.Answer))
		}
		if got, want := types(r.Ns), []string{"seguro.pt. DS", "seguro.pt. NS", "seguro.pt. RRSIG"}; !slices.Equal(got, want) {
			t.Errorf("%s: authority %v, want %v", name, got, want)
		}
		var glue []string
		for _, rr := range r.Extra {
			if a, ok := rr.(*dns.A); ok {
				glue = append(glue, a.Hdr.Name+" "+a.A.String())
			}
		}
		if !slices.Equal(glue, []string{"ns1.seguro.pt. 198.51.100.1"}) {
			t.Errorf("%s: glue %v", name, glue)
		}
		var ds []dns.RR
		for _, rr := range r.Ns {
			if rr.Header().Rrtype != dns.TypeNS {
				ds = append(ds, rr)
			}
		}
		tz.checkSigned(t, name, ds)
	}

	// Unsigned: the proof that no DS exists is an opt-out span.
	r := tz.ask(t, "inseguro.pt.", dns.TypeNS, true)
	if r.Authoritative || len(r.Answer) != 0 {
		t.Fatalf("inseguro.pt.: not a referral: %v", r)
	}
	ns := nsec3s(r.Ns)
	if n := matching(ns, "pt."); n == nil {
		t.Error("inseguro.pt.: no NSEC3 matching the closest provable encloser pt.")
	}
	if n := covering(ns, "inseguro.pt."); n == nil || n.Flags&1 == 0 {
		t.Errorf("inseguro.pt.: no opt-out NSEC3 covering the delegation: %v", n)
	}
	var proof []dns.RR
	for _, rr := range r.Ns {
		if rr.Header().Rrtype != dns.TypeNS {
			proof = append(proof, rr)
		}
	}
	tz.checkSigned(t, "inseguro.pt.", proof)
	if len(r.Extra) != 1 { // the OPT alone: ns.hosting.net is not ours
		t.Errorf("inseguro.pt.: additional %v", r.Extra)
	}

	// Sibling glue: irmao.pt's server lives under seguro.pt.
	r = tz.ask(t, "irmao.pt.", dns.TypeA, false)
	if got := types(r.Extra); !slices.Contains(got, "ns1.seguro.pt. A") {
		t.Errorf("irmao.pt.: no sibling glue: %v", got)
	}
	// Without DO, no DNSSEC records.
	if got := types(r.Ns); !slices.Equal(got, []string{"irmao.pt. NS"}) {
		t.Errorf("irmao.pt. without DO: authority %v", got)
	}

	// A delegation below an empty non-terminal the chain leaves out.
	r = tz.ask(t, "www.b.c.pt.", dns.TypeA, true)
	if r.Authoritative || !slices.Contains(types(r.Ns), "b.c.pt. NS") {
		t.Errorf("www.b.c.pt.: not a referral to b.c.pt.: %v", r)
	}
	if n := covering(nsec3s(r.Ns), "c.pt."); n == nil || n.Flags&1 == 0 {
		t.Error("b.c.pt.: no opt-out span covering c.pt., the next closer name")
	}
}

// TestDSFromTheParentSide: DS at a delegation is the parent's data,
// answered authoritatively (RFC 4035 §3.1.4.1): the DS and its signature,
// or no data with the NSEC3 proof.
func TestDSFromTheParentSide(t *testing.T) {
	tz := signedPT(t, testPT)
	r := tz.ask(t, "SeGuRo.pt.", dns.TypeDS, true)
	if !r.Authoritative || r.Rcode != dns.RcodeSuccess {
		t.Fatalf("DS seguro.pt.: AA %v rcode %s", r.Authoritative, dns.RcodeToString[r.Rcode])
	}
	if got := types(r.Answer); !slices.Equal(got, []string{"seguro.pt. DS", "seguro.pt. RRSIG"}) {
		t.Errorf("DS seguro.pt.: answer %v", got)
	}
	if r.Answer[0].Header().Name != "SeGuRo.pt." {
		t.Errorf("the answer's owner is %q, not the name as asked", r.Answer[0].Header().Name)
	}
	tz.checkSigned(t, "DS seguro.pt.", r.Answer)

	r = tz.ask(t, "inseguro.pt.", dns.TypeDS, true)
	if !r.Authoritative || r.Rcode != dns.RcodeSuccess || len(r.Answer) != 0 {
		t.Fatalf("DS inseguro.pt.: AA %v rcode %s answer %v", r.Authoritative, dns.RcodeToString[r.Rcode], r.Answer)
	}
	if !slices.Contains(types(r.Ns), "pt. SOA") {
		t.Errorf("DS inseguro.pt.: no SOA: %v", types(r.Ns))
	}
	if n := covering(nsec3s(r.Ns), "inseguro.pt."); n == nil || n.Flags&1 == 0 {
		t.Error("DS inseguro.pt.: no opt-out span covering it")
	}
	tz.checkSigned(t, "DS inseguro.pt.", r.Ns)
}

// TestNegativeAnswers: a name that does not exist gets NXDOMAIN with the
// closest encloser proof and the proof that no wildcard answers (RFC 5155
// §7.2.2); a type a name lacks gets no data with the name's NSEC3 record
// (§7.2.3), an empty non-terminal included; the SOA's TTL is the negative
// TTL (RFC 2308 §5: the SOA's MINIMUM, 600, below its TTL).
func TestNegativeAnswers(t *testing.T) {
	tz := signedPT(t, testPT)
	r := tz.ask(t, "nao-existe.pt.", dns.TypeA, true)
	if !r.Authoritative || r.Rcode != dns.RcodeNameError {
		t.Fatalf("nao-existe.pt.: AA %v rcode %s", r.Authoritative, dns.RcodeToString[r.Rcode])
	}
	ns := nsec3s(r.Ns)
	if matching(ns, "pt.") == nil || covering(ns, "nao-existe.pt.") == nil || covering(ns, "*.pt.") == nil {
		t.Errorf("nao-existe.pt.: the proof is incomplete: %v", ns)
	}
	for _, rr := range r.Ns {
		if rr.Header().Rrtype == dns.TypeSOA && rr.Header().Ttl != 600 {
			t.Errorf("SOA TTL %d in a negative answer, want 600", rr.Header().Ttl)
		}
	}
	tz.checkSigned(t, "nao-existe.pt.", r.Ns)

	// Deeper: the closest encloser is registo.pt., an empty non-terminal.
	r = tz.ask(t, "x.y.registo.pt.", dns.TypeA, true)
	ns = nsec3s(r.Ns)
	if r.Rcode != dns.RcodeNameError || matching(ns, "registo.pt.") == nil || covering(ns, "y.registo.pt.") == nil || covering(ns, "*.registo.pt.") == nil {
		t.Errorf("x.y.registo.pt.: rcode %s, proof %v", dns.RcodeToString[r.Rcode], ns)
	}

	for _, c := range []struct {
		name  string
		qtype uint16
	}{{"pt.", dns.TypeTXT}, {"registo.pt.", dns.TypeA}, {"www.registo.pt.", dns.TypeAAAA}, {"a.dns.pt.", dns.TypeMX}} {
		r := tz.ask(t, c.name, c.qtype, true)
		if !r.Authoritative || r.Rcode != dns.RcodeSuccess || len(r.Answer) != 0 {
			t.Errorf("%s %s: AA %v rcode %s answers %d: want no data", c.name, dns.TypeToString[c.qtype], r.Authoritative, dns.RcodeToString[r.Rcode], len(r.Answer))
			continue
		}
		n := matching(nsec3s(r.Ns), c.name)
		if n == nil || slices.Contains(n.TypeBitMap, c.qtype) {
			t.Errorf("%s %s: no NSEC3 matching the name without the type: %v", c.name, dns.TypeToString[c.qtype], n)
		}
		tz.checkSigned(t, c.name, r.Ns)
	}
}

// TestApexAnswers: the apex's own data, signed, case kept as asked.
func TestApexAnswers(t *testing.T) {
	tz := signedPT(t, testPT)
	for _, qt := range []uint16{dns.TypeSOA, dns.TypeNS, dns.TypeDNSKEY, dns.TypeNSEC3PARAM, dns.TypeZONEMD} {
		r := tz.ask(t, "Pt.", qt, true)
		if !r.Authoritative || r.Rcode != dns.RcodeSuccess || len(r.Answer) < 2 {
			t.Errorf("pt. %s: AA %v rcode %s answer %v", dns.TypeToString[qt], r.Authoritative, dns.RcodeToString[r.Rcode], r.Answer)
			continue
		}
		for _, rr := range r.Answer {
			if rr.Header().Name != "Pt." {
				t.Errorf("pt. %s: owner %q, not the name as asked", dns.TypeToString[qt], rr.Header().Name)
			}
		}
		tz.checkSigned(t, "pt. "+dns.TypeToString[qt], r.Answer)
	}
	r := tz.ask(t, "www.registo.pt.", dns.TypeA, false)
	if len(r.Answer) != 1 || r.Answer[0].(*dns.A).A.String() != "192.0.2.80" || len(r.Ns) != 0 {
		t.Errorf("www.registo.pt. A: %v", r)
	}
}

// TestRefusedAndMalformed: names outside the zones, other classes and
// unknown EDNS versions get the codes RFC 1035, RFC 6891 and common
// practice give them; a server asked who it is answers only if told to.
func TestRefusedAndMalformed(t *testing.T) {
	tz := signedPT(t, testPT)
	if r := tz.ask(t, "example.com.", dns.TypeA, false); r.Rcode != dns.RcodeRefused || r.Authoritative {
		t.Errorf("example.com.: rcode %s, AA %v", dns.RcodeToString[r.Rcode], r.Authoritative)
	}
	q := new(dns.Msg)
	q.SetQuestion("pt.", dns.TypeSOA)
	q.SetEdns0(1232, false)
	q.IsEdns0().SetVersion(1)
	if r := tz.srv.Respond(q, true); r.Rcode != dns.RcodeBadVers || r.IsEdns0() == nil || len(r.Answer) != 0 {
		t.Errorf("EDNS version 1: rcode %d, OPT %v", r.Rcode, r.IsEdns0())
	}
	q = new(dns.Msg)
	q.SetQuestion("id.server.", dns.TypeTXT)
	q.Question[0].Qclass = dns.ClassCHAOS
	if r := tz.srv.Respond(q, true); r.Rcode != dns.RcodeSuccess || len(r.Answer) != 1 || r.Answer[0].(*dns.TXT).Txt[0] != "ptzone-test" {
		t.Errorf("CH TXT id.server.: %v", r)
	}
	q.Question[0].Name = "version.bind."
	if r := tz.srv.Respond(q, true); r.Rcode != dns.RcodeRefused || len(r.Answer) != 0 {
		t.Errorf("CH TXT version.bind. answered though no version is configured: %v", r)
	}
	q = new(dns.Msg)
	q.SetQuestion("pt.", dns.TypeAXFR)
	if r := tz.srv.Respond(q, false); r.Rcode != dns.RcodeRefused {
		t.Errorf("AXFR without a configuration allowing it: rcode %s", dns.RcodeToString[r.Rcode])
	}
	r := new(dns.Msg)
	r.SetQuestion("pt.", dns.TypeSOA)
	r.Response = true
	if tz.srv.Respond(r, true) != nil {
		t.Error("a response was answered")
	}
}

// TestTruncation: over UDP no response is larger than the client can
// take (512 octets without EDNS, its EDNS size up to ours otherwise), and
// a response that loses records it needs says so (TC); over TCP it is
// whole.
func TestTruncation(t *testing.T) {
	text := testPT
	for i := range 40 {
		text += "pt. 3600 IN TXT \"" + strings.Repeat("x", 200) + string(rune('a'+i%26)) + string(rune('a'+i/26)) + "\"\n"
	}
	tz := signedPT(t, text)
	q := new(dns.Msg)
	q.SetQuestion("pt.", dns.TypeTXT)
	r := tz.srv.Respond(q, true)
	if b, _ := r.Pack(); len(b) > 512 || !r.Truncated {
		t.Errorf("UDP without EDNS: %d octets, TC %v", len(b), r.Truncated)
	}
	q.SetEdns0(4096, true)
	r = tz.srv.Respond(q, true)
	if b, _ := r.Pack(); len(b) > 1232 || !r.Truncated {
		t.Errorf("UDP with EDNS 4096: %d octets (ours is 1232), TC %v", len(b), r.Truncated)
	}
	r = tz.srv.Respond(q, false)
	if r.Truncated || len(r.Answer) != 41 {
		t.Errorf("TCP: TC %v, %d answers", r.Truncated, len(r.Answer))
	}
}
