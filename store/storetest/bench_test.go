package storetest

import (
	"context"
	"iter"
	"runtime"
	"testing"

	"github.com/ptzone/ptzone/internal/testkit"
	"github.com/ptzone/ptzone/store"
	"github.com/ptzone/ptzone/store/synth"
)

// benchDomains is the registry size the benchmarks use: $PTZONE_BENCH_DOMAINS,
// or 20,000 so that "go test -bench ." stays quick. bench/store.sh runs
// them with 2,000,000.
func benchDomains(b *testing.B) int {
	return testkit.EnvInt(b, "PTZONE_BENCH_DOMAINS", 20000)
}

// synthetic streams n synthetic domains as import records, generated on
// the fly: the benchmark holds no registry in memory.
func synthetic(n int) iter.Seq2[store.ImportRecord, error] {
	return func(yield func(store.ImportRecord, error) bool) {
		line := 0
		for d := range synth.Generate(synth.Options{Domains: n, Seed: 1}) {
			line++
			if !yield(store.ImportRecord{Line: line, Domain: d}, nil) {
				return
			}
		}
	}
}

// BenchmarkImport measures one bulk import of BenchDomains domains into
// an empty registry per iteration, on each backend.
func BenchmarkImport(b *testing.B) {
	for _, bk := range backends {
		b.Run(bk.name, func(b *testing.B) { benchImport(b, bk.open) })
	}
}

// BenchmarkStreamCandidates measures streaming every publishable
// candidate of zone pt from one snapshot, as the publisher does.
func BenchmarkStreamCandidates(b *testing.B) {
	for _, bk := range backends {
		b.Run(bk.name, func(b *testing.B) {
			benchStream(b, bk.open(b), store.Filter{Zone: "pt", Statuses: []store.Status{store.StatusActive}})
		})
	}
}

// BenchmarkStreamAll measures streaming the whole registry.
func BenchmarkStreamAll(b *testing.B) {
	for _, bk := range backends {
		b.Run(bk.name, func(b *testing.B) { benchStream(b, bk.open(b), store.Filter{}) })
	}
}

func benchImport(b *testing.B, open func(testing.TB) store.Registry) {
	n := benchDomains(b)
	ctx := context.Background()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		r := open(b)
		b.StartTimer()
		res, err := r.Import(ctx, synthetic(n), store.ImportInsert)
		if err != nil {
			b.Fatal(err)
		}
		if res.Inserted != n {
			b.Fatalf("inserted %d of %d", res.Inserted, n)
		}
		b.StopTimer()
		r.Close()
		b.StartTimer()
	}
	b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "domains/s")
}

// benchStream measures streaming the domains filter selects from one
// snapshot of r, and closes r. It reports the heap in use at the end of a
// pass (a stream must not accumulate), besides time.
func benchStream(b *testing.B, r store.Registry, filter store.Filter) {
	defer r.Close()
	n := benchDomains(b)
	ctx := context.Background()
	if _, err := r.Import(ctx, synthetic(n), store.ImportInsert); err != nil {
		b.Fatal(err)
	}
	var streamed int
	var peak uint64
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		snap, err := r.Snapshot(ctx)
		if err != nil {
			b.Fatal(err)
		}
		streamed = 0
		for c, err := range snap.Domains(ctx, filter) {
			if err != nil {
				b.Fatal(err)
			}
			if c.Domain.Name == "" {
				b.Fatal("empty candidate")
			}
			streamed++
			if streamed%100000 == 0 {
				var ms runtime.MemStats
				runtime.ReadMemStats(&ms)
				peak = max(peak, ms.HeapInuse)
			}
		}
		snap.Close()
	}
	b.StopTimer()
	b.ReportMetric(float64(streamed)*float64(b.N)/b.Elapsed().Seconds(), "domains/s")
	b.ReportMetric(float64(streamed), "domains")
	if peak > 0 {
		b.ReportMetric(float64(peak)/(1<<20), "heap-MB")
	}
}
