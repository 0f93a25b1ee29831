package sqlite_test

import (
	"context"
	"database/sql"
	"errors"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	sqlitelib "modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/ptzone/ptzone/store"
	"github.com/ptzone/ptzone/store/sqlite"
)

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

// TestOutboxMigration: migration 0007 rebuilds the outbox to let it hold
// webhook notices. A store made by the earlier migrations, with a
// notice waiting (claimed, tried once) and one sent, keeps both, their
// ids and their bookkeeping, the pending index, and its role check.
func TestOutboxMigration(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "registry.db")
	raw, mustExec := migratedBefore(t, path, 7)
	t0 := time.Date(2026, 11, 23, 3, 0, 0, 0, time.UTC)
	mustExec(`INSERT INTO outbox (id, created, domain, kind, role, recipient, deadline, findings, attempts, last_error, next_attempt, claimed_until)
		VALUES (41, ?, 'exemplo.pt', 'delegation_failing', 'tech', 'dns@exemplo.pt', ?, '[{"code":"NO_RESPONSE"}]', 1, 'relay down', ?, ?)`,
		t0.UnixMicro(), t0.Add(14*24*time.Hour).UnixMicro(), t0.Add(time.Minute).UnixMicro(), t0.Add(5*time.Minute).UnixMicro())
	mustExec(`INSERT INTO outbox (id, created, domain, kind, role, recipient, sent) VALUES (40, ?, 'exemplo.pt', 'delegation_refused', 'registrar', 'REG-1', ?)`,
		t0.UnixMicro(), t0.UnixMicro())
	if _, err := raw.Exec(`INSERT INTO outbox (created, domain, kind, role, recipient) VALUES (0, 'exemplo.pt', 'delegation_failing', 'webhook', 'ops')`); err == nil {
		t.Fatal("the outbox took a webhook notice before migration 0007")
	}
	raw.Close()

	db, err := sqlite.Open(ctx, path)
	if err != nil {
		t.Fatalf("migrating to 0007: %v", err)
	}
	defer db.Close()
	pending, err := db.Notices(ctx, true, 10)
	if err != nil {
		t.Fatal(err)
	}
	if len(pending) != 1 {
		t.Fatalf("pending after the migration: %+v, want notice 41 alone", pending)
	}
	n := pending[0]
	if n.ID != 41 || n.Role != store.RoleTech || n.Attempts != 1 || n.LastError != "relay down" || !n.Deadline.Equal(t0.Add(14*24*time.Hour)) ||
		len(n.Findings) != 1 || n.Findings[0].Code != "NO_RESPONSE" {
		t.Errorf("notice 41 after the migration: %+v", n)
	}
	// Its claim holds: nobody takes it before the lease ends, and it is
	// due after.
	if got, err := db.ClaimNotices(ctx, t0.Add(2*time.Minute), time.Minute, 10); err != nil || len(got) != 0 {
		t.Errorf("a claimed notice was taken again after the migration: %+v %v", got, err)
	}
	if got, err := db.ClaimNotices(ctx, t0.Add(6*time.Minute), time.Minute, 10); err != nil || len(got) != 1 || got[0].ID != 41 {
		t.Errorf("notice 41 past its claim: %+v %v", got, err)
	}
	all, err := db.Notices(ctx, false, 10)
	if err != nil || len(all) != 2 || all[0].ID != 40 || all[0].Sent.IsZero() {
		t.Errorf("every notice after the migration: %+v %v", all, err)
	}

	raw = rawOpen(t, path)
	defer raw.Close()
	var indexed int
	if err := raw.QueryRow(`SELECT count(*) FROM pragma_index_list('outbox') WHERE name = 'outbox_pending' AND partial = 1`).Scan(&indexed); err != nil || indexed != 1 {
		t.Errorf("the pending index after the rebuild: %d %v", indexed, err)
	}
	if _, err := raw.Exec(`INSERT INTO outbox (created, domain, kind, role, recipient) VALUES (0, 'exemplo.pt', 'delegation_failing', 'webhook', 'ops')`); err != nil {
		t.Errorf("the rebuilt outbox refuses a webhook notice: %v", err)
	}
	if _, err := raw.Exec(`INSERT INTO outbox (created, domain, kind, role, recipient) VALUES (0, 'exemplo.pt', 'delegation_failing', 'pager', 'x')`); err == nil {
		t.Error("the rebuilt outbox takes any role")
	}
}

