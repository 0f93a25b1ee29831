package datadir

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/ptzone/ptzone/zone"
)

// FuzzJournal: a journal file however damaged (torn by a crash, cut
// short, overwritten) never makes a server that loads it panic: its
// records lie one after another from the file's start, the patches an
// incremental transfer asks for are read or refused, replaying it onto
// the image is done or refused; and it still takes the next
// publication's patch, which reads back after the records it kept.
// Seeded with a journal of three patches, whole and torn.
func FuzzJournal(f *testing.F) {
	vs := fuzzVersions(f, 4)
	dir := f.TempDir()
	j := &Journal{path: filepath.Join(dir, "pt.journal")}
	for i := range 3 {
		p, err := zone.DiffPatch(vs[i], vs[i+1], uint32(i+1), uint32(i+2))
		if err != nil {
			f.Fatal(err)
		}
		if err := j.append(p); err != nil {
			f.Fatal(err)
		}
	}
	whole, err := os.ReadFile(j.path)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(whole)
	f.Add(whole[:len(whole)-5])
	f.Add(append(whole[:j.records[1].at:j.records[1].at], 200, 0, 0, 0, 0, 0, 0, 0, 'P', 'T', 'Z'))
	f.Add(whole[:j.records[0].size])
	next, err := zone.DiffPatch(vs[3], vs[4], 4, 5)
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		path := filepath.Join(memoryDir(t), "pt.journal")
		if err := os.WriteFile(path, b, 0o644); err != nil {
			t.Fatal(err)
		}
		j, err := readJournal(path)
		if err != nil {
			t.Fatalf("reading a journal that exists: %v", err)
		}
		at := int64(0)
		for i, r := range j.records {
			if r.at != at || r.size <= recordOverhead {
				t.Fatalf("record %d lies at %d (%d octets), after records ending at %d", i, r.at, r.size, at)
			}
			at += r.size
		}
		if at != j.valid || j.valid > int64(len(b)) {
			t.Fatalf("records ending at %d, valid to %d, in %d octets", at, j.valid, len(b))
		}
		for _, r := range j.records {
			if ps, ok := j.Patches(r.from, r.to); ok && (ps[0].From != r.from || ps[len(ps)-1].To != r.to) {
				t.Fatalf("patches from %d to %d run from %d to %d", r.from, r.to, ps[0].From, ps[len(ps)-1].To)
			}
		}
		j.replay(vs[0])
		kept := len(j.records)
		if err := j.append(next); err != nil {
			t.Fatalf("appending to the journal read: %v", err)
		}
		back, err := readJournal(path)
		if err != nil || len(back.records) != kept+1 {
			t.Fatalf("after the append: %d records, want %d: %v", len(back.records), kept+1, err)
		}
		if ps, ok := back.Patches(4, 5); !ok || len(ps) != 1 || ps[0].To != 5 {
			t.Fatalf("the patch appended does not read back")
		}
	})
}

// fuzzVersions is n+1 versions of a small zone, serials 1 to n+1, each
// changing one delegation.
func fuzzVersions(f *testing.F, n int) []*zone.Zone {
	pt := zone.MustParseName("pt.")
	var out []*zone.Zone
	for v := 1; v <= n+1; v++ {
		b := zone.NewBuilder(pt, 0)
		b.Add(pt, zone.TypeSOA, 3600, zone.SOA{MName: pt, RName: pt, Serial: uint32(v)}.Rdata())
		b.Add(pt, zone.TypeNS, 3600, zone.MustParseName("a.dns.pt.").Wire())
		for i := range 8 {
			ns := "ns.hosting.net."
			if i == v {
				ns = "ns.other.net."
			}
			b.Add(zone.MustParseName(fmt.Sprintf("d%d.pt.", i)), zone.TypeNS, 60, zone.MustParseName(ns).Wire())
		}
		z, err := b.Zone()
		if err != nil {
			f.Fatal(err)
		}
		out = append(out, z)
	}
	return out
}

// memoryDir is a directory for one run of the fuzz function, on the
// memory file system where there is one: each append syncs the journal,
// and a disk's syncs took the fuzzer to a few runs a second.
func memoryDir(t *testing.T) string {
	if fi, err := os.Stat("/dev/shm"); err == nil && fi.IsDir() {
		if dir, err := os.MkdirTemp("/dev/shm", "ptzone-fuzz"); err == nil {
			t.Cleanup(func() { os.RemoveAll(dir) })
			return dir
		}
	}
	return t.TempDir()
}
