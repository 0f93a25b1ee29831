package zone

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"iter"
	"math"
	"slices"
	"sort"
)

// Zone is an immutable zone.
type Zone struct {
	origin Name
	keys   []byte   // owner keys, concatenated in canonical order
	keyAt  []uint32 // owner i's key is keys[keyAt[i]:keyAt[i+1]]
	setAt  []uint32 // owner i's RRsets are sets[setAt[i]:setAt[i+1]]
	sets   []set    // per owner, ordered by type
	data   []byte   // rdata blocks
	// dead counts octets of data no RRset refers to any more (Replace).
	dead int
}

// set is one RRset: count records in data at off, each a big-endian uint16
// length and that many octets of canonical wire rdata, in canonical order.
type set struct {
	typ   uint16
	count uint16
	ttl   uint32
	off   uint32
}

// Origin returns the zone's apex name.
func (z *Zone) Origin() Name { return z.origin }

// Serial returns the serial of the zone's SOA record: 0 when the zone (or
// z itself) has none.
func (z *Zone) Serial() uint32 {
	if z == nil {
		return 0
	}
	soa, ok := z.Get(z.origin, TypeSOA)
	if !ok {
		return 0
	}
	return soa.SOASerial()
}

// Owners returns the number of owner names.
func (z *Zone) Owners() int { return len(z.keyAt) - 1 }

// OwnerKey returns owner i's key bytes. They are shared: do not modify.
func (z *Zone) OwnerKey(i int) []byte { return z.keys[z.keyAt[i]:z.keyAt[i+1]] }

// Owner returns owner i's name.
func (z *Zone) Owner(i int) Name { return Name(z.OwnerKey(i)) }

// Find returns the index of the owner name, or where it would be inserted
// and false.
func (z *Zone) Find(name Name) (int, bool) {
	n := z.Owners()
	i := sort.Search(n, func(i int) bool { return string(z.OwnerKey(i)) >= string(name) })
	return i, i < n && string(z.OwnerKey(i)) == string(name)
}

// RRset is a read-only view of one RRset of a zone.
type RRset struct {
	z     *Zone
	owner int32
	idx   int32
}

// OwnerIndex returns the index of the RRset's owner.
func (r RRset) OwnerIndex() int { return int(r.owner) }

// OwnerKey returns the owner's key bytes (shared: do not modify).
func (r RRset) OwnerKey() []byte { return r.z.OwnerKey(int(r.owner)) }

// Owner returns the owner name.
func (r RRset) Owner() Name { return r.z.Owner(int(r.owner)) }

// Type returns the RR type.
func (r RRset) Type() uint16 { return r.z.sets[r.idx].typ }

// Covered returns the type an RRSIG RRset covers, and 0 for other types.
// RRSIGs form one RRset per covered type: each carries the TTL of the
// RRset it covers (RFC 4034 §3).
func (r RRset) Covered() uint16 {
	s := r.z.sets[r.idx]
	if s.typ != TypeRRSIG {
		return 0
	}
	return binary.BigEndian.Uint16(r.z.data[s.off+2:])
}

// setKey orders and identifies the RRsets of one owner: by type, then by
// covered type for RRSIGs.
func (r RRset) setKey() uint32 { return uint32(r.Type())<<16 | uint32(r.Covered()) }

// TTL returns the RRset's TTL.
func (r RRset) TTL() uint32 { return r.z.sets[r.idx].ttl }

// Len returns the number of records.
func (r RRset) Len() int { return int(r.z.sets[r.idx].count) }

// SOASerial returns the serial of an SOA RRset's first readable record
// (0 when it has none).
func (r RRset) SOASerial() uint32 {
	for rd := range r.Rdata() {
		if soa, err := ParseSOA(rd); err == nil {
			return soa.Serial
		}
	}
	return 0
}

