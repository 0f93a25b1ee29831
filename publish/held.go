package publish

import (
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
