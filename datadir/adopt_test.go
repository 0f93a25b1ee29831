package datadir

import (
	"os"
	"testing"

	"github.com/ptzone/ptzone/zone"
)

// withSerial returns a copy of z with another SOA serial.
func withSerial(t *testing.T, z *zone.Zone, serial uint32) *zone.Zone {
	t.Helper()
	b := zone.NewBuilder(z.Origin(), 0)
	for r := range z.All() {
		for rd := range r.Rdata() {
			if r.Type() == zone.TypeSOA {
				soa, err := zone.ParseSOA(rd)
				if err != nil {
					t.Fatal(err)
				}
				soa.Serial = serial
				rd = soa.Rdata()
			}
			b.Add(r.Owner(), r.Type(), r.TTL(), rd)
		}
	}
	out, err := b.Zone()
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// TestAdopt: a zone adopted over a directory with a publication becomes
// the published version exactly; the journal of the earlier history and
// the state are gone, the image before is kept as the previous one; a
// publication after it goes on from it, its patch in the journal.
func TestAdopt(t *testing.T) {
	d, vs := publishThree(t)
	if err := os.WriteFile(d.stateFile("pt"), []byte("a state of the earlier history"), 0o644); err != nil {
		t.Fatal(err)
	}
	adopted := withSerial(t, vs[1], 2026120301)
	if err := d.Adopt("pt", adopted); err != nil {
		t.Fatal(err)
	}
	got := loadPT(t, d, Refuse)
	if text(got.Zone) != text(adopted) {
		t.Errorf("the published zone after the adoption:\n%s\nwant\n%s", text(got.Zone), text(adopted))
	}
	if len(got.Journal.records) != 0 {
		t.Errorf("the journal keeps %d records of the earlier history", len(got.Journal.records))
	}
	if _, err := os.Stat(d.stateFile("pt")); !os.IsNotExist(err) {
		t.Errorf("the earlier state is still there: %v", err)
	}
	if prev, err := readImage(d.prevFile("pt")); err != nil || prev.Serial() != 3 {
		t.Errorf("the previous image: %v, want the last publication's (serial 3)", err)
	}
	// Without a state, the next publication is a full one after the
	// adopted zone.
	next := withSerial(t, vs[2], 2026120302)
	if _, err := d.Write("pt", got.Journal, Version{Zone: next, Prev: got.Zone}, Limits{}); err != nil {
		t.Fatal(err)
	}
	after := loadPT(t, d, Refuse)
	if after.Zone.Serial() != 2026120302 {
		t.Errorf("published after the adoption: serial %d", after.Zone.Serial())
	}
	if _, ok := after.Journal.Patches(2026120301, 2026120302); !ok {
		t.Error("no incremental transfer from the adopted serial to the first publication")
	}
}
