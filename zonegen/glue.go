package zonegen

import (
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
	zone string
	refs map[string][]glueRef // by host
	// under maps a name to the hosts below it, built when first asked for:
	// a delegation that comes or goes changes which of them need glue.
	under map[string][]string
}

type glueRef struct {
	domain string
	addrs  []netip.Addr // sorted
}

func newGlueIndex(zoneName string) *glueIndex {
	return &glueIndex{zone: zoneName, refs: map[string][]glueRef{}}
}

// add notes that domain lists host with addrs. Only hosts inside the zone
// are glue; a listing without addresses gives none.
func (g *glueIndex) add(host, domain string, addrs []netip.Addr) {
	if len(addrs) == 0 || !store.IsSubdomain(host, g.zone) {
		return
	}
	sorted := slices.Clone(addrs)
	slices.SortFunc(sorted, func(a, b netip.Addr) int { return a.Compare(b) })
	sorted = slices.Compact(sorted)
	// Listings are never changed in place: a clone shares them.
	refs := slices.Clone(g.refs[host])
	if i := slices.IndexFunc(refs, func(r glueRef) bool { return r.domain == domain }); i >= 0 {
		refs[i].addrs = sorted
		g.refs[host] = refs
		return
	}
	if len(refs) == 0 && g.under != nil {
		g.noteUnder(host)
	}
	i, _ := slices.BinarySearchFunc(refs, domain, func(r glueRef, d string) int { return strings.Compare(r.domain, d) })
	g.refs[host] = slices.Insert(refs, i, glueRef{domain: domain, addrs: sorted})
}

// remove forgets domain's listing of host.
func (g *glueIndex) remove(host, domain string) {
	refs := g.refs[host]
	i := slices.IndexFunc(refs, func(r glueRef) bool { return r.domain == domain })
	if i < 0 {
		return
	}
	refs = slices.Delete(slices.Clone(refs), i, i+1)
	if len(refs) == 0 {
		delete(g.refs, host)
		return
	}
	g.refs[host] = refs
}

// resolve returns the addresses published for a host: those of the domain
// the host lies in, if it lists it (it speaks for its own hosts);
// otherwise the union of every listing's, with conflict set when listings
// disagree.
func (g *glueIndex) resolve(host string) (addrs []netip.Addr, conflict bool) {
	refs := g.refs[host]
	for _, r := range refs {
		if store.IsSubdomain(host, r.domain) {
			return r.addrs, false
		}
	}
	for i, r := range refs {
		if i > 0 && !slices.Equal(r.addrs, refs[0].addrs) {
			conflict = true
		}
		addrs = append(addrs, r.addrs...)
	}
	slices.SortFunc(addrs, func(a, b netip.Addr) int { return a.Compare(b) })
	return slices.Compact(addrs), conflict
}

func (g *glueIndex) sortedHosts() []string {
	return slices.Sorted(maps.Keys(g.refs))
}

// hostsUnder returns the indexed hosts strictly below name.
func (g *glueIndex) hostsUnder(name string) []string {
	if g.under == nil {
		g.under = map[string][]string{}
		for h := range g.refs {
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

// clone returns a copy that can change without changing g: add and remove
// replace a host's listings rather than change them, so the listings are
// shared.
func (g *glueIndex) clone() *glueIndex {
	return &glueIndex{zone: g.zone, refs: maps.Clone(g.refs)}
}
