package datadir

import (
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/ptzone/ptzone/authserver"
	"github.com/ptzone/ptzone/zone"
)

// Damage says what Load does with a zone's file it cannot use.
type Damage int

const (
	// Refuse makes a damaged file an error: a publication goes on from
	// exactly what was published, or not at all.
	Refuse Damage = iota
	// PassOver loads the newest good version, as a server starting or
	// following the directory does: the previous image when the image is
	// damaged, the image alone when the journal does not apply. Each
	// file passed over is reported (Published.PassedOver); it is an
	// error only when no version of a zone can be read.
	PassOver
)

// Published is one zone as Load found it.
type Published struct {
	Name string
	// Zone is the zone as last published: the image with the journal's
	// patches applied. Nil for a zone never published.
	Zone *zone.Zone
	// Journal is the zone's journal, never nil: what its next
	// publication goes on from, and the history a server answers
	// incremental transfers from.
	Journal *Journal
	// PassedOver names each file not used, and why (PassOver only).
	PassedOver []error
}

// Publication is zones as last published into a directory, with the
// stamps of their files as they were before the zones were read.
type Publication struct {
	dir    Dir
	zones  []*Published
	stamps map[string]Stamp
}

// ErrNothingPublished: no zone was ever published into the directory.
var ErrNothingPublished = errors.New("no published zone")

// Load reads the zones named as last published into the directory, as
// damage says. Each zone's stamp is taken before it is read: a
// publication while it is read changes the stamp, and Changed then says
// so.
func (d Dir) Load(names []string, damage Damage) (*Publication, error) {
	p := d.stamped(names)
	for _, name := range names {
		name = strings.TrimSuffix(name, ".")
		var z *Published
		var err error
		if damage == PassOver {
			z, err = d.loadGood(name)
		} else {
			z, err = d.loadExact(name)
		}
		if err != nil {
			return nil, err
		}
		p.zones = append(p.zones, z)
	}
	return p, nil
}

// stamped returns a Publication of no zone with the stamps of the zones
// named: what a server that serves nothing yet compares with.
func (d Dir) stamped(names []string) *Publication {
	p := &Publication{dir: d, stamps: map[string]Stamp{}}
	for _, name := range names {
		name = strings.TrimSuffix(name, ".")
		p.stamps[name] = d.Stamp(name)
	}
	return p
}

// loadExact reads a zone's image and applies its journal, or fails.
func (d Dir) loadExact(name string) (*Published, error) {
	fail := func(err error) (*Published, error) {
		return nil, fmt.Errorf("the last published %s: %w", name, err)
	}
	j, err := readJournal(d.journalFile(name))
	if err != nil {
		return fail(err)
	}
	p := &Published{Name: name, Journal: j}
	z, err := readImage(d.imageFile(name))
	if errors.Is(err, os.ErrNotExist) {
		return p, nil
	}
	if err != nil {
		return fail(err)
	}
	if p.Zone, err = j.replay(z); err != nil {
		return fail(err)
	}
	return p, nil
}

// loadGood reads the newest good version of a zone: the image with the
// journal applied; if the image is damaged, the previous image; if the
// journal does not apply, the image alone.
func (d Dir) loadGood(name string) (*Published, error) {
	p := &Published{Name: name}
	j, err := readJournal(d.journalFile(name))
	if err != nil {
		p.PassedOver = append(p.PassedOver, fmt.Errorf("%s: %w", d.journalFile(name), err))
		j = &Journal{path: d.journalFile(name)}
	}
	z, err := readImage(d.imageFile(name))
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			if _, perr := os.Stat(d.prevFile(name)); perr != nil {
				return &Published{Name: name, Journal: j}, nil // never published
			}
		}
		p.PassedOver = append(p.PassedOver, err)
		if z, err = readImage(d.prevFile(name)); err != nil {
			return nil, fmt.Errorf("zone %s: no good version in %s: %w", name, d.path, errors.Join(append(p.PassedOver, err)...))
		}
	}
	if replayed, err := j.replay(z); err != nil {
		p.PassedOver = append(p.PassedOver, err)
	} else {
		z = replayed
	}
	p.Zone, p.Journal = z, j
	return p, nil
}

func readImage(path string) (*zone.Zone, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	z, err := zone.ReadBinary(f) // buffered inside; a file tells its size
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return z, nil
}

// Zone returns the zone name as loaded; nil if it was not asked for.
func (p *Publication) Zone(name string) *Published {
	name = strings.TrimSuffix(name, ".")
	for _, z := range p.zones {
		if z.Name == name {
			return z
		}
	}
	return nil
}

// Snapshot returns the zones published, for a server to answer from,
// each answering incremental transfers from its journal. It is an error
// wrapping ErrNothingPublished when none was.
func (p *Publication) Snapshot() (*authserver.Snapshot, error) {
	var served []*Published
	var zones []*zone.Zone
	for _, z := range p.zones {
		if z.Zone != nil {
			served = append(served, z)
			zones = append(zones, z.Zone)
		}
	}
	if len(zones) == 0 {
		return nil, fmt.Errorf("%w in %s", ErrNothingPublished, p.dir.path)
	}
	snap, err := authserver.NewSnapshot(zones...)
	if err != nil {
		return nil, err
	}
	for _, z := range served {
		if snap, err = snap.WithHistory(z.Zone.Origin(), z.Journal); err != nil {
			return nil, err
		}
	}
	return snap, nil
}

// Changed reports whether the image or journal of a zone changed since p
// was read: a publication landed, and the zones read are no longer the
// ones published.
func (p *Publication) Changed() bool {
	for name, old := range p.stamps {
		if !old.SameZone(p.dir.Stamp(name)) {
			return true
		}
	}
	return false
}

// ErrNoEarlierVersion: the directory keeps no version of the zone before
// the one published.
var ErrNoEarlierVersion = errors.New("no earlier version of the zone is kept")

// Before returns the zone as published before the version p holds, which
// Load read exactly (Refuse): the journal's last patch undone, or else the
// image the last flush kept, with the journal's patches after it. It is
// an error wrapping ErrNoEarlierVersion when the directory keeps none.
func (d Dir) Before(p *Published) (*zone.Zone, error) {
	current, j := p.Zone, p.Journal
	if current == nil {
		return nil, ErrNoEarlierVersion
	}
	serial := current.Serial()
	for i := len(j.records) - 1; i >= 0; i-- {
		if r := j.records[i]; r.to == serial && r.from != serial {
			patches, err := j.readPatches([]int{i})
			if err != nil {
				return nil, err
			}
			patch := patches[0]
			undo := &zone.Patch{From: patch.To, To: patch.From, Old: patch.New, New: patch.Old}
			return undo.Apply(current)
		}
	}
	z, err := readImage(d.prevFile(p.Name))
	if errors.Is(err, os.ErrNotExist) {
		return nil, ErrNoEarlierVersion
	}
	if err != nil {
		return nil, err
	}
	if z, err = j.replay(z); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrNoEarlierVersion, err)
	}
	if z.Serial() == serial {
		return nil, ErrNoEarlierVersion
	}
	return z, nil
}
