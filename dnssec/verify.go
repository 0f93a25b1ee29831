package dnssec

import (
	"bytes"
	"crypto/sha1"
	"encoding/base32"
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
}

// Report is the outcome of a verification.
type Report struct {
	Problems []Problem
	// Signatures counts the RRSIGs checked.
	Signatures int
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
// nothing with the signer: signatures are checked by miekg/dns on records
// rebuilt from the zone. It checks the apex (SOA, NS, DNSKEY), key tags,
// every RRSIG against the published DNSKEYs at opt.Now, that every
// algorithm of the DNSKEY RRset signs every authoritative RRset, that
// nothing signs delegation NS or glue, the DNSKEY RRset against the parent
// DS, the NSEC3 chain (complete, ordered, closed, bitmaps, opt-out spans
// covering exactly the unsigned delegations), ZONEMD, and each given
// private key against its published DNSKEY.
func Verify(z *zone.Zone, opt VerifyOptions) *Report {
	if opt.Workers <= 0 {
		opt.Workers = runtime.GOMAXPROCS(0)
	}
	v := &verifier{z: z, opt: opt, c: &collector{}, apex: z.Origin(), apexText: z.Origin().String()}
	v.run()
	rep := &Report{Problems: v.c.problems, Signatures: v.signatures, EarliestExpiration: v.earliest,
		Delegations: v.delegations, SignedDelegations: v.signedDelegations}
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

	keys map[uint16][]*dns.DNSKEY // published DNSKEYs by tag
	algs []uint8                  // algorithms of the DNSKEY RRset

	mu                             sync.Mutex
	signatures                     int
	earliest                       time.Time
	delegations, signedDelegations int
}

// kind of an owner, as the verifier sees it.
type kind int

const (
	kindApex kind = iota
	kindAuth
	kindDelegation
	kindGlue
	kindNSEC3
)

type ownerInfo struct {
	idx  int
	kind kind
	// secure: a delegation with DS.
	secure bool
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
	infos := v.classify()
	v.checkSignatures(infos)
	v.checkParentDS(apexIdx)
	v.checkCanaries()
	v.checkNSEC3(infos, apexIdx)
	v.checkZONEMD(apexIdx)
}

func (v *verifier) loadKeys(dnskeys zone.RRset) {
	v.keys = map[uint16][]*dns.DNSKEY{}
	for rd := range dnskeys.Rdata() {
		rr, err := unpack(v.apexText, zone.TypeDNSKEY, dnskeys.TTL(), rd)
		if err != nil {
			v.c.add(ProblemNoDNSKEY, v.apexText, zone.TypeDNSKEY, "malformed DNSKEY: %v", err)
			continue
		}
		k := rr.(*dns.DNSKEY)
		tag := k.KeyTag()
		if len(v.keys[tag]) > 0 {
			v.c.add(ProblemTagCollision, v.apexText, zone.TypeDNSKEY, "key tag %d is shared by %d keys: validators try keys by tag", tag, len(v.keys[tag])+1)
		}
		v.keys[tag] = append(v.keys[tag], k)
		if !slices.Contains(v.algs, k.Algorithm) {
			v.algs = append(v.algs, k.Algorithm)
		}
	}
	slices.Sort(v.algs)
}

// classify walks the zone once and says what each owner is.
func (v *verifier) classify() []ownerInfo {
	infos := make([]ownerInfo, v.z.Owners())
	var cut []byte
	for i := range v.z.Owners() {
		key := v.z.OwnerKey(i)
		info := ownerInfo{idx: i, kind: kindAuth}
		switch {
		case i == 0 && zone.Name(key) == v.apex:
			info.kind = kindApex
		case cut != nil && len(key) > len(cut) && bytes.HasPrefix(key, cut):
			info.kind = kindGlue
		default:
			if _, ok := v.z.GetAt(i, zone.TypeNS); ok {
				info.kind = kindDelegation
				cut = key
				_, info.secure = v.z.GetAt(i, zone.TypeDS)
				v.delegations++
				if info.secure {
					v.signedDelegations++
				}
			} else if v.onlyNSEC3(i) {
				info.kind = kindNSEC3
			}
		}
		infos[i] = info
	}
	return infos
}

func (v *verifier) onlyNSEC3(i int) bool {
	has := false
	for r := range v.z.RRsets(i) {
		switch r.Type() {
		case zone.TypeNSEC3:
			has = true
		case zone.TypeRRSIG:
		default:
			return false
		}
	}
	return has && zone.Name(v.z.OwnerKey(i)).Parent() == v.apex
}

// checkSignatures verifies every RRSIG and that every RRset that must be
// signed is, by every algorithm, in parallel across owners.
func (v *verifier) checkSignatures(infos []ownerInfo) {
	var wg sync.WaitGroup
	chunk := (len(infos) + v.opt.Workers - 1) / v.opt.Workers
	for w := 0; w < v.opt.Workers; w++ {
		lo, hi := w*chunk, min((w+1)*chunk, len(infos))
		if lo >= hi {
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			st := sigStats{}
			for _, info := range infos[lo:hi] {
				v.checkOwner(info, &st)
			}
			v.mu.Lock()
			v.signatures += st.count
			if !st.earliest.IsZero() && (v.earliest.IsZero() || st.earliest.Before(v.earliest)) {
				v.earliest = st.earliest
			}
			v.mu.Unlock()
		}()
	}
	wg.Wait()
}

type sigStats struct {
	count    int
	earliest time.Time
}

func (v *verifier) checkOwner(info ownerInfo, st *sigStats) {
	owner := zone.Name(v.z.OwnerKey(info.idx)).String()
	sigs := map[uint16][]*dns.RRSIG{}
	for r := range v.z.RRsets(info.idx) {
		if r.Type() != zone.TypeRRSIG {
			continue
		}
		for rd := range r.Rdata() {
			rr, err := unpack(owner, zone.TypeRRSIG, r.TTL(), rd)
			if err != nil {
				v.c.add(ProblemBadSignature, owner, r.Covered(), "malformed RRSIG: %v", err)
				continue
			}
			sig := rr.(*dns.RRSIG)
			sigs[sig.TypeCovered] = append(sigs[sig.TypeCovered], sig)
		}
	}
	switch info.kind {
	case kindGlue:
		for t := range sigs {
			v.c.add(ProblemOverGlue, owner, t, "glue is signed: it belongs to the child zone and must not be")
		}
		return
	case kindDelegation:
		if _, ok := sigs[zone.TypeNS]; ok {
			v.c.add(ProblemOverDelegation, owner, zone.TypeNS, "the delegation NS RRset is signed: it belongs to the child and must not be")
		}
	}
	for r := range v.z.RRsets(info.idx) {
		t := r.Type()
		if t == zone.TypeRRSIG {
			continue
		}
		mustSign := true
		if info.kind == kindDelegation && t != zone.TypeDS {
			mustSign = false
		}
		if !mustSign {
			continue
		}
		v.checkRRset(owner, r, sigs[t], st)
		delete(sigs, t)
	}
	for t := range sigs {
		if t == zone.TypeNS && info.kind == kindDelegation {
			continue // reported above
		}
		v.c.add(ProblemOrphanSig, owner, t, "an RRSIG covers a type that has no RRset here")
	}
}

// checkRRset verifies each signature of one RRset and that each algorithm
// of the DNSKEY RRset has a valid one.
func (v *verifier) checkRRset(owner string, r zone.RRset, sigs []*dns.RRSIG, st *sigStats) {
	t := r.Type()
	if len(sigs) == 0 {
		v.c.add(ProblemUnsigned, owner, t, "the RRset has no signature")
		return
	}
	var rrset []dns.RR
	for rd := range r.Rdata() {
		rr, err := unpack(owner, t, r.TTL(), rd)
		if err != nil {
			v.c.add(ProblemBadSignature, owner, t, "malformed record: %v", err)
			return
		}
		rrset = append(rrset, rr)
	}
	now := v.opt.Now
	validAlgs := map[uint8]bool{}
	for _, sig := range sigs {
		st.count++
		exp := time.Unix(int64(sig.Expiration), 0).UTC()
		if st.earliest.IsZero() || exp.Before(st.earliest) {
			st.earliest = exp
		}
		keys := v.keys[sig.KeyTag]
		var key *dns.DNSKEY
		for _, k := range keys {
			if k.Algorithm == sig.Algorithm {
				key = k
			}
		}
		if key == nil || sig.SignerName != v.apexText {
			v.c.add(ProblemUnknownKey, owner, t, "signed by key %d (algorithm %d, signer %s), which the DNSKEY RRset does not hold", sig.KeyTag, sig.Algorithm, sig.SignerName)
			continue
		}
		if err := sig.Verify(key, rrset); err != nil {
			v.c.add(ProblemBadSignature, owner, t, "signature by key %d does not validate: %v", sig.KeyTag, err)
			continue
		}
		if sig.OrigTtl != r.TTL() {
			v.c.add(ProblemBadSignature, owner, t, "signature by key %d has original TTL %d, the RRset %d", sig.KeyTag, sig.OrigTtl, r.TTL())
			continue
		}
		incep := time.Unix(int64(sig.Inception), 0).UTC()
		switch {
		case now.After(exp):
			v.c.add(ProblemExpired, owner, t, "signature by key %d expired at %s", sig.KeyTag, exp.Format(time.RFC3339))
			continue
		case now.Before(incep):
			v.c.add(ProblemNotYetValid, owner, t, "signature by key %d is valid only from %s", sig.KeyTag, incep.Format(time.RFC3339))
			continue
		}
		validAlgs[sig.Algorithm] = true
	}
	for _, alg := range v.algs {
		if !validAlgs[alg] {
			v.c.add(ProblemMissingAlg, owner, t, "no valid signature of algorithm %d (%s), which the DNSKEY RRset has: every algorithm must sign every RRset (RFC 6840 §5.11)", alg, dns.AlgorithmToString[alg])
		}
	}
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
		for _, k := range v.keys[ds.KeyTag] {
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
			if pub.Algorithm == k.Algorithm() && sig.Verify(pub, []dns.RR{canary}) == nil {
				ok = true
			}
		}
		if !ok {
			v.c.add(ProblemKeyMismatch, v.apexText, zone.TypeDNSKEY,
				"private key %d does not match any DNSKEY published with its tag: its signatures would not validate", k.Tag)
		}
	}
}

