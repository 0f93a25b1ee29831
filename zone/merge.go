package zone

import (
	"bytes"
	"fmt"
	"iter"
)

// Merge returns a new zone: base, without the RRsets drop selects (drop may
// be nil), with every RRset of overlay added; an overlay RRset replaces
// base's RRset of the same owner and type (and covered type, for RRSIGs).
// Owners left without RRsets disappear. It is one linear pass over both
// zones: this is how signatures and NSEC3 records join an unsigned zone,
// and how changes join a published one, without sorting anything again.
func Merge(base, overlay *Zone, drop func(r RRset) bool) (*Zone, error) {
	if overlay != nil && overlay.origin != base.origin {
		return nil, fmt.Errorf("merging zone %s into %s", overlay.origin, base.origin)
	}
	owners, keys, sets, data := base.Owners(), len(base.keys), len(base.sets), len(base.data)
	if overlay != nil {
		owners, keys, sets, data = owners+overlay.Owners(), keys+len(overlay.keys), sets+len(overlay.sets), data+len(overlay.data)
	}
	z := &Zone{
		origin: base.origin,
		keys:   make([]byte, 0, keys),
		keyAt:  make([]uint32, 0, owners+1),
		setAt:  make([]uint32, 0, owners+1),
		sets:   make([]set, 0, sets),
		data:   make([]byte, 0, data),
	}
	w := newSetWriter(z)
	var last []byte
	started := false
	for r := range MergeView(base, overlay, drop) {
		if key := r.OwnerKey(); !started || !bytes.Equal(key, last) {
			if err := w.owner(key); err != nil {
				return nil, err
			}
			last, started = key, true
		}
		if err := w.copySet(r); err != nil {
			return nil, err
		}
	}
	w.finish()
	return z, nil
}

// MergeView yields the RRsets Merge would produce, in canonical order,
// without building a zone: to digest or to write a merge only once.
func MergeView(base, overlay *Zone, drop func(r RRset) bool) iter.Seq[RRset] {
	return func(yield func(RRset) bool) {
		nb, no := base.Owners(), 0
		if overlay != nil {
			no = overlay.Owners()
		}
		var bufA, bufB []RRset // reused: a and b below give up their fronts
		i, j := 0, 0
		for i < nb || j < no {
			var c int
			switch {
			case i == nb:
				c = 1
			case j == no:
				c = -1
			default:
				c = bytes.Compare(base.OwnerKey(i), overlay.OwnerKey(j))
			}
			// The RRsets by index, not through RRsets: its iterator would
			// be an allocation per owner, millions for a merge of pt.
			bufA, bufB = bufA[:0], bufB[:0]
			if c <= 0 {
				bufA = base.appendRRsets(bufA, i)
				i++
			}
			if c >= 0 {
				bufB = overlay.appendRRsets(bufB, j)
				j++
			}
			a, b := bufA, bufB
			for len(a) > 0 || len(b) > 0 {
				var r RRset
				switch {
				case len(b) == 0 || len(a) > 0 && a[0].setKey() < b[0].setKey():
					r, a = a[0], a[1:]
					if drop != nil && drop(r) {
						continue
					}
				case len(a) == 0 || b[0].setKey() < a[0].setKey():
					r, b = b[0], b[1:]
				default: // the overlay replaces base's RRset of the type
					r, a, b = b[0], a[1:], b[1:]
				}
				if !yield(r) {
					return
				}
			}
		}
	}
}

// Change is one difference between two versions of a zone: an RRset
// added (Old invalid), removed (New invalid) or changed.
type Change struct {
	Owner    Name
	Type     uint16
	Covered  uint16 // for RRSIG RRsets
	Old, New RRset
	HasOld   bool
	HasNew   bool
}

// Diff yields the RRsets that differ between old and new, in canonical
// order. An RRset whose TTL alone changed counts as changed.
func Diff(old, new *Zone) iter.Seq[Change] {
	return func(yield func(Change) bool) {
		var bufA, bufB []RRset
		i, j := 0, 0
		no, nn := old.Owners(), new.Owners()
		for i < no || j < nn {
			var c int
			switch {
			case i == no:
				c = 1
			case j == nn:
				c = -1
			default:
				c = bytes.Compare(old.OwnerKey(i), new.OwnerKey(j))
			}
			// Buffers reused and the owner's name made only for a change:
			// most owners of two versions are alike, and there are millions.
			bufA, bufB = bufA[:0], bufB[:0]
			var key []byte
			if c <= 0 {
				key = old.OwnerKey(i)
				bufA = old.appendRRsets(bufA, i)
				i++
			}
			if c >= 0 {
				key = new.OwnerKey(j)
				bufB = new.appendRRsets(bufB, j)
				j++
			}
			a, b := bufA, bufB
			var owner Name
			for len(a) > 0 || len(b) > 0 {
				var ch Change
				switch {
				case len(b) == 0 || len(a) > 0 && a[0].setKey() < b[0].setKey():
					ch.Type, ch.Covered, ch.Old, ch.HasOld = a[0].Type(), a[0].Covered(), a[0], true
					a = a[1:]
				case len(a) == 0 || b[0].setKey() < a[0].setKey():
					ch.Type, ch.Covered, ch.New, ch.HasNew = b[0].Type(), b[0].Covered(), b[0], true
					b = b[1:]
				default:
					if a[0].Equal(b[0]) {
						a, b = a[1:], b[1:]
						continue
					}
					ch.Type, ch.Covered, ch.Old, ch.New, ch.HasOld, ch.HasNew = a[0].Type(), a[0].Covered(), a[0], b[0], true, true
					a, b = a[1:], b[1:]
				}
				if owner == "" {
					owner = Name(key)
				}
				ch.Owner = owner
				if !yield(ch) {
					return
				}
			}
		}
	}
}
