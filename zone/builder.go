package zone

import (
	"bytes"
	"cmp"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"
)

// Errors of the builder.
var (
	ErrOutOfZone = errors.New("owner name is not in the zone")
	ErrTTLs      = errors.New("records of one RRset have different TTLs")
	ErrTooLarge  = errors.New("zone too large")
)

// TypeNS is the one type whose RRsets the builder shares between owners.
const typeNS = 2

// Builder collects records in any order and builds a Zone from them.
type Builder struct {
	origin  Name
	keys    []byte
	data    []byte
	recs    []brec
	lastKey uint32 // offset of the last owner added, reused while it repeats
	hasLast bool
	// runs are the runs of records of one owner in recs[:sorted], in
	// canonical order of their owners, as Sort left them.
	runs   []run
	sorted int
}

// run is recs[start:end], records of one owner added one after another.
type run struct{ start, end uint32 }

// brec is one pending record: 20 bytes, offsets into the builder's arenas.
type brec struct {
	keyOff uint32
	rdOff  uint32
	keyLen uint16
	rdLen  uint16
	typ    uint16
	ttl    uint32
}

// NewBuilder starts a zone whose apex is origin. sizeHint, if known, is the
// number of records to expect.
func NewBuilder(origin Name, sizeHint int) *Builder {
	return &Builder{
		origin: origin,
		recs:   make([]brec, 0, sizeHint),
		keys:   make([]byte, 0, sizeHint*8),
		data:   make([]byte, 0, sizeHint*16),
	}
}

// Add adds one record. rdata must be in canonical wire form (uncompressed,
// names lowercased where RFC 4034 §6.2 says so); it is copied. Records
// are collected as given: duplicates are dropped and RRsets formed when the
// zone is built.
func (b *Builder) Add(owner Name, typ uint16, ttl uint32, rdata []byte) error {
	return addRecord(b, owner, typ, ttl, rdata)
}

// AddKey is Add for an owner given as its key (the bytes of a Name), which
// may be a buffer the caller reuses.
func (b *Builder) AddKey(owner []byte, typ uint16, ttl uint32, rdata []byte) error {
	return addRecord(b, owner, typ, ttl, rdata)
}

// addRecord is Add for an owner key held as a string or as bytes (the
// fast reader's reused buffer), without converting one into the other.
func addRecord[S ~string | ~[]byte](b *Builder, owner S, typ uint16, ttl uint32, rdata []byte) error {
	if len(owner) < len(b.origin) || string(owner[:len(b.origin)]) != string(b.origin) {
		return fmt.Errorf("%w: %s is not at or below %s", ErrOutOfZone, Name(owner), b.origin)
	}
	if len(rdata) > math.MaxUint16 {
		return fmt.Errorf("%s type %d: rdata of %d octets", Name(owner), typ, len(rdata))
	}
	if len(b.keys) > math.MaxUint32-len(owner) || len(b.data) > math.MaxUint32-len(rdata) {
		return ErrTooLarge
	}
	var keyOff uint32
	if b.hasLast && string(b.keys[b.lastKey:]) == string(owner) {
		keyOff = b.lastKey
	} else {
		keyOff = uint32(len(b.keys))
		b.keys = append(grow(b.keys, len(owner)), owner...)
		b.lastKey, b.hasLast = keyOff, true
	}
	b.recs = append(grow(b.recs, 1), brec{
		keyOff: keyOff, keyLen: uint16(len(owner)),
		rdOff: uint32(len(b.data)), rdLen: uint16(len(rdata)),
		typ: typ, ttl: ttl,
	})
	b.data = append(grow(b.data, len(rdata)), rdata...)
	return nil
}

// grow makes room for n more elements, doubling the capacity: append grows
// large slices by a quarter, and arenas of hundreds of megabytes would be
// copied again and again.
func grow[T any](s []T, n int) []T {
	if cap(s)-len(s) >= n {
		return s
	}
	t := make([]T, len(s), max(2*cap(s), len(s)+n, 4096))
	copy(t, s)
	return t
}

