package dnssec

import (
	"crypto/sha512"
	"encoding/binary"
	"fmt"
	"runtime"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/miekg/dns"

	"github.com/ptzone/ptzone/zone"
)

// Problem codes of the verifier. Stable: the guard and tests key on them.
const (
	ProblemNoSOA           = "apex.no-soa"
	ProblemNoNS            = "apex.no-ns"
	ProblemNoDNSKEY        = "apex.no-dnskey"
	ProblemTagCollision    = "dnskey.tag-collision"
	ProblemNoParentMatch   = "dnskey.no-parent-ds-match"
	ProblemKeyMismatch     = "key.mismatch"
	ProblemUnsigned        = "rrsig.missing"
	ProblemMissingAlg      = "rrsig.missing-algorithm"
	ProblemBadSignature    = "rrsig.invalid"
	ProblemExpired         = "rrsig.expired"
	ProblemNotYetValid     = "rrsig.not-yet-valid"
	ProblemUnknownKey      = "rrsig.unknown-key"
	ProblemOverDelegation  = "rrsig.over-delegation"
	ProblemOverGlue        = "rrsig.over-glue"
	ProblemOrphanSig       = "rrsig.orphan"
	ProblemNoNSEC3PARAM    = "nsec3param.missing"
	ProblemNSEC3Params     = "nsec3.params"
	ProblemNSEC3Missing    = "nsec3.missing"
	ProblemNSEC3Extra      = "nsec3.extra"
	ProblemNSEC3Chain      = "nsec3.chain"
	ProblemNSEC3Bitmap     = "nsec3.bitmap"
	ProblemNSEC3OptOut     = "nsec3.opt-out"
	ProblemNSEC3Malformed  = "nsec3.malformed"
	ProblemZONEMDMismatch  = "zonemd.mismatch"
	ProblemZONEMDMalformed = "zonemd.malformed"
	// ProblemCrossCheck: the fast path and miekg/dns disagree about a
	// signature. It is a bug in ptzone, and the zone is refused until it
	// is understood.
	ProblemCrossCheck = "verify.cross-check"
)

// Problem is one reason a zone is not fit to publish.
type Problem struct {
	Code    string
	Owner   string
	Type    string
	Message string
}

func (p Problem) String() string {
	where := p.Owner
	if p.Type != "" {
		where += " " + p.Type
	}
	return fmt.Sprintf("%s: %s: %s", p.Code, where, p.Message)
}

// VerifyOptions configure Verify.
type VerifyOptions struct {
	// Now is the time signatures must be valid at.
	Now time.Time
	// ParentDS, when set, is the DS RRset of the parent: a DNSKEY it
	// names must sign the DNSKEY RRset.
	ParentDS []DS
	// Keys, when set, are private keys that each sign a canary RRset,
	// which must validate against the DNSKEY published for them.
	Keys    []*Key
	Workers int
	// Trusted is a zone this verifier passed before (the zone last
	// published). A signature that is byte for byte one of Trusted's, over
	// the same RRset at the same owner, by the same DNSKEY RRset, is not
	// checked again cryptographically: the answer cannot have changed.
	// Everything else, its validity period included, is checked as ever.
	Trusted *zone.Zone
}

// Report is the outcome of a verification.
type Report struct {
	Problems []Problem
	// Signatures counts the RRSIGs checked; Trusted those of them found
	// unchanged in VerifyOptions.Trusted, whose cryptography was not
	// checked again.
	Signatures, Trusted int
	// EarliestExpiration is the first time a signature of the zone expires.
	EarliestExpiration time.Time
	// Delegations counts the delegations; SignedDelegations those with DS.
	Delegations, SignedDelegations int
}

// OK reports whether no problem was found.
func (r *Report) OK() bool { return len(r.Problems) == 0 }

// maxProblemsPerCode bounds the report: a broken zone can have millions of
// the same problem, and the first few tell the story.
const maxProblemsPerCode = 50

type collector struct {
	mu       sync.Mutex
	problems []Problem
	counts   map[string]int
}

