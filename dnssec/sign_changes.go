package dnssec

import (
	"bytes"
	"crypto/sha1"
	"crypto/sha512"
	"errors"
	"fmt"
	"iter"
	"slices"
	"sync"

	"github.com/ptzone/ptzone/zone"
)

// ErrFullSigning says that SignChanges cannot sign a change on its own:
// the keys or their roles, the NSEC3 parameters, the apex TTLs or ZONEMD
// differ from the previous zone's. Sign the whole zone instead.
var ErrFullSigning = errors.New("signing: this change needs the whole zone signed")

// SignChanges signs a change to a signed zone, touching only what the
// change reaches. prev is the zone as last signed; with holds the new
// unsigned RRsets of the owners that change and drop the owners that go,
// as zone.Replace reads them. The result is, byte for byte, what Sign
// makes of Replace(Unsigned(prev), with, drop) with prev as
// opt.Previous, and tests hold it to that: the owners that changed, their
// descendants when a delegation comes or goes, the empty non-terminals
// above them, the NSEC3 records whose names or neighbours changed, and the
// signatures due for refresh anywhere are signed again; everything else
// is carried over with zone.Replace.
//
// It also returns every owner it wrote, in canonical order: the owners
// whose RRsets may differ from prev's.
func SignChanges(prev, with *zone.Zone, drop []zone.Name, keys []*Key, opt SignOptions) (*zone.Zone, []zone.Name, error) {
	signed, owners, fill, err := SignChangesPending(prev, with, drop, keys, opt)
	if err != nil {
		return nil, nil, err
	}
	return signed, owners, fill()
}

