package dnssec

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/fnv"
	"runtime"
	"slices"
	"sync"
	"time"

	"github.com/ptzone/ptzone/zone"
)

// SignOptions configure signing. Use DefaultSignOptions and change what
// differs.
type SignOptions struct {
	// Now is the signing time: inception and expiration derive from it, so
	// the same zone, keys and Now give the same signatures.
	Now time.Time
	// Validity is how long signatures are valid (default 14 days).
	Validity time.Duration
	// Refresh: a signature with less than this left is replaced
	// (default 7 days).
	Refresh time.Duration
	// Jitter spreads expirations over this window, so that a zone's
	// signatures do not all expire in one second (default 12 hours). The
	// spread comes from a hash of owner and type, not from randomness.
	Jitter time.Duration
	// InceptionOffset backdates inception for clocks that lag (default 1 h).
	InceptionOffset time.Duration
	NSEC3           NSEC3Params
	// ZONEMD adds a ZONEMD record (RFC 8976, SIMPLE, SHA-384).
	ZONEMD bool
	// DNSKEYTTL is the DNSKEY RRset's TTL (default 3600).
	DNSKEYTTL uint32
	// Workers is how many goroutines sign (default: one per CPU).
	Workers int
}

// DefaultSignOptions returns ptzone's defaults: 14-day signatures refreshed
// with 7 days left, 12 h jitter, 1 h inception offset, NSEC3 opt-out with
// no extra iterations and no salt, ZONEMD.
func DefaultSignOptions(now time.Time) SignOptions {
	return SignOptions{
		Now:             now,
		Validity:        14 * 24 * time.Hour,
		Refresh:         7 * 24 * time.Hour,
		Jitter:          12 * time.Hour,
		InceptionOffset: time.Hour,
		NSEC3:           NSEC3Params{OptOut: true},
		ZONEMD:          true,
		DNSKEYTTL:       3600,
	}
}

func (o *SignOptions) check() error {
	switch {
	case o.Now.IsZero():
		return errors.New("signing: no signing time")
	case o.Validity <= 0 || o.Refresh < 0 || o.Jitter < 0 || o.InceptionOffset < 0:
		return errors.New("signing: validity must be positive, refresh, jitter and inception offset not negative")
	case o.Refresh+o.Jitter >= o.Validity:
		return fmt.Errorf("signing: refresh (%s) plus jitter (%s) must be shorter than the validity (%s)", o.Refresh, o.Jitter, o.Validity)
	case len(o.NSEC3.Salt) > 255:
		return errors.New("signing: NSEC3 salt longer than 255 octets")
	}
	if o.DNSKEYTTL == 0 {
		o.DNSKEYTTL = 3600
	}
	if o.Workers <= 0 {
		o.Workers = runtime.GOMAXPROCS(0)
	}
	return nil
}

// replaced are the types Sign computes itself; any found in the input are
// dropped and made anew.
func replaced(t uint16) bool {
	switch t {
	case zone.TypeRRSIG, zone.TypeNSEC, zone.TypeNSEC3, zone.TypeDNSKEY, zone.TypeNSEC3PARAM, zone.TypeZONEMD:
		return true
	}
	return false
}

