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

// RollbackRequest asks for a zone to be published again as it was before
// its last publication.
type RollbackRequest struct {
	Zone       string
	Now        time.Time
	By, Reason string
	// Lock is the publisher's lock the rollback runs under, as
	// Request.Lock.
	Lock store.Lock
}

// Rollback publishes again the records of the zone's version before the
// one last published: with a new serial, larger than the last, and fresh
// signatures from the keys in force, verified, through the guard and into
// the journal like any publication (secondaries take it by IXFR). The
// change limits are passed (the operator asked for exactly this change);
// what cannot be forced (a zone that does not verify, say) still refuses
// it. The zone's build state is dropped: the next publication builds it
// in full from the registry, whatever it then holds, so whoever rolls
// back should freeze publishing until the registry is mended.
//
// The version before is the journal's last patch undone, or else the
// image kept by the last full write (with the journal's patches after
// it): what a restart or a long run of publications left
// (datadir.Dir.Before). Without one, the error wraps
// datadir.ErrNoEarlierVersion.
func (p *Publisher) Rollback(ctx context.Context, req RollbackRequest) (ZoneOutcome, error) {
	name := req.Zone
	if !slices.Contains(p.cfg.Zones.Zones, name) {
		return ZoneOutcome{}, fmt.Errorf("publish: %s is not one of the zones served", name)
	}
	if req.Now.IsZero() || req.By == "" {
		return ZoneOutcome{}, errors.New("publish: a rollback needs its time and who asks for it")
	}
	loaded, err := p.dir.Load([]string{name}, datadir.Refuse)
	if err != nil {
		return ZoneOutcome{}, fmt.Errorf("publish: %w", err)
	}
	published := loaded.Zone(name)
	current := published.Zone
	if current == nil {
		return ZoneOutcome{}, fmt.Errorf("publish: %s was never published: %w", name, datadir.ErrNoEarlierVersion)
	}
	if err := p.dir.Prepare(); err != nil {
		return ZoneOutcome{}, fmt.Errorf("publish: %w", err)
	}
	target, err := p.dir.Before(published)
	if err != nil {
		return ZoneOutcome{}, fmt.Errorf("publish: rolling back %s: %w", name, err)
	}
	back := target.Serial()
	unsigned, err := dnssec.Unsigned(target)
	if err != nil {
		return ZoneOutcome{}, fmt.Errorf("publish: rolling back %s: %w", name, err)
	}
	last := current.Serial()
	if logged, err := p.lastLoggedSerial(ctx, name); err != nil {
		return ZoneOutcome{}, err
	} else if zonegen.SerialGreater(logged, last) {
		last = logged
	}
	serial, err := zonegen.NextSerial(p.cfg.Zones.Params(name).Serial, last, req.Now)
	if err != nil {
		return ZoneOutcome{}, err
	}
	if unsigned, err = withSerial(unsigned, serial); err != nil {
		return ZoneOutcome{}, fmt.Errorf("publish: rolling back %s: %w", name, err)
	}

	keys, childDS, err := p.allKeys(req.Now)
	if err != nil {
		return ZoneOutcome{}, err
	}
	res := &zonegen.Result{Name: name, Zone: unsigned, Serial: serial, Excluded: map[zonegen.Reason]int{}}
	res.Delegations, res.Secure, res.Glue = countDelegations(unsigned)
	b := &Built{Result: res, Final: unsigned, Keys: keys[name], Prev: &Previous{Zone: current, Serial: last, journal: published.Journal}}
	if !p.cfg.Unsigned {
		p.sign(b, req.Now, childDS, true, nil)
	}
	// Without its state, the next publication of the zone is a full
	// build; the state goes first, so a crash cannot leave the rolled
	// back zone with a state that says otherwise.
	if err := p.dir.RemoveState(name); err != nil {
		return ZoneOutcome{}, fmt.Errorf("publish: rolling back %s: %w", name, err)
	}
	p.forget(name)
	preq := Request{Now: req.Now, TriggeredBy: "rollback:" + req.By,
		Force: &Force{By: req.By, Reason: fmt.Sprintf("rollback to the records of serial %d: %s", back, req.Reason)},
		note:  fmt.Sprintf("rolled back by %s to the records of serial %d: %s", req.By, back, req.Reason), Lock: req.Lock}
	o := p.publishZone(ctx, preq, b, &BuildSet{SnapshotTime: req.Now})
	o.Mode = "rollback"
	return o, nil
}

// withSerial returns z with its SOA serial set.
func withSerial(z *zone.Zone, serial uint32) (*zone.Zone, error) {
	apex := z.Origin()
	set, ok := z.Get(apex, zone.TypeSOA)
	if !ok {
		return nil, errors.New("the zone has no SOA")
	}
	b := zone.NewBuilder(apex, 1)
	for rd := range set.Rdata() {
		soa, err := zone.ParseSOA(rd)
		if err != nil {
			return nil, err
		}
		soa.Serial = serial
		if err := b.Add(apex, zone.TypeSOA, set.TTL(), soa.Rdata()); err != nil {
			return nil, err
		}
	}
	soa, err := b.Zone()
	if err != nil {
		return nil, err
	}
	return zone.Merge(z, soa, nil)
}

// countDelegations counts an unsigned zone's delegations (NS RRsets
// below the apex), the secure ones (with DS), and the glue owners.
func countDelegations(z *zone.Zone) (delegations, secure, glue int) {
	apex := z.Origin()
	var cut zone.Name
	for i := range z.Owners() {
		owner := z.Owner(i)
		if owner == apex {
			continue
		}
		if cut != "" && owner.IsBelow(cut) {
			glue++
			continue
		}
		if _, ok := z.GetAt(i, zone.TypeNS); ok {
			cut = owner
			delegations++
			if _, ok := z.GetAt(i, zone.TypeDS); ok {
				secure++
			}
		}
	}
	return delegations, secure, glue
}
