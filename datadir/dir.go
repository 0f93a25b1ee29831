package datadir

import (
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/ptzone/ptzone/internal/atomicfile"
	"github.com/ptzone/ptzone/zone"
)

// ZonesDir is where a data directory keeps the published zones.
func ZonesDir(dataDir string) string { return filepath.Join(dataDir, "zones") }

// KeysDir is where a data directory keeps the zones' keys, unless the
// configuration puts them elsewhere.
func KeysDir(dataDir string) string { return filepath.Join(dataDir, "keys") }

// Dir is a directory zones are published into: a data directory's
// ZonesDir, or the directory a build is asked to write to.
type Dir struct{ path string }

// New returns the directory at path; nothing is read or made until asked.
func New(path string) Dir { return Dir{path: path} }

// Path is where the directory is.
func (d Dir) Path() string { return d.path }

// ZoneFile is where zone name's master file is written.
func (d Dir) ZoneFile(name string) string { return filepath.Join(d.path, name+".zone") }

func (d Dir) imageFile(name string) string   { return filepath.Join(d.path, name+".zone.bin") }
func (d Dir) prevFile(name string) string    { return filepath.Join(d.path, name+".prev.bin") }
func (d Dir) journalFile(name string) string { return filepath.Join(d.path, name+".journal") }
func (d Dir) stateFile(name string) string   { return filepath.Join(d.path, name+".state") }

// Prepare makes the directory ready for a publication: it is made if
// need be, and the temporary files a crash left in it are removed (only
// one publication at a time writes into it, so any there are stale).
func (d Dir) Prepare() error {
	if err := os.MkdirAll(d.path, 0o755); err != nil {
		return err
	}
	return atomicfile.RemoveStale(d.path)
}

// Limits bound a zone's journal.
type Limits struct {
	// FlushAfter: when a zone's journal passes this many octets, the
	// publication rewrites the image and master file (default 64 MiB).
	FlushAfter int64
	// JournalKeep bounds the history a flush leaves in the journal, for
	// incremental transfers (default 256 MiB).
	JournalKeep int64
}

func (l Limits) flushAfter() int64 {
	if l.FlushAfter > 0 {
		return l.FlushAfter
	}
	return 64 << 20
}

func (l Limits) journalKeep() int64 {
	if l.JournalKeep > 0 {
		return l.JournalKeep
	}
	return 256 << 20
}

// Version is a new version of a zone, to put in place of the one Load
// returned.
type Version struct {
	// Zone is the zone to publish.
	Zone *zone.Zone
	// Patch, for an incremental build, is the change from the version
	// before; nil for a full build.
	Patch *zone.Patch
	// Prev is the version before, if any: a full build keeps the
	// difference from it in the journal, for incremental transfers.
	Prev *zone.Zone
	// State, when not nil, is the zone's build state being written
	// (StartState): it is put in place last.
	State *StateWrite
}

// Write publishes a new version of zone name into the directory, after
// the version whose journal j is (Load's). An incremental version's patch
// is appended to the journal, which publishes it, and the image and master
// file are rewritten (flushed) once the journal has grown past
// lim.FlushAfter; a full version appends its difference from Prev (for
// incremental transfers, unless it is as large as the zone) and is
// flushed. The state comes last: a crash before it costs the next
// publication a full build, nothing more. It returns the master file's
// path.
func (d Dir) Write(name string, j *Journal, v Version, lim Limits) (string, error) {
	if j == nil {
		return "", fmt.Errorf("publishing %s: its journal was not loaded", name)
	}
	if v.Patch != nil {
		if err := j.append(v.Patch); err != nil {
			return "", fmt.Errorf("publishing %s: %w", name, err)
		}
		if j.valid > lim.flushAfter() {
			if err := d.flush(name, v.Zone, j, lim); err != nil {
				return "", err
			}
		}
	} else {
		if prev := v.Prev; prev != nil {
			patch, err := zone.DiffPatch(prev, v.Zone, prev.Serial(), v.Zone.Serial())
			if err != nil {
				return "", err
			}
			// A patch as large as the zone (new keys re-sign everything)
			// is not kept: transfers fall back to AXFR.
			if int64(patch.Old.Stats().Bytes+patch.New.Stats().Bytes) < lim.journalKeep() {
				if err := j.append(patch); err != nil {
					return "", fmt.Errorf("publishing %s: %w", name, err)
				}
			}
		}
		if err := d.flush(name, v.Zone, j, lim); err != nil {
			return "", err
		}
	}
	if v.State != nil {
		if err := v.State.Commit(); err != nil {
			return "", fmt.Errorf("writing the state of %s: %w", name, err)
		}
	}
	return d.ZoneFile(name), nil
}

// flush writes the zone's master file and image, then trims the journal
// to the history it keeps.
func (d Dir) flush(name string, z *zone.Zone, j *Journal, lim Limits) error {
	if err := d.writeImage(name, z); err != nil {
		return err
	}
	if err := j.keep(lim.journalKeep()); err != nil {
		return fmt.Errorf("trimming the journal of %s: %w", name, err)
	}
	return nil
}

// writeImage puts the zone's master file and image in place, the image
// last: it is what a restart serves. The image before is kept, for
// rollback and for a server that finds the new one damaged.
func (d Dir) writeImage(name string, z *zone.Zone) error {
	if err := atomicfile.Write(d.ZoneFile(name), 0o644, func(w io.Writer) error {
		_, err := z.WriteTo(w)
		return err
	}); err != nil {
		return fmt.Errorf("writing %s: %w", d.ZoneFile(name), err)
	}
	image, prev := d.imageFile(name), d.prevFile(name)
	if _, err := os.Stat(image); err == nil {
		tmp := prev + ".tmp"
		os.Remove(tmp)
		if err := os.Link(image, tmp); err != nil {
			return fmt.Errorf("keeping the previous image of %s: %w", name, err)
		}
		if err := os.Rename(tmp, prev); err != nil {
			return fmt.Errorf("keeping the previous image of %s: %w", name, err)
		}
	}
	if err := atomicfile.Write(image, 0o644, z.WriteBinary); err != nil {
		return fmt.Errorf("writing %s: %w", image, err)
	}
	return nil
}
