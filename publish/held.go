package publish

import (
	"errors"
	"io/fs"
	"os"

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
	journal *journal
	state   *savedState
	files   fileStamps
}

// fileStamps are the image, journal and state files of a zone as stat
// saw them; nil for a file that was not there.
type fileStamps [3]fs.FileInfo

// stamps stats a zone's files; ok is false when one could not be
// looked at (then nothing held of the zone can be trusted).
func (p *Publisher) stamps(name string) (s fileStamps, ok bool) {
	dir := p.cfg.OutDir
	for i, path := range []string{imageFile(dir, name), journalFile(dir, name), stateFile(dir, name)} {
		fi, err := os.Stat(path)
		if err == nil {
			s[i] = fi
		} else if !errors.Is(err, fs.ErrNotExist) {
			return s, false
		}
	}
	return s, true
}

// same reports whether two stamps are of the same files, unchanged: an
// atomic rename gives a new inode, an append a new size.
func (s fileStamps) same(o fileStamps) bool {
	for i := range s {
		a, b := s[i], o[i]
		if a == nil || b == nil {
			if a != b {
				return false
			}
			continue
		}
		if !os.SameFile(a, b) || a.Size() != b.Size() || !a.ModTime().Equal(b.ModTime()) {
			return false
		}
	}
	return true
}

// heldZones returns the zones held in memory whose files are still as
// this Publisher left them, and forgets the others.
func (p *Publisher) heldZones() map[string]*held {
	p.mu.Lock()
	defer p.mu.Unlock()
	out := map[string]*held{}
	for name, h := range p.held {
		if now, ok := p.stamps(name); ok && h.files.same(now) {
			out[name] = h
		} else {
			delete(p.held, name)
		}
	}
	return out
}

// hold keeps a zone as just published (or left unchanged) with its
// journal and state, after their files were written.
func (p *Publisher) hold(name string, z *zone.Zone, j *journal, st *savedState) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.held == nil {
		p.held = map[string]*held{}
	}
	files, ok := p.stamps(name)
	if !ok {
		delete(p.held, name)
		return
	}
	p.held[name] = &held{zone: z, journal: j, state: st, files: files}
}

// forget drops what is held of a zone.
func (p *Publisher) forget(name string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	delete(p.held, name)
}
