package zonegen

import (
	"bytes"
	"crypto/sha256"
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"testing"

	"github.com/ptzone/ptzone/store"
)

// FuzzZoneState: a build state file whose checksum holds but whose
// contents do not (a writer's bug, or a state from another version that
// happens to share the format's magic) is refused with ErrCorruptState or
// read into a state an incremental build can use: resolving every host's
// glue, changing a host's listings and writing the state again neither
// panic nor write a state that does not read back; a state read and
// written again reads back as the same state. The fuzzer writes the body;
// the test seals it with its checksum, or nothing past the checksum would
// be reached.
func FuzzZoneState(f *testing.F) {
	a4 := []netip.Addr{netip.MustParseAddr("192.0.2.1")}
	a6 := []netip.Addr{netip.MustParseAddr("192.0.2.2"), netip.MustParseAddr("2001:db8::2")}
	seed := func(g *glueIndex) {
		b, err := (&ZoneState{Fingerprint: "f", Serial: 7, Delegations: 3, glue: g}).MarshalBinary()
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b[:len(b)-sha256.Size])
	}
	seed(newGlueIndex("pt"))
	added, listed := newGlueIndex("pt"), newGlueIndex("com.pt")
	for i := range 12 {
		added.add(fmt.Sprintf("ns%d.hosting.pt", i%3), fmt.Sprintf("d%02d.pt", i), a4)
		listed.list(fmt.Sprintf("ns%d.hosting.com.pt", i%2), fmt.Sprintf("d%02d.com.pt", 11-i), a6[:1+i%2])
	}
	added.add("ns.self.pt", "self.pt", a6)
	added.add("ns.self.pt", "other.pt", a4)
	seed(added)
	seed(listed)
	f.Fuzz(func(t *testing.T, body []byte) {
		sum := sha256.Sum256(body)
		st, err := UnmarshalZoneState(append(body[:len(body):len(body)], sum[:]...))
		if err != nil {
			if !errors.Is(err, ErrCorruptState) {
				t.Fatalf("a state refused with %v, not ErrCorruptState", err)
			}
			return
		}
		once := marshal(t, st)
		again := marshal(t, unmarshal(t, once, "read and written once"))
		if !bytes.Equal(once, again) {
			t.Fatalf("a state read and written again changed:\n%x\n%x", once, again)
		}
		hosts := slices.Clone(st.glue.sortedHosts())
		for _, h := range hosts {
			st.glue.resolve(h)
		}
		if len(hosts) == 0 {
			return
		}
		host, gone := hosts[0], ""
		if refs := st.glue.listings(host); len(refs) > 0 {
			gone = refs[0].domain
		}
		e := st.glue.edits()
		e.add(host, "fuzz."+st.glue.zone, a6)
		if gone != "" {
			e.remove(host, gone)
		}
		st.glue.apply(e)
		edited := unmarshal(t, marshal(t, st), "edited")
		if st.glue.corrupt == "" && store.IsSubdomain(host, st.glue.zone) &&
			!slices.ContainsFunc(edited.glue.listings(host), func(r glueRef) bool { return r.domain == "fuzz."+st.glue.zone }) {
			t.Fatalf("the listing added to %s is not in the state written", host)
		}
	})
}

func marshal(t *testing.T, st *ZoneState) []byte {
	b, err := st.MarshalBinary()
	if err != nil {
		t.Fatalf("writing a state: %v", err)
	}
	return b
}

func unmarshal(t *testing.T, b []byte, what string) *ZoneState {
	st, err := UnmarshalZoneState(b)
	if err != nil {
		t.Fatalf("a state %s does not read back: %v", what, err)
	}
	return st
}
