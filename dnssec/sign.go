package dnssec

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/fnv"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"
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
	// Previous is the zone as last signed and published, if any. Its
	// signature over an RRset is kept when the RRset has not changed, the
	// key still signs it, the signature is valid at Now and has at least
	// Refresh left; every other RRset is signed anew. The zone then
	// changes, and its secondaries transfer, only as much as it must.
	Previous *zone.Zone
	// Presigner, if set, holds signatures over DS RRsets made while the
	// zone was generated (Sign only; see Presigner). Sign closes it.
	Presigner *Presigner
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

// replaced are the types Sign computes itself (zone.IsSigningType); any
// found in the input are dropped and made anew.
func replaced(t uint16) bool { return zone.IsSigningType(t) }

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

// signed is one RRSIG, made or kept.
type signed struct {
	owner zone.Name
	ttl   uint32
	rdata []byte
}

// signer is one signing of one zone: the keys in their roles and what
// follows from the options and the apex.
type signer struct {
	apex                  zone.Name
	apexWire              []byte
	opt                   SignOptions
	published, ksks, zsks []*Key
	dnskeyBlock           []byte
	params                []byte // NSEC3PARAM rdata
	soaTTL, nsec3TTL      uint32
	soa                   zone.SOA
	apexTypes             []uint16 // the types Sign adds at the apex
	presigned             *presigned
	// p256 holds the batch signer of each in-memory P-256 key.
	p256 map[*Key]*p256Signer
}

// newSigner prepares the signing of the zone at apex whose SOA RRset is
// soaSet.
func newSigner(apex zone.Name, soaSet zone.RRset, keys []*Key, opt SignOptions) (*signer, error) {
	s, err := keySigner(apex, keys, opt)
	if err != nil {
		return nil, err
	}
	for rd := range soaSet.Rdata() {
		if s.soa, err = zone.ParseSOA(rd); err != nil {
			return nil, fmt.Errorf("signing %s: %w", apex, err)
		}
	}
	s.soaTTL = soaSet.TTL()
	// RFC 9077: NSEC3 records live as long as the negative answers they prove.
	s.nsec3TTL = min(s.soaTTL, s.soa.Minimum)
	var dnskeys [][]byte
	for _, k := range s.published {
		rd, err := k.Rdata()
		if err != nil {
			return nil, err
		}
		dnskeys = append(dnskeys, rd)
	}
	s.dnskeyBlock = encodeBlock(dnskeys)
	s.params = nsec3ParamRdata(opt.NSEC3.Iterations, opt.NSEC3.Salt)
	s.apexTypes = []uint16{zone.TypeDNSKEY, zone.TypeNSEC3PARAM, zone.TypeRRSIG}
	if opt.ZONEMD {
		s.apexTypes = append(s.apexTypes, zone.TypeZONEMD)
	}
	return s, nil
}

// keySigner is the part of a signer that the keys and options make: the
// keys in their roles at opt.Now, all of them the zone's.
func keySigner(apex zone.Name, keys []*Key, opt SignOptions) (*signer, error) {
	published, ksks, zsks, err := roles(keys, opt.Now)
	if err != nil {
		return nil, err
	}
	for _, k := range published {
		if k.Zone != apex {
			return nil, fmt.Errorf("signing %s with key %s of another zone", apex, k)
		}
	}
	s := &signer{apex: apex, apexWire: apex.Wire(), opt: opt, published: published, ksks: ksks, zsks: zsks,
		p256: map[*Key]*p256Signer{}}
	for _, k := range published {
		if p := newP256Signer(k); p != nil {
			s.p256[k] = p
		}
	}
	return s, nil
}

// soaOf returns the apex's SOA RRset.
func soaOf(z *zone.Zone) (zone.RRset, error) {
	apexIdx, ok := z.Find(z.Origin())
	if !ok {
		return zone.RRset{}, fmt.Errorf("signing %s: the zone has no apex records", z.Origin())
	}
	soaSet, ok := z.GetAt(apexIdx, zone.TypeSOA)
	if !ok {
		return zone.RRset{}, fmt.Errorf("signing %s: no SOA record", z.Origin())
	}
	return soaSet, nil
}

// addApex adds what the signer itself puts at the apex: the DNSKEY RRset,
// NSEC3PARAM and, if asked for, a ZONEMD placeholder (the digest is
// computed over the signed zone).
func (s *signer) addApex(b *zone.Builder) {
	for rd := range blockRecords(s.dnskeyBlock) {
		b.Add(s.apex, zone.TypeDNSKEY, s.opt.DNSKEYTTL, rd)
	}
	b.Add(s.apex, zone.TypeNSEC3PARAM, s.nsec3TTL, s.params)
	if s.opt.ZONEMD {
		b.Add(s.apex, zone.TypeZONEMD, s.soaTTL, zonemdRdata(s.soa.Serial, placeholderDigest[:]))
	}
}

