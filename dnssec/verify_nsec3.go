package dnssec

import (
	"bytes"
	"crypto/sha1"
	"encoding/base32"
	"encoding/binary"
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/ptzone/ptzone/zone"
)

var base32HexLower = base32.NewEncoding("0123456789abcdefghijklmnopqrstuv").WithPadding(base32.NoPadding)

// ownerHash is the verifier's own NSEC3 hash of a name (RFC 5155 §5):
// SHA-1 over the name's canonical wire form and the salt, then
// iterations times over the previous hash and the salt. The signer has
// its own (NSEC3Hash); the verifier does not use it, so that a mistake
// in either leaves the chain unproved and the zone refused.
func ownerHash(name zone.Name, iterations uint16, salt []byte) [sha1.Size]byte {
	// A name's wire form and a salt are at most 255 octets each.
	var scratch [2 * 255]byte
	h := sha1.Sum(append(name.AppendWire(scratch[:0]), salt...))
	for range iterations {
		h = sha1.Sum(append(append(scratch[:0], h[:]...), salt...))
	}
	return h
}

// nsec3Chain is the zone's NSEC3 chain, read before the walk over the
// owners so that each name is checked against it as it is met: a TLD has
// a million unsigned delegations and no list of them is kept.
type nsec3Chain struct {
	recs []chainRecord // in hash order
	// start[p] is the first record whose hash begins with the 16 bits p.
	start  []int32
	seen   []atomic.Bool
	optOut bool // some record opts out
	// allOptOut: every record opts out, so every span covers unsigned
	// delegations whatever their hashes.
	allOptOut bool
}

// chainRecord is one NSEC3 record of the zone.
type chainRecord struct {
	hash   [sha1.Size]byte
	owner  int32
	optOut bool
	next   []byte
	types  []uint16
}

// loadChain reads the NSEC3 records and checks that they form one ring in
// hash order.
func (v *verifier) loadChain() {
	n := v.z.Owners()
	workers := min(v.opt.Workers, max(1, n/4096))
	parts := make([][]chainRecord, workers)
	var wg sync.WaitGroup
	for w := range workers {
		lo, hi := w*n/workers, (w+1)*n/workers
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := lo; i < hi; i++ {
				if v.onlyNSEC3(i) {
					parts[w] = v.appendRecords(parts[w], i)
				}
			}
		}()
	}
	wg.Wait()
	c := &nsec3Chain{}
	for _, p := range parts {
		c.recs = append(c.recs, p...)
	}
	slices.SortFunc(c.recs, func(a, b chainRecord) int { return bytes.Compare(a.hash[:], b.hash[:]) })
	c.seen = make([]atomic.Bool, len(c.recs))
	c.start = make([]int32, 1<<16+1)
	j := 0
	for p := range 1 << 16 {
		for j < len(c.recs) && int(binary.BigEndian.Uint16(c.recs[j].hash[:])) < p {
			j++
		}
		c.start[p] = int32(j)
	}
	c.start[1<<16] = int32(len(c.recs))
	c.allOptOut = len(c.recs) > 0
	for i, r := range c.recs {
		c.allOptOut = c.allOptOut && r.optOut
		c.optOut = c.optOut || r.optOut
		next := c.recs[(i+1)%len(c.recs)].hash
		if i+1 < len(c.recs) && next == r.hash {
			v.c.add(ProblemNSEC3Malformed, v.z.Owner(int(r.owner)).String(), zone.TypeNSEC3, "two NSEC3 records for one hash")
		}
		if !bytes.Equal(r.next, next[:]) {
			v.c.add(ProblemNSEC3Chain, v.z.Owner(int(r.owner)).String(), zone.TypeNSEC3,
				"next hashed owner %s, but the next record in hash order is %s: the chain is broken", hashText(r.next), hashText(next[:]))
		}
	}
	v.chain = c
}

// onlyNSEC3: owner i holds NSEC3 records and their signatures only, right
// below the apex, as NSEC3 owners do.
func (v *verifier) onlyNSEC3(i int) bool {
	has := false
	for r := range v.z.RRsets(i) {
		switch r.Type() {
		case zone.TypeNSEC3:
			has = true
		case zone.TypeRRSIG:
		default:
			return false
		}
	}
	return has && v.z.Owner(i).Parent() == v.apex
}