// Rdata yields each record's canonical wire rdata, in canonical order. The
// slices are shared: do not modify.
func (r RRset) Rdata() iter.Seq[[]byte] {
	return func(yield func([]byte) bool) {
		s := r.z.sets[r.idx]
		off := int(s.off)
		for range s.count {
			l := int(binary.BigEndian.Uint16(r.z.data[off:]))
			if !yield(r.z.data[off+2 : off+2+l]) {
				return
			}
			off += 2 + l
		}
	}
}

// block returns the RRset's whole rdata block, for comparisons.
func (r RRset) block() []byte {
	s := r.z.sets[r.idx]
	off := int(s.off)
	end := off
	for range s.count {
		end += 2 + int(binary.BigEndian.Uint16(r.z.data[end:]))
	}
	return r.z.data[off:end]
}

// Equal reports whether two RRsets hold the same type, TTL and records
// (owners are not compared).
func (r RRset) Equal(o RRset) bool {
	a, b := r.z.sets[r.idx], o.z.sets[o.idx]
	return a.typ == b.typ && a.ttl == b.ttl && a.count == b.count && string(r.block()) == string(o.block())
}

// SameRdata reports whether two RRsets hold the same records, whatever
// their TTLs.
func (r RRset) SameRdata(o RRset) bool {
	return r.Type() == o.Type() && string(r.block()) == string(o.block())
}

// Block returns the RRset's records as stored: each a big-endian uint16
// length and the canonical wire rdata, in canonical order. Shared: do not
// modify.
func (r RRset) Block() []byte { return r.block() }

// RRsets yields owner i's RRsets, ordered by type (RRSIGs by covered type).
func (z *Zone) RRsets(i int) iter.Seq[RRset] {
	return func(yield func(RRset) bool) {
		for j := z.setAt[i]; j < z.setAt[i+1]; j++ {
			if !yield(RRset{z: z, owner: int32(i), idx: int32(j)}) {
				return
			}
		}
	}
}

// appendRRsets appends owner i's RRsets, as RRsets yields them.
func (z *Zone) appendRRsets(dst []RRset, i int) []RRset {
	for j := z.setAt[i]; j < z.setAt[i+1]; j++ {
		dst = append(dst, RRset{z: z, owner: int32(i), idx: int32(j)})
	}
	return dst
}

// Get returns the RRset of type typ at name.
func (z *Zone) Get(name Name, typ uint16) (RRset, bool) {
	i, ok := z.Find(name)
	if !ok {
		return RRset{}, false
	}
	return z.GetAt(i, typ)
}

// GetSig returns the RRSIG RRset covering typ at owner i.
func (z *Zone) GetSig(i int, covered uint16) (RRset, bool) {
	for j := z.setAt[i]; j < z.setAt[i+1]; j++ {
		r := RRset{z: z, owner: int32(i), idx: int32(j)}
		if z.sets[j].typ == TypeRRSIG && r.Covered() == covered {
			return r, true
		}
	}
	return RRset{}, false
}

// GetAt returns the RRset of type typ at owner i (for RRSIG, the first).
func (z *Zone) GetAt(i int, typ uint16) (RRset, bool) {
	for j := z.setAt[i]; j < z.setAt[i+1]; j++ {
		if z.sets[j].typ == typ {
			return RRset{z: z, owner: int32(i), idx: int32(j)}, true
		}
	}
	return RRset{}, false
}

// All yields every RRset in canonical order: by owner, then type.
func (z *Zone) All() iter.Seq[RRset] {
	return func(yield func(RRset) bool) {
		for i := range z.Owners() {
			for j := z.setAt[i]; j < z.setAt[i+1]; j++ {
				if !yield(RRset{z: z, owner: int32(i), idx: int32(j)}) {
					return
				}
			}
		}
	}
}

// Stats counts owners, RRsets and records.
type Stats struct {
	Owners, RRsets, Records int
	// Bytes is the memory held by the zone's arenas and tables.
	Bytes int
}