// Len returns the number of records added so far.
func (b *Builder) Len() int { return len(b.recs) }

func (b *Builder) key(r brec) []byte { return b.keys[r.keyOff : r.keyOff+uint32(r.keyLen)] }

// setKey is the RRset a record belongs to: its type, and for an RRSIG the
// type it covers.
func (b *Builder) setKey(r brec) uint32 {
	k := uint32(r.typ) << 16
	if r.typ == TypeRRSIG && r.rdLen >= 2 {
		k |= uint32(binary.BigEndian.Uint16(b.data[r.rdOff:]))
	}
	return k
}
func (b *Builder) rdata(r brec) []byte { return b.data[r.rdOff : r.rdOff+uint32(r.rdLen)] }

// Sort puts the records added so far in order, so that Has can look
// them up: a zone whose last records depend on the first ones (glue on
// the delegations above it) is built in one builder. Records may still be
// added afterwards.
func (b *Builder) Sort() {
	b.runs = b.sortRuns(b.sorted, b.runs)
	b.sorted = len(b.recs)
}

// sortRuns returns the runs of recs[from:] in order, merged with done,
// the runs of recs[:from] in order.
func (b *Builder) sortRuns(from int, done []run) []run {
	// Records arrive grouped by owner (a delegation's NS and DS together):
	// sort the runs of one owner, not every record.
	var runs []run
	for i := from; i < len(b.recs); {
		j := i + 1
		// One owner's records share its key's offset; the root's empty
		// key shares its offset with the key added after it, so the
		// length counts too.
		for j < len(b.recs) && b.recs[j].keyOff == b.recs[i].keyOff && b.recs[j].keyLen == b.recs[i].keyLen {
			j++
		}
		runs = append(runs, run{uint32(i), uint32(j)})
		i = j
	}
	b.sortByKey(runs)
	if len(done) == 0 {
		return runs
	}
	merged := make([]run, 0, len(done)+len(runs))
	for len(done) > 0 || len(runs) > 0 {
		if len(runs) == 0 || len(done) > 0 && bytes.Compare(b.key(b.recs[done[0].start]), b.key(b.recs[runs[0].start])) <= 0 {
			merged = append(merged, done[0])
			done = done[1:]
		} else {
			merged = append(merged, runs[0])
			runs = runs[1:]
		}
	}
	return merged
}

// sortByKey sorts runs by their owners' keys. Each key's eight octets
// after the prefix all of them share are compared as one integer, and
// the keys themselves only when those are equal: comparing keys in the
// arena, a cache miss each, was most of a full build's sorting.
func (b *Builder) sortByKey(runs []run) {
	if len(runs) < 2 {
		return
	}
	first := b.key(b.recs[runs[0].start])
	shared := len(first)
	for _, r := range runs[1:] {
		k := b.key(b.recs[r.start])
		i := 0
		for i < shared && i < len(k) && k[i] == first[i] {
			i++
		}
		if shared = i; shared == 0 {
			break
		}
	}
	type keyed struct {
		window uint64 // key[shared:shared+8], zero-padded, big-endian
		r      run
	}
	ks := make([]keyed, len(runs))
	for i, r := range runs {
		var w [8]byte
		copy(w[:], b.key(b.recs[r.start])[shared:])
		ks[i] = keyed{binary.BigEndian.Uint64(w[:]), r}
	}
	// A zero-padded window orders as the key does, or ties: never the
	// other way round.
	slices.SortFunc(ks, func(x, y keyed) int {
		if c := cmp.Compare(x.window, y.window); c != 0 {
			return c
		}
		return bytes.Compare(b.key(b.recs[x.r.start]), b.key(b.recs[y.r.start]))
	})
	for i := range ks {
		runs[i] = ks[i].r
	}
}

