package zone

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"slices"
)

// Patch is one change of a zone from one serial to the next, by owner:
// Old holds the changed owners' RRsets as they were and New as they are;
// an owner of Old that New lacks is gone. Applied to the zone it was made
// from, it gives the zone it was made to (Replace); Old and New side by
// side give an incremental transfer's removals and additions.
type Patch struct {
	From, To uint32
	Old, New *Zone
}

// MakePatch returns the patch from prev to next for the owners that may
// have changed (the others must be the same in both).
func MakePatch(prev, next *Zone, from, to uint32, owners []Name) (*Patch, error) {
	old, err := ownersOf(prev, owners)
	if err != nil {
		return nil, err
	}
	now, err := ownersOf(next, owners)
	if err != nil {
		return nil, err
	}
	return &Patch{From: from, To: to, Old: old, New: now}, nil
}

// DiffPatch returns the patch from prev to next, finding the changed
// owners with Diff: one pass over both zones.
func DiffPatch(prev, next *Zone, from, to uint32) (*Patch, error) {
	var owners []Name
	for ch := range Diff(prev, next) {
		if len(owners) == 0 || owners[len(owners)-1] != ch.Owner {
			owners = append(owners, ch.Owner)
		}
	}
	return MakePatch(prev, next, from, to, owners)
}

// ownersOf copies the given owners of z, those it has, into a new zone.
func ownersOf(z *Zone, owners []Name) (*Zone, error) {
	b := NewBuilder(z.origin, 0)
	for _, o := range owners {
		i, ok := z.Find(o)
		if !ok {
			continue
		}
		for r := range z.RRsets(i) {
			for rd := range r.Rdata() {
				if err := b.Add(o, r.Type(), r.TTL(), rd); err != nil {
					return nil, err
				}
			}
		}
	}
	return b.Zone()
}

// Owners returns the owners the patch touches, in canonical order.
func (p *Patch) Owners() []Name {
	var out []Name
	i, j := 0, 0
	for i < p.Old.Owners() || j < p.New.Owners() {
		var c int
		switch {
		case i == p.Old.Owners():
			c = 1
		case j == p.New.Owners():
			c = -1
		default:
			c = bytes.Compare(p.Old.OwnerKey(i), p.New.OwnerKey(j))
		}
		if c <= 0 {
			out = append(out, p.Old.Owner(i))
			i++
			if c == 0 {
				j++
			}
		} else {
			out = append(out, p.New.Owner(j))
			j++
		}
	}
	return out
}

// Apply returns z changed by the patch.
func (p *Patch) Apply(z *Zone) (*Zone, error) {
	if z.origin != p.New.origin {
		return nil, fmt.Errorf("applying a patch of %s to %s", p.New.origin, z.origin)
	}
	return Replace(z, p.New, p.Owners())
}

// ApplyAll returns z changed by patches, each following the one before:
// the same zone as applying them one by one, in one Replace. A journal
// holds up to a hundred patches; applying each to the whole zone made
// loading it cost a hundred copies of the zone.
func ApplyAll(z *Zone, patches []*Patch) (*Zone, error) {
	if len(patches) == 1 {
		return patches[0].Apply(z)
	}
	// For each owner touched, the last patch that touches it decides.
	type last struct {
		p   *Patch
		idx int // in p.New; -1 when the owner is gone
	}
	latest := map[Name]last{}
	for _, p := range patches {
		if z.origin != p.New.origin {
			return nil, fmt.Errorf("applying a patch of %s to %s", p.New.origin, z.origin)
		}
		for _, o := range p.Owners() {
			i, ok := p.New.Find(o)
			if !ok {
				i = -1
			}
			latest[o] = last{p, i}
		}
	}
	owners := make([]Name, 0, len(latest))
	for o := range latest {
		owners = append(owners, o)
	}
	slices.SortFunc(owners, Compare)
	b := NewBuilder(z.origin, 0)
	for _, o := range owners {
		l := latest[o]
		if l.idx < 0 {
			continue
		}
		for r := range l.p.New.RRsets(l.idx) {
			for rd := range r.Rdata() {
				if err := b.Add(o, r.Type(), r.TTL(), rd); err != nil {
					return nil, err
				}
			}
		}
	}
	with, err := b.Zone()
	if err != nil {
		return nil, err
	}
	return Replace(z, with, owners)
}

var patchMagic = []byte("PTZPATCH\x00\x01")

// PatchHeaderSize is how much of a written patch PatchSerials reads.
const PatchHeaderSize = 10 + 8

// PatchSerials returns the serials a written patch joins, read from its
// first PatchHeaderSize octets: a journal finds the patches it needs
// without reading the others.
func PatchSerials(head []byte) (from, to uint32, err error) {
	if len(head) < PatchHeaderSize || !bytes.HasPrefix(head, patchMagic) {
		return 0, 0, fmt.Errorf("%w: not a zone patch", ErrCorrupt)
	}
	h := head[len(patchMagic):]
	return binary.LittleEndian.Uint32(h), binary.LittleEndian.Uint32(h[4:]), nil
}

// WriteTo writes the patch: its serials, then Old's and New's binary
// images, each checksummed.
func (p *Patch) WriteTo(w io.Writer) (int64, error) {
	var old, now bytes.Buffer
	if err := p.Old.WriteBinary(&old); err != nil {
		return 0, err
	}
	if err := p.New.WriteBinary(&now); err != nil {
		return 0, err
	}
	b := append([]byte(nil), patchMagic...)
	b = binary.LittleEndian.AppendUint32(b, p.From)
	b = binary.LittleEndian.AppendUint32(b, p.To)
	b = binary.LittleEndian.AppendUint64(b, uint64(old.Len()))
	b = binary.LittleEndian.AppendUint64(b, uint64(now.Len()))
	var n int64
	for _, part := range [][]byte{b, old.Bytes(), now.Bytes()} {
		m, err := w.Write(part)
		n += int64(m)
		if err != nil {
			return n, err
		}
	}
	return n, nil
}

// ReadPatch reads what WriteTo wrote.
func ReadPatch(r io.Reader) (*Patch, error) {
	head := make([]byte, len(patchMagic)+24)
	if _, err := io.ReadFull(r, head); err != nil {
		return nil, fmt.Errorf("%w: patch header: %v", ErrCorrupt, err)
	}
	if !bytes.HasPrefix(head, patchMagic) {
		return nil, fmt.Errorf("%w: not a zone patch", ErrCorrupt)
	}
	h := head[len(patchMagic):]
	p := &Patch{From: binary.LittleEndian.Uint32(h), To: binary.LittleEndian.Uint32(h[4:])}
	oldLen, newLen := binary.LittleEndian.Uint64(h[8:]), binary.LittleEndian.Uint64(h[16:])
	var err error
	if p.Old, err = ReadBinary(io.LimitReader(r, int64(oldLen))); err != nil {
		return nil, fmt.Errorf("patch %d to %d, old owners: %w", p.From, p.To, err)
	}
	if p.New, err = ReadBinary(io.LimitReader(r, int64(newLen))); err != nil {
		return nil, fmt.Errorf("patch %d to %d, new owners: %w", p.From, p.To, err)
	}
	if p.Old.origin != p.New.origin {
		return nil, errors.Join(ErrCorrupt, fmt.Errorf("patch %d to %d: two origins", p.From, p.To))
	}
	return p, nil
}