var base32HexLower = base32.NewEncoding("0123456789abcdefghijklmnopqrstuv").WithPadding(base32.NoPadding)

type nsec3Info struct {
	owner  string
	hash   []byte
	optOut bool
	next   []byte
	types  []uint16
}

// checkNSEC3 rebuilds what the chain must prove and compares.
func (v *verifier) checkNSEC3(infos []ownerInfo, apexIdx int) {
	paramSet, ok := v.z.GetAt(apexIdx, zone.TypeNSEC3PARAM)
	if !ok {
		v.c.add(ProblemNoNSEC3PARAM, v.apexText, zone.TypeNSEC3PARAM, "no NSEC3PARAM at the apex")
		return
	}
	var iterations uint16
	var salt []byte
	for rd := range paramSet.Rdata() {
		if len(rd) < 5 || rd[0] != 1 || len(rd) != 5+int(rd[4]) {
			v.c.add(ProblemNSEC3Params, v.apexText, zone.TypeNSEC3PARAM, "NSEC3PARAM is malformed or not SHA-1")
			return
		}
		iterations, salt = binary.BigEndian.Uint16(rd[2:]), rd[5:]
	}

	// The records the zone has.
	var chain []nsec3Info
	for _, info := range infos {
		if info.kind != kindNSEC3 {
			continue
		}
		owner := zone.Name(v.z.OwnerKey(info.idx))
		set, _ := v.z.GetAt(info.idx, zone.TypeNSEC3)
		hash, err := base32HexLower.DecodeString(string(owner.FirstLabel()))
		if err != nil || len(hash) != sha1.Size {
			v.c.add(ProblemNSEC3Malformed, owner.String(), zone.TypeNSEC3, "the owner label is not a base32hex SHA-1 hash")
			continue
		}
		for rd := range set.Rdata() {
			n, err := parseNSEC3(rd)
			if err != nil {
				v.c.add(ProblemNSEC3Malformed, owner.String(), zone.TypeNSEC3, "%v", err)
				continue
			}
			if n.iterations != iterations || !bytes.Equal(n.salt, salt) || n.alg != 1 {
				v.c.add(ProblemNSEC3Params, owner.String(), zone.TypeNSEC3, "parameters (alg %d, %d iterations, salt %X) differ from NSEC3PARAM (1, %d, %X)", n.alg, n.iterations, n.salt, iterations, salt)
			}
			chain = append(chain, nsec3Info{owner: owner.String(), hash: hash, optOut: n.optOut, next: n.next, types: n.types})
		}
	}
	slices.SortFunc(chain, func(a, b nsec3Info) int { return bytes.Compare(a.hash, b.hash) })
	for i, n := range chain {
		want := chain[(i+1)%len(chain)].hash
		if !bytes.Equal(n.next, want) {
			v.c.add(ProblemNSEC3Chain, n.owner, zone.TypeNSEC3, "next hashed owner %s, but the next record in hash order is %s: the chain is broken",
				strings.ToUpper(base32HexLower.EncodeToString(n.next)), strings.ToUpper(base32HexLower.EncodeToString(want)))
		}
	}
	byHash := make(map[string]*nsec3Info, len(chain))
	for i := range chain {
		byHash[string(chain[i].hash)] = &chain[i]
	}

	// What the chain must prove: the apex, authoritative names, secure
	// delegations and the empty non-terminals above them; unsigned
	// delegations only when the chain does not opt out.
	optOutZone := len(chain) > 0 && chain[0].optOut
	expected := map[zone.Name][]uint16{}
	for _, info := range infos {
		owner := zone.Name(v.z.OwnerKey(info.idx))
		switch info.kind {
		case kindGlue, kindNSEC3:
			continue
		case kindDelegation:
			if !info.secure && optOutZone {
				v.checkOptOutCovered(owner, chain, iterations, salt)
				continue
			}
		}
		var types []uint16
		for r := range v.z.RRsets(info.idx) {
			types = append(types, r.Type())
		}
		expected[owner] = types
		for p := owner.Parent(); p.IsStrictlyBelow(v.apex); p = p.Parent() {
			if _, ok := expected[p]; ok {
				break
			}
			if _, isOwner := v.z.Find(p); !isOwner {
				expected[p] = nil // an empty non-terminal
			}
		}
	}
	seen := map[string]bool{}
	for name, types := range expected {
		h := NSEC3Hash(name, iterations, salt)
		n, ok := byHash[string(h[:])]
		if !ok {
			v.c.add(ProblemNSEC3Missing, name.String(), zone.TypeNSEC3, "no NSEC3 record for this name (hash %s)", strings.ToUpper(base32HexLower.EncodeToString(h[:])))
			continue
		}
		seen[string(h[:])] = true
		want := slices.Clone(types)
		slices.Sort(want)
		want = slices.Compact(want)
		if !slices.Equal(want, n.types) {
			v.c.add(ProblemNSEC3Bitmap, name.String(), zone.TypeNSEC3, "NSEC3 lists types %s, the name has %s", typeList(n.types), typeList(want))
		}
	}
	for _, n := range chain {
		if !seen[string(n.hash)] {
			v.c.add(ProblemNSEC3Extra, n.owner, zone.TypeNSEC3, "matches no name the zone must prove")
		}
	}
}

