package zone

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math"
)

// The binary image is a zone's arenas as they are in memory, so that a
// published zone loads in the time it takes to read the file: the
// authoritative server serves the last good zone at once on restart, and
// the publisher compares with it, without parsing millions of text lines.
//
//	magic "PTZONE\x00\x01"
//	origin key: uint16 length, bytes
//	lengths: keys, owners+1, sets, data (uint64 each)
//	keys, keyAt (uint32 each), setAt (uint32 each), sets (12 octets each), data
//	SHA-256 of everything before it
//
// Integers are little-endian.
var binaryMagic = []byte("PTZONE\x00\x01")

// ErrCorrupt reports a binary image that fails its checksum or does not
// describe a well-formed zone.
var ErrCorrupt = errors.New("corrupt zone image")

// WriteBinary writes the zone's binary image.
func (z *Zone) WriteBinary(w io.Writer) error {
	h := sha256.New()
	bw := bufio.NewWriterSize(io.MultiWriter(w, h), 1<<20)
	var buf []byte
	buf = append(buf, binaryMagic...)
	buf = binary.LittleEndian.AppendUint16(buf, uint16(len(z.origin)))
	buf = append(buf, z.origin...)
	for _, n := range []int{len(z.keys), len(z.keyAt), len(z.sets), len(z.data)} {
		buf = binary.LittleEndian.AppendUint64(buf, uint64(n))
	}
	bw.Write(buf)
	bw.Write(z.keys)
	writeUint32s(bw, z.keyAt)
	writeUint32s(bw, z.setAt)
	chunk := make([]byte, 0, 12*4096)
	for i, s := range z.sets {
		chunk = binary.LittleEndian.AppendUint16(chunk, s.typ)
		chunk = binary.LittleEndian.AppendUint16(chunk, s.count)
		chunk = binary.LittleEndian.AppendUint32(chunk, s.ttl)
		chunk = binary.LittleEndian.AppendUint32(chunk, s.off)
		if len(chunk) == cap(chunk) || i == len(z.sets)-1 {
			bw.Write(chunk)
			chunk = chunk[:0]
		}
	}
	bw.Write(z.data)
	if err := bw.Flush(); err != nil {
		return err
	}
	_, err := w.Write(h.Sum(nil))
	return err
}

func writeUint32s(w io.Writer, v []uint32) {
	chunk := make([]byte, 0, 4*8192)
	for i, x := range v {
		chunk = binary.LittleEndian.AppendUint32(chunk, x)
		if len(chunk) == cap(chunk) || i == len(v)-1 {
			w.Write(chunk)
			chunk = chunk[:0]
		}
	}
}

// ReadBinary reads a binary image, checks its checksum and that it
// describes a well-formed zone, and returns the zone.
func ReadBinary(r io.Reader) (*Zone, error) {
	size := remaining(r)
	h := sha256.New()
	br := bufio.NewReaderSize(r, 1<<20)
	tr := io.TeeReader(br, h)
	head := make([]byte, len(binaryMagic)+2)
	if _, err := io.ReadFull(tr, head); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrCorrupt, err)
	}
	if !bytes.Equal(head[:len(binaryMagic)], binaryMagic) {
		return nil, fmt.Errorf("%w: not a ptzone zone image (or another version)", ErrCorrupt)
	}
	origin := make([]byte, binary.LittleEndian.Uint16(head[len(binaryMagic):]))
	lens := make([]byte, 32)
	if _, err := io.ReadFull(tr, origin); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrCorrupt, err)
	}
	if _, err := io.ReadFull(tr, lens); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrCorrupt, err)
	}
	var n [4]uint64
	for i := range n {
		n[i] = binary.LittleEndian.Uint64(lens[8*i:])
		if n[i] > math.MaxUint32 {
			return nil, fmt.Errorf("%w: a table of %d entries", ErrCorrupt, n[i])
		}
	}
	z := &Zone{origin: Name(origin)}
	var err error
	if z.keys, err = readBytes(tr, n[0], size); err != nil {
		return nil, err
	}
	if z.keyAt, err = readUint32s(tr, n[1], size); err != nil {
		return nil, err
	}
	if z.setAt, err = readUint32s(tr, n[1], size); err != nil {
		return nil, err
	}
	raw, err := readBytes(tr, 12*n[2], size)
	if err != nil {
		return nil, err
	}
	z.sets = make([]set, n[2])
	for i := range z.sets {
		b := raw[12*i:]
		z.sets[i] = set{typ: binary.LittleEndian.Uint16(b), count: binary.LittleEndian.Uint16(b[2:]),
			ttl: binary.LittleEndian.Uint32(b[4:]), off: binary.LittleEndian.Uint32(b[8:])}
	}
	if z.data, err = readBytes(tr, n[3], size); err != nil {
		return nil, err
	}
	sum := h.Sum(nil)
	trailer := make([]byte, sha256.Size)
	if _, err := io.ReadFull(br, trailer); err != nil || !bytes.Equal(sum, trailer) {
		return nil, fmt.Errorf("%w: checksum mismatch", ErrCorrupt)
	}
	if err := z.check(); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrCorrupt, err)
	}
	return z, nil
}

