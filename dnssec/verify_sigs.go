package dnssec

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/binary"
	"math/big"
	"sync"
	"sync/atomic"
	"time"

	"github.com/miekg/dns"

	"github.com/ptzone/ptzone/zone"
)

// crossCheckEvery: one RRset in this many is also verified by miekg/dns.
const crossCheckEvery = 128

// pubKey is a published DNSKEY, ready to verify.
type pubKey struct {
	rr  *dns.DNSKEY
	alg uint8
	tag uint16
	// check verifies a signature over data; nil when ptzone has no native
	// code for the algorithm, and miekg/dns verifies.
	check func(data, sig []byte) bool
}

func newPubKey(rr *dns.DNSKEY, rdata []byte) *pubKey {
	k := &pubKey{rr: rr, alg: rr.Algorithm, tag: rr.KeyTag()}
	if len(rdata) < 4 {
		return k
	}
	raw := rdata[4:]
	switch k.alg {
	case ECDSAP256SHA256:
		if p, ok := newP256Key(raw); ok {
			k.check = func(data, sig []byte) bool {
				d := sha256.Sum256(data)
				return p.verify(d[:], sig)
			}
		}
	case dns.ECDSAP384SHA384:
		if len(raw) == 96 {
			pub := &ecdsa.PublicKey{Curve: elliptic.P384(), X: new(big.Int).SetBytes(raw[:48]), Y: new(big.Int).SetBytes(raw[48:])}
			k.check = func(data, sig []byte) bool {
				d := sha512.Sum384(data)
				return len(sig) == 96 && ecdsa.Verify(pub, d[:], new(big.Int).SetBytes(sig[:48]), new(big.Int).SetBytes(sig[48:]))
			}
		}
	case ED25519:
		if len(raw) == ed25519.PublicKeySize {
			pub := ed25519.PublicKey(raw)
			k.check = func(data, sig []byte) bool { return ed25519.Verify(pub, data, sig) }
		}
	case RSASHA256, dns.RSASHA512:
		pub, ok := rsaPublicKey(raw)
		if !ok {
			break
		}
		k.check = func(data, sig []byte) bool {
			if k.alg == RSASHA256 {
				d := sha256.Sum256(data)
				return rsa.VerifyPKCS1v15(pub, crypto.SHA256, d[:], sig) == nil
			}
			d := sha512.Sum512(data)
			return rsa.VerifyPKCS1v15(pub, crypto.SHA512, d[:], sig) == nil
		}
	}
	return k
}

// rsaPublicKey reads an RSA DNSKEY public key (RFC 3110 §2): the exponent
// length in one octet, or zero and two octets, then the exponent and the
// modulus.
func rsaPublicKey(raw []byte) (*rsa.PublicKey, bool) {
	if len(raw) < 1 {
		return nil, false
	}
	elen, off := int(raw[0]), 1
	if elen == 0 {
		if len(raw) < 3 {
			return nil, false
		}
		elen, off = int(binary.BigEndian.Uint16(raw[1:])), 3
	}
	if elen == 0 || elen > 4 || len(raw) < off+elen+1 {
		return nil, false
	}
	e := 0
	for _, b := range raw[off : off+elen] {
		e = e<<8 | int(b)
	}
	n := new(big.Int).SetBytes(raw[off+elen:])
	if e < 3 || n.BitLen() < 1024 {
		return nil, false
	}
	return &rsa.PublicKey{N: n, E: e}, true
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

// pass is one worker's share of the walk over the zone's owners, and what
// it found for the NSEC3 checks that follow.
type pass struct {
	v     *verifier
	buf   []byte // the signed data
	owner []byte // the owner's wire form
	// tcur is the owner of the trusted zone last looked at, for owner
	// tcurFor of this zone.
	tcur, tcurFor int

	signatures, reused             int
	hasExpiration                  bool
	earliest                       int64
	delegations, signedDelegations int

	rrsets     int
	crossTypes map[uint16]bool

	// ents are the empty non-terminals met; skipped the unsigned
	// delegations left unhashed (collectNSEC3).
	ents    []entName
	skipped []int32
}

// checkSignatures walks the zone once, on opt.Workers goroutines: it
// classifies each owner, checks
// every RRSIG and that every RRset that must be signed is, by every
// algorithm, and collects what the NSEC3 checks need.
func (v *verifier) checkSignatures() []*pass {
	n := v.z.Owners()
	workers := min(v.opt.Workers, max(1, n/64))
	// Small slices of the zone handed out in turn keep every core busy to
	// the end, however unevenly the signed names fall.
	slice := max(1024, n/(workers*32))
	var next atomic.Int64
	passes := make([]*pass, workers)
	var wg sync.WaitGroup
	for w := range workers {
		p := &pass{v: v, crossTypes: map[uint16]bool{}}
		passes[w] = p
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				lo := int(next.Add(int64(slice))) - slice
				if lo >= n {
					return
				}
				p.walk(lo, min(lo+slice, n))
			}
		}()
	}
	wg.Wait()
	for _, p := range passes {
		v.signatures += p.signatures
		v.reused += p.reused
		v.delegations += p.delegations
		v.signedDelegations += p.signedDelegations
		if p.hasExpiration && (!v.hasExpiration || p.earliest < v.earliest) {
			v.hasExpiration, v.earliest = true, p.earliest
		}
	}
	return passes
}