// roles splits the keys active at now into those that sign the DNSKEY
// RRset and those that sign the rest, algorithm by algorithm: an algorithm
// with only SEP keys signs everything with them (a CSK), one with only
// non-SEP keys signs its DNSKEY RRset with those. Every published
// algorithm must have an active key (RFC 6840 §5.11: every algorithm of
// the DNSKEY RRset signs every RRset), and some key must have the SEP
// flag, for the parent's DS to point to.
func roles(keys []*Key, now time.Time) (published, ksks, zsks []*Key, err error) {
	type pair struct{ sep, other []*Key }
	byAlg := map[uint8]*pair{}
	var algs []uint8
	for _, k := range keys {
		if !k.Published(now) {
			continue
		}
		published = append(published, k)
		p := byAlg[k.Algorithm()]
		if p == nil {
			p = &pair{}
			byAlg[k.Algorithm()] = p
			algs = append(algs, k.Algorithm())
		}
		if !k.Active(now) {
			continue
		}
		if k.SEP() {
			p.sep = append(p.sep, k)
		} else {
			p.other = append(p.other, k)
		}
	}
	if err := CheckKeySet(published); err != nil {
		return nil, nil, nil, err
	}
	slices.Sort(algs)
	anySEP := false
	for _, alg := range algs {
		p := byAlg[alg]
		if len(p.sep) == 0 && len(p.other) == 0 {
			return nil, nil, nil, fmt.Errorf("signing: algorithm %d has published keys but none active: every algorithm of the DNSKEY RRset must sign every RRset", alg)
		}
		anySEP = anySEP || len(p.sep) > 0
		k, z := p.sep, p.other
		if len(k) == 0 {
			k = p.other
		}
		if len(z) == 0 {
			z = p.sep
		}
		ksks, zsks = append(ksks, k...), append(zsks, z...)
	}
	if !anySEP {
		earliest := time.Time{}
		for _, k := range keys {
			if a := k.Timing.Activate; k.SEP() && a.After(now) && (earliest.IsZero() || a.Before(earliest)) {
				earliest = a
			}
		}
		if !earliest.IsZero() {
			return nil, nil, nil, fmt.Errorf("signing: no key-signing key is active at %s; the first activates at %s", now.Format(time.RFC3339), earliest.Format(time.RFC3339))
		}
		return nil, nil, nil, errors.New("signing: no active key-signing key (a key with the SEP flag) for the parent's DS")
	}
	return published, ksks, zsks, nil
}

func hasAlgorithm(keys []*Key, alg uint8) bool {
	for _, k := range keys {
		if k.Algorithm() == alg {
			return true
		}
	}
	return false
}

// task is one RRset to sign.
type task struct {
	owner zone.Name
	typ   uint16
	ttl   uint32
	block []byte // rdata as stored by zone: length-prefixed, canonical order
	keys  []*Key
}

// signed is one RRSIG produced by a worker.
type signed struct {
	owner zone.Name
	ttl   uint32
	rdata []byte
}

