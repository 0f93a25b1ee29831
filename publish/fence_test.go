package publish_test

import (
	"context"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"go.uber.org/zap"

	"github.com/ptzone/ptzone/datadir"
	"github.com/ptzone/ptzone/internal/testkit/testdb"
	"github.com/ptzone/ptzone/publish"
	"github.com/ptzone/ptzone/store"
	"github.com/ptzone/ptzone/store/postgres"
	"github.com/ptzone/ptzone/store/postgres/pgtest"
	"github.com/ptzone/ptzone/store/sqlite"
)

// lockingRegistry is a registry that elects the publisher.
type lockingRegistry interface {
	store.Registry
	store.Locker
}

// sharedBackends are the registries of TestFencedPublisherWritesNothing:
// two handles on one store holding the sample registry, as two daemons
// sharing it hold, and lose, which makes the holder of the publisher's
// lock lose it without letting it go, as a daemon does whose database
// session the server ended, or whose lock file was removed.
var sharedBackends = []struct {
	name string
	open func(t *testing.T) (a, b lockingRegistry, lose func())
}{
	{"sqlite", func(t *testing.T) (lockingRegistry, lockingRegistry, func()) {
		path := filepath.Join(t.TempDir(), "registry.db")
		a, b := openSQLiteAt(t, path), openSQLiteAt(t, path)
		testdb.ImportSample(t, a)
		return a, b, func() {
			if err := os.Remove(path + "." + store.PublisherLock + ".lock"); err != nil {
				t.Fatal(err)
			}
		}
	}},
	{"postgres", func(t *testing.T) (lockingRegistry, lockingRegistry, func()) {
		a, dsn := pgtest.Open(t)
		testdb.ImportSample(t, a)
		b, err := postgres.Open(context.Background(), dsn)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { b.Close() })
		return a, b, func() { pgtest.EndLockSessions(t, dsn) }
	}},
}

func openSQLiteAt(t *testing.T, path string) *sqlite.DB {
	t.Helper()
	db, err := sqlite.Open(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// TestFencedPublisherWritesNothing: a publisher whose lock is taken away
// between signing and writing (its session ended, or its lock file
// removed, and another daemon takes the lock) writes nothing: no file of
// the data directory is written or renamed, the zones served from it
// stay as they were, and the publication log records nothing of it. Its
// zones fail, fenced; the daemon that took the lock publishes under its
// own generation.
func TestFencedPublisherWritesNothing(t *testing.T) {
	for _, bk := range sharedBackends {
		t.Run(bk.name, func(t *testing.T) {
			ctx := context.Background()
			a, b, lose := bk.open(t)
			f := newFixtureOn(t, a)
			la, ok, err := a.TryLock(ctx, store.PublisherLock)
			if err != nil || !ok {
				t.Fatalf("TryLock: %v, %v", ok, err)
			}
			defer la.Release(ctx)
			p := publish.New(f.cfg, a, pol, zap.NewNop())
			first := f.runWith(t, p, publish.Request{Now: t0, Lock: la})
			for z, o := range first {
				if o.Outcome != store.OutcomePublished {
					t.Fatalf("%s under the lock held: %s %v", z, o.Outcome, o.Refusals)
				}
			}
			logged, err := a.Publications(ctx, "", 100)
			if err != nil || len(logged) != 2 || logged[0].Generation != la.Generation() {
				t.Fatalf("the log after the first publication: %+v, %v; want 2 entries under generation %d", logged, err, la.Generation())
			}

			f.changeIn(t, "pt")
			f.changeIn(t, "com.pt")
			files := readDir(t, f.out)
			var lb store.Lock
			publish.BeforeCommit(p, func(string) {
				if lb != nil {
					return
				}
				lose()
				var ok bool
				if lb, ok, err = b.TryLock(ctx, store.PublisherLock); err != nil || !ok {
					t.Fatalf("the other daemon's TryLock once the lock was lost: %v, %v", ok, err)
				}
			})
			out := f.runWith(t, p, publish.Request{Now: t0.Add(time.Minute), Lock: la})
			if lb == nil {
				t.Fatal("the publication never came to writing a zone")
			}
			defer lb.Release(ctx)
			for z, o := range out {
				if o.Outcome != store.OutcomeFailed || !slices.Equal(refusalCodes(o), []string{publish.RefuseFenced}) {
					t.Errorf("%s once the lock was taken: %s %v; want failed, fenced", z, o.Outcome, o.Refusals)
				}
			}
			if after := readDir(t, f.out); !maps.EqualFunc(files, after, func(x, y string) bool { return x == y }) {
				t.Errorf("the data directory changed: %d files before, %d after", len(files), len(after))
				for name, body := range after {
					if files[name] != body {
						t.Errorf("%s written", name)
					}
				}
			}
			served, err := datadir.New(f.out).Load(f.cfg.Zones.Zones, datadir.PassOver)
			if err != nil {
				t.Fatal(err)
			}
			for _, z := range f.cfg.Zones.Zones {
				if got := served.Zone(z).Zone.Serial(); got != first[z].Serial {
					t.Errorf("%s served at serial %d, want %d as before", z, got, first[z].Serial)
				}
			}
			if now, err := a.Publications(ctx, "", 100); err != nil || len(now) != len(logged) {
				t.Errorf("the log holds %d entries, %v; want the %d before", len(now), err, len(logged))
			}

			// The new holder publishes, under its generation.
			g := newFixtureOn(t, b)
			g.keys, g.cfg.KeysDir = f.keys, f.keys
			// The zones the fenced publisher left: the baseline the new
			// holder's publication is judged against.
			g.out, g.cfg.OutDir = f.out, f.out
			next := g.runWith(t, publish.New(g.cfg, b, pol, zap.NewNop()), publish.Request{Now: t0.Add(2 * time.Minute), Lock: lb})
			if o := next["pt"]; o.Outcome != store.OutcomePublished {
				t.Errorf("pt under the new holder's lock: %s %v", o.Outcome, o.Refusals)
			}
			if pubs, err := b.Publications(ctx, "pt", 1); err != nil || len(pubs) != 1 || pubs[0].Generation != lb.Generation() {
				t.Errorf("the new holder's entry: %+v, %v; want generation %d", pubs, err, lb.Generation())
			}
		})
	}
}

// readDir returns every file in dir with its contents.
func readDir(t *testing.T, dir string) map[string]string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for _, e := range entries {
		b, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		out[e.Name()] = string(b)
	}
	return out
}
