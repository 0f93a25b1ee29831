package dnstest

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/miekg/dns"
)

// Case is one query and the response it must get.
type Case struct {
	// The question: a name (absolute, in the case it is to be asked in),
	// a type and a class (0 is IN).
	Qname  string
	Qtype  uint16
	Qclass uint16
	// EDNS is the UDP payload size the query advertises in an OPT record;
	// 0 sends no OPT record. DO (RFC 3225) and EDNSVersion (RFC 6891)
	// need one.
	EDNS        uint16
	DO          bool
	EDNSVersion uint8
	// TCP asks the test to send the query over TCP (no size limit);
	// otherwise over UDP. Query and Check do not look at it.
	TCP bool

	// Rcode, AA and TC are the response's expected rcode and flags.
	Rcode  int
	AA, TC bool
	// Answer, Ns and Extra are the expected sections, one master-file
	// record a line, with absolute names (see the package comment for
	// RRSIG and NSEC3 lines). The OPT record is not written: a response
	// must carry one exactly when the query does, with its DO bit. Nor is
	// a TSIG record, which signs the message and which the client that
	// received it verifies (RFC 8945).
	Answer, Ns, Extra []string
	// ExactCase compares owner names as written, case included, for a
	// server that must keep the question's case in its owners.
	ExactCase bool
	// Partial lets a response lack expected records, as a truncated one
	// keeps only those that fit; it may still hold no others.
	Partial bool
	// MaxSize, if not 0, is the most octets the packed response may take.
	MaxSize int
}

// String names the case as a dig command line would.
func (c Case) String() string {
	var b strings.Builder
	b.WriteString(c.Qname)
	if c.Qclass != 0 && c.Qclass != dns.ClassINET {
		b.WriteString(" " + dns.ClassToString[c.Qclass])
	}
	b.WriteString(" " + typeString(c.Qtype))
	if c.DO {
		b.WriteString(" +dnssec")
	}
	if c.EDNS > 0 {
		fmt.Fprintf(&b, " +bufsize=%d", c.EDNS)
		if c.EDNSVersion != 0 {
			fmt.Fprintf(&b, " +edns=%d", c.EDNSVersion)
		}
	} else {
		b.WriteString(" +noedns")
	}
	if c.TCP {
		b.WriteString(" +tcp")
	}
	return b.String()
}

// Query returns the query of c.
func Query(c Case) *dns.Msg {
	q := new(dns.Msg)
	q.SetQuestion(c.Qname, c.Qtype)
	if c.Qclass != 0 {
		q.Question[0].Qclass = c.Qclass
	}
	if c.EDNS > 0 {
		q.SetEdns0(c.EDNS, c.DO)
		q.IsEdns0().SetVersion(c.EDNSVersion)
	}
	return q
}

// Verifier checks responses against cases, verifying their signatures
// with Keys as valid at Now.
type Verifier struct {
	Keys []*dns.DNSKEY
	Now  time.Time
}

// Check compares a response with c, as the package comment says, and
// returns an error listing every difference, one a line; nil when the
// response is as c expects. A case that cannot be read (a line that does
// not parse, a false NSEC3 claim) is an error too.
func (v Verifier) Check(c Case, r *dns.Msg) error {
	want, err := v.parse(c)
	if err != nil {
		return fmt.Errorf("the case %s: %w", c, err)
	}
	if r == nil {
		return errors.New("no response")
	}
	var diff []string
	differ := func(format string, args ...any) { diff = append(diff, fmt.Sprintf(format, args...)) }

	if !r.Response {
		differ("QR clear: not a response")
	}
	if r.Rcode != c.Rcode {
		differ("rcode %s, want %s", rcodeString(r.Rcode), rcodeString(c.Rcode))
	}
	if r.Authoritative != c.AA {
		differ("AA %v, want %v", r.Authoritative, c.AA)
	}
	if r.Truncated != c.TC {
		differ("TC %v, want %v", r.Truncated, c.TC)
	}
	if q := Query(c).Question[0]; len(r.Question) != 1 || r.Question[0] != q {
		differ("question %v, want %v", r.Question, []dns.Question{q})
	}
	switch opt := r.IsEdns0(); {
	case opt == nil && c.EDNS > 0:
		differ("no OPT record in the response to an EDNS query (RFC 6891 §6.1.1)")
	case opt != nil && c.EDNS == 0:
		differ("an OPT record in the response to a query without EDNS (RFC 6891 §7)")
	case opt != nil && opt.Do() != c.DO:
		differ("DO %v in the response's OPT record, want it copied from the query (RFC 3225 §3)", opt.Do())
	}
	if c.MaxSize > 0 {
		switch b, err := r.Copy().Pack(); {
		case err != nil:
			differ("the response does not pack: %v", err)
		case len(b) > c.MaxSize:
			differ("%d octets, want at most %d", len(b), c.MaxSize)
		}
	}

	extra := slices.DeleteFunc(slices.Clone(r.Extra), func(rr dns.RR) bool {
		return rr.Header().Rrtype == dns.TypeOPT || rr.Header().Rrtype == dns.TypeTSIG
	})
	for _, s := range []struct {
		name string
		want []dns.RR
		got  []dns.RR
	}{{"answer", want.answer, r.Answer}, {"authority", want.ns, r.Ns}, {"additional", want.extra, extra}} {
		diff = append(diff, compare(s.name, s.want, s.got, c)...)
		if len(v.Keys) > 0 {
			diff = append(diff, v.verify(s.name, s.got)...)
		}
	}
	if len(diff) == 0 {
		return nil
	}
	return errors.New(strings.Join(diff, "\n"))
}