// planOwner says what signing does at one owner, given its RRsets in the
// unsigned zone (in type order) and whether a delegation above occludes
// it: the tasks it adds, and whether and with which types the NSEC3 chain
// holds the name. Glue is never signed and never in the chain; a
// delegation has only its DS signed, and is left to an opt-out span when
// it has none.
func (s *signer) planOwner(owner zone.Name, sets []zone.RRset, occluded bool, tasks []task) ([]task, []uint16, bool) {
	if occluded {
		return tasks, nil, false
	}
	isApex := owner == s.apex
	isDelegation := false
	for _, r := range sets {
		isDelegation = isDelegation || (r.Type() == zone.TypeNS && !isApex)
	}
	var types []uint16
	secure := false
	for _, r := range sets {
		t := r.Type()
		if replaced(t) {
			continue
		}
		types = append(types, t)
		if isDelegation && t != zone.TypeDS {
			continue // the child's NS (and anything else) is not ours to sign
		}
		secure = secure || isDelegation
		tasks = append(tasks, task{owner: owner, typ: t, ttl: r.TTL(), block: r.Block(), keys: s.zsks})
	}
	if isApex {
		tasks = append(tasks,
			task{owner: owner, typ: zone.TypeDNSKEY, ttl: s.opt.DNSKEYTTL, block: s.dnskeyBlock, keys: s.ksks},
			task{owner: owner, typ: zone.TypeNSEC3PARAM, ttl: s.nsec3TTL, block: encodeBlock([][]byte{s.params}), keys: s.zsks})
		return tasks, append(types, s.apexTypes...), true
	}
	if len(types) == 0 || (isDelegation && !secure && s.opt.NSEC3.OptOut) {
		return tasks, nil, false
	}
	if !isDelegation || secure {
		types = append(types, zone.TypeRRSIG)
	}
	return tasks, types, true
}

// Sign returns the signed form of an unsigned zone: the DNSKEY RRset of
// the keys published at opt.Now, NSEC3PARAM and an NSEC3 chain (opt-out by
// default), RRSIGs over every authoritative RRset (never over delegation NS
// or glue), and ZONEMD. Records of those types in the input are replaced.
// The result depends only on its inputs: ECDSA signs deterministically
// (RFC 6979), jitter comes from the owner name, and signatures are kept
// from opt.Previous by rules that depend on nothing else.
func Sign(unsigned *zone.Zone, keys []*Key, opt SignOptions) (*zone.Zone, error) {
	signed, fill, err := SignPending(unsigned, keys, opt)
	if err != nil {
		return nil, err
	}
	return signed, fill()
}

