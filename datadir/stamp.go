package datadir

import (
	"errors"
	"io/fs"
	"os"
)

// Stamp identifies a zone's files (image, journal, state) as they are
// now: a publication renames a new image or state into place, which gives
// a new inode, or appends to the journal, which gives a new size.
type Stamp struct {
	// files are as stat saw them; nil for a file that was not there.
	files [3]fs.FileInfo
	// unknown marks a file that could not be looked at: the stamp is then
	// unlike any other, so that nothing read before is trusted.
	unknown [3]bool
}

// Stamp stats zone name's files.
func (d Dir) Stamp(name string) Stamp {
	var s Stamp
	for i, path := range []string{d.imageFile(name), d.journalFile(name), d.stateFile(name)} {
		fi, err := os.Stat(path)
		switch {
		case err == nil:
			s.files[i] = fi
		case !errors.Is(err, fs.ErrNotExist):
			s.unknown[i] = true
		}
	}
	return s
}

// Same reports whether two stamps are of the same files, unchanged.
func (s Stamp) Same(o Stamp) bool { return s.same(o, 3) }

// SameZone reports whether two stamps are of the same image and journal,
// unchanged: the same zone published. The state alone changes when a
// publication leaves the zone as it was.
func (s Stamp) SameZone(o Stamp) bool { return s.same(o, 2) }

// same compares the first n files.
func (s Stamp) same(o Stamp, n int) bool {
	for i := range n {
		if s.unknown[i] || o.unknown[i] {
			return false
		}
		a, b := s.files[i], o.files[i]
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