func (c *collector) add(code, owner string, typ uint16, format string, args ...any) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.counts == nil {
		c.counts = map[string]int{}
	}
	c.counts[code]++
	if c.counts[code] > maxProblemsPerCode {
		return
	}
	t := ""
	if typ != 0 {
		t = zone.TypeString(typ)
	}
	c.problems = append(c.problems, Problem{Code: code, Owner: owner, Type: t, Message: fmt.Sprintf(format, args...)})
}

// Verify checks a signed zone on its own terms, with code that shares
// nothing with the signer. It checks the apex (SOA, NS, DNSKEY), key tags,
// every RRSIG against the published DNSKEYs at opt.Now, that every
// algorithm of the DNSKEY RRset signs every authoritative RRset, that
// nothing signs delegation NS or glue, the DNSKEY RRset against the parent
// DS, the NSEC3 chain (complete, ordered, closed, bitmaps, opt-out spans
// covering exactly the unsigned delegations), ZONEMD, and each given
// private key against its published DNSKEY.
//
// Signatures are checked on the data the verifier lays out itself from
// the zone (RFC 4034 §3.1.8.1); every apex RRset, the first RRset of each
// type and one in crossCheckEvery others are checked a second time by
// miekg/dns on records it rebuilds and canonicalizes on its own, so that a
// mistake the signer and this verifier could share (the canonical form,
// the layout of the signed data) cannot pass unnoticed. NSEC3 owner names
// are hashed and the zone digested by the verifier's own code, never the
// signer's (TestVerifierSharesNoCodeWithSigner).
func Verify(z *zone.Zone, opt VerifyOptions) *Report { return StartVerify(z, opt)() }

// StartVerify is Verify of a zone whose ZONEMD record and its signatures
// are still placeholders (SignPending, SignChangesPending): the zone
// digest, which leaves them out, is computed from now on, on a core of
// its own, and the rest is verified by finish, to be called once they
// are written. Until then nothing else in the zone may change. A zone's
// two digests, the signer's and this one, then take their turns on the
// two cores side by side instead of one after the other.
func StartVerify(z *zone.Zone, opt VerifyOptions) (finish func() *Report) {
	var digest chan [sha512.Size384]byte
	if apexIdx, ok := z.Find(z.Origin()); ok {
		if _, ok := z.GetAt(apexIdx, zone.TypeZONEMD); ok {
			digest = make(chan [sha512.Size384]byte, 1)
			go func() { digest <- zoneDigest(z) }()
		}
	}
	return func() *Report { return verify(z, opt, digest) }
}

// verify verifies z, its zone digest (if it has a ZONEMD record) coming
// from digest.
func verify(z *zone.Zone, opt VerifyOptions, digest <-chan [sha512.Size384]byte) *Report {
	if opt.Workers <= 0 {
		opt.Workers = runtime.GOMAXPROCS(0)
	}
	v := &verifier{z: z, opt: opt, c: &collector{}, apex: z.Origin(), apexText: z.Origin().String(), apexWire: z.Origin().Wire(), digest: digest}
	v.run()
	rep := &Report{Problems: v.c.problems, Signatures: v.signatures, Trusted: v.reused, Delegations: v.delegations, SignedDelegations: v.signedDelegations}
	if v.hasExpiration {
		rep.EarliestExpiration = time.Unix(v.earliest, 0).UTC()
	}
	for code, n := range v.c.counts {
		if n > maxProblemsPerCode {
			rep.Problems = append(rep.Problems, Problem{Code: code, Owner: v.apexText,
				Message: fmt.Sprintf("%d more problems of this kind not listed", n-maxProblemsPerCode)})
		}
	}
	return rep
}

type verifier struct {
	z        *zone.Zone
	opt      VerifyOptions
	c        *collector
	apex     zone.Name
	apexText string
	apexWire []byte
	// digest gives the zone digest, computed from the start (StartVerify).
	digest <-chan [sha512.Size384]byte

	keys map[uint16][]*pubKey // published DNSKEYs by tag
	algs []uint8              // algorithms of the DNSKEY RRset

	// The NSEC3 parameters, from NSEC3PARAM; hasParams is false without one.
	hasParams  bool
	iterations uint16
	salt       []byte
	chain      *nsec3Chain

	// trusted is opt.Trusted when its DNSKEY RRset is this zone's.
	trusted *zone.Zone

	// Totals of the signature pass.
	signatures, reused             int
	hasExpiration                  bool
	earliest                       int64 // Unix time
	delegations, signedDelegations int
}