// walk classifies and checks owners lo to hi-1. A range may begin inside
// a delegation: its cut is then the highest delegation above owner lo.
func (p *pass) walk(lo, hi int) {
	v := p.v
	var cut []byte
	if lo > 0 {
		first := v.z.Owner(lo)
		for a := first.Parent(); a.IsStrictlyBelow(v.apex); a = a.Parent() {
			if i, ok := v.z.Find(a); ok {
				if _, ns := v.z.GetAt(i, zone.TypeNS); ns {
					cut = []byte(a)
				}
			}
		}
	}
	for i := lo; i < hi; i++ {
		key := v.z.OwnerKey(i)
		k, secure := kindAuth, false
		switch {
		case zone.Name(key) == v.apex:
			k = kindApex
		case cut != nil && len(key) > len(cut) && bytes.HasPrefix(key, cut):
			k = kindGlue
		default:
			if _, ok := v.z.GetAt(i, zone.TypeNS); ok {
				k, cut = kindDelegation, key
				_, secure = v.z.GetAt(i, zone.TypeDS)
				p.delegations++
				if secure {
					p.signedDelegations++
				}
			} else if v.onlyNSEC3(i) {
				k = kindNSEC3
			}
		}
		p.checkOwner(i, k)
		p.collectNSEC3(i, k, secure)
	}
}

func (p *pass) ownerText(i int) string { return p.v.z.Owner(i).String() }

// checkOwner checks the signatures at one owner: none over glue or a
// delegation's NS, every authoritative RRset (a delegation's DS included)
// signed, no signature without its RRset.
func (p *pass) checkOwner(i int, k kind) {
	v := p.v
	var sigSets [8]zone.RRset
	sigs := sigSets[:0]
	for r := range v.z.RRsets(i) {
		if r.Type() == zone.TypeRRSIG {
			sigs = append(sigs, r)
		}
	}
	switch k {
	case kindGlue:
		for _, s := range sigs {
			v.c.add(ProblemOverGlue, p.ownerText(i), s.Covered(), "glue is signed: it belongs to the child zone and must not be")
		}
		return
	case kindDelegation:
		for _, s := range sigs {
			if s.Covered() == zone.TypeNS {
				v.c.add(ProblemOverDelegation, p.ownerText(i), zone.TypeNS, "the delegation NS RRset is signed: it belongs to the child and must not be")
			}
		}
	}
	used := uint8(0) // bit j: sigs[j] covers an RRset here
	for r := range v.z.RRsets(i) {
		t := r.Type()
		if t == zone.TypeRRSIG || (k == kindDelegation && t != zone.TypeDS) {
			continue
		}
		var sig zone.RRset
		found := false
		for j, s := range sigs {
			if s.Covered() == t {
				sig, found = s, true
				used |= 1 << j
			}
		}
		if !found {
			v.c.add(ProblemUnsigned, p.ownerText(i), t, "the RRset has no signature")
			continue
		}
		p.checkRRset(i, k, r, sig)
	}
	for j, s := range sigs {
		if used&(1<<j) == 0 && !(k == kindDelegation && s.Covered() == zone.TypeNS) {
			v.c.add(ProblemOrphanSig, p.ownerText(i), s.Covered(), "an RRSIG covers a type that has no RRset here")
		}
	}
}

