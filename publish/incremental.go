package publish

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/ptzone/ptzone/datadir"
	"github.com/ptzone/ptzone/dnssec"
	"github.com/ptzone/ptzone/store"
	"github.com/ptzone/ptzone/zone"
	"github.com/ptzone/ptzone/zonegen"
)

// ErrFullBuild says why a publication cannot go on from the last one and
// builds every zone from the whole registry instead: a zone never
// published, a state missing or from another configuration, a change
// token the registry cannot answer from, new keys.
var ErrFullBuild = errors.New("a full build is needed")

func fullBuild(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrFullBuild, fmt.Sprintf(format, args...))
}

// BuildIncremental builds every zone from the previous publication and
// the registry's changes since: the domains the change feed names are
// looked at again (zonegen.BuildChanges), the change is signed without the
// rest of the zone (dnssec.SignChanges) and verified with the previous
// zone trusted (dnssec.VerifyOptions.Trusted). Its zones are, by
// construction and by test, those Build would make with the previous
// zones' signatures kept. It returns an error wrapping ErrFullBuild when
// it cannot go on from the last publication.
func (p *Publisher) BuildIncremental(ctx context.Context, req BuildRequest) (*BuildSet, error) {
	if req.Now.IsZero() {
		return nil, errors.New("publish: no publication time")
	}
	names := p.cfg.Zones.Zones
	loadStart := time.Now()
	// The states are read while the zones load: both are large for pt.
	// Zones this Publisher published last, still as it left them, are
	// in memory: neither is read.
	held := p.heldZones()
	saved := make([]*datadir.State, len(names))
	stateErrs := make([]error, len(names))
	statesRead := make(chan struct{})
	go func() {
		defer close(statesRead)
		for i, name := range names {
			if h := held[name]; h != nil && h.state != nil {
				saved[i] = h.state
				continue
			}
			saved[i], stateErrs[i] = p.dir.ReadState(name)
		}
	}()
	prev, prevSerials, err := p.previous(ctx, held)
	<-statesRead
	if err != nil {
		return nil, err
	}
	zones := map[string]*zone.Zone{}
	states := map[string]*zonegen.ZoneState{}
	var tokens []string
	for i, name := range names {
		pz := prev[name].Zone
		if pz == nil {
			return nil, fullBuild("%s was never published", name)
		}
		if prev[name].Adopted {
			return nil, fullBuild("%s is the zone adopted from the previous signer", name)
		}
		st, err := saved[i], stateErrs[i]
		if err != nil {
			return nil, fullBuild("%v", err)
		}
		if st == nil {
			return nil, fullBuild("%s has no state", name)
		}
		if st.Zone.Serial != pz.Serial() {
			return nil, fullBuild("the state of %s is for serial %d, the zone is at %d", name, st.Zone.Serial, pz.Serial())
		}
		zones[name], states[name] = pz, st.Zone
		prev[name].delegations = st.Zone.Delegations
		if !slices.Contains(tokens, st.Token) {
			tokens = append(tokens, st.Token)
		}
	}
	keys, childDS, err := p.allKeys(req.Now)
	if err != nil {
		return nil, err
	}

	snap, err := p.reg.Snapshot(ctx)
	if err != nil {
		return nil, fmt.Errorf("publish: %w", err)
	}
	set := &BuildSet{SnapshotTime: snap.Time(), Token: snap.ChangeToken(), Incremental: true, LoadTime: time.Since(loadStart)}
	genStart := time.Now()
	// Zones left at different places in the feed (one refused last time)
	// read from each; a domain read twice is looked at twice, harmlessly.
	var changes []store.DomainChange
	for _, tok := range tokens {
		for c, err := range snap.Changes(ctx, tok, store.Filter{DelegationOnly: true}) {
			if errors.Is(err, store.ErrChangeToken) {
				snap.Close()
				return nil, fullBuild("%v", err)
			}
			if err != nil {
				snap.Close()
				return nil, fmt.Errorf("publish: reading the registry's changes: %w", err)
			}
			changes = append(changes, c)
		}
	}
	snap.Close()
	set.Changes = len(changes)
	zcs, err := zonegen.BuildChanges(ctx, p.cfg.Zones, zonegen.ChangeInput{Prev: zones, States: states, Changes: changes,
		Policy: p.pol, Now: req.Now, PrevSerials: prevSerials, ChildDS: childDS})
	if errors.Is(err, zonegen.ErrFullBuild) {
		return nil, fullBuild("%v", err)
	}
	if err != nil {
		return nil, fmt.Errorf("publish: %w", err)
	}
	set.GenerateTime = time.Since(genStart)

	selected := func(name string) bool { return len(req.Only) == 0 || slices.Contains(req.Only, name) }
	// States started for zones of a build that then fails are not left
	// behind.
	var started []*datadir.StateWrite
	built := false
	defer func() {
		if !built {
			for _, w := range started {
				w.Discard()
			}
		}
	}()
	for _, zc := range zcs {
		if !selected(zc.Name) {
			continue
		}
		pz := zones[zc.Name]
		st := zc.State
		res := &zonegen.Result{Name: zc.Name, Serial: zc.Serial, Delegations: st.Delegations, Secure: st.Secure,
			Glue: st.Glue, GlueConflicts: st.GlueConflicts, State: st}
		b := &Built{Result: res, Keys: keys[zc.Name], Prev: prev[zc.Name], State: st, Change: zc}
		if b.Unchanged, err = p.unchanged(pz, zc, b.Keys, req.Now); err != nil {
			b.Err = err
			set.Zones = append(set.Zones, b)
			continue
		}
		if b.Unchanged {
			// The zone stays as published; its state moves on to this
			// snapshot's token, at the serial it has.
			res.Serial, st.Serial = pz.Serial(), pz.Serial()
			b.Final, b.Digest = pz, zonemdDigest(pz)
		}
		if req.forPublication {
			b.stateWrite = p.dir.StartState(zc.Name, datadir.State{Token: set.Token, Zone: st})
			started = append(started, b.stateWrite)
		}
		if b.Unchanged {
			set.Zones = append(set.Zones, b)
			continue
		}
		b.Changed = append(b.Changed, zc.Drop...)
		for i := range zc.With.Owners() {
			b.Changed = append(b.Changed, zc.With.Owner(i))
		}
		var owners []zone.Name
		if p.cfg.Unsigned {
			if b.Final, err = zone.Replace(pz, zc.With, zc.Drop); err != nil {
				return nil, fmt.Errorf("publish: %s: %w", zc.Name, err)
			}
			owners = b.Changed
		} else {
			opt := p.cfg.signFor(zc.Name)
			opt.Now = req.Now
			start := time.Now()
			var fill func() error
			b.Final, owners, fill, err = dnssec.SignChangesPending(pz, zc.With, zc.Drop, b.Keys, opt)
			if errors.Is(err, dnssec.ErrFullSigning) {
				return nil, fullBuild("%s: %v", zc.Name, err)
			}
			if err == nil {
				fill, err = p.damage(b.Final, fill)
			}
			var verified func() *dnssec.Report
			if err == nil && !req.NoVerify {
				// Its digest is taken beside the signer's.
				verified = dnssec.StartVerify(b.Final, dnssec.VerifyOptions{Now: req.Now, ParentDS: p.parentDS(zc.Name, childDS), Keys: b.Keys, Trusted: pz})
			}
			if err == nil {
				err = fill()
			}
			b.SignTime = time.Since(start)
			if err != nil {
				b.Err = err
				set.Zones = append(set.Zones, b)
				continue
			}
			b.Digest = zonemdDigest(b.Final)
			if verified != nil {
				start = time.Now()
				b.Report = verified()
				b.VerifyTime = time.Since(start)
			}
		}
		slices.SortFunc(owners, zone.Compare)
		owners = slices.Compact(owners)
		if b.Patch, err = zone.MakePatch(pz, b.Final, pz.Serial(), zc.Serial, owners); err != nil {
			return nil, fmt.Errorf("publish: %s: %w", zc.Name, err)
		}
		set.Zones = append(set.Zones, b)
	}
	built = true
	return set, nil
}

// unchanged reports whether a zone can stay as published: the change is
// quiet (zonegen.ZoneChange.Quiet) and, if signed, no signature is due
// and the keys are those it was signed with (dnssec.Due).
func (p *Publisher) unchanged(prev *zone.Zone, zc *zonegen.ZoneChange, keys []*dnssec.Key, now time.Time) (bool, error) {
	if !zc.Quiet(prev) {
		return false, nil
	}
	if p.cfg.Unsigned {
		return true, nil
	}
	opt := p.cfg.signFor(zc.Name)
	opt.Now = now
	due, err := dnssec.Due(prev, keys, opt)
	if err != nil {
		return false, fmt.Errorf("publish: %s: %w", zc.Name, err)
	}
	return !due, nil
}