// Sign returns the signed form of an unsigned zone: the DNSKEY RRset of
// the keys published at opt.Now, NSEC3PARAM and an NSEC3 chain (opt-out by
// default), RRSIGs over every authoritative RRset (never over delegation NS
// or glue), and ZONEMD. Records of those types in the input are replaced.
// The result depends only on its inputs: ECDSA signs deterministically
// (RFC 6979) and jitter comes from the owner name.
func Sign(unsigned *zone.Zone, keys []*Key, opt SignOptions) (*zone.Zone, error) {
	if err := opt.check(); err != nil {
		return nil, err
	}
	apex := unsigned.Origin()
	published, ksks, zsks, err := roles(keys, opt.Now)
	if err != nil {
		return nil, err
	}
	for _, k := range published {
		if k.Zone != apex {
			return nil, fmt.Errorf("signing %s with key %s of another zone", apex, k)
		}
	}
	apexIdx, ok := unsigned.Find(apex)
	if !ok {
		return nil, fmt.Errorf("signing %s: the zone has no apex records", apex)
	}
	soaSet, ok := unsigned.GetAt(apexIdx, zone.TypeSOA)
	if !ok {
		return nil, fmt.Errorf("signing %s: no SOA record", apex)
	}
	var soa zone.SOA
	for rd := range soaSet.Rdata() {
		if soa, err = zone.ParseSOA(rd); err != nil {
			return nil, fmt.Errorf("signing %s: %w", apex, err)
		}
	}
	// RFC 9077: NSEC3 records live as long as the negative answers they prove.
	nsec3TTL := min(soaSet.TTL(), soa.Minimum)

	overlay := zone.NewBuilder(apex, 0)
	var tasks []task

	// The DNSKEY RRset, signed by the key-signing keys.
	var dnskeys [][]byte
	for _, k := range published {
		rd, err := k.Rdata()
		if err != nil {
			return nil, err
		}
		dnskeys = append(dnskeys, rd)
	}
	block := encodeBlock(dnskeys)
	for rd := range blockRecords(block) {
		overlay.Add(apex, zone.TypeDNSKEY, opt.DNSKEYTTL, rd)
	}
	tasks = append(tasks, task{owner: apex, typ: zone.TypeDNSKEY, ttl: opt.DNSKEYTTL, block: block, keys: ksks})

	params := nsec3ParamRdata(opt.NSEC3.Iterations, opt.NSEC3.Salt)
	overlay.Add(apex, zone.TypeNSEC3PARAM, nsec3TTL, params)
	tasks = append(tasks, task{owner: apex, typ: zone.TypeNSEC3PARAM, ttl: nsec3TTL, block: encodeBlock([][]byte{params}), keys: zsks})
	if opt.ZONEMD {
		// A placeholder: the digest is computed over the signed zone.
		overlay.Add(apex, zone.TypeZONEMD, soaSet.TTL(), zonemdRdata(soa.Serial, make([]byte, 48)))
	}

	// Walk the zone: sign what is authoritative, collect what the NSEC3
	// chain needs.
	var chain []chainEntry
	apexTypes := []uint16{zone.TypeDNSKEY, zone.TypeNSEC3PARAM, zone.TypeRRSIG}
	if opt.ZONEMD {
		apexTypes = append(apexTypes, zone.TypeZONEMD)
	}
	var cut zone.Name
	hasCut := false
	for i := range unsigned.Owners() {
		owner := unsigned.Owner(i)
		if hasCut && owner.IsStrictlyBelow(cut) {
			continue // occluded: glue, never signed, never in the chain
		}
		_, isDelegation := unsigned.GetAt(i, zone.TypeNS)
		isDelegation = isDelegation && owner != apex
		if isDelegation {
			cut, hasCut = owner, true
		}
		var types []uint16
		secure := false
		for r := range unsigned.RRsets(i) {
			t := r.Type()
			if replaced(t) {
				continue
			}
			types = append(types, t)
			if isDelegation && t != zone.TypeDS {
				continue // the child's NS (and anything else) is not ours to sign
			}
			if isDelegation {
				secure = true
			}
			tasks = append(tasks, task{owner: owner, typ: t, ttl: r.TTL(), block: r.Block(), keys: zsks})
		}
		if len(types) == 0 && owner != apex {
			continue
		}
		if isDelegation && !secure && opt.NSEC3.OptOut {
			continue // covered by an opt-out span
		}
		if owner == apex {
			types = append(types, apexTypes...)
		} else if !isDelegation || secure {
			types = append(types, zone.TypeRRSIG)
		}
		chain = append(chain, chainEntry{name: owner, types: types})
	}
	chain = addEmptyNonTerminals(chain, apex)
	nsec3s, err := buildChain(chain, apex, opt.NSEC3)
	if err != nil {
		return nil, err
	}
	for _, n := range nsec3s {
		overlay.Add(n.owner, zone.TypeNSEC3, nsec3TTL, n.rdata)
		tasks = append(tasks, task{owner: n.owner, typ: zone.TypeNSEC3, ttl: nsec3TTL, block: encodeBlock([][]byte{n.rdata}), keys: zsks})
	}

	sigs, err := signAll(tasks, apex, opt)
	if err != nil {
		return nil, err
	}
	for _, s := range sigs {
		if err := overlay.Add(s.owner, zone.TypeRRSIG, s.ttl, s.rdata); err != nil {
			return nil, err
		}
	}
	over, err := overlay.Zone()
	if err != nil {
		return nil, fmt.Errorf("signing %s: %w", apex, err)
	}
	drop := func(r zone.RRset) bool { return replaced(r.Type()) }
	if !opt.ZONEMD {
		return zone.Merge(unsigned, over, drop)
	}

	// ZONEMD digests the signed zone (less itself and its signature), then
	// is signed like any apex RRset.
	digest := ZONEMDDigest(zone.MergeView(unsigned, over, drop))
	md := zonemdRdata(soa.Serial, digest[:])
	final := zone.NewBuilder(apex, 2)
	final.Add(apex, zone.TypeZONEMD, soaSet.TTL(), md)
	mdSigs, err := signAll([]task{{owner: apex, typ: zone.TypeZONEMD, ttl: soaSet.TTL(), block: encodeBlock([][]byte{md}), keys: zsks}}, apex, opt)
	if err != nil {
		return nil, err
	}
	for _, s := range mdSigs {
		final.Add(s.owner, zone.TypeRRSIG, s.ttl, s.rdata)
	}
	// Apply the final ZONEMD and its signature to the overlay before the
	// one merge that builds the signed zone.
	fz, err := final.Zone()
	if err != nil {
		return nil, err
	}
	over, err = zone.Merge(over, fz, nil)
	if err != nil {
		return nil, err
	}
	return zone.Merge(unsigned, over, drop)
}

