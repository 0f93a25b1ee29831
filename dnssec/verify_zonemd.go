package dnssec

import (
	"bytes"
	"crypto/sha512"
	"encoding/binary"

	"github.com/ptzone/ptzone/zone"
)

// The ZONEMD scheme and hash algorithm the verifier computes (RFC 8976
// §5.2, §5.3). The verifier keeps its own numbers, as it keeps its own
// digest: nothing of the signer's ZONEMD code is used to check it.
const (
	verifyZONEMDSimple = 1
	verifyZONEMDSHA384 = 1
)

// checkZONEMD recomputes the zone digest if the apex carries a ZONEMD
// record ptzone knows how to compute (SIMPLE, SHA-384).
func (v *verifier) checkZONEMD(apexIdx int) {
	set, ok := v.z.GetAt(apexIdx, zone.TypeZONEMD)
	if !ok {
		return
	}
	soaSet, _ := v.z.GetAt(apexIdx, zone.TypeSOA)
	var digest [sha512.Size384]byte
	if v.digest != nil {
		digest = <-v.digest
	} else {
		digest = zoneDigest(v.z)
	}
	var serial uint32
	for rd := range soaSet.Rdata() {
		if soa, err := zone.ParseSOA(rd); err == nil {
			serial = soa.Serial
		}
	}
	for rd := range set.Rdata() {
		if len(rd) < 6 {
			v.c.add(ProblemZONEMDMalformed, v.apexText, zone.TypeZONEMD, "truncated ZONEMD")
			continue
		}
		if rd[4] != verifyZONEMDSimple || rd[5] != verifyZONEMDSHA384 {
			continue // a scheme or hash this verifier does not compute
		}
		if s := binary.BigEndian.Uint32(rd); s != serial {
			v.c.add(ProblemZONEMDMismatch, v.apexText, zone.TypeZONEMD, "ZONEMD serial %d, SOA serial %d", s, serial)
		}
		if !bytes.Equal(rd[6:], digest[:]) {
			v.c.add(ProblemZONEMDMismatch, v.apexText, zone.TypeZONEMD, "the zone's digest is not the one ZONEMD carries: the zone changed after it was computed")
		}
	}
}

// zoneDigest is the verifier's own SIMPLE SHA-384 digest of z (RFC 8976
// §3.3): every record in canonical wire form (owner, type, class IN, TTL,
// RDLENGTH, RDATA) in canonical order, except the apex ZONEMD RRset and the
// RRSIGs that cover it; a ZONEMD below the apex is digested like any
// record. The zone keeps its records in canonical order and without
// duplicates (zone.Builder), which is the order §3.3.1 asks for.
//
// It shares no code with the signer's digest (ZONEMDDigest), so that a
// mistake there, in what is left out or how a record is laid out, makes
// the two disagree and the zone refused instead of published.
func zoneDigest(z *zone.Zone) [sha512.Size384]byte {
	apexIdx, hasApex := z.Find(z.Origin())
	h := sha512.New384()
	buf := make([]byte, 0, zoneDigestChunk+1<<16)
	var owner []byte
	ownerIdx := -1
	for r := range z.All() {
		i := r.OwnerIndex()
		if i != ownerIdx {
			ownerIdx = i
			owner = z.Owner(i).AppendWire(owner[:0])
		}
		typ := r.Type()
		if hasApex && i == apexIdx && (typ == zone.TypeZONEMD || typ == zone.TypeRRSIG && r.Covered() == zone.TypeZONEMD) {
			continue
		}
		// The RRset's records as the zone stores them: each an RDLENGTH
		// and the RDATA, just as they enter the digest.
		ttl := r.TTL()
		records := r.Block()
		for len(records) >= 2 {
			end := 2 + int(binary.BigEndian.Uint16(records))
			buf = append(buf, owner...)
			buf = binary.BigEndian.AppendUint16(buf, typ)
			buf = binary.BigEndian.AppendUint16(buf, 1) // class IN
			buf = binary.BigEndian.AppendUint32(buf, ttl)
			buf = append(buf, records[:end]...)
			records = records[end:]
		}
		if len(buf) >= zoneDigestChunk {
			h.Write(buf)
			buf = buf[:0]
		}
	}
	h.Write(buf)
	var sum [sha512.Size384]byte
	h.Sum(sum[:0])
	return sum
}

// zoneDigestChunk is how much zoneDigest encodes before it hashes.
const zoneDigestChunk = 64 << 10
