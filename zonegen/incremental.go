package zonegen

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"time"

	"github.com/ptzone/ptzone/policy"
	"github.com/ptzone/ptzone/store"
	"github.com/ptzone/ptzone/zone"
)

// ChangeInput is what BuildChanges goes on from.
type ChangeInput struct {
	// Prev are the zones as last published (signed or not: only their
	// NS, DS and address records are read), and States what their builds
	// left; both by zone name.
	Prev   map[string]*zone.Zone
	States map[string]*ZoneState
	// Changes are the domains to look at again (store.Snapshot.Changes).
	// A domain may come twice, or unchanged: looking again is harmless.
	Changes []store.DomainChange
	Policy  *policy.Policy
	Now     time.Time
	// PrevSerials and ChildDS as for Build.
	PrevSerials map[string]uint32
	ChildDS     map[string][]store.DS
}

// ZoneChange is one zone's change, in zone.Replace's terms: the new
// unsigned content of the owners that change, and the owners that go.
type ZoneChange struct {
	Name   string
	Serial uint32
	With   *zone.Zone
	Drop   []zone.Name
	// Delegations added, removed and changed (NS or DS).
	Added, Removed, Modified int
	// State is the zone's state after the change, with its totals.
	State *ZoneState
}

// ErrFullBuild says that BuildChanges cannot go on from the state it was
// given: none for a zone, or one from another configuration or policy.
var ErrFullBuild = errors.New("zone build: a full build is needed")

// BuildChanges builds the change to every configured zone that the given
// domain changes make, without reading the rest of the registry: the
// zones it gives, applied with zone.Replace to the previous ones, are
// those Build would make of the registry as it now is, and tests hold it
// to that. Glue is decided again for every host whose listings changed,
// and for the hosts below a delegation that comes or goes.
func BuildChanges(ctx context.Context, cfg Config, in ChangeInput) ([]*ZoneChange, error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("zone configuration: %w", err)
	}
	byZone := map[string][]store.DomainChange{}
	for _, c := range in.Changes {
		byZone[c.Zone] = append(byZone[c.Zone], c)
	}
	fixed := map[string][]StaticDelegation{}
	for _, d := range fixedDelegations(cfg, in.ChildDS) {
		if p := parentZone(d.Name, cfg.Zones); p != "" {
			fixed[p] = append(fixed[p], d)
		}
	}
	var out []*ZoneChange
	for _, z := range cfg.Zones {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		st, prev := in.States[z], in.Prev[z]
		fp := Fingerprint(cfg, z, in.Policy)
		if st == nil || prev == nil || st.Fingerprint != fp {
			return nil, fmt.Errorf("%w for %s", ErrFullBuild, z)
		}
		serial, err := NextSerial(cfg.Params(z).Serial, in.PrevSerials[z], in.Now)
		if err != nil {
			return nil, fmt.Errorf("zone %s: %w", z, err)
		}
		zc, err := changeZone(cfg, in, z, prev, st, byZone[z], fixed[z], serial)
		if err != nil {
			return nil, fmt.Errorf("zone %s: %w", z, err)
		}
		if h := zc.State.glue.corrupt; h != "" {
			return nil, fmt.Errorf("%w for %s: %w: the listings of %s do not decode", ErrFullBuild, z, ErrCorruptState, h)
		}
		zc.State.Fingerprint = fp
		out = append(out, zc)
	}
	return out, nil
}

// delegationChange is one delegation looked at again.
type delegationChange struct {
	name     string
	owner    zone.Name
	included bool
	hosts    []store.Nameserver
	ds       []store.DS
}

