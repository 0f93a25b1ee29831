package zonegen

import (
	"bytes"
	"cmp"
	"encoding/binary"
	"maps"
	"net/netip"
	"slices"
	"strings"

	"github.com/ptzone/ptzone/store"
)

// glueIndex keeps, for each host inside a zone that some delegation lists
// with addresses, which delegations list it and with which addresses: the
// glue a host gets depends on all of them, so a change to one domain can
// change the glue another domain's delegation needs.
type glueIndex struct {
	zone  string
	hosts map[string]hostListings
	// owned holds the hosts whose decoded listings this index may change
	// in place; nil means all of them. A clone shares every listing with
	// its original and copies one only the first time it changes it:
	// adding a host's listings one by one, tens of thousands for a big
	// hosting provider's, copied them on every add, quadratic.
	owned map[string]bool
	// corrupt names a host whose packed listings did not decode.
	corrupt string
	// under maps a name to the hosts below it, built when first asked for:
	// a delegation that comes or goes changes which of them need glue.
	under map[string][]string
	// order is the hosts in order as sortedHosts last returned them (or a
	// state file listed them), shared read-only with clones; hosts added
	// since are in added, and hosts removed since are still in order.
	// An incremental build then merges a few hundred new hosts into the
	// list instead of sorting hundreds of thousands again.
	order []string
	added []string
}

type glueRef struct {
	domain string
	addrs  []netip.Addr // sorted
}

// hostListings are one host's listings: decoded in refs, sorted by
// domain, or packed as a state file holds them (see ZoneState), one
// listing per domain, in order once the state is written (a full build's
// are in registry order until then: sortPacked). A full build lists every
// host packed (list), and a state read for an incremental build decodes
// only the hosts the change reaches: pt's holds millions of listings, and
// a thousand changed domains touch a few hundred hosts. Packed, they are
// a few large blocks without pointers, which the garbage collector does
// not scan, and the domain names they hold are not kept alive.
type hostListings struct {
	refs   []glueRef
	packed []byte
	last   uint32 // where list appended the last listing in packed
}

func newGlueIndex(zoneName string) *glueIndex {
	return &glueIndex{zone: zoneName, hosts: map[string]hostListings{}}
}

// listings returns host's listings, decoding them first if they are packed.
func (g *glueIndex) listings(host string) []glueRef {
	e, ok := g.hosts[host]
	if !ok || e.packed == nil {
		return e.refs
	}
	refs, ok := decodeListings(e.packed)
	if !ok && g.corrupt == "" {
		g.corrupt = host
	}
	g.hosts[host] = hostListings{refs: refs}
	if g.owned != nil {
		g.owned[host] = true // decoded here: no other index shares them
	}
	return refs
}

// has reports whether some domain lists host.
func (g *glueIndex) has(host string) bool {
	_, ok := g.hosts[host]
	return ok
}

// add notes that domain lists host with addrs. Only hosts inside the zone
// are glue; a listing without addresses gives none.
func (g *glueIndex) add(host, domain string, addrs []netip.Addr) {
	e := g.edits()
	e.add(host, domain, addrs)
	g.apply(e)
}

// remove forgets domain's listing of host.
func (g *glueIndex) remove(host, domain string) {
	e := g.edits()
	e.remove(host, domain)
	g.apply(e)
}

// glueEdits are changes to an index's listings, gathered to be made
// together (apply): one pass over each host's listings, however many of
// them change. A big hosting provider's server has tens of thousands of
// listings, and a thousand domains leaving it one at a time moved the
// rest a thousand times.
type glueEdits struct {
	zone  string
	hosts map[string]map[string][]netip.Addr // host, domain: the addresses, sorted; nil: the listing goes
}

func (g *glueIndex) edits() *glueEdits {
	return &glueEdits{zone: g.zone, hosts: map[string]map[string][]netip.Addr{}}
}

// add notes that domain lists host with addrs, as glueIndex.add does.
func (e *glueEdits) add(host, domain string, addrs []netip.Addr) {
	if len(addrs) == 0 || !store.IsSubdomain(host, e.zone) {
		return
	}
	e.set(host, domain, sortedAddrs(addrs))
}

// remove notes that domain's listing of host goes.
func (e *glueEdits) remove(host, domain string) { e.set(host, domain, nil) }

// set records domain's listing of host; the last word on it counts.
func (e *glueEdits) set(host, domain string, sorted []netip.Addr) {
	byDomain := e.hosts[host]
	if byDomain == nil {
		byDomain = map[string][]netip.Addr{}
		e.hosts[host] = byDomain
	}
	byDomain[domain] = sorted
}

