package postgres_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/ptzone/ptzone/store"
	"github.com/ptzone/ptzone/store/postgres"
	"github.com/ptzone/ptzone/store/postgres/pgtest"
	"github.com/ptzone/ptzone/store/synth"
)

func TestMain(m *testing.M) { os.Exit(pgtest.Main(m)) }

func openMigrated(t *testing.T) (*postgres.DB, string) { return pgtest.Open(t) }

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
		"address not inet":      `UPDATE domains SET nameservers = ARRAY[ROW('ns.exemplo.pt', '{300.1.1.1}')::nameserver]`,
		"address is a prefix":   `UPDATE domains SET nameservers = ARRAY[ROW('ns.exemplo.pt', '{192.0.2.0/24}')::nameserver]`,
		"zero address":          `UPDATE domains SET nameservers = ARRAY[ROW('ns.exemplo.pt', '{0.0.0.0}')::nameserver]`,
		"address twice":         `UPDATE domains SET nameservers = ARRAY[ROW('ns.exemplo.pt', '{192.0.2.1,192.0.2.1}')::nameserver]`,
		"null addresses":        `UPDATE domains SET nameservers = ARRAY[ROW('ns.exemplo.pt', NULL)::nameserver]`,
		"host with underscore":  `UPDATE domains SET nameservers = ARRAY[ROW('ns_1.exemplo.pt', '{}')::nameserver]`,
		"single-label host":     `UPDATE domains SET nameservers = ARRAY[ROW('localhost', '{}')::nameserver]`,
		"null host":             `UPDATE domains SET nameservers = ARRAY[ROW(NULL, '{}')::nameserver]`,
		"host twice":            `UPDATE domains SET nameservers = ARRAY[ROW('a.dns.pt', '{}')::nameserver, ROW('a.dns.pt', '{}')::nameserver]`,
		"fourteen nameservers":  `UPDATE domains SET nameservers = ARRAY(SELECT ROW('ns' || i || '.dns.pt', '{}')::nameserver FROM generate_series(1, 14) i)`,
		"key tag out of range":  `UPDATE domains SET ds = ARRAY[ROW(65536, 13, 2, repeat('AB', 32))::ds_record]`,
		"algorithm zero":        `UPDATE domains SET ds = ARRAY[ROW(1, 0, 2, repeat('AB', 32))::ds_record]`,
		"digest not hex":        `UPDATE domains SET ds = ARRAY[ROW(1, 13, 2, repeat('ZZ', 32))::ds_record]`,
		"digest lowercase":      `UPDATE domains SET ds = ARRAY[ROW(1, 13, 2, repeat('ab', 32))::ds_record]`,
		"digest wrong length":   `UPDATE domains SET ds = ARRAY[ROW(1, 13, 2, repeat('AB', 20))::ds_record]`,
		"null digest":           `UPDATE domains SET ds = ARRAY[ROW(1, 13, 2, NULL)::ds_record]`,
		"DS twice":              `UPDATE domains SET ds = ARRAY[ROW(1, 13, 2, repeat('AB', 32))::ds_record, ROW(1, 13, 2, repeat('AB', 32))::ds_record]`,
		"generated text":        `UPDATE domains SET ns_text = 'ns.evil.example'`,
		"serial beyond 32 bits": `INSERT INTO publications (zone, serial, published_at, outcome, triggered_by, records, delegations) VALUES ('pt', 4294967296, now(), 'published', 't', 0, 0)`,
		"token hash size":       `UPDATE registrars SET token_hash = '\x00'`,
		"unknown notice role":   `INSERT INTO outbox (created, domain, kind, role, recipient) VALUES (now(), 'exemplo.pt', 'delegation_failing', 'pager', 'x')`,
		"frozen zone absolute":  `INSERT INTO publishing_freeze (zone, at, actor, reason) VALUES ('com.pt.', now(), 'ana', 'r')`,
		"frozen zone uppercase": `INSERT INTO publishing_freeze (zone, at, actor, reason) VALUES ('COM.pt', now(), 'ana', 'r')`,
	}
	for name, q := range bad {
		_, err := conn.Exec(ctx, q)
		var pgErr *pgconn.PgError
		switch {
		case err == nil:
			t.Errorf("%s: the schema accepted %s", name, q)
		case !errors.As(err, &pgErr):
			t.Errorf("%s: %v", name, err)
		case !strings.HasPrefix(pgErr.Code, "23") && !strings.HasPrefix(pgErr.Code, "22") && pgErr.Code != "428C9":
			// 23: integrity constraint, 22: bad data, 428C9: generated column.
			// Anything else (a syntax error) means the case tests nothing.
			t.Errorf("%s: refused for the wrong reason: %v", name, err)
		}
	}
	good := `UPDATE domains SET nameservers = ARRAY[ROW('ns1.exemplo.pt', '{192.0.2.1,2001:db8::53}')::nameserver, ROW('ns.hosting.net', '{}')::nameserver],
		ds = ARRAY[ROW(0, 5, 1, repeat('AB', 20))::ds_record, ROW(65535, 253, 200, 'AB')::ds_record]`
	if _, err := conn.Exec(ctx, good); err != nil {
		t.Fatalf("a valid delegation was refused: %v", err)
	}
	var nsText, dsText string
	if err := conn.QueryRow(ctx, `SELECT ns_text, ds_text FROM domains`).Scan(&nsText, &dsText); err != nil {
		t.Fatal(err)
	}
	if nsText != "ns1.exemplo.pt 192.0.2.1 2001:db8::53,ns.hosting.net" || dsText != "0 5 1 "+strings.Repeat("AB", 20)+",65535 253 200 AB" {
		t.Errorf("generated text: %q / %q", nsText, dsText)
	}
}

