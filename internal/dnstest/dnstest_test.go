package dnstest

import (
	"crypto"
	"net"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/miekg/dns"

	"github.com/ptzone/ptzone/internal/testkit"
)

var now = testkit.FixedTime

func mustRR(t *testing.T, s string) dns.RR {
	t.Helper()
	rr, err := dns.NewRR(s)
	if err != nil {
		t.Fatal(err)
	}
	return rr
}

// signer makes a key for example. and signs RRsets with it.
type signer struct {
	key  *dns.DNSKEY
	priv crypto.Signer
}

func newSigner(t *testing.T) *signer {
	t.Helper()
	k := &dns.DNSKEY{Hdr: dns.RR_Header{Name: "example.", Rrtype: dns.TypeDNSKEY, Class: dns.ClassINET, Ttl: 3600},
		Flags: dns.ZONE, Protocol: 3, Algorithm: dns.ECDSAP256SHA256}
	priv, err := k.Generate(256)
	if err != nil {
		t.Fatal(err)
	}
	return &signer{key: k, priv: priv.(crypto.Signer)}
}

// sign returns the signature over an RRset, valid a day around now.
func (s *signer) sign(t *testing.T, set ...dns.RR) *dns.RRSIG {
	t.Helper()
	sig := &dns.RRSIG{Hdr: dns.RR_Header{Name: set[0].Header().Name, Rrtype: dns.TypeRRSIG, Class: dns.ClassINET, Ttl: set[0].Header().Ttl},
		Algorithm: s.key.Algorithm, SignerName: "example.", KeyTag: s.key.KeyTag(),
		Inception: uint32(now.Add(-time.Hour).Unix()), Expiration: uint32(now.Add(23 * time.Hour).Unix())}
	if err := sig.Sign(s.priv, set); err != nil {
		t.Fatal(err)
	}
	return sig
}

