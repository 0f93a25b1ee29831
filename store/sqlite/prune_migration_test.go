package sqlite_test

import (
	"context"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ptzone/ptzone/store"
	"github.com/ptzone/ptzone/store/sqlite"
)

// TestPruneChangeFeedMigration: the migration that stamps the change
// feed's deletions with their time stamps those recorded before it
// with its own, so the prune job can remove them by age, and the domains
// deleted after it are stamped by the trigger it makes again.
func TestPruneChangeFeedMigration(t *testing.T) {
	ctx := context.Background()
	files, err := filepath.Glob("migrations/*_prune_change_feed.sql")
	if err != nil || len(files) != 1 {
		t.Fatalf("the migration's file: %v %v", files, err)
	}
	version, err := strconv.Atoi(strings.SplitN(filepath.Base(files[0]), "_", 2)[0])
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "registry.db")
	raw, mustExec := migratedBefore(t, path, version)
	mustExec(`INSERT INTO registrars (id, created) VALUES ('REG-1', 0)`)
	mustExec(`INSERT INTO domains (name, id, zone, status, registrar_id, expires, created, updated)
		VALUES ('velho.pt', 1, 'pt', 'active', 'REG-1', '2027-01-01', 0, 0)`)
	mustExec(`DELETE FROM domains WHERE name = 'velho.pt'`)
	raw.Close()

	db, err := sqlite.Open(ctx, path)
	if err != nil {
		t.Fatalf("migrating: %v", err)
	}
	defer db.Close()
	if err := db.PutDomain(ctx, store.Domain{Name: "novo.pt", Zone: "pt", Status: store.StatusActive, Registrar: "REG-1",
		Expires: time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)}); err != nil {
		t.Fatal(err)
	}
	if _, err := db.Import(ctx, func(yield func(store.ImportRecord, error) bool) {}, store.ImportReplace); err != nil {
		t.Fatal(err)
	}
	raw = rawOpen(t, path)
	defer raw.Close()
	var stamped, all int
	if err := raw.QueryRow(`SELECT count(deleted_at), count(*) FROM domain_deletions`).Scan(&stamped, &all); err != nil || stamped != 2 || all != 2 {
		t.Fatalf("deletions stamped with their time: %d of %d (%v), want both", stamped, all, err)
	}
	if res, err := db.Prune(ctx, store.PruneCut{Deletions: time.Now().Add(time.Hour)}); err != nil || res.Deletions != 2 {
		t.Errorf("pruning the deletions: %+v, %v; want both", res, err)
	}
}