// SignChangesPending is SignChanges returning before the ZONEMD digest is
// known, as SignPending does: the apex's ZONEMD record and its signatures
// are placeholders until fill writes them in place, and meanwhile the
// rest of the zone is final and may be read (StartVerify).
func SignChangesPending(prev, with *zone.Zone, drop []zone.Name, keys []*Key, opt SignOptions) (signed *zone.Zone, owners []zone.Name, fill func() error, err error) {
	if opt.Presigner != nil {
		opt.Presigner.Close() // a change is signed on its own
	}
	if err := opt.check(); err != nil {
		return nil, nil, nil, err
	}
	apex := prev.Origin()
	if with == nil {
		var err error
		if with, err = zone.NewBuilder(apex, 0).Zone(); err != nil {
			return nil, nil, nil, err
		}
	}
	if with.Origin() != apex {
		return nil, nil, nil, fmt.Errorf("signing changes of %s to %s", with.Origin(), apex)
	}
	opt.Previous = prev
	cv := &changeView{prev: prev, with: with, apex: apex, changed: map[zone.Name]bool{}}
	for i := range with.Owners() {
		cv.changed[with.Owner(i)] = true
	}
	for _, n := range drop {
		cv.changed[n] = true
	}
	soaSet, ok := cv.get(apex, zone.TypeSOA)
	if !ok {
		return nil, nil, nil, fmt.Errorf("signing %s: no SOA record", apex)
	}
	s, err := newSigner(apex, soaSet, keys, opt)
	if err != nil {
		return nil, nil, nil, err
	}
	if !s.sameShape(prev) {
		return nil, nil, nil, ErrFullSigning
	}
	chain, ok := s.readChain(prev)
	if !ok {
		return nil, nil, nil, ErrFullSigning
	}

	// The owners to plan again.
	affected := map[zone.Name]bool{apex: true}
	for o := range cv.changed {
		affected[o] = true
		if o != apex && (cv.prevHasNS(o) || cv.hasNS(o)) {
			cv.prevDescendants(o, func(d zone.Name) { affected[d] = true })
		}
	}
	dueNSEC3 := s.dueOwners(prev, chain, affected)
	for o := range affected {
		for a := o.Parent(); a.IsStrictlyBelow(apex); a = a.Parent() {
			affected[a] = true
		}
	}

	// Plan them, and note how their names stand in the chain.
	names := make([]zone.Name, 0, len(affected))
	for o := range affected {
		names = append(names, o)
	}
	slices.Sort(names)
	var tasks []task
	content := map[zone.Name][]zone.RRset{}
	entries := map[zone.Name][]uint16{} // nil value: in the chain with no types (an empty non-terminal)
	var noEntry []zone.Name
	for _, o := range names {
		sets := cv.sets(o)
		if len(sets) == 0 && o != apex {
			noEntry = append(noEntry, o)
			continue
		}
		content[o] = sets
		var types []uint16
		var inChain bool
		tasks, types, inChain = s.planOwner(o, sets, cv.occluded(o), tasks)
		if inChain {
			entries[o] = types
		} else {
			noEntry = append(noEntry, o)
		}
	}
	// A name without an entry of its own is an empty non-terminal if the
	// chain holds a name below it (RFC 5155 §7.1), as addEmptyNonTerminals
	// decides for Sign.
	for _, a := range noEntry {
		if a != apex && cv.chainBelow(a, affected, entries, chain, s.opt.NSEC3) {
			entries[a] = nil
		}
	}

	// The chain: records come, go or change their types; a record whose
	// successor changed changes its next hashed owner.
	newChain, err := chain.update(names, entries, s)
	if err != nil {
		return nil, nil, nil, err
	}
	// Every affected name is written anew: with its content, or, when it
	// has none any more, gone.
	emit := map[zone.Name]bool{}
	for _, o := range names {
		emit[o] = true
	}
	for _, l := range chain.links {
		if !newChain.has(l.hash) {
			emit[l.owner] = true // a record that goes
		}
	}
	for _, l := range newChain.links {
		if l.rdata == nil || dueNSEC3[l.owner] {
			emit[l.owner] = true
		}
	}
	// An emitted NSEC3 owner that is also a name of the zone (a registered
	// name can spell a hash) keeps that name's records.
	for o := range emit {
		if _, planned := content[o]; !planned {
			if sets := cv.sets(o); len(sets) > 0 {
				content[o] = sets
				tasks, _, _ = s.planOwner(o, sets, cv.occluded(o), tasks)
			}
		}
	}
	byOwner := map[zone.Name]int{}
	for i, l := range newChain.links {
		byOwner[l.owner] = i
	}
	for o := range emit {
		if i, ok := byOwner[o]; ok {
			rd := newChain.rdata(i, s)
			tasks = append(tasks, task{owner: o, typ: zone.TypeNSEC3, ttl: s.nsec3TTL, block: encodeBlock([][]byte{rd}), keys: s.zsks})
		}
	}

	if opt.ZONEMD {
		tasks = append(tasks, s.zonemdTask(placeholderDigest)) // the apex is always emitted
	}
	sigs, err := s.signAll(tasks)
	if err != nil {
		return nil, nil, nil, err
	}
	w := zone.NewBuilder(apex, len(tasks)*2)
	var dropAll []zone.Name
	for o := range emit {
		dropAll = append(dropAll, o)
		for _, r := range content[o] {
			if replaced(r.Type()) {
				continue
			}
			for rd := range r.Rdata() {
				w.Add(o, r.Type(), r.TTL(), rd)
			}
		}
		if o == apex {
			s.addApex(w)
		}
		if i, ok := byOwner[o]; ok {
			w.Add(o, zone.TypeNSEC3, s.nsec3TTL, newChain.rdata(i, s))
		}
	}
	for _, sg := range sigs {
		if err := w.Add(sg.owner, zone.TypeRRSIG, sg.ttl, sg.rdata); err != nil {
			return nil, nil, nil, err
		}
	}
	wz, err := w.Zone()
	if err != nil {
		return nil, nil, nil, fmt.Errorf("signing %s: %w", apex, err)
	}
	slices.Sort(dropAll)
	if !opt.ZONEMD {
		out, err := zone.Replace(prev, wz, dropAll)
		if err != nil {
			return nil, nil, nil, err
		}
		return out, dropAll, func() error { return nil }, nil
	}
	// As in Sign: the digest, which leaves the placeholders out, is taken
	// on another core while the zone is built.
	digest := make(chan [sha512.Size384]byte, 1)
	go func() { digest <- signerZONEMDDigest(zone.ReplaceView(prev, wz, dropAll)) }()
	out, err := zone.Replace(prev, wz, dropAll)
	if err != nil {
		<-digest
		return nil, nil, nil, err
	}
	return out, dropAll, sync.OnceValue(func() error { return s.fillZONEMD(out, <-digest) }), nil
}

