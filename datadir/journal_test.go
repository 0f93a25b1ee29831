package datadir

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ptzone/ptzone/zone"
)

// versions returns n+1 versions of a small zone, serials 1 to n+1, each
// changing one delegation.
func versions(t *testing.T, n int) []*zone.Zone {
	t.Helper()
	pt := zone.MustParseName("pt.")
	var out []*zone.Zone
	for v := 1; v <= n+1; v++ {
		b := zone.NewBuilder(pt, 0)
		b.Add(pt, zone.TypeSOA, 3600, zone.SOA{MName: pt, RName: pt, Serial: uint32(v)}.Rdata())
		b.Add(pt, zone.TypeNS, 3600, zone.MustParseName("a.dns.pt.").Wire())
		for i := range 20 {
			ns := "ns.hosting.net."
			if i == v {
				ns = "ns.other.net."
			}
			b.Add(zone.MustParseName("d"+string(rune('a'+i))+".pt."), zone.TypeNS, 60, zone.MustParseName(ns).Wire())
		}
		z, err := b.Zone()
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, z)
	}
	return out
}

func text(z *zone.Zone) string {
	var sb strings.Builder
	z.WriteTo(&sb)
	return sb.String()
}

func TestJournal(t *testing.T) {
	vs := versions(t, 4)
	path := filepath.Join(t.TempDir(), "pt.journal")
	j, err := readJournal(path)
	if err != nil || len(j.records) != 0 {
		t.Fatalf("a missing journal: %v, %d patches", err, len(j.records))
	}
	for i := 0; i < 3; i++ {
		p, err := zone.DiffPatch(vs[i], vs[i+1], uint32(i+1), uint32(i+2))
		if err != nil {
			t.Fatal(err)
		}
		if err := j.append(p); err != nil {
			t.Fatal(err)
		}
	}
	// A crash in the middle of the next append leaves a torn record.
	f, _ := os.OpenFile(path, os.O_APPEND|os.O_WRONLY, 0)
	f.Write([]byte{200, 0, 0, 0, 0, 0, 0, 0, 'P', 'T', 'Z'})
	f.Close()
	j, err = readJournal(path)
	if err != nil || len(j.records) != 3 || !j.torn {
		t.Fatalf("a torn tail: %v, %d patches, torn %v", err, len(j.records), j.torn)
	}
	got, err := j.replay(vs[0])
	if err != nil || text(got) != text(vs[3]) {
		t.Fatalf("replay from serial 1: %v", err)
	}
	// From an image that already holds the first two patches.
	if got, err := j.replay(vs[2]); err != nil || text(got) != text(vs[3]) {
		t.Fatalf("replay from serial 3: %v", err)
	}
	// The next append overwrites the torn record.
	p, _ := zone.DiffPatch(vs[3], vs[4], 4, 5)
	if err := j.append(p); err != nil {
		t.Fatal(err)
	}
	j, err = readJournal(path)
	if err != nil || len(j.records) != 4 || j.torn {
		t.Fatalf("after the torn record was overwritten: %v, %d patches, torn %v", err, len(j.records), j.torn)
	}
	// A patch that does not follow the image: a publication is missing.
	gap := &Journal{path: path, records: j.records[2:]}
	if _, err := gap.replay(vs[0]); err == nil || !strings.Contains(err.Error(), "missing") {
		t.Errorf("a gap: %v", err)
	}
	// Trimming keeps the newest patches within the bound.
	if err := j.keep(j.records[3].size + j.records[2].size); err != nil {
		t.Fatal(err)
	}
	j, err = readJournal(path)
	if err != nil || len(j.records) != 2 || j.records[0].from != 3 {
		t.Fatalf("trimmed: %v, %d patches", err, len(j.records))
	}
	if got, err := j.replay(vs[2]); err != nil || text(got) != text(vs[4]) {
		t.Fatalf("replay after trimming: %v", err)
	}
}