// remaining returns how many bytes r can give at most, when it can tell
// (a file's size, an in-memory reader's length, a limited reader's limit
// over either), or -1. A limited reader over a reader that cannot tell
// is not told: its limit is a length read from the input (a journal
// record's), which a damaged input can make gigabytes.
func remaining(r io.Reader) int64 {
	switch v := r.(type) {
	case *io.LimitedReader:
		if inner := remaining(v.R); inner >= 0 {
			return min(max(v.N, 0), inner)
		}
	case interface{ Len() int }:
		return int64(v.Len())
	case interface{ Stat() (fs.FileInfo, error) }:
		if fi, err := v.Stat(); err == nil && fi.Mode().IsRegular() {
			return fi.Size()
		}
	}
	return -1
}

// readBytes reads a table of n octets from an input of at most size
// octets (-1: unknown).
func readBytes(r io.Reader, n uint64, size int64) ([]byte, error) {
	if size >= 0 {
		// Known to fit: read in place, in one allocation (a zone image
		// is hundreds of megabytes, which chunks grew by copying).
		if n > uint64(size) {
			return nil, fmt.Errorf("%w: a table of %d octets in an input of %d", ErrCorrupt, n, size)
		}
		out := make([]byte, n)
		if _, err := io.ReadFull(r, out); err != nil {
			return nil, fmt.Errorf("%w: truncated: %v", ErrCorrupt, err)
		}
		return out, nil
	}
	// Read in chunks: a corrupt length must not allocate gigabytes up front.
	var out []byte
	for n > 0 {
		c := min(n, 64<<20)
		start := len(out)
		out = append(out, make([]byte, c)...)
		if _, err := io.ReadFull(r, out[start:]); err != nil {
			return nil, fmt.Errorf("%w: truncated: %v", ErrCorrupt, err)
		}
		n -= c
	}
	return out, nil
}

func readUint32s(r io.Reader, n uint64, size int64) ([]uint32, error) {
	b, err := readBytes(r, 4*n, size)
	if err != nil {
		return nil, err
	}
	out := make([]uint32, n)
	for i := range out {
		out[i] = binary.LittleEndian.Uint32(b[4*i:])
	}
	return out, nil
}

// check verifies the invariants every other method relies on.
func (z *Zone) check() error {
	if len(z.keyAt) == 0 || len(z.keyAt) != len(z.setAt) {
		return errors.New("owner tables of different lengths")
	}
	if z.keyAt[0] != 0 || z.setAt[0] != 0 || int(z.keyAt[len(z.keyAt)-1]) != len(z.keys) || int(z.setAt[len(z.setAt)-1]) != len(z.sets) {
		return errors.New("owner tables do not span their arenas")
	}
	var prev []byte
	for i := range z.Owners() {
		if z.keyAt[i] >= z.keyAt[i+1] || z.setAt[i] >= z.setAt[i+1] {
			return fmt.Errorf("owner %d is empty", i)
		}
		if int(z.keyAt[i+1]) > len(z.keys) || int(z.setAt[i+1]) > len(z.sets) {
			return fmt.Errorf("owner %d lies outside the arenas", i)
		}
		key := z.OwnerKey(i)
		if key[len(key)-1] != 0 || !bytes.HasPrefix(key, []byte(z.origin)) {
			return fmt.Errorf("owner %d is not a name in the zone", i)
		}
		if i > 0 && bytes.Compare(prev, key) >= 0 {
			return fmt.Errorf("owners %d and %d are out of canonical order", i-1, i)
		}
		prev = key
		var prevKey uint32
		for j := z.setAt[i]; j < z.setAt[i+1]; j++ {
			s := z.sets[j]
			end := int(s.off)
			for range s.count {
				if end+2 > len(z.data) {
					return fmt.Errorf("owner %d: rdata outside the arena", i)
				}
				end += 2 + int(binary.BigEndian.Uint16(z.data[end:]))
			}
			if end > len(z.data) || s.count == 0 {
				return fmt.Errorf("owner %d: malformed RRset", i)
			}
			if s.typ == TypeRRSIG && end-int(s.off) < 4 {
				return fmt.Errorf("owner %d: malformed RRSIG", i)
			}
			k := RRset{z: z, owner: int32(i), idx: int32(j)}.setKey()
			if j > z.setAt[i] && k <= prevKey {
				return fmt.Errorf("owner %d: RRsets out of order", i)
			}
			prevKey = k
		}
	}
	return nil
}