// Has reports whether a record of type typ at owner was added before the
// last Sort.
func (b *Builder) Has(owner Name, typ uint16) bool {
	i, _ := slices.BinarySearchFunc(b.runs, owner, func(r run, n Name) int {
		switch k := b.key(b.recs[r.start]); {
		case string(k) < string(n):
			return -1
		case string(k) > string(n):
			return 1
		}
		return 0
	})
	for ; i < len(b.runs) && string(b.key(b.recs[b.runs[i].start])) == string(owner); i++ {
		for _, r := range b.recs[b.runs[i].start:b.runs[i].end] {
			if r.typ == typ {
				return true
			}
		}
	}
	return false
}

// Zone sorts what was added into a Zone. The builder must not be used
// afterwards.
func (b *Builder) Zone() (*Zone, error) { return ZoneOfParts(b.origin, []*Builder{b}) }

// ZoneOfParts builds one zone from builders that each hold the records of
// a range of owner names, the ranges given in canonical order and not
// overlapping: a zone built from records that come in no particular order
// sorts and emits each part within a small stretch of memory, and the
// parts are sorted and emitted on every core. It is an error for the
// ranges to overlap. The builders must not be used afterwards.
func ZoneOfParts(origin Name, parts []*Builder) (*Zone, error) {
	sorted := make([][]run, len(parts))
	onEveryCore(len(parts), func(i int) { sorted[i] = parts[i].sortRuns(parts[i].sorted, parts[i].runs) })
	var last []byte
	for i, p := range parts {
		if p.origin != origin {
			return nil, fmt.Errorf("%w: a part of %s built for %s", ErrOutOfZone, origin, p.origin)
		}
		if len(sorted[i]) == 0 {
			continue
		}
		if first := p.key(p.recs[sorted[i][0].start]); last != nil && bytes.Compare(first, last) <= 0 {
			return nil, fmt.Errorf("building %s: parts out of order (%s after %s)", origin, Name(first), Name(last))
		}
		last = p.key(p.recs[sorted[i][len(sorted[i])-1].start])
	}
	groups := groupParts(parts, runtime.GOMAXPROCS(0))
	pieces := make([]*Zone, len(groups))
	errs := make([]error, len(groups))
	onEveryCore(len(groups), func(g int) {
		lo, hi := groups[g][0], groups[g][1]
		pieces[g], errs[g] = emitParts(origin, parts[lo:hi], sorted[lo:hi])
	})
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return concatZones(origin, pieces)
}

// groupParts splits parts into at most n runs of neighbours holding about
// as many records each, as [start, end) pairs: each is emitted on a core
// of its own. Identical NS blocks are shared within a run only, so the
// runs are few (one per core) and long, not one per part.
func groupParts(parts []*Builder, n int) [][2]int {
	total := 0
	for _, p := range parts {
		total += len(p.recs)
	}
	var groups [][2]int
	start, sum := 0, 0
	for i, p := range parts {
		sum += len(p.recs)
		if len(groups) < n-1 && sum*n >= total*(len(groups)+1) {
			groups = append(groups, [2]int{start, i + 1})
			start = i + 1
		}
	}
	if start < len(parts) || len(groups) == 0 {
		groups = append(groups, [2]int{start, len(parts)})
	}
	return groups
}

// emitParts emits parts, in order, into a zone of their own, and lets go
// of each part's records once emitted.
func emitParts(origin Name, parts []*Builder, sorted [][]run) (*Zone, error) {
	var owners, keys, data int
	for i, p := range parts {
		owners += len(sorted[i])
		keys += len(p.keys)
		data += len(p.data)
	}
	z := &Zone{
		origin: origin,
		keyAt:  make([]uint32, 0, owners+1),
		setAt:  make([]uint32, 0, owners+1),
		sets:   make([]set, 0, owners+owners/4),
		keys:   make([]byte, 0, keys),
		data:   make([]byte, 0, data/2),
	}
	w := newSetWriter(z)
	for i, p := range parts {
		if err := p.emit(w, sorted[i]); err != nil {
			return nil, err
		}
		p.recs, p.keys, p.data, p.runs = nil, nil, nil, nil
	}
	w.finish()
	return z, nil
}