func (v *verifier) run() {
	apexIdx, ok := v.z.Find(v.apex)
	if !ok {
		v.c.add(ProblemNoSOA, v.apexText, zone.TypeSOA, "the zone has no apex")
		return
	}
	if _, ok := v.z.GetAt(apexIdx, zone.TypeSOA); !ok {
		v.c.add(ProblemNoSOA, v.apexText, zone.TypeSOA, "no SOA record at the apex")
	}
	if _, ok := v.z.GetAt(apexIdx, zone.TypeNS); !ok {
		v.c.add(ProblemNoNS, v.apexText, zone.TypeNS, "no NS RRset at the apex")
	}
	dnskeys, ok := v.z.GetAt(apexIdx, zone.TypeDNSKEY)
	if !ok {
		v.c.add(ProblemNoDNSKEY, v.apexText, zone.TypeDNSKEY, "no DNSKEY RRset at the apex: the zone is not signed")
		return
	}
	v.loadKeys(dnskeys)
	if t := v.opt.Trusted; t != nil && t.Origin() == v.apex {
		if tk, ok := t.Get(v.apex, zone.TypeDNSKEY); ok && tk.Equal(dnskeys) {
			v.trusted = t
		}
	}
	v.loadNSEC3Params(apexIdx)
	if v.hasParams {
		v.loadChain()
	}

	// The zone digest needs no other result: it runs beside the rest.
	zonemdDone := make(chan struct{})
	go func() {
		defer close(zonemdDone)
		v.checkZONEMD(apexIdx)
	}()
	passes := v.checkSignatures()
	v.checkParentDS(apexIdx)
	v.checkCanaries()
	if v.hasParams {
		v.finishNSEC3(passes)
	}
	<-zonemdDone
}

func (v *verifier) loadKeys(dnskeys zone.RRset) {
	v.keys = map[uint16][]*pubKey{}
	for rd := range dnskeys.Rdata() {
		rr, err := unpack(v.apexText, zone.TypeDNSKEY, dnskeys.TTL(), rd)
		if err != nil {
			v.c.add(ProblemNoDNSKEY, v.apexText, zone.TypeDNSKEY, "malformed DNSKEY: %v", err)
			continue
		}
		k := newPubKey(rr.(*dns.DNSKEY), rd)
		if len(v.keys[k.tag]) > 0 {
			v.c.add(ProblemTagCollision, v.apexText, zone.TypeDNSKEY, "key tag %d is shared by %d keys: validators try keys by tag", k.tag, len(v.keys[k.tag])+1)
		}
		v.keys[k.tag] = append(v.keys[k.tag], k)
		if !slices.Contains(v.algs, k.alg) {
			v.algs = append(v.algs, k.alg)
		}
	}
	slices.Sort(v.algs)
}

// loadNSEC3Params reads NSEC3PARAM: the hash parameters every NSEC3 of
// the chain must share.
func (v *verifier) loadNSEC3Params(apexIdx int) {
	paramSet, ok := v.z.GetAt(apexIdx, zone.TypeNSEC3PARAM)
	if !ok {
		v.c.add(ProblemNoNSEC3PARAM, v.apexText, zone.TypeNSEC3PARAM, "no NSEC3PARAM at the apex")
		return
	}
	if paramSet.Len() != 1 {
		v.c.add(ProblemNSEC3Params, v.apexText, zone.TypeNSEC3PARAM, "%d NSEC3PARAM records: a zone has one chain", paramSet.Len())
		return
	}
	for rd := range paramSet.Rdata() {
		if len(rd) < 5 || rd[0] != 1 || len(rd) != 5+int(rd[4]) {
			v.c.add(ProblemNSEC3Params, v.apexText, zone.TypeNSEC3PARAM, "NSEC3PARAM is malformed or not SHA-1")
			return
		}
		v.iterations, v.salt = binary.BigEndian.Uint16(rd[2:]), rd[5:]
	}
	v.hasParams = true
}