func changeZone(cfg Config, in ChangeInput, z string, prev *zone.Zone, st *ZoneState, changes []store.DomainChange, fixed []StaticDelegation, serial uint32) (*ZoneChange, error) {
	apex := prev.Origin()
	glue := st.glue.clone()
	next := &ZoneState{Serial: serial, Delegations: st.Delegations, Secure: st.Secure, Glue: st.Glue, GlueConflicts: st.GlueConflicts, glue: glue}
	zc := &ZoneChange{Name: z, Serial: serial, State: next}
	params := cfg.Params(z)
	w := zone.NewBuilder(apex, 0)
	addApex(w, params, apex, serial)
	changed := map[zone.Name]bool{apex: true}

	// The delegations to look at: the changed domains, and ours and the
	// static ones, always (a key rollover changes com.pt's DS in pt).
	var dels []delegationChange
	last := map[string]int{}
	for i, c := range changes {
		last[c.Name] = i
	}
	fixedNames := map[string]bool{}
	for _, f := range fixed {
		fixedNames[f.Name] = true
	}
	for i, c := range changes {
		if last[c.Name] != i || fixedNames[c.Name] {
			continue // the last word on a domain counts; a fixed delegation is as configured
		}
		owner, err := zone.HostName(c.Name)
		if err != nil {
			return nil, fmt.Errorf("domain %s: %w", c.Name, err)
		}
		d := delegationChange{name: c.Name, owner: owner}
		if c.Candidate != nil && Include(*c.Candidate, in.Policy, cfg.AssumeChecked) == ReasonIn {
			d.included, d.hosts, d.ds = true, c.Candidate.Domain.Nameservers, c.Candidate.Domain.DS
		}
		dels = append(dels, d)
	}
	for _, f := range fixed {
		owner, _ := zone.HostName(f.Name)
		dels = append(dels, delegationChange{name: f.Name, owner: owner, included: true, hosts: nameservers(f.Nameservers), ds: f.DS})
	}

	// Each delegation: its new NS and DS, its listings in the glue index.
	affected := map[string]bool{}
	delegatedNow := map[string]bool{}
	oldConflict := map[string]bool{}
	apexHosts := apexHostSet(params, z)
	// A host is noted before the first change to its listings, so the
	// copy still answers as the state read does; asking the copy decodes
	// a packed host once, not once in each.
	noteHost := func(h string) {
		if !affected[h] {
			affected[h] = true
			_, c := glueIndexResolve(glue, h)
			oldConflict[h] = c
		}
	}
	// The listings change together once every delegation is looked at
	// (glueEdits); until then glue answers as the state read does.
	edits := glue.edits()
	for _, d := range dels {
		oldNS, oldDS := delegationAt(prev, d.owner)
		was := oldNS != nil
		for _, h := range hostsOf(oldNS) {
			if store.IsSubdomain(h, z) {
				noteHost(h)
				edits.remove(h, d.name)
			}
		}
		delegatedNow[d.name] = d.included
		if d.included {
			for _, h := range d.hosts {
				if store.IsSubdomain(h.Name, z) {
					noteHost(h.Name)
				}
				edits.add(h.Name, d.name, h.Addrs)
			}
		}
		if was != d.included {
			// The hosts below that gain or lose glue; those listed
			// anew are noted above. (glue, unchanged yet, is st.glue.)
			for _, h := range st.glue.hostsUnder(d.name) {
				noteHost(h)
			}
		}
		// The new content of the delegation's owner.
		nb := zone.NewBuilder(apex, 4)
		if d.included {
			sub := &zoneBuild{name: z, apex: apex, b: nb, res: &Result{}, glue: newGlueIndex(z)}
			if err := sub.addDelegation(d.name, d.hosts, d.ds, params.TTL); err != nil {
				return nil, err
			}
		}
		nz, err := nb.Zone()
		if err != nil {
			return nil, err
		}
		newNS, newDS := delegationAt(nz, d.owner)
		if was == d.included && sameRRset(newNS, oldNS) && sameRRset(newDS, oldDS) {
			continue // nothing to change at the owner
		}
		changed[d.owner] = true
		for r := range nz.All() {
			for rd := range r.Rdata() {
				w.Add(r.Owner(), r.Type(), r.TTL(), rd)
			}
		}
		switch {
		case !was && d.included:
			zc.Added++
			next.Delegations++
		case was && !d.included:
			zc.Removed++
			next.Delegations--
		default:
			zc.Modified++
		}
		next.Secure += btoi(newDS != nil) - btoi(oldDS != nil)
	}

	glue.apply(edits)

	// Glue, again, for every host the changes reach.
	hosts := make([]string, 0, len(affected))
	for h := range affected {
		hosts = append(hosts, h)
	}
	slices.Sort(hosts)
	below := func(owner zone.Name) bool {
		for a := owner.Parent(); a.IsStrictlyBelow(apex); a = a.Parent() {
			name := strings.TrimSuffix(a.String(), ".")
			if now, ok := delegatedNow[name]; ok {
				if now {
					return true
				}
				continue
			}
			if _, ok := prev.Get(a, zone.TypeNS); ok {
				return true
			}
		}
		return false
	}
	for _, h := range hosts {
		if apexHosts[h] {
			continue // our own servers' addresses come from configuration
		}
		owner, err := zone.HostName(h)
		if err != nil {
			return nil, fmt.Errorf("glue %s: %w", h, err)
		}
		wasGlue := hasAddrs(prev, owner)
		isGlue := glue.has(h) && below(owner)
		if wasGlue {
			next.Glue--
			if oldConflict[h] {
				next.GlueConflicts--
			}
		}
		if isGlue {
			addrs, conflict := glue.resolve(h)
			for _, a := range addrs {
				t, rd := zone.AddrRdata(a)
				w.Add(owner, t, params.TTL.Glue, rd)
			}
			next.Glue++
			if conflict {
				next.GlueConflicts++
			}
		}
		if wasGlue || isGlue {
			changed[owner] = true
		}
	}

	with, err := w.Zone()
	if err != nil {
		return nil, err
	}
	for o := range changed {
		if _, ok := with.Find(o); !ok {
			zc.Drop = append(zc.Drop, o)
		}
	}
	slices.Sort(zc.Drop)
	zc.With = with
	return zc, nil
}

