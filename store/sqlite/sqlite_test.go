package sqlite_test

import (
	"context"
	"database/sql"
	"errors"
	"path/filepath"
	"testing"

	_ "modernc.org/sqlite"

	"github.com/ptzone/ptzone/store"
	"github.com/ptzone/ptzone/store/sqlite"
	"github.com/ptzone/ptzone/store/storetest"
)

func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) store.Registry {
		db, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "registry.db"))
		if err != nil {
			t.Fatal(err)
		}
		return db
	})
}

func TestOpenCreatesAndReopens(t *testing.T) {
	path := filepath.Join(t.TempDir(), "sub", "dir", "registry.db")
	ctx := context.Background()
	db, err := sqlite.Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	if err := db.PutRegistrar(ctx, store.Registrar{ID: "REG-1"}); err != nil {
		t.Fatal(err)
	}
	db.Close()
	// Reopening migrates nothing and keeps the data.
	db, err = sqlite.Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.Registrar(ctx, "REG-1"); err != nil {
		t.Fatalf("data lost on reopen: %v", err)
	}
}

func TestRefusesNewerSchema(t *testing.T) {
	path := filepath.Join(t.TempDir(), "registry.db")
	db, err := sqlite.Open(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	db.Close()
	raw := rawOpen(t, path)
	if _, err := raw.Exec(`INSERT INTO schema_migrations (version, name, applied) VALUES (999, 'future', 0)`); err != nil {
		t.Fatal(err)
	}
	raw.Close()
	if _, err := sqlite.Open(context.Background(), path); !errors.Is(err, store.ErrSchema) {
		t.Errorf("Open of a newer schema = %v, want ErrSchema", err)
	}
}

func rawOpen(t *testing.T, path string) *sql.DB {
	t.Helper()
	raw, err := sql.Open("sqlite", "file:"+path+"?_pragma=foreign_keys(1)")
	if err != nil {
		t.Fatal(err)
	}
	return raw
}

// TestConstraints writes bad rows straight into the tables: the schema
// must refuse them on its own.
func TestConstraints(t *testing.T) {
	path := filepath.Join(t.TempDir(), "registry.db")
	db, err := sqlite.Open(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	db.Close()
	raw := rawOpen(t, path)
	defer raw.Close()
	for _, q := range []string{
		`INSERT INTO registrars (id, created) VALUES ('REG-1', 0)`,
		`INSERT INTO domains (name, zone, status, registrar_id, expires, created, updated) VALUES ('exemplo.pt', 'pt', 'active', 'REG-1', '2027-01-01', 0, 0)`,
	} {
		if _, err := raw.Exec(q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	ins := `INSERT INTO domains (name, zone, status, registrar_id, expires, created, updated) VALUES `
	bad := map[string]string{
		"duplicate name":        ins + `('exemplo.pt', 'pt', 'active', 'REG-1', '2027-01-01', 0, 0)`,
		"unknown status":        ins + `('b.pt', 'pt', 'deleted', 'REG-1', '2027-01-01', 0, 0)`,
		"unknown zone":          ins + `('b.co.pt', 'co.pt', 'active', 'REG-1', '2027-01-01', 0, 0)`,
		"name outside zone":     ins + `('b.com.pt', 'pt', 'active', 'REG-1', '2027-01-01', 0, 0)`,
		"uppercase name":        ins + `('B.pt', 'pt', 'active', 'REG-1', '2027-01-01', 0, 0)`,
		"unknown registrar":     ins + `('c.pt', 'pt', 'active', 'REG-404', '2027-01-01', 0, 0)`,
		"bad date":              ins + `('d.pt', 'pt', 'active', 'REG-1', '2027-02-30x', 0, 0)`,
		"text in integer":       ins + `('e.pt', 'pt', 'active', 'REG-1', '2027-01-01', 'yesterday', 0)`,
		"address junk":          `INSERT INTO nameservers (domain_id, position, host, addrs) SELECT id, 0, 'ns.exemplo.pt', 'not-an-ip' FROM domains`,
		"host with underscore":  `INSERT INTO nameservers (domain_id, position, host) SELECT id, 0, 'ns_1.exemplo.pt' FROM domains`,
		"single-label host":     `INSERT INTO nameservers (domain_id, position, host) SELECT id, 0, 'localhost' FROM domains`,
		"nameserver orphan":     `INSERT INTO nameservers (domain_id, position, host) VALUES (999999, 0, 'ns.x.pt')`,
		"key tag out of range":  `INSERT INTO ds_records (domain_id, position, key_tag, algorithm, digest_type, digest) SELECT id, 0, 65536, 13, 2, hex(zeroblob(32)) FROM domains`,
		"algorithm zero":        `INSERT INTO ds_records (domain_id, position, key_tag, algorithm, digest_type, digest) SELECT id, 0, 1, 0, 2, hex(zeroblob(32)) FROM domains`,
		"digest not hex":        `INSERT INTO ds_records (domain_id, position, key_tag, algorithm, digest_type, digest) SELECT id, 0, 1, 13, 2, 'ZZ' FROM domains`,
		"digest wrong length":   `INSERT INTO ds_records (domain_id, position, key_tag, algorithm, digest_type, digest) SELECT id, 0, 1, 13, 2, hex(zeroblob(20)) FROM domains`,
		"serial beyond 32 bits": `INSERT INTO publications (zone, serial, published_at, outcome, triggered_by, records, delegations) VALUES ('pt', 4294967296, 0, 'published', 't', 0, 0)`,
		"token hash size":       `UPDATE registrars SET token_hash = x'00'`,
		"findings not array":    `INSERT INTO check_results (domain_id, checked_at, duration_us, trigger, verdict, findings) SELECT id, 0, 0, 't', 'pass', '{}' FROM domains`,
	}
	for name, q := range bad {
		if _, err := raw.Exec(q); err == nil {
			t.Errorf("%s: the schema accepted %s", name, q)
		}
	}
}
