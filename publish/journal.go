package publish

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/ptzone/ptzone/internal/atomicfile"
	"github.com/ptzone/ptzone/zone"
	"github.com/ptzone/ptzone/zonegen"
)

// The data directory holds, per zone:
//
//	<zone>.zone     the master file as of the last flush
//	<zone>.zone.bin the binary image as of the last flush
//	<zone>.prev.bin the image before it, for rollback
//	<zone>.journal  the patches published since (and a bounded history
//	                before), appended and synced one by one
//	<zone>.state    what the next build goes on from (zonegen.ZoneState)
//	                and the change token of the snapshot it was built from
//
// The published zone is the image with the journal's patches applied in
// serial order. A publication that changes a thousand domains appends a
// patch of a few hundred kilobytes instead of rewriting the zone; the
// image and master file are rewritten (flushed) when the journal grows
// past Config.FlushAfter, and by every full build.
func journalFile(dir, name string) string { return filepath.Join(dir, name+".journal") }
func stateFile(dir, name string) string   { return filepath.Join(dir, name+".state") }

// journal is a zone's journal file: records of a length, a patch and the
// patch's SHA-256, appended in order.
type journal struct {
	path    string
	patches []*zone.Patch
	// valid is the length of the file up to its last whole record: a
	// record torn by a crash is ignored, and overwritten by the next.
	valid int64
	size  []int64 // of each record
	torn  bool
}

func readJournal(path string) (*journal, error) {
	j := &journal{path: path}
	f, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		return j, nil
	}
	if err != nil {
		return nil, err
	}
	defer f.Close()
	r := bufio.NewReaderSize(f, 1<<20)
	for {
		var head [8]byte
		if _, err := io.ReadFull(r, head[:]); err != nil {
			j.torn = !errors.Is(err, io.EOF)
			return j, nil
		}
		n := binary.LittleEndian.Uint64(head[:])
		if n > 1<<40 {
			j.torn = true
			return j, nil
		}
		body := make([]byte, n+sha256.Size)
		if _, err := io.ReadFull(r, body); err != nil {
			j.torn = true
			return j, nil
		}
		sum := sha256.Sum256(body[:n])
		if !bytes.Equal(sum[:], body[n:]) {
			j.torn = true
			return j, nil
		}
		p, err := zone.ReadPatch(bytes.NewReader(body[:n]))
		if err != nil {
			return nil, fmt.Errorf("%s: record %d: %w", path, len(j.patches)+1, err)
		}
		j.patches = append(j.patches, p)
		rec := int64(8 + len(body))
		j.size = append(j.size, rec)
		j.valid += rec
	}
}

func encodeRecord(p *zone.Patch) ([]byte, error) {
	var body bytes.Buffer
	body.Write(make([]byte, 8))
	if _, err := p.WriteTo(&body); err != nil {
		return nil, err
	}
	b := body.Bytes()
	binary.LittleEndian.PutUint64(b, uint64(len(b)-8))
	sum := sha256.Sum256(b[8:])
	return append(b, sum[:]...), nil
}

// append adds a patch and syncs it: once append returns, the patch is
// published.
func (j *journal) append(p *zone.Patch) error {
	rec, err := encodeRecord(p)
	if err != nil {
		return err
	}
	_, statErr := os.Stat(j.path)
	f, err := os.OpenFile(j.path, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return err
	}
	defer f.Close()
	if err := f.Truncate(j.valid); err != nil {
		return fmt.Errorf("%s: %w", j.path, err)
	}
	if _, err := f.WriteAt(rec, j.valid); err != nil {
		return fmt.Errorf("%s: %w", j.path, err)
	}
	if err := f.Sync(); err != nil {
		return fmt.Errorf("%s: %w", j.path, err)
	}
	if errors.Is(statErr, os.ErrNotExist) {
		if err := atomicfile.SyncDir(filepath.Dir(j.path)); err != nil {
			return err
		}
	}
	j.patches = append(j.patches, p)
	j.size = append(j.size, int64(len(rec)))
	j.valid += int64(len(rec))
	return nil
}

// keep rewrites the journal with its newest patches only, at most max
// octets of them: the history an incremental transfer can start from.
func (j *journal) keep(max int64) error {
	first, total := len(j.patches), int64(0)
	for first > 0 && total+j.size[first-1] <= max {
		first--
		total += j.size[first]
	}
	if first == 0 && !j.torn {
		return nil
	}
	err := atomicfile.Write(j.path, 0o644, func(w io.Writer) error {
		for _, p := range j.patches[first:] {
			rec, err := encodeRecord(p)
			if err != nil {
				return err
			}
			if _, err := w.Write(rec); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	j.patches, j.size, j.valid, j.torn = j.patches[first:], j.size[first:], total, false
	return nil
}

// replay applies to an image the journal's patches that follow it.
func (j *journal) replay(z *zone.Zone) (*zone.Zone, error) {
	from := SerialOf(z)
	serial := from
	var follow []*zone.Patch
	for _, p := range j.patches {
		if p.From != serial {
			if zonegen.SerialGreater(p.To, serial) && serial != 0 {
				return nil, fmt.Errorf("%s: a patch from serial %d to %d, but the zone is at %d: a publication is missing", j.path, p.From, p.To, serial)
			}
			continue // already in the image
		}
		follow = append(follow, p)
		serial = p.To
	}
	if len(follow) == 0 {
		return z, nil
	}
	z, err := zone.ApplyAll(z, follow)
	if err != nil {
		return nil, fmt.Errorf("%s: applying the patches from %d to %d: %w", j.path, from, serial, err)
	}
	if got := SerialOf(z); got != serial {
		return nil, fmt.Errorf("%s: the patches from %d to %d give serial %d", j.path, from, serial, got)
	}
	return z, nil
}

// savedState is a zone's state file.
type savedState struct {
	token string
	zone  *zonegen.ZoneState
}

var stateFileMagic = []byte("PTZPUBST\x00\x01")

// stateWrite is a state file being written beside the one in place while
// the zone is signed and verified (pt's is a hundred megabytes): persist
// commits it after the journal, any other outcome discards it. A state
// lost or torn in a crash fails its checksum (or its serial no longer
// matches the zone's), and the next publication is then a full one: so
// it is written unsynced.
type stateWrite struct {
	done    chan struct{}
	pending *atomicfile.Pending
	err     error
}

func startStateWrite(path, token string, st *zonegen.ZoneState) *stateWrite {
	w := &stateWrite{done: make(chan struct{})}
	go func() {
		defer close(w.done)
		w.pending, w.err = atomicfile.PrepareCache(path, 0o644, func(out io.Writer) error {
			head := append([]byte(nil), stateFileMagic...)
			head = binary.LittleEndian.AppendUint16(head, uint16(len(token)))
			head = append(head, token...)
			if _, err := out.Write(head); err != nil {
				return err
			}
			_, err := st.WriteTo(out)
			return err
		})
	}()
	return w
}

// commit puts the state in place once it is written.
func (w *stateWrite) commit() error {
	<-w.done
	if w.err != nil {
		return w.err
	}
	return w.pending.Commit()
}

// discard removes the state unless it was committed; safe on nil.
func (w *stateWrite) discard() {
	if w == nil {
		return
	}
	<-w.done
	if w.pending != nil {
		w.pending.Discard()
	}
}

// readState reads a state file; a missing one is (nil, nil).
func readState(path string) (*savedState, error) {
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
	return &savedState{token: string(b[2 : 2+n]), zone: st}, nil
}