// sections are the records a case expects.
type sections struct{ answer, ns, extra []dns.RR }

// parse reads a case's sections and checks its NSEC3 claims.
func (v Verifier) parse(c Case) (sections, error) {
	if c.EDNS == 0 && (c.DO || c.EDNSVersion != 0) {
		return sections{}, errors.New("DO and an EDNS version need EDNS (a size)")
	}
	var out sections
	unsigned := false
	for _, s := range []struct {
		lines []string
		to    *[]dns.RR
	}{{c.Answer, &out.answer}, {c.Ns, &out.ns}, {c.Extra, &out.extra}} {
		for _, line := range s.lines {
			rr, comment, err := parseLine(line)
			if err != nil {
				return sections{}, err
			}
			if sig, ok := rr.(*dns.RRSIG); ok && sig.Signature == "" {
				unsigned = true
			}
			if n, ok := rr.(*dns.NSEC3); ok {
				if err := checkClaims(n, comment); err != nil {
					return sections{}, fmt.Errorf("%q: %w", line, err)
				}
			}
			*s.to = append(*s.to, rr)
		}
	}
	switch {
	case unsigned && len(v.Keys) == 0:
		return sections{}, errors.New("RRSIG lines without a signature need the Verifier's keys to verify the signatures")
	case len(v.Keys) > 0 && v.Now.IsZero():
		return sections{}, errors.New("the Verifier has keys but no time to check signatures' validity at")
	}
	return out, nil
}

// parseLine reads one master-file record and its comment.
func parseLine(line string) (dns.RR, string, error) {
	zp := dns.NewZoneParser(strings.NewReader(line), "", "")
	rr, ok := zp.Next()
	if !ok {
		if err := zp.Err(); err != nil {
			return nil, "", fmt.Errorf("%q: %w", line, err)
		}
		return nil, "", fmt.Errorf("%q: no record", line)
	}
	comment := zp.Comment()
	if _, more := zp.Next(); more {
		return nil, "", fmt.Errorf("%q: more than one record", line)
	}
	return rr, comment, nil
}

// checkClaims checks an NSEC3 line's comment: "; matches NAME" or
// "; covers NAME", several separated by commas.
func checkClaims(n *dns.NSEC3, comment string) error {
	text := strings.TrimSpace(strings.TrimLeft(comment, ";"))
	if text == "" {
		return errors.New(`an NSEC3 line says what it is for: "; matches NAME" or "; covers NAME"`)
	}
	for claim := range strings.SplitSeq(text, ",") {
		f := strings.Fields(claim)
		if len(f) != 2 || !dns.IsFqdn(f[1]) {
			return fmt.Errorf(`the claim %q is not "matches NAME" or "covers NAME" with NAME absolute`, strings.TrimSpace(claim))
		}
		switch f[0] {
		case "matches":
			if !n.Match(f[1]) {
				return fmt.Errorf("it does not match %s, whose hash is %s", f[1], dns.HashName(f[1], n.Hash, n.Iterations, n.Salt))
			}
		case "covers":
			if !n.Cover(f[1]) {
				return fmt.Errorf("it does not cover %s, whose hash is %s", f[1], dns.HashName(f[1], n.Hash, n.Iterations, n.Salt))
			}
		default:
			return fmt.Errorf(`the claim %q is neither "matches" nor "covers"`, strings.TrimSpace(claim))
		}
	}
	return nil
}