// TestCheck: a response as a case states it passes; each way a response
// can differ from it is reported, in zone text; cases that cannot be
// right are refused.
func TestCheck(t *testing.T) {
	s := newSigner(t)
	soa := mustRR(t, "example. 600 IN SOA ns.example. hostmaster.example. 1 1800 900 604800 600")
	www := mustRR(t, "www.example. 3600 IN A 192.0.2.1")
	mx := mustRR(t, "WWW.Example. 3600 IN MX 10 Mail.Example.")
	wwwSig := s.sign(t, www)
	soaSig := s.sign(t, soa)
	v := Verifier{Keys: []*dns.DNSKEY{s.key}, Now: now}
	tag := s.key.KeyTag()
	c := Case{Qname: "WWW.example.", Qtype: dns.TypeA, EDNS: 1232, DO: true, AA: true, Answer: []string{
		"www.example. 3600 IN A 192.0.2.1",
		"www.example. 3600 IN RRSIG A 13 2 3600 20261123110000 20261122110000 " + itoa(tag) + " example.",
	}}
	response := func(c Case, edit func(*dns.Msg)) *dns.Msg {
		r := new(dns.Msg)
		r.SetReply(Query(c))
		r.Authoritative = true
		a := dns.Copy(www)
		a.Header().Name = c.Qname
		sig := dns.Copy(wwwSig)
		sig.Header().Name = c.Qname
		r.Answer = []dns.RR{a, sig}
		r.SetEdns0(1232, true)
		if edit != nil {
			edit(r)
		}
		return r
	}
	if err := v.Check(c, response(c, nil)); err != nil {
		t.Fatalf("a response as the case states it: %v", err)
	}

	for _, wrong := range []struct {
		what string
		c    Case
		edit func(*dns.Msg)
		want []string // in the error, each
	}{
		{"NXDOMAIN", c, func(r *dns.Msg) { r.Rcode = dns.RcodeNameError }, []string{"rcode NXDOMAIN, want NOERROR"}},
		{"not authoritative", c, func(r *dns.Msg) { r.Authoritative = false }, []string{"AA false, want true"}},
		{"truncated", c, func(r *dns.Msg) { r.Truncated = true }, []string{"TC true, want false"}},
		{"not a response", c, func(r *dns.Msg) { r.Response = false }, []string{"QR clear"}},
		{"another question", c, func(r *dns.Msg) { r.Question[0].Name = "www.example." }, []string{"question"}},
		{"no OPT", c, func(r *dns.Msg) { r.Extra = nil }, []string{"no OPT record"}},
		{"DO clear", c, func(r *dns.Msg) { r.IsEdns0().SetDo(false) }, []string{"DO false"}},
		{"another address", c, func(r *dns.Msg) { r.Answer[0].(*dns.A).A = net.ParseIP("192.0.2.2") }, []string{
			"answer: missing    www.example.\t3600\tIN\tA\t192.0.2.1",
			"answer: unexpected WWW.example.\t3600\tIN\tA\t192.0.2.2",
			"the RRSIG over WWW.example. A by key " + itoa(tag) + " does not verify"}},
		{"a damaged signature", c, func(r *dns.Msg) {
			sig := r.Answer[1].(*dns.RRSIG)
			sig.Signature = "A" + sig.Signature[1:]
			if sig.Signature == wwwSig.Signature {
				sig.Signature = "B" + sig.Signature[1:]
			}
		}, []string{"does not verify"}},
		{"a record more", c, func(r *dns.Msg) { r.Extra = append(r.Extra, soa) }, []string{
			"additional: unexpected example.\t600\tIN\tSOA\tns.example. hostmaster.example. 1 1800 900 604800 600"}},
		{"an unsigned SOA", c, func(r *dns.Msg) { r.Ns = []dns.RR{soa, soaSig} }, []string{
			"authority: unexpected example.\t600\tIN\tRRSIG\tSOA 13 1 600 20261123110000 20261122110000 " + itoa(tag) + " example."}},
		{"a signature by another key", c, func(r *dns.Msg) { r.Answer[1].(*dns.RRSIG).KeyTag++ }, []string{
			"answer: unexpected", "no such key"}},
		{"a record twice", c, func(r *dns.Msg) { r.Answer = append(r.Answer, r.Answer[0]) }, []string{"answer: unexpected WWW.example.\t3600\tIN\tA"}},
		{"an owner's case", Case{Qname: "WWW.example.", Qtype: dns.TypeA, EDNS: 1232, DO: true, AA: true, ExactCase: true,
			Answer: c.Answer}, nil, []string{"answer: missing    www.example.\t3600\tIN\tA", "answer: unexpected WWW.example.\t3600\tIN\tA"}},
		{"a signature invalid at the time", c, func(r *dns.Msg) {
			r.Answer[1] = dns.Copy(r.Answer[1])
			r.Answer[1].(*dns.RRSIG).Expiration = uint32(now.Add(-time.Minute).Unix())
		}, []string{"is not valid at 2026-11-22T12:00:00Z"}},
		{"too large", Case{Qname: c.Qname, Qtype: c.Qtype, EDNS: 1232, DO: true, AA: true, Answer: c.Answer, MaxSize: 100}, nil,
			[]string{"octets, want at most 100"}},
		{"more than a truncated response may keep", Case{Qname: c.Qname, Qtype: c.Qtype, EDNS: 1232, DO: true, AA: true, Partial: true,
			Answer: c.Answer[:1]}, nil, []string{"answer: unexpected WWW.example.\t3600\tIN\tRRSIG"}},
	} {
		err := v.Check(wrong.c, response(wrong.c, wrong.edit))
		if err == nil {
			t.Errorf("%s: passed", wrong.what)
			continue
		}
		for _, w := range wrong.want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("%s: %q does not say %q", wrong.what, err, w)
			}
		}
	}

	// Names compare without case, in owners and in rdata; a truncated
	// response may lack records.
	mxCase := Case{Qname: "www.example.", Qtype: dns.TypeMX, AA: true, Answer: []string{"www.example. 3600 IN MX 10 mail.example."}}
	r := new(dns.Msg)
	r.SetReply(Query(mxCase))
	r.Authoritative = true
	r.Answer = []dns.RR{mx}
	if err := (Verifier{}).Check(mxCase, r); err != nil {
		t.Errorf("names in another case: %v", err)
	}
	// A transaction signature is the transport's, not the response's.
	signed := response(c, func(r *dns.Msg) {
		r.Extra = append(r.Extra, &dns.TSIG{Hdr: dns.RR_Header{Name: "key.", Rrtype: dns.TypeTSIG, Class: dns.ClassANY},
			Algorithm: dns.HmacSHA256, MAC: "00", OrigId: r.Id})
	})
	if err := v.Check(c, signed); err != nil {
		t.Errorf("a signed response: %v", err)
	}
	partial := c
	partial.Partial, partial.TC = true, true
	if err := v.Check(partial, response(partial, func(r *dns.Msg) { r.Truncated, r.Answer = true, r.Answer[:1] })); err != nil {
		t.Errorf("a truncated response with a part of the answer: %v", err)
	}
}