// checkOptOutCovered: an unsigned delegation left out of the chain must
// fall in a span whose NSEC3 has the opt-out flag.
func (v *verifier) checkOptOutCovered(owner zone.Name, chain []nsec3Info, iterations uint16, salt []byte) {
	if len(chain) == 0 {
		v.c.add(ProblemNSEC3OptOut, owner.String(), zone.TypeNS, "an unsigned delegation and no NSEC3 chain to cover it")
		return
	}
	h := NSEC3Hash(owner, iterations, salt)
	i, found := slices.BinarySearchFunc(chain, h[:], func(n nsec3Info, h []byte) int { return bytes.Compare(n.hash, h) })
	if found {
		return // it has a record of its own: allowed, though not needed
	}
	prev := chain[(i-1+len(chain))%len(chain)]
	if !prev.optOut {
		v.c.add(ProblemNSEC3OptOut, owner.String(), zone.TypeNS, "the unsigned delegation falls in the span of %s, which has no opt-out flag: the zone would deny it exists", prev.owner)
	}
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

type parsedNSEC3 struct {
	alg        uint8
	optOut     bool
	iterations uint16
	salt, next []byte
	types      []uint16
}

func parseNSEC3(rd []byte) (parsedNSEC3, error) {
	var n parsedNSEC3
	if len(rd) < 6 || len(rd) < 6+int(rd[4]) {
		return n, fmt.Errorf("truncated NSEC3")
	}
	n.alg, n.optOut, n.iterations = rd[0], rd[1]&1 == 1, binary.BigEndian.Uint16(rd[2:])
	sl := int(rd[4])
	n.salt = rd[5 : 5+sl]
	rest := rd[5+sl:]
	if len(rest) < 1 || len(rest) < 1+int(rest[0]) {
		return n, fmt.Errorf("truncated NSEC3 next hashed owner")
	}
	n.next = rest[1 : 1+int(rest[0])]
	bm := rest[1+int(rest[0]):]
	for len(bm) > 0 {
		if len(bm) < 2 || len(bm) < 2+int(bm[1]) {
			return n, fmt.Errorf("truncated type bitmap")
		}
		window, l := int(bm[0]), int(bm[1])
		for i, octet := range bm[2 : 2+l] {
			for bit := 0; bit < 8; bit++ {
				if octet&(0x80>>bit) != 0 {
					n.types = append(n.types, uint16(window*256+i*8+bit))
				}
			}
		}
		bm = bm[2+l:]
	}
	return n, nil
}

// checkZONEMD recomputes the zone digest if the apex carries a ZONEMD
// record ptzone knows how to compute (SIMPLE, SHA-384).
func (v *verifier) checkZONEMD(apexIdx int) {
	set, ok := v.z.GetAt(apexIdx, zone.TypeZONEMD)
	if !ok {
		return
	}
	soaSet, _ := v.z.GetAt(apexIdx, zone.TypeSOA)
	var serial uint32
	for rd := range soaSet.Rdata() {
		if soa, err := zone.ParseSOA(rd); err == nil {
			serial = soa.Serial
		}
	}
	digest := ZONEMDDigest(v.z.All())
	for rd := range set.Rdata() {
		if len(rd) < 6 {
			v.c.add(ProblemZONEMDMalformed, v.apexText, zone.TypeZONEMD, "truncated ZONEMD")
			continue
		}
		if rd[4] != zonemdSimple || rd[5] != zonemdSHA384 {
			continue // a scheme or hash this verifier does not compute
		}
		if s := binary.BigEndian.Uint32(rd); s != serial {
			v.c.add(ProblemZONEMDMismatch, v.apexText, zone.TypeZONEMD, "ZONEMD serial %d, SOA serial %d", s, serial)
		}
		if !bytes.Equal(rd[6:], digest[:]) {
			v.c.add(ProblemZONEMDMismatch, v.apexText, zone.TypeZONEMD, "the zone's digest is not the one ZONEMD carries: the zone changed after it was computed")
		}
	}
}

// unpack rebuilds a miekg/dns record from canonical wire rdata.
func unpack(owner string, typ uint16, ttl uint32, rd []byte) (dns.RR, error) {
	rr, _, err := dns.UnpackRRWithHeader(dns.RR_Header{Name: owner, Rrtype: typ, Class: dns.ClassINET, Ttl: ttl, Rdlength: uint16(len(rd))}, rd, 0)
	return rr, err
}