func (v *verifier) appendRecords(recs []chainRecord, i int) []chainRecord {
	owner := v.z.Owner(i)
	set, _ := v.z.GetAt(i, zone.TypeNSEC3)
	var hash [sha1.Size]byte
	if n, err := base32HexLower.Decode(hash[:], owner.FirstLabel()); err != nil || n != sha1.Size || len(owner.FirstLabel()) != 32 {
		v.c.add(ProblemNSEC3Malformed, owner.String(), zone.TypeNSEC3, "the owner label is not a base32hex SHA-1 hash")
		return recs
	}
	for rd := range set.Rdata() {
		n, err := parseNSEC3(rd)
		if err != nil {
			v.c.add(ProblemNSEC3Malformed, owner.String(), zone.TypeNSEC3, "%v", err)
			continue
		}
		if n.iterations != v.iterations || !bytes.Equal(n.salt, v.salt) || n.alg != 1 {
			v.c.add(ProblemNSEC3Params, owner.String(), zone.TypeNSEC3, "parameters (alg %d, %d iterations, salt %X) differ from NSEC3PARAM (1, %d, %X)", n.alg, n.iterations, n.salt, v.iterations, v.salt)
		}
		recs = append(recs, chainRecord{hash: hash, owner: int32(i), optOut: n.optOut, next: n.next, types: n.types})
	}
	return recs
}

// find returns the index of the record for hash h, or of the first record
// after it and false.
func (c *nsec3Chain) find(h [sha1.Size]byte) (int, bool) {
	p := int(binary.BigEndian.Uint16(h[:]))
	lo, hi := int(c.start[p]), int(c.start[p+1])
	i, ok := slices.BinarySearchFunc(c.recs[lo:hi], h, func(r chainRecord, h [sha1.Size]byte) int { return bytes.Compare(r.hash[:], h[:]) })
	return lo + i, ok
}

// entName is an empty non-terminal met above a name of the chain; one can
// be met many times, so they are checked after the walk.
type entName struct {
	hash     [sha1.Size]byte
	name     zone.Name
	optional bool
}

// collectNSEC3 checks owner i against the chain: the apex, authoritative
// names and secure delegations must have a record with their types; an
// unsigned delegation may instead lie in a span that opts out (RFC 5155
// §6). Empty non-terminals above them are noted for later (§7.1).
func (p *pass) collectNSEC3(i int, k kind, secure bool) {
	v := p.v
	if !v.hasParams || k == kindGlue || k == kindNSEC3 {
		return
	}
	optional := k == kindDelegation && !secure
	if optional && v.chain.allOptOut {
		// Covered whatever its hash: hashed only if some record is left
		// that no other name claims (finishNSEC3).
		p.skipped = append(p.skipped, int32(i))
		return
	}
	owner := v.z.Owner(i)
	v.checkName(ownerHash(owner, v.iterations, v.salt), int32(i), owner, optional)
	for a := owner.Parent(); a.IsStrictlyBelow(v.apex); a = a.Parent() {
		if _, isOwner := v.z.Find(a); isOwner {
			break
		}
		p.ents = append(p.ents, entName{hash: ownerHash(a, v.iterations, v.salt), name: a, optional: optional})
	}
}

// checkName checks one name against the chain; owner is -1 for an empty
// non-terminal.
func (v *verifier) checkName(h [sha1.Size]byte, owner int32, name zone.Name, optional bool) {
	c := v.chain
	i, exact := c.find(h)
	if exact {
		c.seen[i].Store(true)
		if want := v.ownerTypes(owner); !slices.Equal(want, c.recs[i].types) {
			v.c.add(ProblemNSEC3Bitmap, name.String(), zone.TypeNSEC3, "NSEC3 lists types %s, the name has %s", typeList(c.recs[i].types), typeList(want))
		}
		return
	}
	if !optional {
		v.c.add(ProblemNSEC3Missing, name.String(), zone.TypeNSEC3, "no NSEC3 record for this name (hash %s)", hashText(h[:]))
		return
	}
	if len(c.recs) == 0 {
		v.c.add(ProblemNSEC3OptOut, name.String(), zone.TypeNS, "an unsigned delegation and no NSEC3 chain to cover it")
		return
	}
	prev := c.recs[(i-1+len(c.recs))%len(c.recs)]
	switch {
	case prev.optOut:
	case c.optOut:
		v.c.add(ProblemNSEC3OptOut, name.String(), zone.TypeNS, "the unsigned delegation falls in the span of %s, which has no opt-out flag: the zone would deny it exists",
			v.z.Owner(int(prev.owner)))
	default:
		v.c.add(ProblemNSEC3Missing, name.String(), zone.TypeNSEC3, "no NSEC3 record for this name (hash %s), and the chain does not opt out", hashText(h[:]))
	}
}