// Stats returns the zone's size.
func (z *Zone) Stats() Stats {
	s := Stats{Owners: z.Owners(), RRsets: len(z.sets)}
	for _, x := range z.sets {
		s.Records += int(x.count)
	}
	s.Bytes = cap(z.keys) + 4*cap(z.keyAt) + 4*cap(z.setAt) + 12*cap(z.sets) + cap(z.data)
	return s
}

// WithOrigin returns the zone with its apex set to origin, which every
// owner must be at or below. It lets a master file be read without
// knowing its origin beforehand (read below the root, then rebased).
func (z *Zone) WithOrigin(origin Name) (*Zone, error) {
	for i := range z.Owners() {
		if !Name(z.OwnerKey(i)).IsBelow(origin) {
			return nil, fmt.Errorf("%w: %s is not at or below %s", ErrOutOfZone, z.Owner(i), origin)
		}
	}
	c := *z
	c.origin = origin
	return &c, nil
}

// Apex returns the one owner with an SOA record: the apex of a zone read
// without its origin.
func (z *Zone) Apex() (Name, error) {
	var found []Name
	for r := range z.All() {
		if r.Type() == TypeSOA {
			found = append(found, r.Owner())
		}
	}
	if len(found) != 1 {
		return "", fmt.Errorf("the zone has %d SOA records; a zone has exactly one, at its apex", len(found))
	}
	return found[0], nil
}

// Overwrite gives, in place, the RRset of type typ at owner (for an
// RRSIG, the one covering covered) the records rdatas, which must be as
// many and as long as its records are now. It is for whoever built z,
// before anyone else reads it: a zone's ZONEMD and its signatures stand in
// as placeholders of their final length until the digest of the zone
// around them is known, and are then written where they stand instead of
// building the zone again. NS RRsets share their records and are refused.
// Only the octets that change are written: a signature's covered type
// stays as it was, so that a reader of the rest of the zone meanwhile (a
// digest, which leaves ZONEMD and its signatures out but reads which type
// each RRSIG RRset covers) does not race with it.
func (z *Zone) Overwrite(owner Name, typ, covered uint16, rdatas [][]byte) error {
	if typ == typeNS {
		return fmt.Errorf("overwriting %s NS: NS records are shared", owner)
	}
	i, ok := z.Find(owner)
	if !ok {
		return fmt.Errorf("overwriting %s %s: no such owner", owner, TypeString(typ))
	}
	var r RRset
	if typ == TypeRRSIG {
		r, ok = z.GetSig(i, covered)
	} else {
		r, ok = z.GetAt(i, typ)
	}
	if !ok {
		return fmt.Errorf("overwriting %s %s: no such RRset", owner, TypeString(typ))
	}
	sorted := slices.Clone(rdatas)
	slices.SortFunc(sorted, bytes.Compare)
	var block []byte
	for j, rd := range sorted {
		if len(rd) > math.MaxUint16 || j > 0 && bytes.Equal(rd, sorted[j-1]) {
			return fmt.Errorf("overwriting %s %s: a record too long or given twice", owner, TypeString(typ))
		}
		if typ == TypeRRSIG && (len(rd) < 2 || binary.BigEndian.Uint16(rd) != covered) {
			return fmt.Errorf("overwriting %s RRSIG(%s): a signature that covers another type", owner, TypeString(covered))
		}
		block = binary.BigEndian.AppendUint16(block, uint16(len(rd)))
		block = append(block, rd...)
	}
	old := r.block()
	if len(sorted) != r.Len() || len(block) != len(old) {
		return fmt.Errorf("overwriting %s %s: %d records in %d octets do not take the place of %d in %d",
			owner, TypeString(typ), len(sorted), len(block), r.Len(), len(old))
	}
	for j := range block {
		if old[j] != block[j] {
			old[j] = block[j]
		}
	}
	return nil
}