// checkRRset verifies each signature of one RRset and that each algorithm
// of the DNSKEY RRset has a valid one.
func (p *pass) checkRRset(i int, k kind, r zone.RRset, sigs zone.RRset) {
	v := p.v
	t := r.Type()
	now := v.opt.Now.Unix()
	var valid [4]uint64 // a set of algorithms
	p.rrsets++
	trustedSigs, trusted := p.trustedSigs(i, r)
	crossCheck := !trusted && (k == kindApex || p.rrsets%crossCheckEvery == 0 || !p.crossTypes[t])
	p.crossTypes[t] = p.crossTypes[t] || !trusted
	for sigRd := range sigs.Rdata() {
		p.signatures++
		f, ok := zone.ParseRRSIG(sigRd)
		if !ok {
			v.c.add(ProblemBadSignature, p.ownerText(i), t, "malformed RRSIG")
			continue
		}
		exp, incep := zone.SerialTime(f.Expiration, now), zone.SerialTime(f.Inception, now)
		if !p.hasExpiration || exp < p.earliest {
			p.hasExpiration, p.earliest = true, exp
		}
		var key *pubKey
		for _, c := range v.keys[f.KeyTag] {
			if c.alg == f.Algorithm {
				key = c
			}
		}
		if key == nil || !equalFoldWire(f.Signer, v.apexWire) {
			v.c.add(ProblemUnknownKey, p.ownerText(i), t, "signed by key %d (algorithm %d, signer %s), which the DNSKEY RRset does not hold",
				f.KeyTag, f.Algorithm, wireText(f.Signer))
			continue
		}
		owner := v.z.Owner(i)
		ownerLabels := owner.Labels()
		wildcard := ownerLabels > 0 && string(owner.FirstLabel()) == "*"
		if want := ownerLabels - btoi(wildcard); int(f.Labels) != want {
			v.c.add(ProblemBadSignature, p.ownerText(i), t, "signature by key %d has %d labels, the owner %d", f.KeyTag, f.Labels, want)
			continue
		}
		var good bool
		if trusted && containsRdata(trustedSigs, sigRd) {
			good = true
			p.reused++
		} else {
			good = p.verifyData(owner, r, f, sigRd, key)
		}
		if crossCheck {
			if other := miekgVerify(v.apexText, owner.String(), r, sigRd, key.rr) == nil; other != good {
				v.c.add(ProblemCrossCheck, p.ownerText(i), t, "signature by key %d: ptzone says valid=%v, miekg/dns says valid=%v", f.KeyTag, good, other)
				continue
			}
		}
		if !good {
			v.c.add(ProblemBadSignature, p.ownerText(i), t, "signature by key %d does not validate", f.KeyTag)
			continue
		}
		if f.OrigTTL != r.TTL() {
			v.c.add(ProblemBadSignature, p.ownerText(i), t, "signature by key %d has original TTL %d, the RRset %d", f.KeyTag, f.OrigTTL, r.TTL())
			continue
		}
		switch {
		case now > exp:
			v.c.add(ProblemExpired, p.ownerText(i), t, "signature by key %d expired at %s", f.KeyTag, formatUnix(exp))
			continue
		case now < incep:
			v.c.add(ProblemNotYetValid, p.ownerText(i), t, "signature by key %d is valid only from %s", f.KeyTag, formatUnix(incep))
			continue
		}
		valid[f.Algorithm/64] |= 1 << (f.Algorithm % 64)
	}
	for _, alg := range v.algs {
		if valid[alg/64]&(1<<(alg%64)) == 0 {
			v.c.add(ProblemMissingAlg, p.ownerText(i), t, "no valid signature of algorithm %d (%s), which the DNSKEY RRset has: every algorithm must sign every RRset (RFC 6840 §5.11)", alg, dns.AlgorithmToString[alg])
		}
	}
}

