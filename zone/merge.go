package zone

import (
	"bytes"
	"fmt"
	"iter"
)

// Merge returns a new zone: base, without the RRsets drop selects (drop may
// be nil), with every RRset of overlay added; an overlay RRset replaces
// base's RRset of the same owner and type. Owners left without RRsets
// disappear. It is one linear pass over both zones: this is how signatures
// and NSEC3 records join an unsigned zone, and how changes join a published
// one, without sorting anything again.
func Merge(base, overlay *Zone, drop func(r RRset) bool) (*Zone, error) {
	if overlay != nil && overlay.origin != base.origin {
		return nil, fmt.Errorf("merging zone %s into %s", overlay.origin, base.origin)
	}
	z := &Zone{
		origin: base.origin,
		keyAt:  make([]uint32, 0, base.Owners()+1),
		setAt:  make([]uint32, 0, base.Owners()+1),
		sets:   make([]set, 0, len(base.sets)),
		data:   make([]byte, 0, len(base.data)),
	}
	if overlay != nil {
		z.keyAt = make([]uint32, 0, base.Owners()+overlay.Owners()+1)
		z.setAt = make([]uint32, 0, base.Owners()+overlay.Owners()+1)
		z.sets = make([]set, 0, len(base.sets)+len(overlay.sets))
		z.data = make([]byte, 0, len(base.data)+len(overlay.data))
	}
	m := merger{w: newSetWriter(z), drop: drop}
	nb, no := base.Owners(), 0
	if overlay != nil {
		no = overlay.Owners()
	}
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
		m.base, m.over = m.base[:0], m.over[:0]
		var key []byte
		if c <= 0 {
			key = base.OwnerKey(i)
			for r := range base.RRsets(i) {
				m.base = append(m.base, r)
			}
			i++
		}
		if c >= 0 {
			key = overlay.OwnerKey(j)
			for r := range overlay.RRsets(j) {
				m.over = append(m.over, r)
			}
			j++
		}
		if err := m.owner(key); err != nil {
			return nil, err
		}
	}
	m.w.finish()
	return z, nil
}

// merger holds Merge's scratch lists, reused for every owner.
type merger struct {
	w          *setWriter
	drop       func(RRset) bool
	base, over []RRset
	out        []RRset
}

// owner writes one owner's RRsets: base's (less dropped and replaced ones)
// and the overlay's, ordered by type. An owner left with none is omitted.
func (m *merger) owner(key []byte) error {
	m.out = m.out[:0]
	a, b := m.base, m.over
	for len(a) > 0 || len(b) > 0 {
		switch {
		case len(b) == 0 || len(a) > 0 && a[0].Type() < b[0].Type():
			if m.drop == nil || !m.drop(a[0]) {
				m.out = append(m.out, a[0])
			}
			a = a[1:]
		case len(a) == 0 || b[0].Type() < a[0].Type():
			m.out, b = append(m.out, b[0]), b[1:]
		default: // the overlay replaces base's RRset of the type
			m.out, a, b = append(m.out, b[0]), a[1:], b[1:]
		}
	}
	if len(m.out) == 0 {
		return nil
	}
	if err := m.w.owner(key); err != nil {
		return err
	}
	for _, r := range m.out {
		if err := m.w.copySet(r); err != nil {
			return err
		}
	}
	return nil
}

// Change is one difference between two versions of a zone: an RRset
// added (Old invalid), removed (New invalid) or changed.
type Change struct {
	Owner    Name
	Type     uint16
	Old, New RRset
	HasOld   bool
	HasNew   bool
}

// Diff yields the RRsets that differ between old and new, in canonical
// order. An RRset whose TTL alone changed counts as changed.
func Diff(old, new *Zone) iter.Seq[Change] {
	return func(yield func(Change) bool) {
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
			var a, b []RRset
			var owner Name
			if c <= 0 {
				owner = old.Owner(i)
				for r := range old.RRsets(i) {
					a = append(a, r)
				}
				i++
			}
			if c >= 0 {
				owner = new.Owner(j)
				for r := range new.RRsets(j) {
					b = append(b, r)
				}
				j++
			}
			for len(a) > 0 || len(b) > 0 {
				ch := Change{Owner: owner}
				switch {
				case len(b) == 0 || len(a) > 0 && a[0].Type() < b[0].Type():
					ch.Type, ch.Old, ch.HasOld = a[0].Type(), a[0], true
					a = a[1:]
				case len(a) == 0 || b[0].Type() < a[0].Type():
					ch.Type, ch.New, ch.HasNew = b[0].Type(), b[0], true
					b = b[1:]
				default:
					if a[0].Equal(b[0]) {
						a, b = a[1:], b[1:]
						continue
					}
					ch.Type, ch.Old, ch.New, ch.HasOld, ch.HasNew = a[0].Type(), a[0], b[0], true, true
					a, b = a[1:], b[1:]
				}
				if !yield(ch) {
					return
				}
			}
		}
	}
}