// TestFreezeMigration: migration 0009 keys the freezes by zone. A store
// frozen before it (the one freeze of every zone) stays frozen, as the
// freeze of every zone, by the same operator, since the same time, for
// the same reason; a zone may then be frozen beside it.
func TestFreezeMigration(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "registry.db")
	raw, mustExec := migratedBefore(t, path, 9)
	t0 := time.Date(2026, 11, 23, 3, 0, 0, 0, time.UTC)
	mustExec(`INSERT INTO publishing_freeze (one, at, actor, reason) VALUES (1, ?, 'ana', 'registry migration tonight')`, t0.UnixMicro())
	raw.Close()

	db, err := sqlite.Open(ctx, path)
	if err != nil {
		t.Fatalf("migrating to 0009: %v", err)
	}
	defer db.Close()
	want := store.Freeze{Time: t0, Actor: "ana", Reason: "registry migration tonight"}
	if fs, err := db.Freezes(ctx); err != nil || len(fs) != 1 || fs[0] != want {
		t.Fatalf("the freezes after the migration: %+v %v; want %+v", fs, err, want)
	}
	if err := db.Freeze(ctx, store.Freeze{Zone: "com.pt", Time: t0, Actor: "rui", Reason: "rolled back"}); err != nil {
		t.Errorf("freezing com.pt after the migration: %v", err)
	}
	if err := db.Freeze(ctx, store.Freeze{Time: t0, Actor: "rui", Reason: "again"}); !errors.Is(err, store.ErrFrozen) {
		t.Errorf("freezing every zone again after the migration: %v, want ErrFrozen", err)
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
		`INSERT INTO domains (name, id, zone, status, registrar_id, expires, created, updated) VALUES ('exemplo.pt', 1, 'pt', 'active', 'REG-1', '2027-01-01', 0, 0)`,
	} {
		if _, err := raw.Exec(q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	// A fresh id each: the refusal must come from the column under test.
	ins := `INSERT INTO domains (name, id, zone, status, registrar_id, expires, created, updated) VALUES `
	bad := map[string]string{
		"duplicate name":        ins + `('exemplo.pt', 2 + abs(random() % 1000000), 'pt', 'active', 'REG-1', '2027-01-01', 0, 0)`,
		"unknown status":        ins + `('b.pt', 2 + abs(random() % 1000000), 'pt', 'deleted', 'REG-1', '2027-01-01', 0, 0)`,
		"unknown zone":          ins + `('b.co.pt', 2 + abs(random() % 1000000), 'co.pt', 'active', 'REG-1', '2027-01-01', 0, 0)`,
		"name outside zone":     ins + `('b.com.pt', 2 + abs(random() % 1000000), 'pt', 'active', 'REG-1', '2027-01-01', 0, 0)`,
		"uppercase name":        ins + `('B.pt', 2 + abs(random() % 1000000), 'pt', 'active', 'REG-1', '2027-01-01', 0, 0)`,
		"unknown registrar":     ins + `('c.pt', 2 + abs(random() % 1000000), 'pt', 'active', 'REG-404', '2027-01-01', 0, 0)`,
		"bad date":              ins + `('d.pt', 2 + abs(random() % 1000000), 'pt', 'active', 'REG-1', '2027-02-30x', 0, 0)`,
		"text in integer":       ins + `('e.pt', 2 + abs(random() % 1000000), 'pt', 'active', 'REG-1', '2027-01-01', 'yesterday', 0)`,
		"address junk":          `UPDATE domains SET nameservers = 'ns.exemplo.pt not_an_ip'`,
		"host with underscore":  `UPDATE domains SET nameservers = 'ns_1.exemplo.pt'`,
		"uppercase host":        `UPDATE domains SET nameservers = 'NS.exemplo.pt'`,
		"empty nameserver":      `UPDATE domains SET nameservers = 'a.dns.pt,,b.dns.pt'`,
		"DS not hex":            `UPDATE domains SET ds = '1 13 2 zz'`,
		"DS trailing comma":     `UPDATE domains SET ds = '1 13 2 AB,'`,
		"null nameservers":      `UPDATE domains SET nameservers = NULL`,
		"serial beyond 32 bits": `INSERT INTO publications (zone, serial, published_at, outcome, triggered_by, records, delegations) VALUES ('pt', 4294967296, 0, 'published', 't', 0, 0)`,
		"token hash size":       `UPDATE registrars SET token_hash = x'00'`,
		"unknown notice role":   `INSERT INTO outbox (created, domain, kind, role, recipient) VALUES (0, 'exemplo.pt', 'delegation_failing', 'pager', 'x')`,
		"findings not array":    `INSERT INTO check_results (domain_id, checked_at, duration_us, trigger, verdict, findings) SELECT id, 0, 0, 't', 'pass', '{}' FROM domains`,
		"frozen zone absolute":  `INSERT INTO publishing_freeze (zone, at, actor, reason) VALUES ('com.pt.', 0, 'ana', 'r')`,
		"frozen zone uppercase": `INSERT INTO publishing_freeze (zone, at, actor, reason) VALUES ('COM.pt', 0, 'ana', 'r')`,
	}
	for name, q := range bad {
		_, err := raw.Exec(q)
		var se *sqlitelib.Error
		switch {
		case err == nil:
			t.Errorf("%s: the schema accepted %s", name, q)
		case !errors.As(err, &se) || se.Code()&0xff != sqlite3.SQLITE_CONSTRAINT:
			// Anything but a constraint violation (a typo in the test SQL)
			// means the case tests nothing.
			t.Errorf("%s: refused for the wrong reason: %v", name, err)
		}
	}
	if _, err := raw.Exec(`UPDATE domains SET nameservers = 'ns1.exemplo.pt 192.0.2.1 2001:db8::53,ns.hosting.net', ds = '0 5 1 AB'`); err != nil {
		t.Errorf("a valid delegation was refused: %v", err)
	}
}

// TestPublicationsMigration: migration 0010 rebuilds the publication log
// to let it record adoptions. A store made by the earlier migrations
// keeps its entries, their ids and details, and the zone indexes, and
// the rebuilt table still refuses an unknown outcome.
func TestPublicationsMigration(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "registry.db")
	raw, mustExec := migratedBefore(t, path, 10)
	t0 := time.Date(2026, 12, 1, 3, 0, 0, 0, time.UTC)
	mustExec(`INSERT INTO publications (id, zone, serial, published_at, outcome, triggered_by, reason, records, delegations, digest, details)
		VALUES (7, 'pt', 1796000000, ?, 'published', 'cron', '', 120, 40, 'ab12', '{"mode":"full"}')`, t0.UnixMicro())
	adopt := `INSERT INTO publications (zone, serial, published_at, outcome, triggered_by, records, delegations) VALUES ('pt', 1, 0, 'adopted', 'adopt', 0, 0)`
	if _, err := raw.Exec(adopt); err == nil {
		t.Fatal("the publication log took an adoption before migration 0010")
	}
	raw.Close()

	db, err := sqlite.Open(ctx, path)
	if err != nil {
		t.Fatalf("migrating to 0010: %v", err)
	}
	defer db.Close()
	pubs, err := db.Publications(ctx, "pt", 10)
	if err != nil || len(pubs) != 1 {
		t.Fatalf("the log after the migration: %+v %v", pubs, err)
	}
	if p := pubs[0]; p.ID != 7 || p.Serial != 1796000000 || p.Outcome != store.OutcomePublished || p.Digest != "ab12" ||
		!p.Time.Equal(t0) || string(p.Details) != `{"mode":"full"}` {
		t.Errorf("entry 7 after the migration: %+v", p)
	}
	if _, err := db.RecordPublication(ctx, store.Publication{Zone: "pt", Serial: 2026120301, Time: t0, Outcome: store.OutcomeAdopted, TriggeredBy: "adopt"}); err != nil {
		t.Errorf("an adoption after the migration: %v", err)
	}

	raw = rawOpen(t, path)
	defer raw.Close()
	var indexed int
	if err := raw.QueryRow(`SELECT count(*) FROM pragma_index_list('publications') WHERE name IN ('publications_zone', 'publications_zone_time')`).Scan(&indexed); err != nil || indexed != 2 {
		t.Errorf("the zone indexes (by id, by time for the guard's window) after the rebuild: %d %v", indexed, err)
	}
	if _, err := raw.Exec(`INSERT INTO publications (zone, serial, published_at, outcome, triggered_by, records, delegations) VALUES ('pt', 1, 0, 'maybe', 'x', 0, 0)`); err == nil {
		t.Error("the rebuilt log takes any outcome")
	}
}