// concatZones joins zones holding consecutive ranges of owners, in order,
// into one, copying each on a core of its own. The pieces must not be
// used afterwards.
func concatZones(origin Name, pieces []*Zone) (*Zone, error) {
	if len(pieces) == 1 {
		return pieces[0], nil
	}
	type base struct{ owner, key, set, data int }
	bases := make([]base, len(pieces)+1)
	for i, p := range pieces {
		b := bases[i]
		bases[i+1] = base{b.owner + p.Owners(), b.key + len(p.keys), b.set + len(p.sets), b.data + len(p.data)}
	}
	end := bases[len(pieces)]
	if end.key > math.MaxUint32 || end.data > math.MaxUint32 || end.set > math.MaxUint32 {
		return nil, ErrTooLarge
	}
	z := &Zone{
		origin: origin,
		keyAt:  make([]uint32, end.owner+1),
		setAt:  make([]uint32, end.owner+1),
		sets:   make([]set, end.set),
		keys:   make([]byte, end.key),
		data:   make([]byte, end.data),
	}
	onEveryCore(len(pieces), func(i int) {
		p, b := pieces[i], bases[i]
		for j, at := range p.keyAt[:p.Owners()] {
			z.keyAt[b.owner+j] = at + uint32(b.key)
			z.setAt[b.owner+j] = p.setAt[j] + uint32(b.set)
		}
		for j, s := range p.sets {
			s.off += uint32(b.data)
			z.sets[b.set+j] = s
		}
		copy(z.keys[b.key:], p.keys)
		copy(z.data[b.data:], p.data)
		pieces[i] = nil
	})
	z.keyAt[end.owner] = uint32(end.key)
	z.setAt[end.owner] = uint32(end.set)
	return z, nil
}

// onEveryCore calls fn(0) to fn(n-1), on as many goroutines as there are
// cores (none for one call).
func onEveryCore(n int, fn func(i int)) {
	if n == 1 {
		fn(0)
		return
	}
	var next atomic.Int64
	var wg sync.WaitGroup
	for range min(runtime.GOMAXPROCS(0), n) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := int(next.Add(1) - 1); i < n; i = int(next.Add(1) - 1) {
				fn(i)
			}
		}()
	}
	wg.Wait()
}

// emit writes the builder's records, whose runs are in order, to w.
func (b *Builder) emit(w *setWriter, runs []run) error {
	var group []brec
	var rdatas [][]byte
	for i := 0; i < len(runs); {
		key := b.key(b.recs[runs[i].start])
		group = group[:0]
		for ; i < len(runs) && bytes.Equal(b.key(b.recs[runs[i].start]), key); i++ {
			group = append(group, b.recs[runs[i].start:runs[i].end]...)
		}
		slices.SortFunc(group, func(x, y brec) int {
			if kx, ky := b.setKey(x), b.setKey(y); kx != ky {
				if kx < ky {
					return -1
				}
				return 1
			}
			return bytes.Compare(b.rdata(x), b.rdata(y))
		})
		if err := w.owner(key); err != nil {
			return err
		}
		for j := 0; j < len(group); {
			k := j + 1
			for k < len(group) && b.setKey(group[k]) == b.setKey(group[j]) {
				k++
			}
			rdatas = rdatas[:0]
			for m := j; m < k; m++ {
				if group[m].ttl != group[j].ttl {
					return fmt.Errorf("%s type %s: %w (%d and %d)", Name(key), TypeString(group[j].typ), ErrTTLs, group[j].ttl, group[m].ttl)
				}
				rd := b.rdata(group[m])
				if m > j && bytes.Equal(rd, rdatas[len(rdatas)-1]) {
					continue // a duplicate record (RFC 2181 §5)
				}
				rdatas = append(rdatas, rd)
			}
			if err := w.set(group[j].typ, group[j].ttl, rdatas); err != nil {
				return fmt.Errorf("%s type %s: %w", Name(key), TypeString(group[j].typ), err)
			}
			j = k
		}
	}
	return nil
}

