package publish

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"

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
// patch's SHA-256, appended in order. Reading it reads each record's
// serials only; a record's patch is read when it is needed (replay needs
// those an image lacks), and checked then: after a few flushes most of a
// journal is history an image holds already, hundreds of megabytes for
// pt that a publication does not need.
type journal struct {
	path    string
	records []journalRecord
	// valid is the length of the file up to its last whole record: a
	// record torn by a crash is ignored, and overwritten by the next.
	valid int64
	torn  bool
}

// journalRecord is one record of a journal file.
type journalRecord struct {
	at, size int64 // where it lies in the file, length and checksum included
	from, to uint32
}

// recordOverhead is a record's length prefix and checksum.
const recordOverhead = 8 + sha256.Size

// readJournal reads where a journal's records lie and which serials each
// joins. The last record is checked whole: a crash while it was appended
// can leave it torn, and it is then ignored (the next append overwrites
// it). The others are checked when their patches are read.
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
	fi, err := f.Stat()
	if err != nil {
		return nil, err
	}
	end := fi.Size()
	head := make([]byte, 8+zone.PatchHeaderSize)
	for at := int64(0); at < end; {
		if _, err := f.ReadAt(head, at); err != nil {
			j.torn = true
			break
		}
		n := binary.LittleEndian.Uint64(head)
		if n < zone.PatchHeaderSize || n > uint64(max(0, end-at-recordOverhead)) {
			j.torn = true // cut short
			break
		}
		from, to, err := zone.PatchSerials(head[8:])
		if err != nil {
			j.torn = true // a record whose head was not written
			break
		}
		rec := journalRecord{at: at, size: int64(n) + recordOverhead, from: from, to: to}
		j.records = append(j.records, rec)
		at += rec.size
	}
	if last := len(j.records) - 1; last >= 0 {
		if _, err := j.recordBody(f, last); err != nil {
			j.records, j.torn = j.records[:last], true
		}
	}
	for _, r := range j.records {
		j.valid += r.size
	}
	return j, nil
}

// readRecord reads and checks record i's patch.
func (j *journal) readRecord(f *os.File, i int) (*zone.Patch, error) {
	body, err := j.recordBody(f, i)
	if err != nil {
		return nil, err
	}
	p, err := zone.ReadPatch(bytes.NewReader(body))
	if err != nil {
		r := j.records[i]
		return nil, fmt.Errorf("%s: record %d (serial %d to %d): %w", j.path, i+1, r.from, r.to, err)
	}
	return p, nil
}

// recordBody reads record i and returns its patch's octets once they
// match their checksum.
func (j *journal) recordBody(f *os.File, i int) ([]byte, error) {
	r := j.records[i]
	b := make([]byte, r.size)
	if _, err := f.ReadAt(b, r.at); err != nil {
		return nil, fmt.Errorf("%s: record %d (serial %d to %d): %w", j.path, i+1, r.from, r.to, err)
	}
	body, sum := b[8:r.size-sha256.Size], b[r.size-sha256.Size:]
	if got := sha256.Sum256(body); !bytes.Equal(got[:], sum) {
		return nil, fmt.Errorf("%s: record %d (serial %d to %d): checksum mismatch", j.path, i+1, r.from, r.to)
	}
	return body, nil
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
	j.records = append(j.records, journalRecord{at: j.valid, size: int64(len(rec)), from: p.From, to: p.To})
	j.valid += int64(len(rec))
	j.torn = false
	return nil
}

// keep rewrites the journal with its newest records only, at most max
// octets of them: the history an incremental transfer can start from.
// The records are copied as they are, not read.
func (j *journal) keep(max int64) error {
	first, total := len(j.records), int64(0)
	for first > 0 && total+j.records[first-1].size <= max {
		first--
		total += j.records[first].size
	}
	if first == 0 && !j.torn {
		return nil
	}
	kept := slices.Clone(j.records[first:])
	if len(kept) > 0 {
		old, err := os.Open(j.path)
		if err != nil {
			return err
		}
		defer old.Close()
		err = atomicfile.Write(j.path, 0o644, func(w io.Writer) error {
			_, err := io.Copy(w, io.NewSectionReader(old, kept[0].at, total))
			return err
		})
		if err != nil {
			return err
		}
	} else if err := atomicfile.Write(j.path, 0o644, func(io.Writer) error { return nil }); err != nil {
		return err
	}
	shift := int64(0)
	if len(kept) > 0 {
		shift = kept[0].at
	}
	for i := range kept {
		kept[i].at -= shift
	}
	j.records, j.valid, j.torn = kept, total, false
	return nil
}

// replay applies to an image the journal's patches that follow it,
// reading them (and no other) on as many goroutines as there are.
func (j *journal) replay(z *zone.Zone) (*zone.Zone, error) {
	from := SerialOf(z)
	serial := from
	var follow []int
	for i, r := range j.records {
		if r.from != serial {
			if zonegen.SerialGreater(r.to, serial) && serial != 0 {
				return nil, fmt.Errorf("%s: a patch from serial %d to %d, but the zone is at %d: a publication is missing", j.path, r.from, r.to, serial)
			}
			continue // already in the image
		}
		follow = append(follow, i)
		serial = r.to
	}
	if len(follow) == 0 {
		return z, nil
	}
	patches, err := j.readPatches(follow)
	if err != nil {
		return nil, err
	}
	z, err = zone.ApplyAll(z, patches)
	if err != nil {
		return nil, fmt.Errorf("%s: applying the patches from %d to %d: %w", j.path, from, serial, err)
	}
	if got := SerialOf(z); got != serial {
		return nil, fmt.Errorf("%s: the patches from %d to %d give serial %d", j.path, from, serial, got)
	}
	return z, nil
}

// readPatches reads the patches of the records given, in their order.
func (j *journal) readPatches(records []int) ([]*zone.Patch, error) {
	f, err := os.Open(j.path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	patches := make([]*zone.Patch, len(records))
	errs := make([]error, len(records))
	var next atomic.Int64
	var wg sync.WaitGroup
	for range min(runtime.GOMAXPROCS(0), len(records)) {
		wg.Go(func() {
			for {
				k := int(next.Add(1) - 1)
				if k >= len(records) {
					return
				}
				patches[k], errs[k] = j.readRecord(f, records[k])
			}
		})
	}
	wg.Wait()
	return patches, errors.Join(errs...)
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