// apply makes the edits. A packed host's listings are merged with them
// where they lie, not decoded, when they are in order (as a state file's
// and a written full build's are).
func (g *glueIndex) apply(e *glueEdits) {
	for host, byDomain := range e.hosts {
		domains := slices.Sorted(maps.Keys(byDomain))
		entry, known := g.hosts[host]
		if entry.packed != nil {
			if block, n, ok := mergePacked(entry.packed, domains, byDomain); ok {
				if n == 0 {
					delete(g.hosts, host)
				} else {
					g.hosts[host] = hostListings{packed: block} // in order, so no last
				}
				continue
			}
		}
		refs := g.writable(host)
		if refs = editListings(refs, domains, byDomain); len(refs) == 0 {
			delete(g.hosts, host)
			continue
		}
		if !known {
			if g.under != nil {
				g.noteUnder(host)
			}
			if g.order != nil {
				g.added = append(g.added, host)
			}
		}
		g.hosts[host] = hostListings{refs: refs}
	}
}

// writable returns host's listings, copied first if they are shared with
// another index.
func (g *glueIndex) writable(host string) []glueRef {
	refs := g.listings(host)
	if g.owned != nil && !g.owned[host] {
		refs = slices.Clone(refs)
		g.hosts[host] = hostListings{refs: refs}
		g.owned[host] = true
	}
	return refs
}

// editListings makes the edits of domains (sorted) to refs in place and
// returns the result: listings before the first edit do not move, and a
// listing appended in order moves none.
func editListings(refs []glueRef, domains []string, byDomain map[string][]netip.Addr) []glueRef {
	var gone []int
	var added []glueRef
	for _, d := range domains {
		i, found := findRef(refs, d)
		addrs := byDomain[d]
		switch {
		case found && addrs == nil:
			gone = append(gone, i)
		case found:
			refs[i].addrs = addrs
		case addrs != nil:
			added = append(added, glueRef{domain: d, addrs: addrs})
		}
	}
	if len(gone) > 0 {
		kept := gone[0]
		for i := gone[0]; i < len(refs); i++ {
			if len(gone) > 0 && gone[0] == i {
				gone = gone[1:]
				continue
			}
			refs[kept] = refs[i]
			kept++
		}
		clear(refs[kept:])
		refs = refs[:kept]
	}
	// The additions, merged in from the end.
	old := len(refs)
	refs = append(refs, added...)
	for i, j, k := old-1, len(added)-1, len(refs)-1; j >= 0; k-- {
		if i >= 0 && refs[i].domain > added[j].domain {
			refs[k] = refs[i]
			i--
		} else {
			refs[k] = added[j]
			j--
		}
	}
	return refs
}

// mergePacked returns block with the listings of domains (sorted)
// replaced by byDomain's, and how many listings it then holds; false if
// block is malformed or not in order.
func mergePacked(block []byte, domains []string, byDomain map[string][]netip.Addr) ([]byte, uint32, bool) {
	out := make([]byte, 4, len(block)+len(domains)*64)
	var n uint32
	// emit writes the edited listings of the domains before limit (and
	// of limit itself if through).
	emit := func(limit string, through bool) {
		for len(domains) > 0 && (domains[0] < limit || through && domains[0] == limit) {
			if addrs := byDomain[domains[0]]; addrs != nil {
				out = appendListing(out, domains[0], addrs)
				n++
			}
			domains = domains[1:]
		}
	}
	inOrder := true
	var prev []byte
	ok := eachListing(block, func(domain, addrs []byte) {
		if !inOrder || prev != nil && bytes.Compare(prev, domain) >= 0 {
			inOrder = false
			return
		}
		prev = domain
		emit(string(domain), false)
		if len(domains) > 0 && domains[0] == string(domain) {
			emit(string(domain), true) // edited: the old listing goes
			return
		}
		out = binary.LittleEndian.AppendUint16(out, uint16(len(domain)))
		out = append(append(out, domain...), addrs...)
		n++
	})
	if !ok || !inOrder {
		return nil, 0, false
	}
	for _, d := range domains {
		if addrs := byDomain[d]; addrs != nil {
			out = appendListing(out, d, addrs)
			n++
		}
	}
	binary.LittleEndian.PutUint32(out, n)
	return out, n, true
}

func findRef(refs []glueRef, domain string) (int, bool) {
	return slices.BinarySearchFunc(refs, domain, func(r glueRef, d string) int { return strings.Compare(r.domain, d) })
}

