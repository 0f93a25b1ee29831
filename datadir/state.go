package datadir

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/ptzone/ptzone/internal/atomicfile"
	"github.com/ptzone/ptzone/zonegen"
)

// State is a zone's build state as its file keeps it: what the next
// build goes on from, and the change token of the registry snapshot it
// was built from.
type State struct {
	Token string
	Zone  *zonegen.ZoneState
}

var stateFileMagic = []byte("PTZPUBST\x00\x01")

// StateWrite is a state file being written beside the one in place while
// the zone is signed and verified (pt's is a hundred megabytes): Write
// commits it after the journal, any other outcome discards it. A state
// lost or torn in a crash fails its checksum (or its serial no longer
// matches the zone's), and the next publication is then a full one: so
// it is written unsynced.
type StateWrite struct {
	done    chan struct{}
	pending *atomicfile.Pending
	err     error
}

// StartState starts writing zone name's state beside the one in place;
// nothing replaces it until Commit.
func (d Dir) StartState(name string, st State) *StateWrite {
	path := d.stateFile(name)
	w := &StateWrite{done: make(chan struct{})}
	go func() {
		defer close(w.done)
		w.pending, w.err = atomicfile.PrepareCache(path, 0o644, func(out io.Writer) error {
			head := append([]byte(nil), stateFileMagic...)
			head = binary.LittleEndian.AppendUint16(head, uint16(len(st.Token)))
			head = append(head, st.Token...)
			if _, err := out.Write(head); err != nil {
				return err
			}
			_, err := st.Zone.WriteTo(out)
			return err
		})
	}()
	return w
}

// Commit puts the state in place once it is written.
func (w *StateWrite) Commit() error {
	<-w.done
	if w.err != nil {
		return w.err
	}
	return w.pending.Commit()
}

// Discard removes the state unless it was committed; safe on nil.
func (w *StateWrite) Discard() {
	if w == nil {
		return
	}
	<-w.done
	if w.pending != nil {
		w.pending.Discard()
	}
}

// ReadState reads zone name's state; a missing one is (nil, nil).
func (d Dir) ReadState(name string) (*State, error) {
	path := d.stateFile(name)
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	if !bytes.HasPrefix(b, stateFileMagic) || len(b) < len(stateFileMagic)+2 {
		return nil, fmt.Errorf("%s: not a zone state file", path)
	}
	b = b[len(stateFileMagic):]
	n := int(binary.LittleEndian.Uint16(b))
	if len(b) < 2+n {
		return nil, fmt.Errorf("%s: truncated", path)
	}
	st, err := zonegen.UnmarshalZoneState(b[2+n:])
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return &State{Token: string(b[2 : 2+n]), Zone: st}, nil
}

// RemoveState removes zone name's state, if there is one: the next
// publication of the zone is then a full build.
func (d Dir) RemoveState(name string) error {
	if err := os.Remove(d.stateFile(name)); err != nil && !errors.Is(err, os.ErrNotExist) {
		return err
	}
	return nil
}