// migratedBefore opens a store at path made by the migrations numbered
// below version, as an older ptzone left it, with an Exec that fails the
// test on error.
func migratedBefore(t *testing.T, path string, version int) (*sql.DB, func(q string, args ...any)) {
	t.Helper()
	raw := rawOpen(t, path)
	mustExec := func(q string, args ...any) {
		t.Helper()
		if _, err := raw.Exec(q, args...); err != nil {
			t.Fatalf("%.60s: %v", q, err)
		}
	}
	mustExec(`CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied INTEGER NOT NULL) STRICT`)
	files, err := filepath.Glob("migrations/*.sql")
	if err != nil {
		t.Fatal(err)
	}
	sort.Strings(files)
	applied := 0
	for _, f := range files {
		n, err := strconv.Atoi(strings.SplitN(filepath.Base(f), "_", 2)[0])
		if err != nil {
			t.Fatalf("%s: not a numbered migration", f)
		}
		if n >= version {
			continue
		}
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		mustExec(string(b))
		mustExec(`INSERT INTO schema_migrations VALUES (?, ?, 0)`, n, filepath.Base(f))
		applied++
	}
	if applied != version-1 {
		t.Fatalf("%d migrations before %04d, want %d", applied, version, version-1)
	}
	return raw, mustExec
}
