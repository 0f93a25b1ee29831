package publish

import (
	"errors"
	"fmt"
	"os"

	"github.com/ptzone/ptzone/zone"
)

// Served is a zone as a server starts from the data directory, before it
// consults the database or anything else.
type Served struct {
	Zone *zone.Zone
	// History answers incremental transfers from the journal.
	History *JournalHistory
	// PassedOver names each file not used, and why: a damaged image
	// (the previous one is served), a journal that does not apply (the
	// image is served as it is).
	PassedOver []error
}

// LoadServed returns the newest good published version of a zone in
// dir: the image with the journal applied; if the image is damaged, the
// previous image; if the journal does not apply, the image alone. It is
// an error only when no version can be read; a zone never published is
// (nil, nil).
func LoadServed(dir, name string) (*Served, error) {
	s := &Served{}
	j, err := readJournal(journalFile(dir, name))
	if err != nil {
		s.PassedOver = append(s.PassedOver, fmt.Errorf("%s: %w", journalFile(dir, name), err))
		j = &journal{path: journalFile(dir, name)}
	}
	z, err := readImage(imageFile(dir, name))
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			if _, perr := os.Stat(prevFile(dir, name)); perr != nil {
				return nil, nil // never published
			}
		}
		s.PassedOver = append(s.PassedOver, err)
		if z, err = readImage(prevFile(dir, name)); err != nil {
			return nil, fmt.Errorf("zone %s: no good version in %s: %w", name, dir, errors.Join(append(s.PassedOver, err)...))
		}
	}
	if replayed, err := j.replay(z); err != nil {
		s.PassedOver = append(s.PassedOver, err)
	} else {
		z = replayed
	}
	s.Zone, s.History = z, &JournalHistory{j: j}
	return s, nil
}

func readImage(path string) (*zone.Zone, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	z, err := zone.ReadBinary(f)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return z, nil
}

// JournalHistory gives incremental transfers the patches a zone's journal
// holds (authserver.History), read when asked for.
type JournalHistory struct{ j *journal }

// Patches returns the patches from serial from to serial to, in order;
// false when the journal does not hold them all, or one does not read.
func (h *JournalHistory) Patches(from, to uint32) ([]*zone.Patch, bool) {
	var chain []int
	serial := from
	for i, r := range h.j.records {
		if r.from == serial {
			chain = append(chain, i)
			serial = r.to
			if serial == to {
				break
			}
		}
	}
	if serial != to || len(chain) == 0 {
		return nil, false
	}
	patches, err := h.j.readPatches(chain)
	return patches, err == nil
}

// Stamp identifies the files a zone is served from (its image and
// journal) as they are now: a publication renames a new image in place or
// appends to the journal, and the stamp changes.
type Stamp struct{ files fileStamps }

// StampOf stats a zone's image and journal in dir.
func StampOf(dir, name string) (Stamp, error) {
	var s Stamp
	for i, path := range []string{imageFile(dir, name), journalFile(dir, name)} {
		fi, err := os.Stat(path)
		if err == nil {
			s.files[i] = fi
		} else if !errors.Is(err, os.ErrNotExist) {
			return s, err
		}
	}
	return s, nil
}

// Same reports whether two stamps are of the same files, unchanged.
func (s Stamp) Same(o Stamp) bool { return s.files.same(o.files) }