// list notes, as add does, that domain lists host with addrs, for a
// full build, in a fresh index: the listing is appended to the host's
// packed block. A domain's listings of one host come one after another
// (a delegation's hosts are listed together), and the last counts, so a
// block holds one listing per domain: a domain's listings must all come
// together, as the registry streams each domain once. It streams them in
// no order, and the state writer sorts the blocks (sortPacked).
func (g *glueIndex) list(host, domain string, addrs []netip.Addr) {
	if len(addrs) == 0 || !store.IsSubdomain(host, g.zone) {
		return
	}
	e, known := g.hosts[host]
	switch {
	case known && e.packed == nil:
		g.add(host, domain, addrs) // decoded already: kept in order
		return
	case !known:
		if g.order != nil {
			g.added = append(g.added, host)
		}
		e.packed = make([]byte, 4, 64) // the count, then the listings
	case string(listingDomain(e.packed[e.last:])) == domain:
		e.packed = e.packed[:e.last] // listed again: this listing counts
		binary.LittleEndian.PutUint32(e.packed, binary.LittleEndian.Uint32(e.packed)-1)
	}
	if !slices.IsSortedFunc(addrs, func(a, b netip.Addr) int {
		if c := a.Compare(b); c != 0 {
			return c
		}
		return -1 // a repeated address: not in canonical form (IsSortedFunc fails on < 0 only)
	}) {
		addrs = sortedAddrs(addrs)
	}
	e.last = uint32(len(e.packed))
	e.packed = appendListing(e.packed, domain, addrs)
	binary.LittleEndian.PutUint32(e.packed, binary.LittleEndian.Uint32(e.packed)+1)
	g.hosts[host] = e
}

// settleListings returns refs sorted by domain, the last listing of each
// domain kept: what a block decodes to, whatever its order (a state
// file's are sorted already, and cost one pass). A big host has tens of
// thousands of listings, and a stable sort of them took seconds: the
// listings' positions break ties instead.
func settleListings(refs []glueRef) []glueRef {
	if slices.IsSortedFunc(refs, func(a, b glueRef) int {
		if a.domain == b.domain {
			return -1 // a domain listed twice: not settled (IsSortedFunc fails on < 0 only)
		}
		return strings.Compare(a.domain, b.domain)
	}) {
		return refs
	}
	// Each domain's first eight octets, as one integer, decide most
	// comparisons without reading the domain itself, a cache miss each.
	type keyed struct {
		window uint64 // zero-padded: orders as the domain does, or ties
		pos    int32
	}
	ks := make([]keyed, len(refs))
	for i, r := range refs {
		var w [8]byte
		copy(w[:], r.domain)
		ks[i] = keyed{binary.BigEndian.Uint64(w[:]), int32(i)}
	}
	slices.SortFunc(ks, func(a, b keyed) int {
		if c := cmp.Compare(a.window, b.window); c != 0 {
			return c
		}
		if c := strings.Compare(refs[a.pos].domain, refs[b.pos].domain); c != 0 {
			return c
		}
		return cmp.Compare(a.pos, b.pos)
	})
	out := make([]glueRef, 0, len(refs))
	for i, k := range ks {
		if i+1 < len(ks) && refs[ks[i+1].pos].domain == refs[k.pos].domain {
			continue
		}
		out = append(out, refs[k.pos])
	}
	return out
}

func sortedAddrs(addrs []netip.Addr) []netip.Addr {
	sorted := slices.Clone(addrs)
	slices.SortFunc(sorted, func(a, b netip.Addr) int { return a.Compare(b) })
	return slices.Compact(sorted)
}

// sortPacked sorts each packed block's listings by domain, in place: a
// block listed in registry order would otherwise be sorted by every
// incremental build that decodes it, and a big hosting provider's server
// has tens of thousands of listings. It runs once a full build is done
// with the index (ZoneState.WriteTo), on the state writer's goroutine;
// list must not be called afterwards.
func (g *glueIndex) sortPacked() {
	type listing struct {
		window     uint64 // the domain's first eight octets, zero-padded
		start, end uint32
	}
	var ls []listing
	var scratch []byte
	for _, e := range g.hosts {
		block := e.packed
		if e.last == 0 || len(block) < 4 {
			continue // not list's: a state file's, written in order
		}
		ls = ls[:0]
		at := uint32(4)
		ok := eachListing(block, func(domain, addrs []byte) {
			end := at + 2 + uint32(len(domain)) + uint32(len(addrs))
			var w [8]byte
			copy(w[:], domain)
			ls = append(ls, listing{binary.BigEndian.Uint64(w[:]), at, end})
			at = end
		})
		domain := func(l listing) []byte { return listingDomain(block[l.start:l.end]) }
		if !ok || slices.IsSortedFunc(ls, func(a, b listing) int { return bytes.Compare(domain(a), domain(b)) }) {
			continue // a malformed block is left for its reader to refuse
		}
		slices.SortStableFunc(ls, func(a, b listing) int {
			if c := cmp.Compare(a.window, b.window); c != 0 {
				return c
			}
			return bytes.Compare(domain(a), domain(b))
		})
		scratch = scratch[:0]
		for _, l := range ls {
			scratch = append(scratch, block[l.start:l.end]...)
		}
		copy(block[4:], scratch)
	}
}