// TestChangeFeedLateCommit: a transaction that writes a domain before a
// snapshot is taken but commits after it is not in that snapshot, and so
// must be in the changes the next snapshot reads since it. A sequence or a
// clock would lose it; the feed keys on transaction ids.
func TestChangeFeedLateCommit(t *testing.T) {
	db, dsn := openMigrated(t)
	defer db.Close()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	d := store.Domain{Name: "tardio.pt", Zone: "pt", Status: store.StatusActive, Registrar: "R", Expires: time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC),
		Nameservers: []store.Nameserver{{Name: "ns.hosting.net"}}}
	if err := db.PutDomain(ctx, d); err != nil {
		t.Fatal(err)
	}
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	writer, err := conn.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := writer.Exec(ctx, `UPDATE domains SET status = 'suspended' WHERE name = 'tardio.pt'`); err != nil {
		t.Fatal(err)
	}
	// Taken while the writer is open, and so before it commits.
	first, err := db.Snapshot(ctx)
	if err != nil {
		t.Fatal(err)
	}
	token := first.ChangeToken()
	first.Close()
	if err := writer.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	next, err := db.Snapshot(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer next.Close()
	found := false
	for c, err := range next.Changes(ctx, token, store.Filter{}) {
		if err != nil {
			t.Fatal(err)
		}
		if c.Name == "tardio.pt" && c.Candidate != nil && c.Candidate.Domain.Status == store.StatusSuspended {
			found = true
		}
	}
	if !found {
		t.Fatal("a write that committed after the snapshot is missing from the next changes")
	}
}

// TestImportAnalyzes: after an import the planner knows how big the
// domains table is. Without statistics it guessed a few thousand rows and
// planned a 2,000,000-domain zone read around that guess. The import also
// vacuums: otherwise the first zone build sets every row's hint bits, and
// autovacuum scans the table during the builds after it.
func TestImportAnalyzes(t *testing.T) {
	db, dsn := openMigrated(t)
	defer db.Close()
	ctx := context.Background()
	src := func(yield func(store.ImportRecord, error) bool) {
		line := 0
		for d := range synth.Generate(synth.Options{Domains: 2000, Seed: 3}) {
			line++
			if !yield(store.ImportRecord{Line: line, Domain: d}, nil) {
				return
			}
		}
	}
	if _, err := db.Import(ctx, src, store.ImportInsert); err != nil {
		t.Fatal(err)
	}
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	var tuples float64
	var analyzed, vacuumed bool
	if err := conn.QueryRow(ctx, `SELECT c.reltuples, s.last_analyze IS NOT NULL, s.last_vacuum IS NOT NULL
		FROM pg_class c JOIN pg_stat_user_tables s ON s.relid = c.oid WHERE c.oid = 'domains'::regclass`).Scan(&tuples, &analyzed, &vacuumed); err != nil {
		t.Fatal(err)
	}
	if !analyzed || !vacuumed || tuples < 1900 {
		t.Errorf("after importing 2,000 domains: analyzed %v, vacuumed %v, the planner counts %.0f rows", analyzed, vacuumed, tuples)
	}
}