// trustedSigs returns the RRSIGs the trusted zone has over the same
// RRset at owner i, if it has the same RRset there.
func (p *pass) trustedSigs(i int, r zone.RRset) (zone.RRset, bool) {
	tz := p.v.trusted
	if tz == nil {
		return zone.RRset{}, false
	}
	key := p.v.z.OwnerKey(i)
	// Owners come in order within a pass: move the cursor forward, or
	// search when it is far behind.
	if p.tcur >= tz.Owners() || bytes.Compare(tz.OwnerKey(p.tcur), key) > 0 || (p.tcurFor != i-1 && p.tcurFor != i) {
		p.tcur, _ = tz.Find(zone.Name(key))
	}
	for p.tcur < tz.Owners() && bytes.Compare(tz.OwnerKey(p.tcur), key) < 0 {
		p.tcur++
	}
	p.tcurFor = i
	if p.tcur >= tz.Owners() || !bytes.Equal(tz.OwnerKey(p.tcur), key) {
		return zone.RRset{}, false
	}
	old, ok := tz.GetAt(p.tcur, r.Type())
	if !ok || !old.Equal(r) {
		return zone.RRset{}, false
	}
	return tz.GetSig(p.tcur, r.Type())
}

func containsRdata(set zone.RRset, rd []byte) bool {
	for x := range set.Rdata() {
		if bytes.Equal(x, rd) {
			return true
		}
	}
	return false
}

// verifyData lays out the data an RRSIG signs (RFC 4034 §3.1.8.1) and
// checks the signature: the RRSIG rdata without its signature, the
// signer's name in canonical form, then each record, in canonical order,
// with the owner in canonical form and the original TTL. A wildcard owner
// ("*.example") is signed as it stands, and a Labels field that would
// make the verifier rebuild a wildcard name was refused before. The zone keeps owners and
// rdata canonical and records in canonical order.
func (p *pass) verifyData(owner zone.Name, r zone.RRset, f zone.RRSIG, sigRd []byte, key *pubKey) bool {
	b := append(p.buf[:0], sigRd[:f.PrefixLen]...)
	lowerASCII(b[18:f.PrefixLen]) // length octets are below 64: never letters
	p.owner = owner.AppendWire(p.owner[:0])
	for rd := range r.Rdata() {
		b = append(b, p.owner...)
		b = binary.BigEndian.AppendUint16(b, r.Type())
		b = binary.BigEndian.AppendUint16(b, dns.ClassINET)
		b = binary.BigEndian.AppendUint32(b, f.OrigTTL)
		b = binary.BigEndian.AppendUint16(b, uint16(len(rd)))
		b = append(b, rd...)
	}
	p.buf = b
	if key.check == nil {
		return miekgVerify(p.v.apexText, owner.String(), r, sigRd, key.rr) == nil
	}
	return key.check(b, f.Signature)
}

// miekgVerify verifies one RRSIG over an RRset with miekg/dns alone: it
// rebuilds the records and the signature from rdata and lets miekg
// canonicalize and lay out the signed data.
func miekgVerify(apex, owner string, r zone.RRset, sigRd []byte, key *dns.DNSKEY) error {
	var rrset []dns.RR
	for rd := range r.Rdata() {
		rr, err := unpack(owner, r.Type(), r.TTL(), rd)
		if err != nil {
			return err
		}
		rrset = append(rrset, rr)
	}
	rr, err := unpack(owner, zone.TypeRRSIG, r.TTL(), sigRd)
	if err != nil {
		return err
	}
	return rr.(*dns.RRSIG).Verify(key, rrset)
}

func lowerASCII(b []byte) {
	for i, c := range b {
		if 'A' <= c && c <= 'Z' {
			b[i] = c + 'a' - 'A'
		}
	}
}

func equalFoldWire(a, b []byte) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		x, y := a[i], b[i]
		if 'A' <= x && x <= 'Z' {
			x += 'a' - 'A'
		}
		if 'A' <= y && y <= 'Z' {
			y += 'a' - 'A'
		}
		if x != y {
			return false
		}
	}
	return true
}

// wireText renders a wire name for a message.
func wireText(w []byte) string {
	n, _, err := zone.NameFromWire(w)
	if err != nil {
		return "(malformed name)"
	}
	return n.String()
}

func formatUnix(t int64) string {
	return time.Unix(t, 0).UTC().Format(time.RFC3339)
}

func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}