// encodeBlock encodes rdatas as a zone rdata block: sorted, unique,
// length-prefixed.
func encodeBlock(rdatas [][]byte) []byte {
	rdatas = slices.Clone(rdatas)
	slices.SortFunc(rdatas, bytes.Compare)
	rdatas = slices.CompactFunc(rdatas, bytes.Equal)
	var b []byte
	for _, rd := range rdatas {
		b = binary.BigEndian.AppendUint16(b, uint16(len(rd)))
		b = append(b, rd...)
	}
	return b
}

// blockRecords yields the records of a block.
func blockRecords(block []byte) func(func([]byte) bool) {
	return func(yield func([]byte) bool) {
		for len(block) >= 2 {
			l := int(binary.BigEndian.Uint16(block))
			if !yield(block[2 : 2+l]) {
				return
			}
			block = block[2+l:]
		}
	}
}

// signAll signs every task with each of its keys, on opt.Workers
// goroutines, and returns the signatures in task order.
func signAll(tasks []task, apex zone.Name, opt SignOptions) ([]signed, error) {
	signerWire := apex.Wire()
	inception := uint32(opt.Now.Add(-opt.InceptionOffset).Unix())
	results := make([][]signed, opt.Workers)
	errs := make([]error, opt.Workers)
	chunk := (len(tasks) + opt.Workers - 1) / opt.Workers
	var wg sync.WaitGroup
	for w := range opt.Workers {
		lo, hi := w*chunk, min((w+1)*chunk, len(tasks))
		if lo >= hi {
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			var buf []byte
			for _, t := range tasks[lo:hi] {
				ownerWire := t.owner.Wire()
				expiration := uint32(opt.Now.Add(opt.Validity - jitter(ownerWire, t.typ, opt.Jitter)).Unix())
				for _, k := range t.keys {
					rd, err := signRRset(&buf, t, ownerWire, k, inception, expiration, signerWire)
					if err != nil {
						errs[w] = fmt.Errorf("signing %s %s with key %s: %w", t.owner, zone.TypeString(t.typ), k, err)
						return
					}
					results[w] = append(results[w], signed{owner: t.owner, ttl: t.ttl, rdata: rd})
				}
			}
		}()
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	var out []signed
	for _, r := range results {
		out = append(out, r...)
	}
	return out, nil
}

// jitter returns how much earlier than the full validity a signature of
// (owner, type) expires: a hash of the two, reduced to the window.
func jitter(ownerWire []byte, typ uint16, window time.Duration) time.Duration {
	if window <= 0 {
		return 0
	}
	h := fnv.New64a()
	h.Write(ownerWire)
	h.Write([]byte{byte(typ >> 8), byte(typ)})
	return time.Duration(h.Sum64()%uint64(window/time.Second)) * time.Second
}

// rrsigPrefix is the RRSIG rdata without its signature.
func rrsigPrefix(b []byte, typ uint16, alg, labels uint8, ttl, expiration, inception uint32, tag uint16, signerWire []byte) []byte {
	b = binary.BigEndian.AppendUint16(b, typ)
	b = append(b, alg, labels)
	b = binary.BigEndian.AppendUint32(b, ttl)
	b = binary.BigEndian.AppendUint32(b, expiration)
	b = binary.BigEndian.AppendUint32(b, inception)
	b = binary.BigEndian.AppendUint16(b, tag)
	return append(b, signerWire...)
}

// labelCount is the RRSIG Labels field: the owner's labels, less a
// leading wildcard (RFC 4034 §3.1.3).
func labelCount(owner zone.Name) uint8 {
	n := owner.Labels()
	if l := owner.FirstLabel(); len(l) == 1 && l[0] == '*' {
		n--
	}
	return uint8(n)
}

// signRRset computes one RRSIG rdata (RFC 4034 §3.1.8.1): the signature
// covers the RRSIG rdata without its signature field, then each record in
// canonical form and order.
func signRRset(buf *[]byte, t task, ownerWire []byte, k *Key, inception, expiration uint32, signerWire []byte) ([]byte, error) {
	prefix := rrsigPrefix(nil, t.typ, k.Algorithm(), labelCount(t.owner), t.ttl, expiration, inception, k.Tag, signerWire)
	data := append((*buf)[:0], prefix...)
	for rd := range blockRecords(t.block) {
		data = append(data, ownerWire...)
		data = binary.BigEndian.AppendUint16(data, t.typ)
		data = binary.BigEndian.AppendUint16(data, 1) // class IN
		data = binary.BigEndian.AppendUint32(data, t.ttl)
		data = binary.BigEndian.AppendUint16(data, uint16(len(rd)))
		data = append(data, rd...)
	}
	*buf = data
	sig, err := rawSignature(k, data)
	if err != nil {
		return nil, err
	}
	return append(prefix, sig...), nil
}

// rawSignature signs data with the key and returns the signature in DNSSEC
// wire form. ECDSA is signed with a nil random source, which Go's ecdsa
// turns into RFC 6979 deterministic signatures.
func rawSignature(k *Key, data []byte) ([]byte, error) {
	switch k.Algorithm() {
	case ED25519:
		return k.Signer.Sign(nil, data, crypto.Hash(0))
	case ECDSAP256SHA256:
		digest := sha256.Sum256(data)
		der, err := k.Signer.Sign(nil, digest[:], crypto.SHA256)
		if err != nil {
			return nil, err
		}
		return derToRaw(der, 32)
	case RSASHA256:
		digest := sha256.Sum256(data)
		return k.Signer.Sign(nil, digest[:], crypto.SHA256)
	}
	return nil, fmt.Errorf("%w: %d", ErrAlgorithm, k.Algorithm())
}

// derToRaw turns an ASN.1 ECDSA signature into r and s, each padded to size
// octets (RFC 6605 §4).
func derToRaw(der []byte, size int) ([]byte, error) {
	bad := fmt.Errorf("malformed ECDSA signature")
	if len(der) < 8 || der[0] != 0x30 || int(der[1]) != len(der)-2 {
		return nil, bad
	}
	out := make([]byte, 2*size)
	rest := der[2:]
	for i := range 2 {
		if len(rest) < 2 || rest[0] != 0x02 || len(rest) < 2+int(rest[1]) {
			return nil, bad
		}
		v := rest[2 : 2+int(rest[1])]
		rest = rest[2+int(rest[1]):]
		for len(v) > 0 && v[0] == 0 {
			v = v[1:]
		}
		if len(v) > size {
			return nil, bad
		}
		copy(out[i*size+size-len(v):], v)
	}
	return out, nil
}

// Compile-time checks that the stdlib keys are crypto.Signers.
var (
	_ crypto.Signer = (*ecdsa.PrivateKey)(nil)
	_ crypto.Signer = (*rsa.PrivateKey)(nil)
	_ crypto.Signer = ed25519.PrivateKey(nil)
)
