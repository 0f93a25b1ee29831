package testkit

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/ptzone/ptzone/dnssec"
	"github.com/ptzone/ptzone/zone"
)

// ReadZone reads a zone of origin from master-file text.
func ReadZone(t testing.TB, origin zone.Name, text string) *zone.Zone {
	t.Helper()
	z, err := zone.Read(strings.NewReader(text), zone.ReadOptions{Origin: origin, File: origin.String() + "zone"})
	if err != nil {
		t.Fatalf("reading the test zone %s: %v", origin, err)
	}
	return z
}

// Sign signs z with keys at the time at, with dnssec.DefaultSignOptions
// changed by each of mod in turn.
func Sign(t testing.TB, z *zone.Zone, keys []*dnssec.Key, at time.Time, mod ...func(*dnssec.SignOptions)) *zone.Zone {
	t.Helper()
	opt := dnssec.DefaultSignOptions(at)
	for _, m := range mod {
		m(&opt)
	}
	signed, err := dnssec.Sign(z, keys, opt)
	if err != nil {
		t.Fatalf("signing the test zone %s: %v", z.Origin(), err)
	}
	return signed
}

// Rdatas returns copies of the records of owner's RRset of type typ in z
// (for RRSIG, of the signatures over type covered), nil when it has none.
// An owner z does not hold fails the test.
func Rdatas(t testing.TB, z *zone.Zone, owner string, typ, covered uint16) [][]byte {
	t.Helper()
	set, ok := rrset(t, z, owner, typ, covered)
	if !ok {
		return nil
	}
	var out [][]byte
	for rd := range set.Rdata() {
		out = append(out, bytes.Clone(rd))
	}
	return out
}

// ReplaceRRset returns a copy of z in which owner's RRset of type typ
// (for RRSIG, the signatures over type covered) holds what edit returns
// given copies of its records: edit may change them in place, drop or
// add some; none left removes the RRset. The RRset keeps its TTL; a new
// one gets 3600. z itself is not changed. An owner z does not hold fails
// the test.
func ReplaceRRset(t testing.TB, z *zone.Zone, owner string, typ, covered uint16, edit func(rdatas [][]byte) [][]byte) *zone.Zone {
	t.Helper()
	name := ownerName(t, z, owner)
	ttl := uint32(3600)
	if set, ok := rrset(t, z, owner, typ, covered); ok {
		ttl = set.TTL()
	}
	b := zone.NewBuilder(z.Origin(), 0)
	for _, rd := range edit(Rdatas(t, z, owner, typ, covered)) {
		if err := b.Add(name, typ, ttl, rd); err != nil {
			t.Fatalf("replacing %s %s: %v", owner, zone.TypeString(typ), err)
		}
	}
	over, err := b.Zone()
	if err != nil {
		t.Fatalf("replacing %s %s: %v", owner, zone.TypeString(typ), err)
	}
	m, err := zone.Merge(z, over, func(r zone.RRset) bool {
		return r.Owner() == name && r.Type() == typ && r.Covered() == covered
	})
	if err != nil {
		t.Fatalf("replacing %s %s: %v", owner, zone.TypeString(typ), err)
	}
	return m
}

// DamageSignatures returns a copy of z in which the last octet of every
// signature over owner's RRset of type covered is flipped, so that none of
// them verifies. A zone without such signatures fails the test.
func DamageSignatures(t testing.TB, z *zone.Zone, owner string, covered uint16) *zone.Zone {
	t.Helper()
	if len(Rdatas(t, z, owner, zone.TypeRRSIG, covered)) == 0 {
		t.Fatalf("%s has no signature over %s to damage", owner, zone.TypeString(covered))
	}
	return ReplaceRRset(t, z, owner, zone.TypeRRSIG, covered, func(sigs [][]byte) [][]byte {
		for _, sig := range sigs {
			sig[len(sig)-1] ^= 0x55
		}
		return sigs
	})
}

func ownerName(t testing.TB, z *zone.Zone, owner string) zone.Name {
	t.Helper()
	name, err := zone.ParseName(owner, z.Origin())
	if err != nil {
		t.Fatalf("owner name %q: %v", owner, err)
	}
	return name
}

func rrset(t testing.TB, z *zone.Zone, owner string, typ, covered uint16) (zone.RRset, bool) {
	t.Helper()
	i, ok := z.Find(ownerName(t, z, owner))
	if !ok {
		t.Fatalf("the zone %s has no owner %s", z.Origin(), owner)
	}
	if typ == zone.TypeRRSIG {
		return z.GetSig(i, covered)
	}
	return z.GetAt(i, typ)
}
