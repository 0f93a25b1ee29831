package publish

import (
	"fmt"
	"slices"

	"github.com/ptzone/ptzone/datadir"
	"github.com/ptzone/ptzone/zone"
)

// held is a zone as this Publisher last left it in the data directory,
// kept in memory for its next publication: a daemon publishes every few
// minutes, and reading pt's image and state back takes half a second and
// as much memory again. What its files looked like then is kept too: a
// file changed since, by anything else, sends the next publication back to
// the disk.
type held struct {
	zone    *zone.Zone
	journal *datadir.Journal
	state   *datadir.State
	files   datadir.Stamp
}

// heldZones returns the zones held in memory whose files are still as
// this Publisher left them, and forgets the others.
func (p *Publisher) heldZones() map[string]*held {
	p.mu.Lock()
	defer p.mu.Unlock()
	out := map[string]*held{}
	for name, h := range p.held {
		if h.files.Same(p.dir.Stamp(name)) {
			out[name] = h
		} else {
			delete(p.held, name)
		}
	}
	return out
}

// hold keeps a zone as just published (or left unchanged) with its
// journal and state, after their files were written.
func (p *Publisher) hold(name string, z *zone.Zone, j *datadir.Journal, st *datadir.State) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.held == nil {
		p.held = map[string]*held{}
	}
	p.held[name] = &held{zone: z, journal: j, state: st, files: p.dir.Stamp(name)}
}

// forget drops what is held of a zone.
func (p *Publisher) forget(name string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	delete(p.held, name)
}

// TakeBaseline puts z, a version of the zone this Publisher did not
// publish (another daemon did: a standby following the publisher, or
// taking over), in the data directory as the zone served, and makes it
// the baseline of the next publication: its serial is followed and its
// delegations judged against, but its signatures are neither kept nor
// trusted unchecked, as a zone adopted from another signer's.
func (p *Publisher) TakeBaseline(name string, z *zone.Zone) error {
	if !slices.Contains(p.cfg.Zones.Zones, name) {
		return fmt.Errorf("publish: %s is not one of the zones built", name)
	}
	if err := p.dir.Adopt(name, z); err != nil {
		return fmt.Errorf("publish: %w", err)
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	delete(p.held, name)
	if p.taken == nil {
		p.taken = map[string]uint32{}
	}
	p.taken[name] = z.Serial()
	return nil
}

// takenAt reports whether the zone's version at serial was taken as a
// baseline rather than published by this Publisher.
func (p *Publisher) takenAt(name string, serial uint32) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	s, ok := p.taken[name]
	return ok && s == serial
}
