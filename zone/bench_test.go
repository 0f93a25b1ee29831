package zone_test

import (
	"io"
	"os"
	"runtime"
	"testing"

	"github.com/ptzone/ptzone/internal/testkit"
	"github.com/ptzone/ptzone/store"
	"github.com/ptzone/ptzone/store/synth"
	"github.com/ptzone/ptzone/zone"
)

// benchDelegations is $PTZONE_BENCH_DELEGATIONS, or 100,000.
func benchDelegations(b *testing.B) int {
	return testkit.EnvInt(b, "PTZONE_BENCH_DELEGATIONS", 100000)
}

// unsignedPT builds an unsigned pt zone from n synthetic domains: NS, DS and
// glue inside pt, as zonegen will.
func unsignedPT(tb testing.TB, n int) *zone.Zone {
	b := zone.NewBuilder(pt, n*3)
	for d := range synth.Generate(synth.Options{Domains: n, Seed: 1}) {
		if d.Zone != "pt" {
			continue
		}
		owner := zone.MustParseName(d.Name + ".")
		for _, h := range d.Nameservers {
			b.Add(owner, zone.TypeNS, 86400, zone.MustParseName(h.Name+".").Wire())
			if store.IsSubdomain(h.Name, d.Name) {
				for _, a := range h.Addrs {
					t, rd := zone.AddrRdata(a)
					b.Add(zone.MustParseName(h.Name+"."), t, 86400, rd)
				}
			}
		}
		for _, ds := range d.DS {
			b.Add(owner, zone.TypeDS, 86400, zone.DSRdata(ds.KeyTag, ds.Algorithm, ds.DigestType, []byte(ds.Digest)))
		}
	}
	z, err := b.Zone()
	if err != nil {
		tb.Fatal(err)
	}
	return z
}

func BenchmarkBuildWriteRead(b *testing.B) {
	n := benchDelegations(b)
	var z *zone.Zone
	b.Run("build", func(b *testing.B) {
		for range b.N {
			z = unsignedPT(b, n)
		}
		runtime.GC()
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		st := z.Stats()
		b.ReportMetric(float64(st.Bytes)/(1<<20), "zone-MB")
		b.ReportMetric(float64(ms.HeapInuse)/(1<<20), "heap-MB")
		b.ReportMetric(float64(st.Records), "records")
	})
	path := b.TempDir() + "/pt.zone"
	b.Run("write", func(b *testing.B) {
		for range b.N {
			f, _ := os.Create(path)
			if _, err := z.WriteTo(f); err != nil {
				b.Fatal(err)
			}
			f.Close()
		}
	})
	b.Run("read", func(b *testing.B) {
		for range b.N {
			f, _ := os.Open(path)
			if _, err := zone.Read(f, zone.ReadOptions{Origin: pt, File: path}); err != nil {
				b.Fatal(err)
			}
			f.Close()
		}
	})
	b.Run("diff-self", func(b *testing.B) {
		for range b.N {
			for range zone.Diff(z, z) {
			}
		}
	})
	_ = io.Discard
}