// ownerTypes returns the types at owner i, sorted, RRSIG once; none for an
// empty non-terminal (-1).
func (v *verifier) ownerTypes(owner int32) []uint16 {
	if owner < 0 {
		return nil
	}
	var types []uint16
	for r := range v.z.RRsets(int(owner)) {
		if t := r.Type(); len(types) == 0 || types[len(types)-1] != t {
			types = append(types, t)
		}
	}
	return types
}

func hashText(h []byte) string { return strings.ToUpper(base32HexLower.EncodeToString(h)) }

// finishNSEC3 checks the empty non-terminals, each once (one that lies
// above a signed name must be proved even if it lies above unsigned ones
// too), and that every record of the chain was for some name.
func (v *verifier) finishNSEC3(passes []*pass) {
	var ents []entName
	for _, p := range passes {
		ents = append(ents, p.ents...)
	}
	slices.SortFunc(ents, func(a, b entName) int {
		if c := bytes.Compare(a.hash[:], b.hash[:]); c != 0 {
			return c
		}
		if a.optional == b.optional {
			return 0
		}
		if !a.optional {
			return -1
		}
		return 1
	})
	ents = slices.CompactFunc(ents, func(a, b entName) bool { return a.hash == b.hash })
	for _, e := range ents {
		v.checkName(e.hash, -1, e.name, e.optional)
	}
	// Records no name claimed may belong to unsigned delegations, which
	// need none but may have one: only now are those hashed.
	unclaimed := false
	for i := range v.chain.recs {
		unclaimed = unclaimed || !v.chain.seen[i].Load()
	}
	if unclaimed {
		for _, p := range passes {
			for _, i := range p.skipped {
				owner := v.z.Owner(int(i))
				v.checkName(ownerHash(owner, v.iterations, v.salt), i, owner, true)
				for a := owner.Parent(); a.IsStrictlyBelow(v.apex); a = a.Parent() {
					if _, isOwner := v.z.Find(a); isOwner {
						break
					}
					v.checkName(ownerHash(a, v.iterations, v.salt), -1, a, true)
				}
			}
		}
	}
	for i := range v.chain.recs {
		if !v.chain.seen[i].Load() {
			v.c.add(ProblemNSEC3Extra, v.z.Owner(int(v.chain.recs[i].owner)).String(), zone.TypeNSEC3, "matches no name the zone must prove")
		}
	}
}

type parsedNSEC3 struct {
	alg        uint8
	optOut     bool
	iterations uint16
	salt, next []byte
	types      []uint16
}

func parseNSEC3(rd []byte) (parsedNSEC3, error) {
	var n parsedNSEC3
	if len(rd) < 6 || len(rd) < 6+int(rd[4]) {
		return n, fmt.Errorf("truncated NSEC3")
	}
	n.alg, n.optOut, n.iterations = rd[0], rd[1]&1 == 1, binary.BigEndian.Uint16(rd[2:])
	sl := int(rd[4])
	n.salt = rd[5 : 5+sl]
	rest := rd[5+sl:]
	if len(rest) < 1 || len(rest) < 1+int(rest[0]) {
		return n, fmt.Errorf("truncated NSEC3 next hashed owner")
	}
	n.next = rest[1 : 1+int(rest[0])]
	bm := rest[1+int(rest[0]):]
	for len(bm) > 0 {
		if len(bm) < 2 || len(bm) < 2+int(bm[1]) {
			return n, fmt.Errorf("truncated type bitmap")
		}
		window, l := int(bm[0]), int(bm[1])
		for i, octet := range bm[2 : 2+l] {
			for bit := 0; bit < 8; bit++ {
				if octet&(0x80>>bit) != 0 {
					n.types = append(n.types, uint16(window*256+i*8+bit))
				}
			}
		}
		bm = bm[2+l:]
	}
	return n, nil
}
