package storetest

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/ptzone/ptzone/store"
	"github.com/ptzone/ptzone/store/postgres"
	"github.com/ptzone/ptzone/store/postgres/pgtest"
	"github.com/ptzone/ptzone/store/sqlite"
)

func TestMain(m *testing.M) { os.Exit(pgtest.Main(m)) }

// backends are the stores the suite runs on. open returns a fresh, empty,
// migrated registry, closed when the test ends unless the caller closes
// it first; openTwo returns two handles on one such registry, as two
// daemons sharing it hold, and lose, which makes whoever holds the lock
// named lose it without letting it go, as a daemon whose database
// session ended, or whose lock file was removed, does.
var backends = []struct {
	name    string
	open    func(testing.TB) store.Registry
	openTwo func(testing.TB) (a, b lockingStore, lose func(t testing.TB, lock string))
}{
	{"sqlite", openSQLite, func(t testing.TB) (lockingStore, lockingStore, func(testing.TB, string)) {
		path := filepath.Join(t.TempDir(), "registry.db")
		lose := func(t testing.TB, lock string) {
			if err := os.Remove(path + "." + lock + ".lock"); err != nil {
				t.Fatal(err)
			}
		}
		return openSQLiteAt(t, path), openSQLiteAt(t, path), lose
	}},
	{"postgres", openPostgres, func(t testing.TB) (lockingStore, lockingStore, func(testing.TB, string)) {
		dsn := pgtest.NewMigrated(t)
		lose := func(t testing.TB, _ string) { pgtest.EndLockSessions(t, dsn) }
		return openPostgresAt(t, dsn), openPostgresAt(t, dsn), lose
	}},
}

// lockingStore is a registry that elects a publisher: both backends.
type lockingStore interface {
	store.Registry
	store.Locker
}

func openSQLite(t testing.TB) store.Registry {
	return openSQLiteAt(t, filepath.Join(t.TempDir(), "registry.db"))
}

func openSQLiteAt(t testing.TB, path string) *sqlite.DB {
	t.Helper()
	db, err := sqlite.Open(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

func openPostgres(t testing.TB) store.Registry {
	db, _ := pgtest.Open(t)
	return db
}

func openPostgresAt(t testing.TB, dsn string) *postgres.DB {
	t.Helper()
	db, err := postgres.Open(context.Background(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}
