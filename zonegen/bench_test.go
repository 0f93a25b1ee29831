package zonegen_test

import (
	"context"
	"errors"
	"iter"
	"math/rand/v2"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ptzone/ptzone/store"
	"github.com/ptzone/ptzone/store/synth"
	"github.com/ptzone/ptzone/zonegen"
)

// memorySource serves candidates from memory in the order it holds them,
// so that a benchmark of Build measures the zones' generation without the
// database.
type memorySource []store.Candidate

func (m memorySource) Domains(ctx context.Context, f store.Filter) iter.Seq2[store.Candidate, error] {
	return func(yield func(store.Candidate, error) bool) {
		for _, c := range m {
			if f.Zone != "" && c.Domain.Zone != f.Zone {
				continue
			}
			if !yield(c, nil) {
				return
			}
		}
	}
}

// BenchmarkBuild builds pt from 300,000 synthetic domains held in memory:
// the rows' consumer, glue and the sort, without the database's share.
// The rows come sorted by name, or in the order of a table's heap
// (shuffled), which is how PostgreSQL streams them without ORDER BY.
func BenchmarkBuild(b *testing.B) {
	var src memorySource
	for d := range synth.Generate(synth.Options{Domains: 300_000, Seed: 1}) {
		src = append(src, store.Candidate{Domain: d})
	}
	slices.SortFunc(src, func(x, y store.Candidate) int { return strings.Compare(x.Domain.Name, y.Domain.Name) })
	shuffled := slices.Clone(src)
	rand.New(rand.NewPCG(1, 2)).Shuffle(len(shuffled), func(i, j int) { shuffled[i], shuffled[j] = shuffled[j], shuffled[i] })
	cfg := zonegen.DefaultConfig()
	cfg.Zones = []string{"pt"}
	cfg.AssumeChecked = true
	for _, in := range []struct {
		name string
		src  memorySource
	}{{"sorted", src}, {"shuffled", shuffled}} {
		b.Run(in.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				res, err := zonegen.Build(context.Background(), cfg, zonegen.Input{Source: in.src, Policy: pol, Now: now})
				if err != nil {
					b.Fatal(err)
				}
				if res[0].Delegations == 0 {
					b.Fatal("no delegations")
				}
			}
		})
	}
}

// failingSource serves its candidates, then fails, and counts how far
// it was read.
type failingSource struct {
	cands []store.Candidate
	err   error
}

func (s failingSource) Domains(ctx context.Context, f store.Filter) iter.Seq2[store.Candidate, error] {
	return func(yield func(store.Candidate, error) bool) {
		for _, c := range s.cands {
			if !yield(c, nil) {
				return
			}
		}
		yield(store.Candidate{}, s.err)
	}
}

// TestBuildStopsOnReadError: a registry failing after thousands of
// rows, with batches read and judged ahead on their own goroutines,
// fails the build with its error, and leaves no goroutine behind.
func TestBuildStopsOnReadError(t *testing.T) {
	var cands []store.Candidate
	for d := range synth.Generate(synth.Options{Domains: 20_000, Seed: 3}) {
		cands = append(cands, store.Candidate{Domain: d})
	}
	before := runtime.NumGoroutine()
	boom := errors.New("connection reset")
	cfg := zonegen.DefaultConfig()
	cfg.AssumeChecked = true
	_, err := zonegen.Build(context.Background(), cfg, zonegen.Input{Source: failingSource{cands, boom}, Policy: pol, Now: now})
	if !errors.Is(err, boom) || !strings.Contains(err.Error(), "reading the registry") {
		t.Fatalf("error %v, want the registry's, said to be from reading it", err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for runtime.NumGoroutine() > before && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if n := runtime.NumGoroutine(); n > before {
		t.Errorf("%d goroutines after the build, %d before", n, before)
	}
}