// checkParentDS: some key the parent's DS names must sign the DNSKEY
// RRset, or validators lose the chain of trust.
func (v *verifier) checkParentDS(apexIdx int) {
	if len(v.opt.ParentDS) == 0 {
		return
	}
	dnskeys, _ := v.z.GetAt(apexIdx, zone.TypeDNSKEY)
	sigs, _ := v.z.GetSig(apexIdx, zone.TypeDNSKEY)
	var rrset []dns.RR
	for rd := range dnskeys.Rdata() {
		rr, err := unpack(v.apexText, zone.TypeDNSKEY, dnskeys.TTL(), rd)
		if err == nil {
			rrset = append(rrset, rr)
		}
	}
	for _, ds := range v.opt.ParentDS {
		for _, pk := range v.keys[ds.KeyTag] {
			k := pk.rr
			if k.Algorithm != ds.Algorithm {
				continue
			}
			have := k.ToDS(ds.DigestType)
			if have == nil || !strings.EqualFold(have.Digest, fmt.Sprintf("%X", ds.Digest)) {
				continue
			}
			for sigRd := range sigs.Rdata() {
				rr, err := unpack(v.apexText, zone.TypeRRSIG, sigs.TTL(), sigRd)
				if err != nil {
					continue
				}
				sig := rr.(*dns.RRSIG)
				if sig.KeyTag == ds.KeyTag && sig.Algorithm == ds.Algorithm && sig.Verify(k, rrset) == nil &&
					sig.ValidityPeriod(v.opt.Now) {
					return
				}
			}
		}
	}
	var tags []string
	for _, ds := range v.opt.ParentDS {
		tags = append(tags, fmt.Sprintf("%d/%d", ds.KeyTag, ds.Algorithm))
	}
	v.c.add(ProblemNoParentMatch, v.apexText, zone.TypeDNSKEY,
		"no key named by the parent's DS (%s) signs the DNSKEY RRset: validators would find the zone bogus", strings.Join(tags, ", "))
}

// checkCanaries has each private key sign a small RRset, which must
// validate against the DNSKEY published under its tag: a private key that
// does not match the published key is caught before anything is signed
// with it (.de, 2026).
func (v *verifier) checkCanaries() {
	for _, k := range v.opt.Keys {
		canary := &dns.TXT{Hdr: dns.RR_Header{Name: v.apexText, Rrtype: dns.TypeTXT, Class: dns.ClassINET, Ttl: 0},
			Txt: []string{fmt.Sprintf("ptzone canary for key %d", k.Tag)}}
		sig := &dns.RRSIG{Hdr: dns.RR_Header{Name: v.apexText, Rrtype: dns.TypeRRSIG, Class: dns.ClassINET},
			Algorithm: k.Algorithm(), KeyTag: k.Tag, SignerName: v.apexText,
			Inception: uint32(v.opt.Now.Add(-time.Hour).Unix()), Expiration: uint32(v.opt.Now.Add(time.Hour).Unix())}
		if err := sig.Sign(k.Signer, []dns.RR{canary}); err != nil {
			v.c.add(ProblemKeyMismatch, v.apexText, zone.TypeDNSKEY, "key %d cannot sign: %v", k.Tag, err)
			continue
		}
		ok := false
		for _, pub := range v.keys[k.Tag] {
			if pub.alg == k.Algorithm() && sig.Verify(pub.rr, []dns.RR{canary}) == nil {
				ok = true
			}
		}
		if !ok {
			v.c.add(ProblemKeyMismatch, v.apexText, zone.TypeDNSKEY,
				"private key %d does not match any DNSKEY published with its tag: its signatures would not validate", k.Tag)
		}
	}
}

// unpack rebuilds a miekg/dns record from canonical wire rdata.
func unpack(owner string, typ uint16, ttl uint32, rd []byte) (dns.RR, error) {
	rr, _, err := dns.UnpackRRWithHeader(dns.RR_Header{Name: owner, Rrtype: typ, Class: dns.ClassINET, Ttl: ttl, Rdlength: uint16(len(rd))}, rd, 0)
	return rr, err
}

func typeList(ts []uint16) string {
	var s []string
	for _, t := range ts {
		s = append(s, zone.TypeString(t))
	}
	if len(s) == 0 {
		return "none"
	}
	return strings.Join(s, " ")
}
