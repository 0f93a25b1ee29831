package authserver

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/miekg/dns"

	"github.com/ptzone/ptzone/dnssec"
	"github.com/ptzone/ptzone/internal/dnstest"
	"github.com/ptzone/ptzone/internal/testkit"
	"github.com/ptzone/ptzone/zone"
)

var (
	testNow = testkit.FixedTime
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

// signedPT signs a pt zone text with new keys, a KSK and a ZSK, and
// serves it.
func signedPT(t testing.TB, text string) *testZone {
	t.Helper()
	return signPT(t, text, testkit.GenerateKeys(t, pt, testNow.Add(-time.Hour)))
}

// tablePT signs a pt zone text with the fixed keys of pt (testdata/keys),
// without jitter, and serves it: every RRSIG it holds is made by a key
// the tables name, valid from an hour before testNow to 14 days after it.
func tablePT(t testing.TB, text string) *testZone {
	t.Helper()
	return signPT(t, text, testkit.FixedKeys(t, pt), withoutJitter)
}

// withoutJitter gives every signature one validity window, which the
// tables' RRSIG lines name (byZSK, byKSK).
func withoutJitter(o *dnssec.SignOptions) { o.Jitter = 0 }

// signPT signs a pt zone text with keys at testNow and serves it.
func signPT(t testing.TB, text string, keys []*dnssec.Key, mod ...func(*dnssec.SignOptions)) *testZone {
	t.Helper()
	z := testkit.Sign(t, testkit.ReadZone(t, pt, text), keys, testNow, mod...)
	snap, err := NewSnapshot(z)
	if err != nil {
		t.Fatal(err)
	}
	srv := New(Config{Identity: "ptzone-test"}, nil)
	srv.Swap(snap)
	return &testZone{zone: z, keys: keys, snap: snap, srv: srv}
}

// verifier checks responses against cases with the zone's keys, at
// testNow.
func (tz *testZone) verifier() dnstest.Verifier {
	v := dnstest.Verifier{Now: testNow}
	for _, k := range tz.keys {
		v.Keys = append(v.Keys, k.DNSKEY)
	}
	return v
}

// check asks each case's question of the zone's server, over the
// transport the case says, and checks the response.
func (tz *testZone) check(t *testing.T, cases []dnstest.Case) {
	t.Helper()
	v := tz.verifier()
	for _, c := range cases {
		if err := v.Check(c, tz.srv.Respond(dnstest.Query(c), !c.TCP)); err != nil {
			t.Errorf("%s:\n%v", c, err)
		}
	}
}

// ask sends one query through Respond, over TCP.
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

// byZSK and byKSK end the RRSIG lines of the tables over tablePT's
// zones: the validity window and the key (pt's fixed ZSK 34048 and KSK
// 29457). A line reads "OWNER TTL IN RRSIG TYPE 13 LABELS ORIGINAL-TTL"
// + byZSK, without the signature, which the check verifies (see
// dnstest).
//
// The NSEC3 records of testPT's chain (no salt, no extra iterations,
// opt-out: flags 1) are, in hash order, those of pt. (f21j...),
// registo.pt. (j21v...), a.dns.pt. (jbdm...), dns.pt. (pd9q...),
// b.dns.pt. (rga4...), www.registo.pt. (u2g5...) and seguro.pt.
// (uu8e...); each NSEC3 line of a case says in its comment what it
// proves there, and the check holds it to that.
const (
	byZSK = " 20261206120000 20261122110000 34048 pt."
	byKSK = " 20261206120000 20261122110000 29457 pt."
)

// TestReferrals: a delegated name, or any name below it, gets a referral
// (RFC 1034 §4.3.2): the child's NS, not authoritative; with DO, its DS
// and signature, or the NSEC3 proof it has none (an opt-out span for an
// unsigned delegation, RFC 5155 §7.2.7); and the glue the zone holds for
// the child's servers, sibling glue included (RFC 9471). Art 1.1 of the
// Rules: a registered domain is delegated to its nameservers.
func TestReferrals(t *testing.T) {
	secure := func(qname string) dnstest.Case {
		return dnstest.Case{Qname: qname, Qtype: dns.TypeA, EDNS: 1232, DO: true,
			Ns: []string{
				"seguro.pt. 86400 IN NS ns1.seguro.pt.",
				"seguro.pt. 86400 IN NS ns.hosting.net.",
				"seguro.pt. 86400 IN DS 12345 13 2 " + strings.Repeat("AB", 32),
				"seguro.pt. 86400 IN RRSIG DS 13 2 86400" + byZSK,
			},
			Extra: []string{"ns1.seguro.pt. 86400 IN A 198.51.100.1"}, // in-domain glue
		}
	}
	tablePT(t, testPT).check(t, []dnstest.Case{
		secure("seguro.pt."),
		secure("www.seguro.pt."),
		secure("a.b.seguro.pt."),
		// Unsigned: the proof that no DS exists is an opt-out span; no
		// glue, for ns.hosting.net is not ours.
		{Qname: "inseguro.pt.", Qtype: dns.TypeNS, EDNS: 1232, DO: true,
			Ns: []string{
				"inseguro.pt. 86400 IN NS ns.hosting.net.",
				"f21j4kpl1qgrpoo09netn8l39gvqjs3h.pt. 600 IN NSEC3 1 1 0 - J21VBM70C1PT0Q9R5TGBP3TTM30K25BJ NS SOA RRSIG DNSKEY NSEC3PARAM ZONEMD ; matches pt., covers inseguro.pt.",
				"f21j4kpl1qgrpoo09netn8l39gvqjs3h.pt. 600 IN RRSIG NSEC3 13 2 600" + byZSK,
			}},
		// Sibling glue: irmao.pt's server lives under seguro.pt.
		// Without DO, no DNSSEC records.
		{Qname: "irmao.pt.", Qtype: dns.TypeA, EDNS: 1232,
			Ns:    []string{"irmao.pt. 86400 IN NS ns1.seguro.pt."},
			Extra: []string{"ns1.seguro.pt. 86400 IN A 198.51.100.1"}},
		// A delegation below an empty non-terminal the chain leaves out:
		// the span covering c.pt., the next closer name, is opt-out.
		{Qname: "www.b.c.pt.", Qtype: dns.TypeA, EDNS: 1232, DO: true,
			Ns: []string{
				"b.c.pt. 86400 IN NS ns.hosting.net.",
				"f21j4kpl1qgrpoo09netn8l39gvqjs3h.pt. 600 IN NSEC3 1 1 0 - J21VBM70C1PT0Q9R5TGBP3TTM30K25BJ NS SOA RRSIG DNSKEY NSEC3PARAM ZONEMD ; matches pt.",
				"f21j4kpl1qgrpoo09netn8l39gvqjs3h.pt. 600 IN RRSIG NSEC3 13 2 600" + byZSK,
				"rga418j39esig6k1hkfi60epe1q2grlo.pt. 600 IN NSEC3 1 1 0 - U2G5738BIK372RFLRVOK2LIV4SDL08OK AAAA RRSIG ; covers c.pt.",
				"rga418j39esig6k1hkfi60epe1q2grlo.pt. 600 IN RRSIG NSEC3 13 2 600" + byZSK,
			}},
	})
}

// TestDSFromTheParentSide: DS at a delegation is the parent's data,
// answered authoritatively (RFC 4035 §3.1.4.1), with the owner's case as
// asked: the DS and its signature, or no data with the NSEC3 proof.
func TestDSFromTheParentSide(t *testing.T) {
	tablePT(t, testPT).check(t, []dnstest.Case{
		{Qname: "SeGuRo.pt.", Qtype: dns.TypeDS, EDNS: 1232, DO: true, AA: true, ExactCase: true,
			Answer: []string{
				"SeGuRo.pt. 86400 IN DS 12345 13 2 " + strings.Repeat("AB", 32),
				"SeGuRo.pt. 86400 IN RRSIG DS 13 2 86400" + byZSK,
			}},
		{Qname: "inseguro.pt.", Qtype: dns.TypeDS, EDNS: 1232, DO: true, AA: true,
			Ns: []string{
				"pt. 600 IN SOA a.dns.pt. hostmaster.dns.pt. 1763812800 1800 900 604800 600",
				"pt. 600 IN RRSIG SOA 13 1 3600" + byZSK,
				"f21j4kpl1qgrpoo09netn8l39gvqjs3h.pt. 600 IN NSEC3 1 1 0 - J21VBM70C1PT0Q9R5TGBP3TTM30K25BJ NS SOA RRSIG DNSKEY NSEC3PARAM ZONEMD ; matches pt., covers inseguro.pt.",
				"f21j4kpl1qgrpoo09netn8l39gvqjs3h.pt. 600 IN RRSIG NSEC3 13 2 600" + byZSK,
			}},
	})
}

// TestNegativeAnswers: a name that does not exist gets NXDOMAIN with the
// closest encloser proof and the proof that no wildcard answers (RFC 5155
// §7.2.2); a type a name lacks gets no data with the name's NSEC3 record,
// whose bitmap lacks the type (§7.2.3), an empty non-terminal included;
// the SOA's TTL is the negative TTL (RFC 2308 §5: the SOA's MINIMUM, 600,
// below its TTL).
func TestNegativeAnswers(t *testing.T) {
	const (
		soa    = "pt. 600 IN SOA a.dns.pt. hostmaster.dns.pt. 1763812800 1800 900 604800 600"
		soaSig = "pt. 600 IN RRSIG SOA 13 1 3600" + byZSK
	)
	tablePT(t, testPT).check(t, []dnstest.Case{
		{Qname: "nao-existe.pt.", Qtype: dns.TypeA, EDNS: 1232, DO: true, AA: true, Rcode: dns.RcodeNameError,
			Ns: []string{
				soa, soaSig,
				"f21j4kpl1qgrpoo09netn8l39gvqjs3h.pt. 600 IN NSEC3 1 1 0 - J21VBM70C1PT0Q9R5TGBP3TTM30K25BJ NS SOA RRSIG DNSKEY NSEC3PARAM ZONEMD ; matches pt., covers nao-existe.pt.",
				"f21j4kpl1qgrpoo09netn8l39gvqjs3h.pt. 600 IN RRSIG NSEC3 13 2 600" + byZSK,
				"rga418j39esig6k1hkfi60epe1q2grlo.pt. 600 IN NSEC3 1 1 0 - U2G5738BIK372RFLRVOK2LIV4SDL08OK AAAA RRSIG ; covers *.pt.",
				"rga418j39esig6k1hkfi60epe1q2grlo.pt. 600 IN RRSIG NSEC3 13 2 600" + byZSK,
			}},
		// Deeper: the closest encloser is registo.pt., an empty
		// non-terminal.
		{Qname: "x.y.registo.pt.", Qtype: dns.TypeA, EDNS: 1232, DO: true, AA: true, Rcode: dns.RcodeNameError,
			Ns: []string{
				soa, soaSig,
				"j21vbm70c1pt0q9r5tgbp3ttm30k25bj.pt. 600 IN NSEC3 1 1 0 - JBDMNNF6SGNFHF1502KGRBSNDHA1M1BO ; matches registo.pt.",
				"j21vbm70c1pt0q9r5tgbp3ttm30k25bj.pt. 600 IN RRSIG NSEC3 13 2 600" + byZSK,
				"uu8ehl80ci3ql2tfkdeof61imtr0pkf4.pt. 600 IN NSEC3 1 1 0 - F21J4KPL1QGRPOO09NETN8L39GVQJS3H NS DS RRSIG ; covers y.registo.pt.",
				"uu8ehl80ci3ql2tfkdeof61imtr0pkf4.pt. 600 IN RRSIG NSEC3 13 2 600" + byZSK,
				"u2g5738bik372rflrvok2liv4sdl08ok.pt. 600 IN NSEC3 1 1 0 - UU8EHL80CI3QL2TFKDEOF61IMTR0PKF4 A RRSIG ; covers *.registo.pt.",
				"u2g5738bik372rflrvok2liv4sdl08ok.pt. 600 IN RRSIG NSEC3 13 2 600" + byZSK,
			}},
		// No data: the name's own NSEC3 record, without the type.
		{Qname: "pt.", Qtype: dns.TypeTXT, EDNS: 1232, DO: true, AA: true,
			Ns: []string{
				soa, soaSig,
				"f21j4kpl1qgrpoo09netn8l39gvqjs3h.pt. 600 IN NSEC3 1 1 0 - J21VBM70C1PT0Q9R5TGBP3TTM30K25BJ NS SOA RRSIG DNSKEY NSEC3PARAM ZONEMD ; matches pt.",
				"f21j4kpl1qgrpoo09netn8l39gvqjs3h.pt. 600 IN RRSIG NSEC3 13 2 600" + byZSK,
			}},
		{Qname: "registo.pt.", Qtype: dns.TypeA, EDNS: 1232, DO: true, AA: true, // an empty non-terminal
			Ns: []string{
				soa, soaSig,
				"j21vbm70c1pt0q9r5tgbp3ttm30k25bj.pt. 600 IN NSEC3 1 1 0 - JBDMNNF6SGNFHF1502KGRBSNDHA1M1BO ; matches registo.pt.",
				"j21vbm70c1pt0q9r5tgbp3ttm30k25bj.pt. 600 IN RRSIG NSEC3 13 2 600" + byZSK,
			}},
		{Qname: "www.registo.pt.", Qtype: dns.TypeAAAA, EDNS: 1232, DO: true, AA: true,
			Ns: []string{
				soa, soaSig,
				"u2g5738bik372rflrvok2liv4sdl08ok.pt. 600 IN NSEC3 1 1 0 - UU8EHL80CI3QL2TFKDEOF61IMTR0PKF4 A RRSIG ; matches www.registo.pt.",
				"u2g5738bik372rflrvok2liv4sdl08ok.pt. 600 IN RRSIG NSEC3 13 2 600" + byZSK,
			}},
		{Qname: "a.dns.pt.", Qtype: dns.TypeMX, EDNS: 1232, DO: true, AA: true,
			Ns: []string{
				soa, soaSig,
				"jbdmnnf6sgnfhf1502kgrbsndha1m1bo.pt. 600 IN NSEC3 1 1 0 - PD9Q50AJ3BFKSP0FB8LSPNGVNI70R0VP A RRSIG ; matches a.dns.pt.",
				"jbdmnnf6sgnfhf1502kgrbsndha1m1bo.pt. 600 IN RRSIG NSEC3 13 2 600" + byZSK,
			}},
	})
}

// TestApexAnswers: the apex's own data, signed, the owner's case kept as
// asked; the apex servers' addresses, signed, with its NS; and an
// authoritative name's data, without DNSSEC records when not asked for.
// The ZONEMD digest covers the signatures, which with the test keys and
// time are the same at every signing (ECDSA per RFC 6979).
func TestApexAnswers(t *testing.T) {
	apex := func(qtype uint16, answer ...string) dnstest.Case {
		return dnstest.Case{Qname: "Pt.", Qtype: qtype, EDNS: 1232, DO: true, AA: true, ExactCase: true, Answer: answer}
	}
	ns := apex(dns.TypeNS,
		"Pt. 172800 IN NS a.dns.pt.",
		"Pt. 172800 IN NS b.dns.pt.",
		"Pt. 172800 IN RRSIG NS 13 1 172800"+byZSK,
	)
	ns.Extra = []string{
		"a.dns.pt. 172800 IN A 192.0.2.53",
		"a.dns.pt. 172800 IN RRSIG A 13 3 172800" + byZSK,
		"b.dns.pt. 172800 IN AAAA 2001:db8::53",
		"b.dns.pt. 172800 IN RRSIG AAAA 13 3 172800" + byZSK,
	}
	tablePT(t, testPT).check(t, []dnstest.Case{
		apex(dns.TypeSOA,
			"Pt. 3600 IN SOA a.dns.pt. hostmaster.dns.pt. 1763812800 1800 900 604800 600",
			"Pt. 3600 IN RRSIG SOA 13 1 3600"+byZSK,
		),
		ns,
		apex(dns.TypeDNSKEY,
			"Pt. 3600 IN DNSKEY 257 3 13 v0zJrDxaWEceLPqIVehgpEPaJnP6YXUhkmtfnTay+S+Ac4JMinmHAX75HX5JkGI2Yh2xTRL1QcIMngDCpxYNWA==",
			"Pt. 3600 IN DNSKEY 256 3 13 rxzVEI8lUQWwNgvlip5FeMCbubKeeDdoHizDl97R834yWwcW7XAtc/bcJHfIakRQsem38YhhzuoTUqtPuJnXXA==",
			"Pt. 3600 IN RRSIG DNSKEY 13 1 3600"+byKSK,
		),
		apex(dns.TypeNSEC3PARAM,
			"Pt. 600 IN NSEC3PARAM 1 0 0 -",
			"Pt. 600 IN RRSIG NSEC3PARAM 13 1 600"+byZSK,
		),
		apex(dns.TypeZONEMD,
			"Pt. 3600 IN ZONEMD 1763812800 1 1 06d6eb885946e4645322a8ce3c6aeaacb75f7d64418a0835112c0b778d3716b1584355197297a4815514ce63712468a1",
			"Pt. 3600 IN RRSIG ZONEMD 13 1 3600"+byZSK,
		),
		{Qname: "www.registo.pt.", Qtype: dns.TypeA, EDNS: 1232, AA: true,
			Answer: []string{"www.registo.pt. 3600 IN A 192.0.2.80"}},
	})
}

// TestRefusedAndMalformed: names outside the zones, other classes and
// unknown EDNS versions get the codes RFC 1035, RFC 6891 and common
// practice give them; a server asked who it is answers only if told to
// (Identity is set, Version is not); a response gets no response.
func TestRefusedAndMalformed(t *testing.T) {
	tz := tablePT(t, testPT)
	tz.check(t, []dnstest.Case{
		{Qname: "example.com.", Qtype: dns.TypeA, EDNS: 1232, Rcode: dns.RcodeRefused},
		{Qname: "pt.", Qtype: dns.TypeSOA, EDNS: 1232, EDNSVersion: 1, Rcode: dns.RcodeBadVers},
		{Qname: "id.server.", Qclass: dns.ClassCHAOS, Qtype: dns.TypeTXT, AA: true,
			Answer: []string{`id.server. 0 CH TXT "ptzone-test"`}},
		{Qname: "version.bind.", Qclass: dns.ClassCHAOS, Qtype: dns.TypeTXT, Rcode: dns.RcodeRefused},
		// Transfers are allowed per zone, by configuration: none here.
		{Qname: "pt.", Qtype: dns.TypeAXFR, TCP: true, Rcode: dns.RcodeRefused},
	})
	r := new(dns.Msg)
	r.SetQuestion("pt.", dns.TypeSOA)
	r.Response = true
	if tz.srv.Respond(r, true) != nil {
		t.Error("a response was answered")
	}
}

// TestTruncation: over UDP no response is larger than the client can
// take (512 octets without EDNS, its EDNS size up to ours, 1232,
// otherwise), and a response that loses records it needs says so (TC),
// keeping only records of the whole answer; over TCP it is whole.
func TestTruncation(t *testing.T) {
	text := testPT
	var txt []string
	for i := range 40 {
		rr := "pt. 3600 IN TXT \"" + strings.Repeat("x", 200) + string(rune('a'+i%26)) + string(rune('a'+i/26)) + "\""
		text += rr + "\n"
		txt = append(txt, rr)
	}
	signed := append(slices.Clone(txt), "pt. 3600 IN RRSIG TXT 13 1 3600"+byZSK)
	tablePT(t, text).check(t, []dnstest.Case{
		{Qname: "pt.", Qtype: dns.TypeTXT, AA: true, TC: true, Partial: true, MaxSize: 512, Answer: txt},
		{Qname: "pt.", Qtype: dns.TypeTXT, EDNS: 4096, DO: true, AA: true, TC: true, Partial: true, MaxSize: 1232, Answer: signed},
		{Qname: "pt.", Qtype: dns.TypeTXT, EDNS: 4096, DO: true, TCP: true, AA: true, Answer: signed},
	})
}
