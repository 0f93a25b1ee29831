package datadir

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ptzone/ptzone/zone"
)

// publishThree publishes three versions of pt into a new directory: the
// first in full, the second as a patch in the journal, the third in full
// (its patch from the second kept in the journal). The image is then the
// third version's, the previous image the first's, and the journal goes
// from 1 to 3.
func publishThree(t *testing.T) (Dir, []*zone.Zone) {
	t.Helper()
	vs := versions(t, 2)
	d := New(filepath.Join(t.TempDir(), "zones"))
	if err := d.Prepare(); err != nil {
		t.Fatal(err)
	}
	for i, v := range vs {
		p, err := d.Load([]string{"pt"}, Refuse)
		if err != nil {
			t.Fatal(err)
		}
		pt := p.Zone("pt")
		next := Version{Zone: v, Prev: pt.Zone}
		if i == 1 {
			if next.Patch, err = zone.DiffPatch(vs[0], v, 1, 2); err != nil {
				t.Fatal(err)
			}
		}
		if _, err := d.Write("pt", pt.Journal, next, Limits{}); err != nil {
			t.Fatal(err)
		}
	}
	return d, vs
}

// loadPT loads pt as damage says, and fails the test if that fails.
func loadPT(t *testing.T, d Dir, damage Damage) *Published {
	t.Helper()
	p, err := d.Load([]string{"pt."}, damage)
	if err != nil {
		t.Fatal(err)
	}
	return p.Zone("pt")
}

func flipByte(t *testing.T, path string) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	b[len(b)/2] ^= 0xff
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestLoad: both ways of loading read the zone as last published, the
// image with the journal applied; a zone never published is nil, with a
// journal to start from.
func TestLoad(t *testing.T) {
	d, vs := publishThree(t)
	for _, damage := range []Damage{Refuse, PassOver} {
		p, err := d.Load([]string{"pt", "com.pt."}, damage)
		if err != nil {
			t.Fatalf("load (%d): %v", damage, err)
		}
		pt, com := p.Zone("pt"), p.Zone("com.pt")
		if pt == nil || text(pt.Zone) != text(vs[2]) || len(pt.PassedOver) != 0 {
			t.Errorf("load (%d): pt is not the last version published (%v)", damage, pt.PassedOver)
		}
		if com == nil || com.Zone != nil || com.Journal == nil {
			t.Errorf("load (%d): com.pt, never published: %+v", damage, com)
		}
	}
	// An incremental publication after it: the image is the third
	// version, the journal takes the zone to the fourth.
	four := versions(t, 3)[3]
	pt := loadPT(t, d, Refuse)
	patch, err := zone.DiffPatch(vs[2], four, 3, 4)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := d.Write("pt", pt.Journal, Version{Zone: four, Patch: patch}, Limits{}); err != nil {
		t.Fatal(err)
	}
	if got := loadPT(t, d, Refuse); text(got.Zone) != text(four) {
		t.Error("the image with the journal applied is not the last version published")
	}
	if _, err := os.Stat(d.ZoneFile("pt")); err != nil {
		t.Errorf("no master file: %v", err)
	}
}