// TestLockEndsWithSession: a daemon that dies (its connections close)
// holds the publisher's lock no more, and the other daemon sharing the
// database takes it; a lock whose session the server ended is no longer
// held. (The handover when a holder lets go is storetest's.)
func TestLockEndsWithSession(t *testing.T) {
	ctx := context.Background()
	a, dsn := openMigrated(t)
	b, err := postgres.Open(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	lb, held, err := b.TryLock(ctx, "publisher")
	if err != nil || !held || !lb.Held(ctx) {
		t.Fatalf("TryLock: %v, %v", held, err)
	}

	// b's daemon dies: the server sees its session end (as when the
	// process goes, its connections with it), and a takes the role.
	admin, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close(ctx)
	var ended bool
	if err := admin.QueryRow(ctx, `SELECT bool_and(pg_terminate_backend(pid)) FROM pg_locks
		WHERE locktype = 'advisory' AND granted AND pid <> pg_backend_pid()`).Scan(&ended); err != nil || !ended {
		t.Fatalf("ending the holder's session: %v, %v", ended, err)
	}
	if lb.Held(ctx) {
		t.Error("a dead daemon's lock is still said to be held")
	}
	lb.Release(ctx)
	waitFor := time.Now().Add(10 * time.Second)
	var la store.Lock
	var ok bool
	for {
		la, ok, err = a.TryLock(ctx, "publisher")
		if err != nil {
			t.Fatal(err)
		}
		if ok || time.Now().After(waitFor) {
			break
		}
		time.Sleep(20 * time.Millisecond) // the backend takes a moment to go
	}
	if !ok || !la.Held(ctx) {
		t.Fatal("the lock was not taken over after its holder died")
	}
	la.Release(ctx)
}

// TestOpenLazy: a store opened lazily is had whatever the database's
// state, and Ping says what is wrong: no server (naming it, never the
// password), a server that accepts and never answers (given up after
// connect_timeout, not the caller's far deadline), a schema to migrate;
// then, migrated, it answers.
func TestOpenLazy(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()

	// Nothing listens on the port of a listener just closed.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	db, err := postgres.OpenLazy(fmt.Sprintf("postgres://ptzone:s3cret@127.0.0.1:%d/registry?sslmode=disable", closed))
	if err != nil {
		t.Fatalf("OpenLazy with no server: %v", err)
	}
	err = db.Ping(ctx)
	if err == nil || !strings.Contains(err.Error(), fmt.Sprintf("connecting to ptzone@127.0.0.1:%d/registry", closed)) || strings.Contains(err.Error(), "s3cret") {
		t.Errorf("Ping with no server: %v", err)
	}
	if got := postgres.ConnectTimeoutOf(db); got != postgres.DefaultConnectTimeout {
		t.Errorf("connect timeout with none in the DSN: %v, want %v", got, postgres.DefaultConnectTimeout)
	}
	db.Close()

	// A server that takes the connection and says nothing.
	silent, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer silent.Close()
	go func() {
		for {
			c, err := silent.Accept()
			if err != nil {
				return
			}
			defer c.Close() // held open, unanswered, until the listener closes
		}
	}()
	db, err = postgres.OpenLazy(fmt.Sprintf("postgres://ptzone@%s/registry?sslmode=disable&connect_timeout=1", silent.Addr()))
	if err != nil {
		t.Fatal(err)
	}
	if got := postgres.ConnectTimeoutOf(db); got != time.Second {
		t.Errorf("connect timeout with connect_timeout=1: %v", got)
	}
	if err := db.Ping(ctx); err == nil || ctx.Err() != nil {
		t.Errorf("Ping of a silent server: %v, the caller's context %v: want given up on its own", err, ctx.Err())
	}
	db.Close()

	dsn := pgtest.NewDatabase(t)
	db, err = postgres.OpenLazy(dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if err := db.Ping(ctx); !errors.Is(err, store.ErrSchema) {
		t.Errorf("Ping of an empty database: %v, want ErrSchema", err)
	}
	if _, err := postgres.Migrate(ctx, dsn); err != nil {
		t.Fatal(err)
	}
	if err := db.Ping(ctx); err != nil {
		t.Errorf("Ping, migrated: %v", err)
	}
	if zones, err := db.Zones(ctx); err != nil || len(zones) == 0 {
		t.Errorf("Zones, migrated: %v %v", zones, err)
	}
}
