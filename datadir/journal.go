package datadir

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

// Journal is a zone's journal file: records of a length, a patch and the
// patch's SHA-256, appended in order. Reading it reads each record's
// serials only; a record's patch is read when it is needed (replay needs
// those an image lacks), and checked then: after a few flushes most of a
// journal is history an image holds already, hundreds of megabytes for
// pt that a publication does not need.
type Journal struct {
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
func readJournal(path string) (*Journal, error) {
	j := &Journal{path: path}
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
func (j *Journal) readRecord(f *os.File, i int) (*zone.Patch, error) {
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
func (j *Journal) recordBody(f *os.File, i int) ([]byte, error) {
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
func (j *Journal) append(p *zone.Patch) error {
	rec, err := encodeRecord(p)
	if err != nil {
		return err
	}
	return j.appendRecord(rec, p.From, p.To)
}

// appendRecord adds an encoded record, the patch from serial from to
// serial to, and syncs it. A record that cannot be written whole (the
// disk full) is cut off again, so that the file ends with the last
// record published (and a journal it created is removed).
func (j *Journal) appendRecord(rec []byte, from, to uint32) error {
	_, statErr := os.Stat(j.path)
	created := errors.Is(statErr, os.ErrNotExist)
	f, err := os.OpenFile(j.path, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return err
	}
	defer f.Close()
	undo := func(err error) error {
		if created {
			os.Remove(j.path)
		} else {
			f.Truncate(j.valid)
		}
		return fmt.Errorf("%s: %w", j.path, err)
	}
	if err := f.Truncate(j.valid); err != nil {
		return fmt.Errorf("%s: %w", j.path, err)
	}
	if _, err := f.WriteAt(rec, j.valid); err != nil {
		return undo(err)
	}
	if err := f.Sync(); err != nil {
		return undo(err)
	}
	if created {
		if err := atomicfile.SyncDir(filepath.Dir(j.path)); err != nil {
			return undo(err)
		}
	}
	j.records = append(j.records, journalRecord{at: j.valid, size: int64(len(rec)), from: from, to: to})
	j.valid += int64(len(rec))
	j.torn = false
	return nil
}

// keep rewrites the journal with its newest records only, at most max
// octets of them: the history an incremental transfer can start from.
// The records are copied as they are, not read.
func (j *Journal) keep(max int64) error {
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
func (j *Journal) replay(z *zone.Zone) (*zone.Zone, error) {
	from := z.Serial()
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
	if got := z.Serial(); got != serial {
		return nil, fmt.Errorf("%s: the patches from %d to %d give serial %d", j.path, from, serial, got)
	}
	return z, nil
}

// readPatches reads the patches of the records given, in their order.
func (j *Journal) readPatches(records []int) ([]*zone.Patch, error) {
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

// Patches returns the patches from serial from to serial to, in order,
// read when asked: a server answers incremental transfers from them
// (authserver.History). False when the journal does not hold them all,
// or one does not read.
func (j *Journal) Patches(from, to uint32) ([]*zone.Patch, bool) {
	var chain []int
	serial := from
	for i, r := range j.records {
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
	patches, err := j.readPatches(chain)
	return patches, err == nil
}