// TestLoadDamaged: a publication goes on from exactly what was published
// or not at all (Refuse), while a server serves the newest good version
// and names what it passed over (PassOver).
func TestLoadDamaged(t *testing.T) {
	t.Run("image", func(t *testing.T) {
		d, vs := publishThree(t)
		flipByte(t, d.imageFile("pt"))
		if _, err := d.Load([]string{"pt"}, Refuse); err == nil || !strings.Contains(err.Error(), "pt.zone.bin") {
			t.Errorf("exact load of a damaged image: %v", err)
		}
		// The previous image with the journal's patches is the zone.
		pt := loadPT(t, d, PassOver)
		if text(pt.Zone) != text(vs[2]) || len(pt.PassedOver) != 1 || !strings.Contains(pt.PassedOver[0].Error(), "pt.zone.bin") {
			t.Errorf("served with a damaged image: %d passed over %v", pt.Zone.Serial(), pt.PassedOver)
		}
	})
	t.Run("journal", func(t *testing.T) {
		d, vs := publishThree(t)
		flipByte(t, d.imageFile("pt"))
		j, err := readJournal(d.journalFile("pt"))
		if err != nil {
			t.Fatal(err)
		}
		// The first record, which the previous image needs.
		b, _ := os.ReadFile(d.journalFile("pt"))
		b[j.records[0].at+j.records[0].size/2] ^= 0x40
		os.WriteFile(d.journalFile("pt"), b, 0o644)
		pt := loadPT(t, d, PassOver)
		if text(pt.Zone) != text(vs[0]) || len(pt.PassedOver) != 2 || !strings.Contains(pt.PassedOver[1].Error(), "checksum mismatch") {
			t.Errorf("served with a damaged image and journal: serial %d, passed over %v", pt.Zone.Serial(), pt.PassedOver)
		}
	})
	t.Run("every version", func(t *testing.T) {
		d, _ := publishThree(t)
		flipByte(t, d.imageFile("pt"))
		flipByte(t, d.prevFile("pt"))
		_, err := d.Load([]string{"pt"}, PassOver)
		if err == nil || !strings.Contains(err.Error(), "no good version") || !strings.Contains(err.Error(), "pt.prev.bin") {
			t.Errorf("no good version: %v", err)
		}
	})
}

// TestSnapshot: the zones published are served, each answering
// incremental transfers from its journal; with none, the error says so.
func TestSnapshot(t *testing.T) {
	empty := New(t.TempDir())
	p, err := empty.Load([]string{"pt"}, PassOver)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.Snapshot(); !errors.Is(err, ErrNothingPublished) || !strings.Contains(err.Error(), empty.Path()) {
		t.Errorf("nothing published: %v", err)
	}
	d, _ := publishThree(t)
	if p, err = d.Load([]string{"pt", "com.pt"}, PassOver); err != nil {
		t.Fatal(err)
	}
	snap, err := p.Snapshot()
	if err != nil {
		t.Fatal(err)
	}
	if zones := snap.Zones(); len(zones) != 1 || zones[0] != zone.MustParseName("pt.") {
		t.Errorf("served %v, want pt alone", zones)
	}
}

// TestStamp: a stamp tells a publication from no change, and a change
// of the zone from a change of its state alone; a file that cannot be
// looked at matches nothing.
func TestStamp(t *testing.T) {
	d, vs := publishThree(t)
	before := d.Stamp("pt")
	if now := d.Stamp("pt"); !before.Same(now) || !before.SameZone(now) {
		t.Error("nothing changed, yet the stamps differ")
	}
	if err := os.WriteFile(d.stateFile("pt"), []byte("state"), 0o644); err != nil {
		t.Fatal(err)
	}
	afterState := d.Stamp("pt")
	if before.Same(afterState) || !before.SameZone(afterState) {
		t.Errorf("a new state: same files %v (want false), same zone %v (want true)", before.Same(afterState), before.SameZone(afterState))
	}
	four := versions(t, 3)[3]
	patch, _ := zone.DiffPatch(vs[2], four, 3, 4)
	if _, err := d.Write("pt", loadPT(t, d, Refuse).Journal, Version{Zone: four, Patch: patch}, Limits{}); err != nil {
		t.Fatal(err)
	}
	if now := d.Stamp("pt"); afterState.SameZone(now) {
		t.Error("a patch appended to the journal left the stamp of the zone as it was")
	}
	flushed := d.Stamp("pt")
	if _, err := d.Write("pt", loadPT(t, d, Refuse).Journal, Version{Zone: four}, Limits{}); err != nil {
		t.Fatal(err)
	}
	if now := d.Stamp("pt"); flushed.SameZone(now) {
		t.Error("a new image left the stamp of the zone as it was")
	}
	// A directory that is a file: stat says ENOTDIR, not "no such file".
	file := filepath.Join(t.TempDir(), "file")
	os.WriteFile(file, nil, 0o644)
	odd := New(file).Stamp("pt")
	if odd.Same(odd) || odd.SameZone(odd) {
		t.Error("a stamp of files that could not be looked at matches")
	}
}
