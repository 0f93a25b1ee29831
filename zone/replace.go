package zone

import (
	"bytes"
	"fmt"
	"iter"
	"math"
	"slices"
	"sort"
)

// Replace returns base with some owners replaced: each owner of with has
// exactly the RRsets it has in with, and each name in drop that is not an
// owner of with has none. Every other owner is carried over in bulk: its
// rdata keeps its place in a copy of base's arena, and its entries are
// copied range by range. A publication that changes a thousand domains of
// two million thus costs a few block copies, not a rebuild record by
// record (Merge).
//
// The replaced RRsets' rdata stays in the arena, unreferenced; when such
// dead space passes a quarter of the arena, Replace compacts the result.
func Replace(base, with *Zone, drop []Name) (*Zone, error) {
	if with == nil {
		with = &Zone{origin: base.origin, keyAt: []uint32{0}, setAt: []uint32{0}}
	}
	if with.origin != base.origin {
		return nil, fmt.Errorf("replacing owners of %s with owners of %s", base.origin, with.origin)
	}
	changed := make([]string, 0, with.Owners()+len(drop))
	for i := range with.Owners() {
		changed = append(changed, string(with.OwnerKey(i)))
	}
	for _, n := range drop {
		if !n.IsBelow(base.origin) {
			return nil, fmt.Errorf("%w: %s is not at or below %s", ErrOutOfZone, n, base.origin)
		}
		changed = append(changed, string(n))
	}
	slices.Sort(changed)
	changed = slices.Compact(changed)

	if uint64(len(base.data))+uint64(len(with.data)) > math.MaxUint32 ||
		uint64(len(base.keys))+uint64(len(with.keys)) > math.MaxUint32 {
		return nil, ErrTooLarge
	}
	z := &Zone{
		origin: base.origin,
		keys:   make([]byte, 0, len(base.keys)+len(with.keys)),
		keyAt:  make([]uint32, 0, len(base.keyAt)+with.Owners()),
		setAt:  make([]uint32, 0, len(base.setAt)+with.Owners()),
		sets:   make([]set, 0, len(base.sets)+len(with.sets)),
		data:   make([]byte, len(base.data), len(base.data)+len(with.data)),
		dead:   base.dead,
	}
	copy(z.data, base.data)
	// with stores an RRset shared by many owners once (a thousand domains
	// moved to one provider); so does the result, which keeps the arena
	// within the capacity reserved above: growing a copy of a TLD's arena
	// costs as much as making it.
	copied := map[uint32]uint32{}
	n := base.Owners()
	next := 0 // the first owner of base not yet carried over
	wi := 0   // the next owner of with
	for _, key := range changed {
		pos := next + sort.Search(n-next, func(i int) bool { return string(base.OwnerKey(next+i)) >= key })
		z.carry(base, next, pos)
		next = pos
		if next < n && string(base.OwnerKey(next)) == key {
			for r := range base.RRsets(next) {
				z.dead += len(r.block())
			}
			next++
		}
		if wi < with.Owners() && string(with.OwnerKey(wi)) == key {
			z.keyAt = append(z.keyAt, uint32(len(z.keys)))
			z.setAt = append(z.setAt, uint32(len(z.sets)))
			z.keys = append(z.keys, key...)
			for r := range with.RRsets(wi) {
				s := with.sets[r.idx]
				off, done := copied[s.off]
				if !done {
					off = uint32(len(z.data))
					copied[s.off] = off
					z.data = append(z.data, r.block()...)
				}
				s.off = off
				z.sets = append(z.sets, s)
			}
			wi++
		}
	}
	z.carry(base, next, n)
	z.keyAt = append(z.keyAt, uint32(len(z.keys)))
	z.setAt = append(z.setAt, uint32(len(z.sets)))
	if z.dead > len(z.data)/4 {
		return Merge(z, nil, nil)
	}
	return z, nil
}

// ReplaceView yields the RRsets Replace would produce, in canonical
// order, without building the zone: to digest a change while it is made.
func ReplaceView(base, with *Zone, drop []Name) iter.Seq[RRset] {
	return func(yield func(RRset) bool) {
		gone := slices.Clone(drop)
		slices.Sort(gone)
		nw := 0
		if with != nil {
			nw = with.Owners()
		}
		i, j, d, nb := 0, 0, 0, base.Owners()
		var sets []RRset
		for i < nb || j < nw {
			if j == nw || (i < nb && bytes.Compare(base.OwnerKey(i), with.OwnerKey(j)) < 0) {
				// An owner of base stays unless it is dropped.
				key := base.OwnerKey(i)
				for d < len(gone) && string(gone[d]) < string(key) {
					d++
				}
				if d == len(gone) || string(gone[d]) != string(key) {
					// Through a reused buffer, not RRsets: its iterator
					// would be an allocation per owner, millions for pt.
					sets = base.appendRRsets(sets[:0], i)
					for _, r := range sets {
						if !yield(r) {
							return
						}
					}
				}
				i++
				continue
			}
			// An owner of with replaces base's, if base has it.
			if i < nb && bytes.Equal(base.OwnerKey(i), with.OwnerKey(j)) {
				i++
			}
			sets = with.appendRRsets(sets[:0], j)
			for _, r := range sets {
				if !yield(r) {
					return
				}
			}
			j++
		}
	}
}

// carry appends base's owners lo to hi-1 as they are.
func (z *Zone) carry(base *Zone, lo, hi int) {
	if lo >= hi {
		return
	}
	keyShift := uint32(len(z.keys)) - base.keyAt[lo]
	setShift := uint32(len(z.sets)) - base.setAt[lo]
	k := len(z.keyAt)
	z.keyAt = append(z.keyAt, base.keyAt[lo:hi]...)
	z.setAt = append(z.setAt, base.setAt[lo:hi]...)
	keyAt, setAt := z.keyAt[k:], z.setAt[k:]
	for i := range keyAt {
		keyAt[i] += keyShift
		setAt[i] += setShift
	}
	z.keys = append(z.keys, base.keys[base.keyAt[lo]:base.keyAt[hi]]...)
	z.sets = append(z.sets, base.sets[base.setAt[lo]:base.setAt[hi]]...)
}

// Compacted returns the zone without dead rdata (see Replace), or the
// zone itself when it has none.
func (z *Zone) Compacted() (*Zone, error) {
	if z.dead == 0 {
		return z, nil
	}
	return Merge(z, nil, nil)
}