// TestJournalReadsWhatItNeeds: a journal's history before the image (a
// flush keeps hundreds of megabytes of it for incremental transfers) is
// not read to load the zone: a record there that no longer matches its
// checksum does not stop the load, and one the load needs stops it with
// the file, the record and its serials named. A record whose head was
// written and not the rest (a crash) is torn, not corrupt.
func TestJournalReadsWhatItNeeds(t *testing.T) {
	vs := versions(t, 4)
	path := filepath.Join(t.TempDir(), "pt.journal")
	j, _ := readJournal(path)
	for i := range 4 {
		p, err := zone.DiffPatch(vs[i], vs[i+1], uint32(i+1), uint32(i+2))
		if err != nil {
			t.Fatal(err)
		}
		if err := j.append(p); err != nil {
			t.Fatal(err)
		}
	}
	// A byte of the second record (serial 2 to 3) flips.
	b, _ := os.ReadFile(path)
	b[j.records[1].at+j.records[1].size/2] ^= 0x40
	os.WriteFile(path, b, 0o644)
	j, err := readJournal(path)
	if err != nil || len(j.records) != 4 || j.torn {
		t.Fatalf("read: %v, %d records, torn %v", err, len(j.records), j.torn)
	}
	if got, err := j.replay(vs[2]); err != nil || text(got) != text(vs[4]) {
		t.Errorf("replay from serial 3, after the damaged record: %v", err)
	}
	_, err = j.replay(vs[0])
	if err == nil || !strings.Contains(err.Error(), "pt.journal: record 2 (serial 2 to 3): checksum mismatch") {
		t.Errorf("replay through the damaged record: %v", err)
	}
	// Trimming copies the records it keeps as they are.
	if err := j.keep(j.records[3].size + j.records[2].size + j.records[1].size); err != nil {
		t.Fatal(err)
	}
	j, err = readJournal(path)
	if err != nil || len(j.records) != 3 || j.records[0].from != 2 {
		t.Fatalf("trimmed: %v, %d records", err, len(j.records))
	}
	if got, err := j.replay(vs[2]); err != nil || text(got) != text(vs[4]) {
		t.Errorf("replay after trimming: %v", err)
	}
	// The last record's head is whole and its patch is not.
	b, _ = os.ReadFile(path)
	b[len(b)-1] ^= 0x01
	os.WriteFile(path, b, 0o644)
	j, err = readJournal(path)
	if err != nil || len(j.records) != 2 || !j.torn {
		t.Fatalf("a torn last record: %v, %d records, torn %v", err, len(j.records), j.torn)
	}
	if got, err := j.replay(vs[2]); err != nil || text(got) != text(vs[3]) {
		t.Errorf("replay without the torn record: %v", err)
	}
}

func TestStateFile(t *testing.T) {
	d := New(t.TempDir())
	if st, err := d.ReadState("pt"); st != nil || err != nil {
		t.Fatalf("a missing state: %v %v", st, err)
	}
	os.WriteFile(filepath.Join(d.Path(), "pt.state"), []byte("PTZPUBST\x00\x01\x05\x00abc"), 0o644)
	if _, err := d.ReadState("pt"); err == nil {
		t.Error("a truncated state file was read")
	}
}

// TestJournalHistory: incremental transfers get the journal's patches
// from any serial it holds to a later one, read when asked; a serial it
// does not reach back to, or a damaged patch, gives nothing (the server
// then sends the whole zone).
func TestJournalHistory(t *testing.T) {
	vs := versions(t, 3)
	path := filepath.Join(t.TempDir(), "pt.journal")
	j, _ := readJournal(path)
	for i := range 3 {
		p, _ := zone.DiffPatch(vs[i], vs[i+1], uint32(i+1), uint32(i+2))
		if err := j.append(p); err != nil {
			t.Fatal(err)
		}
	}
	ps, ok := j.Patches(2, 4)
	if !ok || len(ps) != 2 || ps[0].From != 2 || ps[1].To != 4 {
		t.Fatalf("patches 2 to 4: %v %v", ps, ok)
	}
	if got, err := zone.ApplyAll(vs[1], ps); err != nil || text(got) != text(vs[3]) {
		t.Errorf("the patches from 2 do not make 4: %v", err)
	}
	if _, ok := j.Patches(0, 4); ok {
		t.Error("a serial the journal does not hold")
	}
	if _, ok := j.Patches(4, 2); ok {
		t.Error("backwards")
	}
	b, _ := os.ReadFile(path)
	b[j.records[0].at+j.records[0].size/2] ^= 1
	os.WriteFile(path, b, 0o644)
	if _, ok := j.Patches(1, 4); ok {
		t.Error("a damaged patch was given")
	}
	if ps, ok := j.Patches(2, 4); !ok || len(ps) != 2 {
		t.Error("patches after the damaged one")
	}
}
