package dnssec

import (
	"bytes"
	"crypto/sha1"
	"encoding/base32"
	"encoding/binary"
	"fmt"
	"slices"

	"github.com/ptzone/ptzone/zone"
)

// NSEC3Hash is an owner name's NSEC3 hash (RFC 5155 §5): SHA-1 over the
// canonical wire name and the salt, then iterations more times over the
// previous hash and the salt.
func NSEC3Hash(name zone.Name, iterations uint16, salt []byte) [sha1.Size]byte {
	h := sha1.New()
	h.Write(name.Wire())
	h.Write(salt)
	var sum [sha1.Size]byte
	h.Sum(sum[:0])
	for range iterations {
		h.Reset()
		h.Write(sum[:])
		h.Write(salt)
		h.Sum(sum[:0])
	}
	return sum
}

// signerNSEC3Hash is the hash the signer builds its chains with. Tests
// put a wrong one here to show that the verifier, which hashes with code
// of its own, refuses the chain it makes.
var signerNSEC3Hash = NSEC3Hash

// hashLabel is the owner label of an NSEC3 record: base32hex, lowercase.
var hashLabel = base32.NewEncoding("0123456789abcdefghijklmnopqrstuv").WithPadding(base32.NoPadding)

// nsec3Owner returns the owner name of the NSEC3 record for a hash.
func nsec3Owner(apex zone.Name, hash []byte) zone.Name {
	return apex.Child([]byte(hashLabel.EncodeToString(hash)))
}

// typeBitmap encodes a set of types as an NSEC/NSEC3 type bitmap
// (RFC 4034 §4.1.2).
func typeBitmap(types []uint16) []byte {
	slices.Sort(types)
	return zone.AppendTypeBitmap(nil, slices.Compact(types))
}

// nsec3Rdata builds NSEC3 rdata (RFC 5155 §3.2).
func nsec3Rdata(optOut bool, iterations uint16, salt, next []byte, bitmap []byte) []byte {
	var flags byte
	if optOut {
		flags = 1
	}
	b := make([]byte, 0, 6+len(salt)+1+len(next)+len(bitmap))
	b = append(b, 1, flags) // hash algorithm 1: SHA-1
	b = binary.BigEndian.AppendUint16(b, iterations)
	b = append(b, byte(len(salt)))
	b = append(b, salt...)
	b = append(b, byte(len(next)))
	b = append(b, next...)
	return append(b, bitmap...)
}

// nsec3ParamRdata builds NSEC3PARAM rdata (RFC 5155 §4.2); its flags are 0.
func nsec3ParamRdata(iterations uint16, salt []byte) []byte {
	b := []byte{1, 0}
	b = binary.BigEndian.AppendUint16(b, iterations)
	b = append(b, byte(len(salt)))
	return append(b, salt...)
}

// NSEC3Params are the parameters of a zone's NSEC3 chain. RFC 9276: no
// extra iterations and no salt are the defaults.
type NSEC3Params struct {
	Iterations uint16
	Salt       []byte
	// OptOut leaves unsigned delegations out of the chain (RFC 5155 §6):
	// a TLD's chain then has one record per signed name, not per domain.
	OptOut bool
}

// chainEntry is a name the NSEC3 chain must prove, with the types at it.
type chainEntry struct {
	name  zone.Name
	types []uint16
}

// addEmptyNonTerminals adds the empty non-terminals between the apex and
// the names of the chain (RFC 5155 §7.1): names with no data of their own
// that lie above names that have some. Each gets an empty type bitmap.
func addEmptyNonTerminals(entries []chainEntry, apex zone.Name) []chainEntry {
	have := make(map[zone.Name]bool, len(entries))
	for _, e := range entries {
		have[e.name] = true
	}
	n := len(entries)
	for _, e := range entries[:n] {
		for p := e.name.Parent(); p.IsStrictlyBelow(apex); p = p.Parent() {
			if have[p] {
				break
			}
			have[p] = true
			entries = append(entries, chainEntry{name: p})
		}
	}
	return entries
}

// nsec3Record is one record of a chain.
type nsec3Record struct {
	hash  [sha1.Size]byte
	owner zone.Name
	rdata []byte
}

// buildChain hashes the entries and links them in hash order, the last
// back to the first.
func buildChain(entries []chainEntry, apex zone.Name, p NSEC3Params) ([]nsec3Record, error) {
	recs := make([]nsec3Record, len(entries))
	for i, e := range entries {
		recs[i].hash = signerNSEC3Hash(e.name, p.Iterations, p.Salt)
	}
	order := make([]int, len(entries))
	for i := range order {
		order[i] = i
	}
	slices.SortFunc(order, func(a, b int) int { return bytesCompare(recs[a].hash[:], recs[b].hash[:]) })
	out := make([]nsec3Record, len(entries))
	for i, idx := range order {
		if i > 0 && recs[idx].hash == recs[order[i-1]].hash {
			return nil, fmt.Errorf("NSEC3: %s and %s hash alike; change the salt", entries[idx].name, entries[order[i-1]].name)
		}
		next := recs[order[(i+1)%len(order)]].hash
		out[i] = nsec3Record{
			hash:  recs[idx].hash,
			owner: nsec3Owner(apex, recs[idx].hash[:]),
			rdata: nsec3Rdata(p.OptOut, p.Iterations, p.Salt, next[:], typeBitmap(entries[idx].types)),
		}
	}
	return out, nil
}

func bytesCompare(a, b []byte) int { return bytes.Compare(a, b) }