// SignPending is Sign returning before the ZONEMD digest is known, which
// is computed meanwhile: the apex's ZONEMD record and its signatures are
// placeholders of their final length until fill writes them in place.
// Everything else in the zone is final, so that it can be written out
// while the digest is computed (one SHA-384 over the whole zone, on one
// core), its apex written again once fill has returned. Nothing may read
// the zone while fill runs, nor the apex before it has. fill returns the
// same error every time it is called.
func SignPending(unsigned *zone.Zone, keys []*Key, opt SignOptions) (signed *zone.Zone, fill func() error, err error) {
	if opt.Presigner != nil {
		defer opt.Presigner.Close()
	}
	if err := opt.check(); err != nil {
		return nil, nil, err
	}
	apex := unsigned.Origin()
	soaSet, err := soaOf(unsigned)
	if err != nil {
		return nil, nil, err
	}
	s, err := newSigner(apex, soaSet, keys, opt)
	if err != nil {
		return nil, nil, err
	}
	overlay := zone.NewBuilder(apex, 0)
	s.addApex(overlay)

	// Walk the zone: plan each owner, collect what the NSEC3 chain needs.
	var tasks []task
	var chain []chainEntry
	var cut zone.Name
	hasCut := false
	var sets []zone.RRset
	for i := range unsigned.Owners() {
		owner := unsigned.Owner(i)
		occluded := hasCut && owner.IsStrictlyBelow(cut)
		sets = sets[:0]
		for r := range unsigned.RRsets(i) {
			sets = append(sets, r)
			if r.Type() == zone.TypeNS && owner != apex && !occluded {
				cut, hasCut = owner, true
			}
		}
		var types []uint16
		var inChain bool
		tasks, types, inChain = s.planOwner(owner, sets, occluded, tasks)
		if inChain {
			chain = append(chain, chainEntry{name: owner, types: types})
		}
	}
	chain = addEmptyNonTerminals(chain, apex)
	nsec3s, err := buildChain(chain, apex, opt.NSEC3)
	if err != nil {
		return nil, nil, err
	}
	for _, n := range nsec3s {
		overlay.Add(n.owner, zone.TypeNSEC3, s.nsec3TTL, n.rdata)
		tasks = append(tasks, task{owner: n.owner, typ: zone.TypeNSEC3, ttl: s.nsec3TTL, block: encodeBlock([][]byte{n.rdata}), keys: s.zsks})
	}
	if opt.ZONEMD {
		tasks = append(tasks, s.zonemdTask(placeholderDigest))
	}
	if opt.Presigner != nil {
		if s.presigned, err = opt.Presigner.finish(s); err != nil {
			return nil, nil, err
		}
	}
	sigs, err := s.signAll(tasks)
	if err != nil {
		return nil, nil, err
	}
	for _, sg := range sigs {
		if err := overlay.Add(sg.owner, zone.TypeRRSIG, sg.ttl, sg.rdata); err != nil {
			return nil, nil, err
		}
	}
	over, err := overlay.Zone()
	if err != nil {
		return nil, nil, fmt.Errorf("signing %s: %w", apex, err)
	}
	drop := func(r zone.RRset) bool { return replaced(r.Type()) }
	if !opt.ZONEMD {
		signed, err = zone.Merge(unsigned, over, drop)
		return signed, func() error { return nil }, err
	}
	// The digest leaves out the placeholders, so it can be taken from the
	// inputs of the merge on another core while the merge runs, and
	// while the merged zone is written.
	digest := make(chan [sha512.Size384]byte, 1)
	go func() { digest <- signerZONEMDDigest(zone.MergeView(unsigned, over, drop)) }()
	if signed, err = zone.Merge(unsigned, over, drop); err != nil {
		<-digest
		return nil, nil, err
	}
	fill = sync.OnceValue(func() error { return s.fillZONEMD(signed, <-digest) })
	return signed, fill, nil
}

// placeholderDigest stands for a zone's ZONEMD digest until it is known.
var placeholderDigest [sha512.Size384]byte

// zonemdTask is the signing of the apex ZONEMD record with a digest.
func (s *signer) zonemdTask(digest [sha512.Size384]byte) task {
	md := zonemdRdata(s.soa.Serial, digest[:])
	return task{owner: s.apex, typ: zone.TypeZONEMD, ttl: s.soaTTL, block: encodeBlock([][]byte{md}), keys: s.zsks}
}

// fillZONEMD writes the ZONEMD record with the zone's digest, and its
// signatures, in the place of the placeholders (addApex, zonemdTask) in a
// signed zone. The digest leaves both out (RFC 8976 §3.3.1), so the
// placeholders do not change it, and real and placeholder records have
// the same lengths: a signature's length depends on its key only.
func (s *signer) fillZONEMD(z *zone.Zone, digest [sha512.Size384]byte) error {
	t := s.zonemdTask(digest)
	sigs, err := s.signAll([]task{t})
	if err != nil {
		return err
	}
	var rdatas [][]byte
	for _, sg := range sigs {
		rdatas = append(rdatas, sg.rdata)
	}
	md := slices.Collect(blockRecords(t.block))
	if err := z.Overwrite(s.apex, zone.TypeZONEMD, 0, md); err != nil {
		return fmt.Errorf("signing %s: %w", s.apex, err)
	}
	if err := z.Overwrite(s.apex, zone.TypeRRSIG, zone.TypeZONEMD, rdatas); err != nil {
		return fmt.Errorf("signing %s: %w", s.apex, err)
	}
	return nil
}

// Unsigned returns a signed zone without what Sign adds (DNSKEY,
// NSEC3PARAM, NSEC3, RRSIG, ZONEMD): the zone it was signed from.
func Unsigned(z *zone.Zone) (*zone.Zone, error) {
	return zone.Merge(z, nil, func(r zone.RRset) bool { return replaced(r.Type()) })
}