// sameShape reports whether prev was signed as this signing signs: the
// same DNSKEY RRset, the same keys signing the SOA and the DNSKEY RRsets,
// the same NSEC3PARAM and NSEC3 TTL, ZONEMD or not.
func (s *signer) sameShape(prev *zone.Zone) bool {
	i, ok := prev.Find(s.apex)
	if !ok {
		return false
	}
	dk, ok := prev.GetAt(i, zone.TypeDNSKEY)
	if !ok || dk.TTL() != s.opt.DNSKEYTTL || !bytes.Equal(dk.Block(), s.dnskeyBlock) {
		return false
	}
	np, ok := prev.GetAt(i, zone.TypeNSEC3PARAM)
	if !ok || np.TTL() != s.nsec3TTL || !bytes.Equal(np.Block(), encodeBlock([][]byte{s.params})) {
		return false
	}
	if _, md := prev.GetAt(i, zone.TypeZONEMD); md != s.opt.ZONEMD {
		return false
	}
	return sameSigners(prev, i, zone.TypeSOA, s.zsks) && sameSigners(prev, i, zone.TypeDNSKEY, s.ksks)
}

// sameSigners: the RRSIGs over type t at owner i are by exactly keys.
func sameSigners(z *zone.Zone, i int, t uint16, keys []*Key) bool {
	sigs, ok := z.GetSig(i, t)
	if !ok {
		return false
	}
	var have, want []keyID
	for rd := range sigs.Rdata() {
		f, ok := zone.ParseRRSIG(rd)
		if !ok {
			return false
		}
		have = append(have, keyID{f.KeyTag, f.Algorithm})
	}
	for _, k := range keys {
		want = append(want, keyID{k.Tag, k.Algorithm()})
	}
	cmp := func(a, b keyID) int { return int(a.tag)<<8 | int(a.alg) - (int(b.tag)<<8 | int(b.alg)) }
	slices.SortFunc(have, cmp)
	slices.SortFunc(want, cmp)
	return slices.Equal(slices.Compact(have), slices.Compact(want))
}

// dueOwners adds to affected every owner of prev with a signature that
// would not be kept (keptAt), and returns the NSEC3 owners among them.
func (s *signer) dueOwners(prev *zone.Zone, chain *nsec3Links, affected map[zone.Name]bool) map[zone.Name]bool {
	due := map[zone.Name]bool{}
	isNSEC3 := map[zone.Name]bool{}
	for _, l := range chain.links {
		isNSEC3[l.owner] = true
	}
	for owner, covered := range s.dueSignatures(prev) {
		if covered == zone.TypeNSEC3 && isNSEC3[owner] {
			due[owner] = true
		} else {
			affected[owner] = true
		}
	}
	return due
}

// dueSignatures yields the owner and covered type of every RRSIG RRset of
// prev that signing prev again would not keep whole (keptAt): due for
// refresh, or by a key that no longer signs.
func (s *signer) dueSignatures(prev *zone.Zone) iter.Seq2[zone.Name, uint16] {
	return func(yield func(zone.Name, uint16) bool) {
		for i := range prev.Owners() {
			for r := range prev.RRsets(i) {
				if r.Type() != zone.TypeRRSIG {
					continue
				}
				covered := r.Covered()
				set, ok := prev.GetAt(i, covered)
				if !ok {
					continue
				}
				keys := s.zsks
				if covered == zone.TypeDNSKEY {
					keys = s.ksks
				}
				owner := prev.Owner(i)
				kept := s.keptAt(i, task{owner: owner, typ: covered, ttl: set.TTL(), block: set.Block()})
				if len(kept) >= len(keys) && allKept(kept, keys) {
					continue
				}
				if !yield(owner, covered) {
					return
				}
			}
		}
	}
}

// Due reports whether a signed zone must be signed again at opt.Now even
// though none of its data changed: the keys, their roles or the signing
// parameters are no longer those it was signed with, or a signature is
// due for refresh (opt.Refresh) or by a key that no longer signs. A zone
// that is not due can stay as published, serial included.
func Due(z *zone.Zone, keys []*Key, opt SignOptions) (bool, error) {
	if err := opt.check(); err != nil {
		return false, err
	}
	soaSet, err := soaOf(z)
	if err != nil {
		return false, err
	}
	opt.Previous = z
	s, err := newSigner(z.Origin(), soaSet, keys, opt)
	if err != nil {
		return false, err
	}
	if !s.sameShape(z) {
		return true, nil
	}
	if _, ok := s.readChain(z); !ok {
		return true, nil
	}
	for range s.dueSignatures(z) {
		return true, nil
	}
	return false, nil
}

