package dnssec

import (
	"crypto/sha512"
	"encoding/binary"
	"hash"
	"iter"

	"github.com/ptzone/ptzone/zone"
)

// ZONEMD parameters ptzone uses (RFC 8976): scheme 1 (SIMPLE) and hash
// algorithm 1 (SHA-384).
const (
	zonemdSimple = 1
	zonemdSHA384 = 1
)

func zonemdRdata(serial uint32, digest []byte) []byte {
	b := binary.BigEndian.AppendUint32(nil, serial)
	b = append(b, zonemdSimple, zonemdSHA384)
	return append(b, digest...)
}

// ZONEMDDigest computes the SIMPLE SHA-384 digest of a zone given as its
// RRsets in canonical order (RFC 8976 §3.3.1): every record in canonical
// form, less the apex ZONEMD RRset and the RRSIGs that cover it.
func ZONEMDDigest(rrsets iter.Seq[zone.RRset]) [sha512.Size384]byte {
	p := newHashPipe(sha512.New384())
	var lastKey []byte
	var ownerWire []byte
	buf := p.buffer()
	apex := true // the first owner in canonical order is the apex
	first := true
	for r := range rrsets {
		key := r.OwnerKey()
		if first || string(key) != string(lastKey) {
			if !first {
				apex = false
			}
			first = false
			lastKey = append(lastKey[:0], key...)
			ownerWire = zone.Name(key).AppendWire(ownerWire[:0])
		}
		if apex && (r.Type() == zone.TypeZONEMD || r.Covered() == zone.TypeZONEMD) {
			continue
		}
		// The records from the RRset's block (each length-prefixed
		// rdata, as the digest wants it), not through Rdata: its iterator
		// would be an allocation per RRset, millions for pt.
		for block := r.Block(); len(block) >= 2; {
			n := 2 + int(binary.BigEndian.Uint16(block))
			buf = append(buf, ownerWire...)
			buf = binary.BigEndian.AppendUint16(buf, r.Type())
			buf = binary.BigEndian.AppendUint16(buf, 1)
			buf = binary.BigEndian.AppendUint32(buf, r.TTL())
			buf = append(buf, block[:n]...)
			block = block[n:]
			if len(buf) >= hashChunk {
				p.send(buf)
				buf = p.buffer()
			}
		}
	}
	var sum [sha512.Size384]byte
	copy(sum[:], p.sum(buf))
	return sum
}

// signerZONEMDDigest is the digest the signer puts in ZONEMD. Tests put
// a wrong one here to show that the verifier, which digests with code of
// its own, refuses the zone.
var signerZONEMDDigest = ZONEMDDigest

// hashChunk is how much a hashPipe hashes at a time.
const hashChunk = 64 << 10

// hashPipe hashes on a goroutine of its own what the caller encodes into
// its buffers: a TLD zone's digest covers millions of small records, and
// encoding them costs about as much as hashing them.
type hashPipe struct {
	h          hash.Hash
	full, free chan []byte
	done       chan struct{}
}

func newHashPipe(h hash.Hash) *hashPipe {
	const buffers = 4
	p := &hashPipe{h: h, full: make(chan []byte, buffers), free: make(chan []byte, buffers), done: make(chan struct{})}
	for range buffers {
		p.free <- make([]byte, 0, hashChunk+16<<10)
	}
	go func() {
		defer close(p.done)
		for b := range p.full {
			p.h.Write(b)
			p.free <- b[:0]
		}
	}()
	return p
}

// buffer returns an empty buffer to encode into.
func (p *hashPipe) buffer() []byte { return <-p.free }

// send hands a filled buffer to the hashing goroutine.
func (p *hashPipe) send(b []byte) { p.full <- b }

// sum hashes the last buffer, stops the goroutine and returns the hash.
func (p *hashPipe) sum(last []byte) []byte {
	p.send(last)
	close(p.full)
	<-p.done
	return p.h.Sum(nil)
}