// signAll signs every task with each of its keys, or keeps the previous
// zone's (or a Presigner's) signature, on opt.Workers goroutines, and
// returns the signatures in task order. Workers take the tasks a batch at
// a time: the signatures left to make can bunch in one part of the list
// (the NSEC3 records at its end, when the DS RRsets were presigned).
func (s *signer) signAll(tasks []task) ([]signed, error) {
	opt := s.opt
	inception := uint32(opt.Now.Add(-opt.InceptionOffset).Unix())
	const batch = 512
	batches := (len(tasks) + batch - 1) / batch
	results := make([][]signed, batches)
	errs := make([]error, opt.Workers)
	var next atomic.Int64
	var wg sync.WaitGroup
	for w := range min(opt.Workers, batches) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var buf []byte
			q := newSigQueue()
			for {
				b := int(next.Add(1) - 1)
				if b >= batches {
					return
				}
				var out []signed
				fail := func(err error) {
					errs[w] = err
					next.Store(int64(batches)) // the others stop too
				}
				for _, t := range tasks[b*batch : min((b+1)*batch, len(tasks))] {
					kept := s.keptSignatures(t)
					if s.presigned != nil {
						kept = append(kept, s.presigned.lookup(t)...)
					}
					err := s.signTask(&buf, q, t, inception, kept, func(_ *Key, rd []byte, _ bool) {
						out = append(out, signed{owner: t.owner, ttl: t.ttl, rdata: rd})
					})
					if err != nil {
						fail(err)
						return
					}
				}
				if err := q.flush(); err != nil {
					fail(err)
					return
				}
				results[b] = out
			}
		}()
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	n := 0
	for _, r := range results {
		n += len(r)
	}
	out := make([]signed, 0, n)
	for _, r := range results {
		out = append(out, r...)
	}
	return out, nil
}

// signTask gives fn the task's signature by each of its keys, in key
// order: the one kept holds for the key, or one made now (made is then
// true). A signature made by a key with a batch signer is queued in q, and
// its rdata is complete only once q is flushed.
func (s *signer) signTask(buf *[]byte, q *sigQueue, t task, inception uint32, kept []keptSig, fn func(k *Key, rd []byte, made bool)) error {
	var ownerWire []byte
	var expiration uint32
	for _, k := range t.keys {
		if rd := findKept(kept, k); rd != nil {
			fn(k, rd, false)
			continue
		}
		if ownerWire == nil {
			ownerWire = t.owner.Wire()
			expiration = uint32(s.opt.Now.Add(s.opt.Validity - jitter(ownerWire, t.typ, s.opt.Jitter)).Unix())
		}
		rd, err := signRRset(buf, t, ownerWire, k, inception, expiration, s.apexWire, q.to(s.p256[k]))
		if err != nil {
			return fmt.Errorf("signing %s %s with key %s: %w", t.owner, zone.TypeString(t.typ), k, err)
		}
		fn(k, rd, true)
	}
	return nil
}

type keyID struct {
	tag uint16
	alg uint8
}

// keptSignatures returns the previous zone's signatures of the task's
// RRset that can stay (see keptAt).
func (s *signer) keptSignatures(t task) []keptSig {
	prev := s.opt.Previous
	if prev == nil {
		return nil
	}
	i, ok := prev.Find(t.owner)
	if !ok {
		return nil
	}
	return s.keptAt(i, t)
}

type keptSig struct {
	id keyID
	rd []byte
}

// keptAt returns the signatures at owner i of the previous zone that can
// stay over the task's RRset: the RRset is the same (records and TTL), and
// each signature is well-formed, by our apex, over this owner's labels,
// valid now and with at least Refresh left.
func (s *signer) keptAt(i int, t task) []keptSig {
	prev := s.opt.Previous
	old, ok := prev.GetAt(i, t.typ)
	if !ok || old.TTL() != t.ttl || !bytes.Equal(old.Block(), t.block) {
		return nil
	}
	sigs, ok := prev.GetSig(i, t.typ)
	if !ok {
		return nil
	}
	now := s.opt.Now.Unix()
	refresh := int64(s.opt.Refresh / time.Second)
	var kept []keptSig
	for rd := range sigs.Rdata() {
		f, ok := zone.ParseRRSIG(rd)
		if !ok || f.Covered != t.typ || f.Labels != labelCount(t.owner) || f.OrigTTL != t.ttl || !bytes.Equal(f.Signer, s.apexWire) {
			continue
		}
		if zone.SerialTime(f.Inception, now) > now || zone.SerialTime(f.Expiration, now)-now < refresh {
			continue
		}
		kept = append(kept, keptSig{keyID{f.KeyTag, f.Algorithm}, rd})
	}
	return kept
}

func findKept(kept []keptSig, k *Key) []byte {
	for _, ks := range kept {
		if ks.id == (keyID{k.Tag, k.Algorithm()}) {
			return ks.rd
		}
	}
	return nil
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
// canonical form and order. With an active later, the signature is not
// made here: later queues the digest of the signed data and the place of
// the signature in the rdata returned, filled in when it is flushed.
func signRRset(buf *[]byte, t task, ownerWire []byte, k *Key, inception, expiration uint32, signerWire []byte, later queued) ([]byte, error) {
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
	if later.active() {
		rd := append(prefix, make([]byte, 64)...)
		later.add(sha256.Sum256(data), rd[len(prefix):])
		return rd, nil
	}
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
