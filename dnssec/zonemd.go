package dnssec

import (
	"crypto/sha512"
	"encoding/binary"
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
	h := sha512.New384()
	var lastKey []byte
	var ownerWire []byte
	buf := make([]byte, 0, 80<<10)
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
		for rd := range r.Rdata() {
			// Records are staged and hashed in large writes: a TLD zone has
			// millions of small ones.
			buf = append(buf, ownerWire...)
			buf = binary.BigEndian.AppendUint16(buf, r.Type())
			buf = binary.BigEndian.AppendUint16(buf, 1)
			buf = binary.BigEndian.AppendUint32(buf, r.TTL())
			buf = binary.BigEndian.AppendUint16(buf, uint16(len(rd)))
			buf = append(buf, rd...)
			if len(buf) >= 64<<10 {
				h.Write(buf)
				buf = buf[:0]
			}
		}
	}
	h.Write(buf)
	var sum [sha512.Size384]byte
	h.Sum(sum[:0])
	return sum
}