func allKept(kept []keptSig, keys []*Key) bool {
	for _, k := range keys {
		if findKept(kept, k) == nil {
			return false
		}
	}
	return true
}

// changeView answers for the unsigned zone after the change,
// Replace(Unsigned(prev), with, drop), without building it.
type changeView struct {
	prev, with *zone.Zone
	apex       zone.Name
	changed    map[zone.Name]bool
}

// sets returns the unsigned RRsets of a name after the change.
func (c *changeView) sets(o zone.Name) []zone.RRset {
	z := c.prev
	if c.changed[o] {
		z = c.with
	}
	i, ok := z.Find(o)
	if !ok {
		return nil
	}
	var out []zone.RRset
	for r := range z.RRsets(i) {
		if !replaced(r.Type()) {
			out = append(out, r)
		}
	}
	return out
}

func (c *changeView) get(o zone.Name, t uint16) (zone.RRset, bool) {
	for _, r := range c.sets(o) {
		if r.Type() == t {
			return r, true
		}
	}
	return zone.RRset{}, false
}

func (c *changeView) hasNS(o zone.Name) bool {
	_, ok := c.get(o, zone.TypeNS)
	return ok && o != c.apex
}

func (c *changeView) prevHasNS(o zone.Name) bool {
	_, ok := c.prev.Get(o, zone.TypeNS)
	return ok && o != c.apex
}

// occluded: a delegation lies above o.
func (c *changeView) occluded(o zone.Name) bool {
	for a := o.Parent(); a.IsStrictlyBelow(c.apex); a = a.Parent() {
		if c.hasNS(a) {
			return true
		}
	}
	return false
}

// prevDescendants calls fn for each owner of prev strictly below o.
func (c *changeView) prevDescendants(o zone.Name, fn func(zone.Name)) {
	i, found := c.prev.Find(o)
	if found {
		i++
	}
	for ; i < c.prev.Owners(); i++ {
		d := c.prev.Owner(i)
		if !d.IsStrictlyBelow(o) {
			return
		}
		fn(d)
	}
}

// chainBelow reports whether, after the change, the chain holds a name
// strictly below a (which then is an empty non-terminal in the chain).
func (c *changeView) chainBelow(a zone.Name, affected map[zone.Name]bool, entries map[zone.Name][]uint16, chain *nsec3Links, p NSEC3Params) bool {
	found := false
	check := func(d zone.Name) {
		if found {
			return
		}
		if affected[d] {
			_, found = entries[d]
			return
		}
		// An owner the change does not reach keeps its place in the chain.
		if len(c.sets(d)) > 0 {
			h := signerNSEC3Hash(d, p.Iterations, p.Salt)
			found = chain.has(h)
		}
	}
	c.prevDescendants(a, check)
	i, ok := c.with.Find(a)
	if ok {
		i++
	}
	for ; !found && i < c.with.Owners() && c.with.Owner(i).IsStrictlyBelow(a); i++ {
		check(c.with.Owner(i))
	}
	return found
}

// nsec3Links is an NSEC3 chain in hash order.
type nsec3Links struct {
	links []nsec3Link
}

type nsec3Link struct {
	hash   [sha1.Size]byte
	owner  zone.Name
	bitmap []byte
	// rdata is the record as the previous zone has it, or nil when it
	// must be made anew.
	rdata []byte
}

func (c *nsec3Links) find(h [sha1.Size]byte) (int, bool) {
	return slices.BinarySearchFunc(c.links, h, func(l nsec3Link, h [sha1.Size]byte) int { return bytes.Compare(l.hash[:], h[:]) })
}

func (c *nsec3Links) has(h [sha1.Size]byte) bool {
	_, ok := c.find(h)
	return ok
}