// glueIndexResolve is resolve on an index that may not hold the host.
func glueIndexResolve(g *glueIndex, h string) ([]netip.Addr, bool) {
	if !g.has(h) {
		return nil, false
	}
	return g.resolve(h)
}

// delegationAt returns the NS and DS RRsets at owner, nil when absent.
func delegationAt(z *zone.Zone, owner zone.Name) (ns, ds *zone.RRset) {
	i, ok := z.Find(owner)
	if !ok || owner == z.Origin() {
		return nil, nil
	}
	if r, ok := z.GetAt(i, zone.TypeNS); ok {
		ns = &r
	}
	if r, ok := z.GetAt(i, zone.TypeDS); ok {
		ds = &r
	}
	return ns, ds
}

// hostsOf returns the NS targets of an NS RRset, as the registry writes
// host names.
func hostsOf(ns *zone.RRset) []string {
	if ns == nil {
		return nil
	}
	var out []string
	for rd := range ns.Rdata() {
		n, _, err := zone.NameFromWire(rd)
		if err == nil {
			out = append(out, strings.TrimSuffix(n.String(), "."))
		}
	}
	return out
}

func sameRRset(a, b *zone.RRset) bool {
	if a == nil || b == nil {
		return a == b
	}
	return a.Equal(*b)
}

// hasAddrs reports whether owner has address records in z.
func hasAddrs(z *zone.Zone, owner zone.Name) bool {
	i, ok := z.Find(owner)
	if !ok {
		return false
	}
	_, a := z.GetAt(i, zone.TypeA)
	_, aaaa := z.GetAt(i, zone.TypeAAAA)
	return a || aaaa
}

func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}

// Quiet reports whether the change leaves prev's data as it is, the SOA
// serial aside: every domain looked at again came back as prev has it.
// A quiet zone whose signatures are not due can stay as published, with
// its serial: secondaries then have nothing to transfer.
func (zc *ZoneChange) Quiet(prev *zone.Zone) bool {
	for _, o := range zc.Drop {
		if _, ok := prev.Find(o); ok {
			return false
		}
	}
	for i := range zc.With.Owners() {
		o := zc.With.Owner(i)
		j, ok := prev.Find(o)
		if !ok {
			return false
		}
		var was []zone.RRset
		for r := range prev.RRsets(j) {
			if !zone.IsSigningType(r.Type()) {
				was = append(was, r)
			}
		}
		k := 0
		for r := range zc.With.RRsets(i) {
			if k == len(was) || !sameData(r, was[k], o == prev.Origin()) {
				return false
			}
			k++
		}
		if k != len(was) {
			return false
		}
	}
	return true
}

// sameData compares two RRsets; at the apex, an SOA's serial is not
// compared.
func sameData(a, b zone.RRset, apex bool) bool {
	if !apex || a.Type() != zone.TypeSOA || b.Type() != zone.TypeSOA {
		return a.Equal(b)
	}
	if a.TTL() != b.TTL() || a.Len() != 1 || b.Len() != 1 {
		return false
	}
	var sa, sb zone.SOA
	var errA, errB error
	for rd := range a.Rdata() {
		sa, errA = zone.ParseSOA(rd)
	}
	for rd := range b.Rdata() {
		sb, errB = zone.ParseSOA(rd)
	}
	sa.Serial = sb.Serial
	return errA == nil && errB == nil && sa == sb
}