func itoa(n uint16) string { return strconv.Itoa(int(n)) }

// TestNSEC3Claims: an NSEC3 line's claims are checked against its own
// hash; a line without one, or with a false one, makes the case wrong.
func TestNSEC3Claims(t *testing.T) {
	apex := dns.HashName("example.", dns.SHA1, 0, "")
	www := dns.HashName("www.example.", dns.SHA1, 0, "")
	// A chain of two: each record covers the names hashed between them.
	first, second := min(apex, www), max(apex, www)
	line := func(owner, next, comment string) string {
		return owner + ".example. 600 IN NSEC3 1 1 0 - " + next + " A RRSIG ; " + comment
	}
	nx := "nao-existe.example."
	nxHash := dns.HashName(nx, dns.SHA1, 0, "")
	coverer := first
	if nxHash > second || nxHash < first {
		coverer = second // the span that wraps around
	}
	next := map[string]string{first: second, second: first}
	for _, c := range []struct {
		line string
		ok   bool
	}{
		{line(apex, next[apex], "matches example."), true},
		{line(www, next[www], "matches www.example."), true},
		{line(coverer, next[coverer], "covers "+nx), true},
		{line(apex, next[apex], "matches example., covers "+nx), coverer == apex},
		{line(apex, next[apex], "matches www.example."), false},
		{line(apex, next[apex], "is the apex's"), false},
		{line(apex, next[apex], "matches example"), false}, // not absolute
		{strings.TrimSuffix(line(apex, next[apex], ""), " ; "), false},
	} {
		cs := Case{Qname: "example.", Qtype: dns.TypeNSEC3, Answer: []string{c.line}}
		_, err := Verifier{}.parse(cs)
		if (err == nil) != c.ok {
			t.Errorf("%s: error %v, want one: %v", c.line, err, !c.ok)
		}
	}
}

// TestBadCases: a case that cannot be checked is refused, not passed.
func TestBadCases(t *testing.T) {
	r := new(dns.Msg)
	for _, c := range []Case{
		{Qname: "example.", Qtype: dns.TypeA, DO: true},                             // DO without EDNS
		{Qname: "example.", Qtype: dns.TypeA, Answer: []string{"example. A"}},       // not a record
		{Qname: "example.", Qtype: dns.TypeA, Answer: []string{"example. 60 IN A"}}, // no rdata
		{Qname: "example.", Qtype: dns.TypeA, Answer: []string{"example. 60 IN A 192.0.2.1\nexample. 60 IN A 192.0.2.2"}},
		{Qname: "example.", Qtype: dns.TypeA, EDNS: 1232, DO: true, // a signature no key can verify
			Answer: []string{"example. 60 IN RRSIG A 13 1 60 20261123110000 20261122110000 1 example."}},
	} {
		r.SetReply(Query(c))
		err := (Verifier{}).Check(c, r)
		t.Log(err)
		if err == nil || !strings.HasPrefix(err.Error(), "the case ") {
			t.Errorf("%s %q: %v, want the case refused", c, c.Answer, err)
		}
	}
	c := Case{Qname: "example.", Qtype: dns.TypeA}
	if err := (Verifier{Keys: []*dns.DNSKEY{newSigner(t).key}}).Check(c, r); err == nil {
		t.Error("a Verifier with keys and no time passed")
	}
}
