package zone_test

import (
	"bytes"
	"encoding/binary"
	"errors"
	"runtime"
	"strings"
	"testing"

	"github.com/ptzone/ptzone/zone"
)

// FuzzReadPatch: a journal record's patch that fails its format is
// refused, never a panic; one that reads writes back as the same patch,
// and applied to a zone (alone, or twice in a row as a journal's replay
// does) gives a zone whose binary image reads back: a damaged journal
// cannot make a server load a zone that breaks its invariants. Seeded
// with patches between versions of the sample zone.
func FuzzReadPatch(f *testing.F) {
	base, err := zone.Read(strings.NewReader(sampleZone), zone.ReadOptions{Origin: pt})
	if err != nil {
		f.Fatal(err)
	}
	for _, edit := range []struct{ from, to string }{
		{"exemplo\tIN NS ns.hosting.net.", "exemplo\tIN NS ns.other.net."},
		{"txt\tIN TXT \"hello world\" \"two\"", ""},
		{"mx\tIN MX 10 Mail.Example.COM.", "mx\tIN MX 10 Mail.Example.COM.\nnovo IN NS ns.novo.net.\nnovo IN DS 1 13 2 AB"},
	} {
		next, err := zone.Read(strings.NewReader(strings.Replace(sampleZone, edit.from, edit.to, 1)), zone.ReadOptions{Origin: pt})
		if err != nil {
			f.Fatal(err)
		}
		p, err := zone.DiffPatch(base, next, 2026112201, 2026112202)
		if err != nil {
			f.Fatal(err)
		}
		var b bytes.Buffer
		if _, err := p.WriteTo(&b); err != nil {
			f.Fatal(err)
		}
		f.Add(b.Bytes())
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		p, err := zone.ReadPatch(bytes.NewReader(b))
		if err != nil {
			return
		}
		var out bytes.Buffer
		if _, err := p.WriteTo(&out); err != nil {
			t.Fatalf("writing a patch read: %v", err)
		}
		back, err := zone.ReadPatch(&out)
		if err != nil || back.From != p.From || back.To != p.To || text(back.Old) != text(p.Old) || text(back.New) != text(p.New) {
			t.Fatalf("a patch read and written back reads as another: %v", err)
		}
		for _, patched := range []func() (*zone.Zone, error){
			func() (*zone.Zone, error) { return p.Apply(base) },
			func() (*zone.Zone, error) { return zone.ApplyAll(base, []*zone.Patch{p, back}) },
		} {
			z, err := patched()
			if err != nil {
				continue
			}
			var image bytes.Buffer
			if err := z.WriteBinary(&image); err != nil {
				t.Fatalf("the patched zone's image: %v", err)
			}
			if _, err := zone.ReadBinary(&image); err != nil {
				t.Fatalf("the patched zone's image does not read back: %v", err)
			}
		}
	})
}

func text(z *zone.Zone) string {
	var b strings.Builder
	z.WriteTo(&b)
	return b.String()
}

// TestReadPatchTrustsNoLength: a patch whose header claims a huge image,
// itself claiming a table of hundreds of megabytes, in a record of a few
// hundred octets (what FuzzReadPatch found) is refused without the
// memory it claims: ReadPatch limits each image to the length the header
// gives, and that length, read from the input, is no bound on what the
// input holds.
func TestReadPatchTrustsNoLength(t *testing.T) {
	image := append([]byte("PTZONE\x00\x01"), 3, 0, 'p', 't', 0)
	for _, n := range []uint64{2, 0, 0, 800 << 20} { // keys, owners, sets, data
		image = binary.LittleEndian.AppendUint64(image, n)
	}
	image = append(image, make([]byte, 64)...)
	head := append([]byte("PTZPATCH\x00\x01"), make([]byte, 8)...)
	head = binary.LittleEndian.AppendUint64(head, 1<<40) // the old image's length
	head = binary.LittleEndian.AppendUint64(head, 1<<40)
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	_, err := zone.ReadPatch(bytes.NewReader(append(head, image...)))
	runtime.ReadMemStats(&after)
	if !errors.Is(err, zone.ErrCorrupt) {
		t.Errorf("ReadPatch = %v, want ErrCorrupt", err)
	}
	if got := after.TotalAlloc - before.TotalAlloc; got > 16<<20 {
		t.Errorf("refusing a patch of %d octets allocated %d MB", len(head)+len(image), got>>20)
	}
}
