package postgres_test

import (
	"context"
	"errors"
	"os"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/ptzone/ptzone/store"
	"github.com/ptzone/ptzone/store/postgres"
	"github.com/ptzone/ptzone/store/postgres/pgtest"
	"github.com/ptzone/ptzone/store/storetest"
)

func TestMain(m *testing.M) { os.Exit(pgtest.Main(m)) }

func openMigrated(t *testing.T) (*postgres.DB, string) {
	t.Helper()
	dsn := pgtest.NewDatabase(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if _, err := postgres.Migrate(ctx, dsn); err != nil {
		t.Fatal(err)
	}
	db, err := postgres.Open(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	return db, dsn
}

func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) store.Registry {
		db, _ := openMigrated(t)
		return db
	})
}

func TestOpenRequiresMigration(t *testing.T) {
	dsn := pgtest.NewDatabase(t)
	ctx := context.Background()
	if _, err := postgres.Open(ctx, dsn); !errors.Is(err, store.ErrSchema) {
		t.Fatalf("Open on an empty database = %v, want ErrSchema", err)
	}
	applied, err := postgres.Migrate(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	if len(applied) != postgres.SchemaVersion() {
		t.Errorf("first Migrate applied %v, want all %d", applied, postgres.SchemaVersion())
	}
	again, err := postgres.Migrate(ctx, dsn)
	if err != nil || len(again) != 0 {
		t.Errorf("second Migrate applied %v (%v), want nothing", again, err)
	}
	db, err := postgres.Open(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	db.Close()
}

// TestConstraints writes bad rows straight into the tables: the schema
// itself must refuse them, whatever a future caller forgets to validate.
func TestConstraints(t *testing.T) {
	db, dsn := openMigrated(t)
	defer db.Close()
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	setup := []string{
		`INSERT INTO registrars (id) VALUES ('REG-1')`,
		`INSERT INTO domains (name, zone, status, registrar_id, expires) VALUES ('exemplo.pt', 'pt', 'active', 'REG-1', '2027-01-01')`,
	}
	for _, q := range setup {
		if _, err := conn.Exec(ctx, q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	bad := map[string]string{
		"duplicate name":        `INSERT INTO domains (name, zone, status, registrar_id, expires) VALUES ('exemplo.pt', 'pt', 'active', 'REG-1', '2027-01-01')`,
		"unknown status":        `INSERT INTO domains (name, zone, status, registrar_id, expires) VALUES ('b.pt', 'pt', 'deleted', 'REG-1', '2027-01-01')`,
		"unknown zone":          `INSERT INTO domains (name, zone, status, registrar_id, expires) VALUES ('b.co.pt', 'co.pt', 'active', 'REG-1', '2027-01-01')`,
		"name outside zone":     `INSERT INTO domains (name, zone, status, registrar_id, expires) VALUES ('b.com.pt', 'pt', 'active', 'REG-1', '2027-01-01')`,
		"uppercase name":        `INSERT INTO domains (name, zone, status, registrar_id, expires) VALUES ('B.pt', 'pt', 'active', 'REG-1', '2027-01-01')`,
		"unknown registrar":     `INSERT INTO domains (name, zone, status, registrar_id, expires) VALUES ('c.pt', 'pt', 'active', 'REG-404', '2027-01-01')`,
		"address not inet":      `INSERT INTO nameservers (domain_id, position, host, addrs) SELECT id, 0, 'ns.exemplo.pt', '{300.1.1.1}' FROM domains`,
		"address is a prefix":   `INSERT INTO nameservers (domain_id, position, host, addrs) SELECT id, 0, 'ns.exemplo.pt', '{192.0.2.0/24}' FROM domains`,
		"zero address":          `INSERT INTO nameservers (domain_id, position, host, addrs) SELECT id, 0, 'ns.exemplo.pt', '{0.0.0.0}' FROM domains`,
		"host with underscore":  `INSERT INTO nameservers (domain_id, position, host) SELECT id, 0, 'ns_1.exemplo.pt' FROM domains`,
		"single-label host":     `INSERT INTO nameservers (domain_id, position, host) SELECT id, 0, 'localhost' FROM domains`,
		"nameserver orphan":     `INSERT INTO nameservers (domain_id, position, host) VALUES (999999, 0, 'ns.x.pt')`,
		"key tag out of range":  `INSERT INTO ds_records (domain_id, position, key_tag, algorithm, digest_type, digest) SELECT id, 0, 65536, 13, 2, repeat('AB', 32) FROM domains`,
		"algorithm zero":        `INSERT INTO ds_records (domain_id, position, key_tag, algorithm, digest_type, digest) SELECT id, 0, 1, 0, 2, repeat('AB', 32) FROM domains`,
		"digest not hex":        `INSERT INTO ds_records (domain_id, position, key_tag, algorithm, digest_type, digest) SELECT id, 0, 1, 13, 2, repeat('ZZ', 32) FROM domains`,
		"digest wrong length":   `INSERT INTO ds_records (domain_id, position, key_tag, algorithm, digest_type, digest) SELECT id, 0, 1, 13, 2, repeat('AB', 20) FROM domains`,
		"serial beyond 32 bits": `INSERT INTO publications (zone, serial, published_at, outcome, triggered_by, records, delegations) VALUES ('pt', 4294967296, now(), 'published', 't', 0, 0)`,
		"token hash size":       `UPDATE registrars SET token_hash = '\x00'`,
	}
	for name, q := range bad {
		if _, err := conn.Exec(ctx, q); err == nil {
			t.Errorf("%s: the schema accepted %s", name, q)
		}
	}
}