// readChain reads prev's NSEC3 records, which must all have this
// signing's parameters and opt-out flag.
func (s *signer) readChain(prev *zone.Zone) (*nsec3Links, bool) {
	p := s.opt.NSEC3
	apexLen := len(s.apex)
	// Right below the apex, with a 32-octet label: "<apex>label\x00".
	hashOwner := func(key []byte) bool {
		return len(key) == apexLen+33 && key[len(key)-1] == 0 && bytes.HasPrefix(key, []byte(s.apex))
	}
	room := 0
	for i := range prev.Owners() {
		if hashOwner(prev.OwnerKey(i)) {
			room++
		}
	}
	c := &nsec3Links{links: make([]nsec3Link, 0, room)}
	for i := range prev.Owners() {
		key := prev.OwnerKey(i)
		if !hashOwner(key) {
			continue
		}
		set, ok := prev.GetAt(i, zone.TypeNSEC3)
		if !ok {
			continue
		}
		owner := prev.Owner(i)
		var h [sha1.Size]byte
		// A base32hex label needs no escaping: its key bytes are the label.
		if n, err := hashLabel.Decode(h[:], key[apexLen:len(key)-1]); err != nil || n != sha1.Size {
			return nil, false
		}
		for rd := range set.Rdata() {
			n, err := parseNSEC3(rd)
			if err != nil || n.alg != 1 || n.optOut != p.OptOut || n.iterations != p.Iterations || !bytes.Equal(n.salt, p.Salt) || set.Len() != 1 || set.TTL() != s.nsec3TTL {
				return nil, false
			}
			c.links = append(c.links, nsec3Link{hash: h, owner: owner, bitmap: nsec3Bitmap(rd), rdata: rd})
		}
	}
	slices.SortFunc(c.links, func(a, b nsec3Link) int { return bytes.Compare(a.hash[:], b.hash[:]) })
	return c, true
}

// nsec3Bitmap returns the type bitmap of NSEC3 rdata.
func nsec3Bitmap(rd []byte) []byte {
	saltLen := int(rd[4])
	hashLen := int(rd[5+saltLen])
	return rd[6+saltLen+hashLen:]
}

// update returns the chain after the change: names now in it with their
// types, names affected but out of it removed.
func (c *nsec3Links) update(names []zone.Name, entries map[zone.Name][]uint16, s *signer) (*nsec3Links, error) {
	p := s.opt.NSEC3
	remove := map[[sha1.Size]byte]bool{}
	var add []nsec3Link
	for _, n := range names {
		h := signerNSEC3Hash(n, p.Iterations, p.Salt)
		types, in := entries[n]
		i, had := c.find(h)
		switch {
		case in:
			bm := typeBitmap(slices.Clone(types))
			if had && bytes.Equal(c.links[i].bitmap, bm) {
				continue
			}
			if had {
				remove[h] = true
			}
			add = append(add, nsec3Link{hash: h, owner: nsec3Owner(s.apex, h[:]), bitmap: bm})
		case had:
			remove[h] = true
		}
	}
	slices.SortFunc(add, func(a, b nsec3Link) int { return bytes.Compare(a.hash[:], b.hash[:]) })
	for i := 1; i < len(add); i++ {
		if add[i].hash == add[i-1].hash {
			return nil, fmt.Errorf("NSEC3: two names hash alike (%s); change the salt", add[i].owner)
		}
	}
	out := &nsec3Links{links: make([]nsec3Link, 0, len(c.links)+len(add))}
	j := 0
	for _, l := range c.links {
		for j < len(add) && bytes.Compare(add[j].hash[:], l.hash[:]) < 0 {
			out.links = append(out.links, add[j])
			j++
		}
		if j < len(add) && add[j].hash == l.hash && !remove[l.hash] {
			return nil, fmt.Errorf("NSEC3: two names hash alike (%s); change the salt", l.owner)
		}
		if !remove[l.hash] {
			out.links = append(out.links, l)
		}
	}
	out.links = append(out.links, add[j:]...)
	// A record keeps its rdata only if its successor is the one it names.
	for i := range out.links {
		l := &out.links[i]
		if l.rdata == nil {
			continue
		}
		next := out.links[(i+1)%len(out.links)].hash
		if !bytes.Equal(nsec3Next(l.rdata), next[:]) {
			l.rdata = nil
		}
	}
	return out, nil
}

// nsec3Next returns the next hashed owner of NSEC3 rdata.
func nsec3Next(rd []byte) []byte {
	saltLen := int(rd[4])
	hashLen := int(rd[5+saltLen])
	return rd[6+saltLen : 6+saltLen+hashLen]
}

// rdata returns record i's rdata, as it was or made anew.
func (c *nsec3Links) rdata(i int, s *signer) []byte {
	l := c.links[i]
	if l.rdata != nil {
		return l.rdata
	}
	p := s.opt.NSEC3
	next := c.links[(i+1)%len(c.links)].hash
	return nsec3Rdata(p.OptOut, p.Iterations, p.Salt, next[:], l.bitmap)
}
