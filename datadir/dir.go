package datadir

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"syscall"

	"github.com/ptzone/ptzone/internal/atomicfile"
	"github.com/ptzone/ptzone/internal/failpoint"
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
//
// What a flush writes (master file and image) is written and synced
// beside its place before the version is published, so that a disk too
// full for it fails the publication with nothing of it published and no
// temporary file left; the error then says the file system is full.
// Published means the journal's record appended or, for a version not
// kept in the journal, the image renamed into place: an error after that
// point says the version is published all the same.
func (d Dir) Write(name string, j *Journal, v Version, lim Limits) (string, error) {
	if j == nil {
		return "", fmt.Errorf("publishing %s: its journal was not loaded", name)
	}
	published, err := d.write(name, j, v, lim)
	if err == nil {
		return d.ZoneFile(name), nil
	}
	if errors.Is(err, syscall.ENOSPC) {
		err = fmt.Errorf("%w: the file system holding %s is full (ENOSPC)", err, d.path)
	}
	if published {
		err = fmt.Errorf("%w; serial %d of %s is published all the same", err, v.Zone.Serial(), name)
	} else {
		err = fmt.Errorf("%w; nothing of serial %d of %s was published", err, v.Zone.Serial(), name)
	}
	return "", err
}

// write is Write, saying whether the version was published when it fails.
func (d Dir) write(name string, j *Journal, v Version, lim Limits) (published bool, err error) {
	// The journal's record: an incremental version's patch, or a full
	// one's difference from the version before. A patch as large as the
	// zone (new keys re-sign everything) is not kept: transfers fall back
	// to AXFR.
	patch := v.Patch
	if patch == nil && v.Prev != nil {
		diff, err := zone.DiffPatch(v.Prev, v.Zone, v.Prev.Serial(), v.Zone.Serial())
		if err != nil {
			return false, err
		}
		if int64(diff.Old.Stats().Bytes+diff.New.Stats().Bytes) < lim.journalKeep() {
			patch = diff
		}
	}
	var rec []byte
	if patch != nil {
		if rec, err = encodeRecord(patch); err != nil {
			return false, fmt.Errorf("publishing %s: %w", name, err)
		}
	}
	var img *imageWrite
	if v.Patch == nil || j.valid+int64(len(rec)) > lim.flushAfter() {
		if img, err = d.prepareImage(name, v.Zone); err != nil {
			return false, err
		}
		defer img.discard()
	}
	failpoint.Kill(FailBeforeJournal)
	if rec != nil {
		if err := j.appendRecord(rec, patch.From, patch.To); err != nil {
			return false, fmt.Errorf("publishing %s: %w", name, err)
		}
		published = true
		failpoint.Kill(FailJournalAppended)
	}
	if img != nil {
		if err := img.commit(); err != nil {
			return published, err
		}
		published = true
		if err := j.keep(lim.journalKeep()); err != nil {
			return true, fmt.Errorf("trimming the journal of %s: %w", name, err)
		}
		failpoint.Kill(FailJournalTrimmed)
	}
	if v.State != nil {
		if err := v.State.Commit(); err != nil {
			return true, fmt.Errorf("writing the state of %s: %w", name, err)
		}
		failpoint.Kill(FailStateCommitted)
	}
	return true, nil
}

// imageWrite is a zone's master file and image written beside their
// places, not yet renamed into them.
type imageWrite struct {
	d           Dir
	name        string
	text, image *atomicfile.Pending
}

// prepareImage writes the zone's master file and image beside their
// places, synced.
func (d Dir) prepareImage(name string, z *zone.Zone) (*imageWrite, error) {
	w := &imageWrite{d: d, name: name}
	var err error
	w.text, err = atomicfile.Prepare(d.ZoneFile(name), 0o644, func(out io.Writer) error {
		_, err := z.WriteTo(out)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("writing %s: %w", d.ZoneFile(name), err)
	}
	if w.image, err = atomicfile.Prepare(d.imageFile(name), 0o644, z.WriteBinary); err != nil {
		w.text.Discard()
		return nil, fmt.Errorf("writing %s: %w", d.imageFile(name), err)
	}
	return w, nil
}

// commit puts the master file and the image in place, the image last: it
// is what a restart serves. The image before is kept, for rollback and
// for a server that finds the new one damaged.
func (w *imageWrite) commit() error {
	d, name := w.d, w.name
	if err := w.text.Commit(); err != nil {
		return fmt.Errorf("writing %s: %w", d.ZoneFile(name), err)
	}
	failpoint.Kill(FailZoneFileWritten)
	image, prev := d.imageFile(name), d.prevFile(name)
	// The image in place becomes the previous one, unless it is already
	// (a crash after this step): renaming a link over the same file
	// would leave the link. A crash between the link and its rename
	// leaves a temporary file the next publication removes (Prepare).
	if cur, err := os.Stat(image); err == nil {
		if before, err := os.Stat(prev); err != nil || !os.SameFile(cur, before) {
			tmp := filepath.Join(d.path, "."+name+".prev.bin.tmp-link")
			os.Remove(tmp)
			if err := os.Link(image, tmp); err != nil {
				return fmt.Errorf("keeping the previous image of %s: %w", name, err)
			}
			if err := os.Rename(tmp, prev); err != nil {
				return fmt.Errorf("keeping the previous image of %s: %w", name, err)
			}
		}
	}
	failpoint.Kill(FailImageBeforeRename)
	if err := w.image.Commit(); err != nil {
		return fmt.Errorf("writing %s: %w", image, err)
	}
	failpoint.Kill(FailImageRenamed)
	return nil
}

// discard removes what was not committed; safe after commit.
func (w *imageWrite) discard() {
	w.text.Discard()
	w.image.Discard()
}

// writeImage puts the zone's master file and image in place.
func (d Dir) writeImage(name string, z *zone.Zone) error {
	w, err := d.prepareImage(name, z)
	if err != nil {
		return err
	}
	defer w.discard()
	return w.commit()
}
