package authserver

import (
	"encoding/base32"
	"encoding/binary"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/ptzone/ptzone/dnssec"
	"github.com/ptzone/ptzone/zone"
)

// Snapshot is a set of zones served together. It never changes once
// made: a new publication makes a new one.
type Snapshot struct {
	zones []*served // the deepest origin first
	cache *respCache
}

// served is one zone of a snapshot and what answering from it needs.
type served struct {
	z      *zone.Zone
	origin zone.Name
	apex   int // the apex's owner index
	soa    zone.RRset
	// minimum is the negative-caching TTL: the SOA's TTL or its MINIMUM
	// field, whichever is lower (RFC 2308 §5).
	minimum uint32
	chain   *nsec3Index // nil for an unsigned zone
	history History     // nil: IXFR falls back to AXFR
}

// NewSnapshot returns a snapshot of the zones. Each must have an SOA at
// its apex; two zones may not share an origin.
func NewSnapshot(zones ...*zone.Zone) (*Snapshot, error) {
	s := &Snapshot{cache: newRespCache()}
	for _, z := range zones {
		sv, err := newServed(z)
		if err != nil {
			return nil, err
		}
		for _, o := range s.zones {
			if o.origin == sv.origin {
				return nil, fmt.Errorf("authserver: zone %s given twice", sv.origin)
			}
		}
		s.zones = append(s.zones, sv)
	}
	slices.SortFunc(s.zones, func(a, b *served) int { return len(b.origin) - len(a.origin) })
	return s, nil
}

func newServed(z *zone.Zone) (*served, error) {
	origin := z.Origin()
	apex, ok := z.Find(origin)
	if !ok {
		return nil, fmt.Errorf("authserver: zone %s has no apex", origin)
	}
	soa, ok := z.GetAt(apex, zone.TypeSOA)
	if !ok {
		return nil, fmt.Errorf("authserver: zone %s has no SOA", origin)
	}
	sv := &served{z: z, origin: origin, apex: apex, soa: soa, minimum: soa.TTL()}
	for rd := range soa.Rdata() {
		if p, err := zone.ParseSOA(rd); err == nil {
			sv.minimum = min(sv.minimum, p.Minimum)
		}
	}
	if _, signed := z.GetAt(apex, zone.TypeNSEC3PARAM); signed {
		chain, err := newNSEC3Index(z, apex)
		if err != nil {
			return nil, fmt.Errorf("authserver: zone %s: %w", origin, err)
		}
		sv.chain = chain
	}
	return sv, nil
}

// Zones returns the origins of the snapshot's zones.
func (s *Snapshot) Zones() []zone.Name {
	out := make([]zone.Name, len(s.zones))
	for i, sv := range s.zones {
		out[i] = sv.origin
	}
	return out
}

// find returns the zone a name belongs to: the deepest one whose origin
// is the name or an ancestor of it; nil if none.
func (s *Snapshot) find(name zone.Name) *served {
	for _, sv := range s.zones {
		if name.IsBelow(sv.origin) {
			return sv
		}
	}
	return nil
}

// nsec3Index is a zone's NSEC3 chain by hash, to find the record that
// matches or covers a hashed name.
type nsec3Index struct {
	iterations uint16
	salt       []byte
	links      []nsec3Link // by hash
	apexHash   string      // every proof asks for it
}

type nsec3Link struct {
	hash  string // raw octets
	owner int
}

var base32Hex = base32.HexEncoding.WithPadding(base32.NoPadding)

func newNSEC3Index(z *zone.Zone, apex int) (*nsec3Index, error) {
	param, _ := z.GetAt(apex, zone.TypeNSEC3PARAM)
	idx := &nsec3Index{}
	for rd := range param.Rdata() {
		if len(rd) < 5 || len(rd) < 5+int(rd[4]) {
			return nil, errors.New("malformed NSEC3PARAM")
		}
		if rd[0] != 1 {
			return nil, fmt.Errorf("NSEC3PARAM hash algorithm %d", rd[0])
		}
		idx.iterations = binary.BigEndian.Uint16(rd[2:])
		idx.salt = slices.Clone(rd[5 : 5+int(rd[4])])
	}
	origin := z.Origin()
	// The chain's owners are the apex's children whose label is a hash:
	// they follow the apex in canonical order, among the delegations.
	for i := apex + 1; i < z.Owners(); i++ {
		owner := z.Owner(i)
		if !owner.IsBelow(origin) {
			break
		}
		if _, ok := z.GetAt(i, zone.TypeNSEC3); !ok || owner.Parent() != origin {
			continue
		}
		h, err := base32Hex.DecodeString(strings.ToUpper(string(owner.FirstLabel())))
		if err != nil {
			return nil, fmt.Errorf("NSEC3 owner %s is not a base32hex hash", owner)
		}
		idx.links = append(idx.links, nsec3Link{hash: string(h), owner: i})
	}
	if len(idx.links) == 0 {
		return nil, errors.New("NSEC3PARAM without an NSEC3 chain")
	}
	slices.SortFunc(idx.links, func(a, b nsec3Link) int { return strings.Compare(a.hash, b.hash) })
	h := dnssec.NSEC3Hash(origin, idx.iterations, idx.salt)
	idx.apexHash = string(h[:])
	return idx, nil
}

// match returns the owner of the NSEC3 record of hash h.
func (x *nsec3Index) match(h string) (int, bool) {
	i, found := slices.BinarySearchFunc(x.links, h, func(l nsec3Link, h string) int { return strings.Compare(l.hash, h) })
	if !found {
		return 0, false
	}
	return x.links[i].owner, true
}

// cover returns the owner of the NSEC3 record whose span covers hash h:
// the last one before it, the chain wrapping around.
func (x *nsec3Index) cover(h string) int {
	i, _ := slices.BinarySearchFunc(x.links, h, func(l nsec3Link, h string) int { return strings.Compare(l.hash, h) })
	if i == 0 {
		return x.links[len(x.links)-1].owner
	}
	return x.links[i-1].owner
}