// setWriter appends owners and RRsets to a zone under construction, in
// canonical order, sharing identical NS rdata blocks.
type setWriter struct {
	z      *Zone
	shared map[string]uint32
	block  []byte
	// copied maps the offset of an NS block in a source zone to its
	// offset here, so that copying keeps blocks shared without hashing them.
	copied map[copyKey]uint32
}

type copyKey struct {
	src *Zone
	off uint32
}

func newSetWriter(z *Zone) *setWriter {
	return &setWriter{z: z, shared: make(map[string]uint32), copied: make(map[copyKey]uint32)}
}

func (w *setWriter) owner(key []byte) error {
	if len(w.z.keys) > math.MaxUint32-len(key) {
		return ErrTooLarge
	}
	w.z.keyAt = append(grow(w.z.keyAt, 1), uint32(len(w.z.keys)))
	w.z.setAt = append(grow(w.z.setAt, 1), uint32(len(w.z.sets)))
	w.z.keys = append(grow(w.z.keys, len(key)), key...)
	return nil
}

// set appends one RRset of the current owner; rdatas are sorted and unique.
func (w *setWriter) set(typ uint16, ttl uint32, rdatas [][]byte) error {
	if len(rdatas) > math.MaxUint16 {
		return fmt.Errorf("%d records in one RRset", len(rdatas))
	}
	w.block = w.block[:0]
	for _, rd := range rdatas {
		w.block = binary.BigEndian.AppendUint16(w.block, uint16(len(rd)))
		w.block = append(w.block, rd...)
	}
	return w.setBlock(typ, ttl, uint16(len(rdatas)), w.block)
}

// setBlock appends an RRset whose block is already encoded.
func (w *setWriter) setBlock(typ uint16, ttl uint32, count uint16, block []byte) error {
	if typ == typeNS {
		if off, ok := w.shared[string(block)]; ok {
			w.z.sets = append(grow(w.z.sets, 1), set{typ: typ, count: count, ttl: ttl, off: off})
			return nil
		}
	}
	if len(w.z.data) > math.MaxUint32-len(block) {
		return ErrTooLarge
	}
	off := uint32(len(w.z.data))
	w.z.data = append(grow(w.z.data, len(block)), block...)
	if typ == typeNS {
		w.shared[string(block)] = off
	}
	w.z.sets = append(grow(w.z.sets, 1), set{typ: typ, count: count, ttl: ttl, off: off})
	return nil
}

// copySet appends an RRset of another zone as it is.
func (w *setWriter) copySet(r RRset) error {
	s := r.z.sets[r.idx]
	if s.typ != typeNS {
		return w.setBlock(s.typ, s.ttl, s.count, r.block())
	}
	k := copyKey{r.z, s.off}
	if off, ok := w.copied[k]; ok {
		w.z.sets = append(grow(w.z.sets, 1), set{typ: s.typ, count: s.count, ttl: s.ttl, off: off})
		return nil
	}
	if err := w.setBlock(s.typ, s.ttl, s.count, r.block()); err != nil {
		return err
	}
	w.copied[k] = w.z.sets[len(w.z.sets)-1].off
	return nil
}

func (w *setWriter) finish() {
	w.z.keyAt = append(w.z.keyAt, uint32(len(w.z.keys)))
	w.z.setAt = append(w.z.setAt, uint32(len(w.z.sets)))
	w.shared, w.copied = nil, nil
}