// compare compares a section with the records expected in it, as sets.
func compare(section string, want, got []dns.RR, c Case) []string {
	left := map[string]int{} // expected records not yet seen, by key
	for _, rr := range want {
		left[Line(rr, c.ExactCase, true)]++
	}
	var unexpected []string
	for _, rr := range got {
		k := Line(rr, c.ExactCase, true)
		if left[k] == 0 {
			k = Line(rr, c.ExactCase, false) // against a line without a signature
		}
		if left[k] == 0 {
			unexpected = append(unexpected, display(rr))
			continue
		}
		left[k]--
	}
	var missing []string
	if !c.Partial {
		for _, rr := range want {
			if k := Line(rr, c.ExactCase, true); left[k] > 0 {
				left[k]--
				missing = append(missing, display(rr))
			}
		}
	}
	slices.Sort(missing)
	slices.Sort(unexpected)
	var diff []string
	for _, m := range missing {
		diff = append(diff, section+": missing    "+m)
	}
	for _, u := range unexpected {
		diff = append(diff, section+": unexpected "+u)
	}
	return diff
}

// Line renders a record as a comparison key: master-file text with its
// names without case (RFC 4343; the owner keeps its case if exactCase)
// and an RRSIG's signature only if withSignature. Tests that compare two
// servers' responses, rather than one against a Case, use it too.
func Line(rr dns.RR, exactCase, withSignature bool) string {
	rr = dns.Copy(rr)
	h := rr.Header()
	h.Rdlength = 0
	if !exactCase {
		h.Name = strings.ToLower(h.Name)
	}
	switch v := rr.(type) {
	case *dns.NS:
		v.Ns = strings.ToLower(v.Ns)
	case *dns.CNAME:
		v.Target = strings.ToLower(v.Target)
	case *dns.DNAME:
		v.Target = strings.ToLower(v.Target)
	case *dns.PTR:
		v.Ptr = strings.ToLower(v.Ptr)
	case *dns.MX:
		v.Mx = strings.ToLower(v.Mx)
	case *dns.SRV:
		v.Target = strings.ToLower(v.Target)
	case *dns.SOA:
		v.Ns, v.Mbox = strings.ToLower(v.Ns), strings.ToLower(v.Mbox)
	case *dns.NSEC:
		v.NextDomain = strings.ToLower(v.NextDomain)
	case *dns.NSEC3:
		v.NextDomain = strings.ToUpper(v.NextDomain) // base32hex
	case *dns.RRSIG:
		v.SignerName = strings.ToLower(v.SignerName)
		if !withSignature {
			v.Signature = ""
		}
	}
	return strings.TrimSpace(rr.String())
}

// display renders a record as a case would write it: an RRSIG without
// its signature.
func display(rr dns.RR) string {
	if sig, ok := rr.(*dns.RRSIG); ok {
		sig = dns.Copy(sig).(*dns.RRSIG)
		sig.Signature = ""
		rr = sig
	}
	return strings.TrimSpace(rr.String())
}

// verify checks that every RRSIG of a section is made by one of the keys
// over the RRset it covers in that section, and is valid at v.Now.
func (v Verifier) verify(section string, rrs []dns.RR) []string {
	type setKey struct {
		owner string
		typ   uint16
	}
	sets := map[setKey][]dns.RR{}
	for _, rr := range rrs {
		if rr.Header().Rrtype != dns.TypeRRSIG {
			k := setKey{strings.ToLower(rr.Header().Name), rr.Header().Rrtype}
			sets[k] = append(sets[k], rr)
		}
	}
	var diff []string
	for _, rr := range rrs {
		sig, ok := rr.(*dns.RRSIG)
		if !ok {
			continue
		}
		what := fmt.Sprintf("%s: the RRSIG over %s %s by key %d", section, sig.Hdr.Name, typeString(sig.TypeCovered), sig.KeyTag)
		set := sets[setKey{strings.ToLower(sig.Hdr.Name), sig.TypeCovered}]
		i := slices.IndexFunc(v.Keys, func(k *dns.DNSKEY) bool {
			return k.KeyTag() == sig.KeyTag && k.Algorithm == sig.Algorithm && strings.EqualFold(k.Hdr.Name, sig.SignerName)
		})
		switch {
		case len(set) == 0:
			diff = append(diff, what+" covers no RRset of the section")
		case i < 0:
			diff = append(diff, what+": no such key")
		case !sig.ValidityPeriod(v.Now):
			diff = append(diff, fmt.Sprintf("%s is not valid at %s", what, v.Now.UTC().Format(time.RFC3339)))
		default:
			if err := sig.Verify(v.Keys[i], set); err != nil {
				diff = append(diff, fmt.Sprintf("%s does not verify: %v", what, err))
			}
		}
	}
	return diff
}

func typeString(t uint16) string {
	if s, ok := dns.TypeToString[t]; ok {
		return s
	}
	return fmt.Sprintf("TYPE%d", t)
}

func rcodeString(rcode int) string {
	if s, ok := dns.RcodeToString[rcode]; ok {
		return s
	}
	return fmt.Sprintf("RCODE%d", rcode)
}