// resolve returns the addresses published for a host: those of the domain
// the host lies in, if it lists it (it speaks for its own hosts);
// otherwise the union of every listing's, with conflict set when listings
// disagree. Packed listings are read where they lie, not decoded: a full
// build resolves every host once.
func (g *glueIndex) resolve(host string) (addrs []netip.Addr, conflict bool) {
	if e := g.hosts[host]; e.packed != nil {
		addrs, conflict, ok := resolvePacked(host, e.packed)
		if !ok && g.corrupt == "" {
			g.corrupt = host
		}
		return addrs, conflict
	}
	// In any order: a host's listings are of distinct domains (see list).
	// Should two domains hold the host, the first in order speaks for it.
	refs := g.listings(host)
	for _, r := range refs {
		if store.IsSubdomain(host, r.domain) {
			return r.addrs, false
		}
	}
	// A big hosting provider's server is listed by tens of thousands of
	// domains, nearly always alike: then the answer is any listing's.
	if len(refs) == 0 {
		return nil, false
	}
	if !slices.ContainsFunc(refs, func(r glueRef) bool { return !slices.Equal(r.addrs, refs[0].addrs) }) {
		return refs[0].addrs, false
	}
	for _, r := range refs {
		addrs = append(addrs, r.addrs...)
	}
	slices.SortFunc(addrs, func(a, b netip.Addr) int { return a.Compare(b) })
	return slices.Compact(addrs), true
}

// resolvePacked is resolve over a packed block; ok is false when the
// block does not decode.
func resolvePacked(host string, block []byte) (addrs []netip.Addr, conflict, ok bool) {
	var own, first []byte // the encoded addresses of the host's own domain, and of any listing
	var ownDomain string
	differ := false
	ok = eachListing(block, func(domain []byte, enc []byte) {
		if store.IsSubdomain(host, string(domain)) && (own == nil || string(domain) < ownDomain) {
			own, ownDomain = enc, string(domain)
		}
		if first == nil {
			first = enc
		} else if !bytes.Equal(enc, first) {
			differ = true
		}
	})
	if !ok {
		return nil, false, false
	}
	switch {
	case own != nil:
		return decodeAddrs(nil, own), false, true
	case first == nil:
		return nil, false, true
	case !differ:
		return decodeAddrs(nil, first), false, true
	}
	eachListing(block, func(_ []byte, enc []byte) { addrs = decodeAddrs(addrs, enc) })
	slices.SortFunc(addrs, func(a, b netip.Addr) int { return a.Compare(b) })
	return slices.Compact(addrs), true, true
}

// sortedHosts returns the hosts in order. The slice is shared: callers
// must not change it.
func (g *glueIndex) sortedHosts() []string {
	if g.order == nil {
		g.order = slices.Sorted(maps.Keys(g.hosts))
		g.added = nil
		return g.order
	}
	if len(g.added) == 0 && len(g.order) == len(g.hosts) {
		return g.order // nothing added, so nothing removed either
	}
	slices.Sort(g.added)
	merged := make([]string, 0, len(g.hosts))
	keep := func(h string) {
		if _, ok := g.hosts[h]; ok && (len(merged) == 0 || merged[len(merged)-1] != h) {
			merged = append(merged, h)
		}
	}
	old, add := g.order, g.added
	for len(old) > 0 || len(add) > 0 {
		if len(add) == 0 || len(old) > 0 && old[0] <= add[0] {
			keep(old[0])
			old = old[1:]
		} else {
			keep(add[0])
			add = add[1:]
		}
	}
	g.order, g.added = merged, nil
	return merged
}

// hostsUnder returns the indexed hosts strictly below name.
func (g *glueIndex) hostsUnder(name string) []string {
	if g.under == nil {
		g.under = map[string][]string{}
		for h := range g.hosts {
			g.noteUnder(h)
		}
	}
	return g.under[name]
}

func (g *glueIndex) noteUnder(host string) {
	for a := host; ; {
		i := strings.IndexByte(a, '.')
		if i < 0 {
			return
		}
		a = a[i+1:]
		if !store.IsSubdomain(a, g.zone) || a == g.zone {
			return
		}
		if !slices.Contains(g.under[a], host) {
			g.under[a] = append(g.under[a], host)
		}
	}
}

// clone returns a copy that can change without changing g. It shares the
// listings, so g must not change after it: the copy's writable copies
// them, g's own would not. (Packed listings are never changed in place
// but by list and sortPacked, which a clone never runs.)
func (g *glueIndex) clone() *glueIndex {
	return &glueIndex{zone: g.zone, hosts: maps.Clone(g.hosts), owned: map[string]bool{}, order: g.order, added: slices.Clone(g.added)}
}
