package postgres_test

import (
	"context"
	"errors"
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

// cancelledByServer reports whether err is PostgreSQL's cancellation of
// a statement for its statement_timeout.
func cancelledByServer(err error) bool {
	var pgErr *pgconn.PgError
	return errors.As(err, &pgErr) && pgErr.Code == "57014" && strings.Contains(pgErr.Message, "statement timeout")
}

// TestStatementTimeout: every connection of the store carries its
// statement_timeout, and PostgreSQL cancels a statement that runs past
// it, a sleep or a write waiting on another session's lock (a vacuum
// full, an operator's open transaction): the call fails with the
// server's cancellation, not the client's deadline, and the store goes
// on working.
func TestStatementTimeout(t *testing.T) {
	dsn := pgtest.NewMigrated(t)
	ctx := context.Background()
	db, err := postgres.OpenWith(ctx, dsn, postgres.Options{StatementTimeout: 300 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var setting string
	if err := db.Core.DB.QueryRow(ctx, `SHOW statement_timeout`).Scan(&setting); err != nil || setting != "300ms" {
		t.Errorf("statement_timeout on the store's connections: %q, %v", setting, err)
	}
	if _, err := db.Core.DB.Exec(ctx, `SELECT pg_sleep(30)`); !cancelledByServer(err) {
		t.Errorf("a statement of 30 s: %v; want PostgreSQL's cancellation for the statement timeout", err)
	}

	holder, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer holder.Close(ctx)
	tx, err := holder.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tx.Exec(ctx, `LOCK TABLE publications IN ACCESS EXCLUSIVE MODE`); err != nil {
		t.Fatal(err)
	}
	entry := store.Publication{Zone: "pt", Serial: 1, Time: time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC), Outcome: store.OutcomePublished,
		TriggeredBy: "schedule@a"}
	if _, err := db.RecordPublication(ctx, entry); !cancelledByServer(err) {
		t.Errorf("recording while another session locks the log: %v; want PostgreSQL's cancellation", err)
	}
	tx.Rollback(ctx)
	if _, err := db.RecordPublication(ctx, entry); err != nil {
		t.Errorf("recording once the lock is gone: %v", err)
	}

	// The server's default is none: a store opened without a timeout
	// still has one.
	plain, err := postgres.Open(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer plain.Close()
	if err := plain.Core.DB.QueryRow(ctx, `SHOW statement_timeout`).Scan(&setting); err != nil || setting != "5min" {
		t.Errorf("the default statement_timeout: %q, %v; want 5min", setting, err)
	}
}

// TestImportTimeout: an import runs under its own timeout, not the
// statements' (its COPY streams a whole registry, minutes at .pt's
// size): a source slower than the statement timeout is imported, and
// the import's own timeout, when it is the shorter, ends it.
func TestImportTimeout(t *testing.T) {
	ctx := context.Background()
	slow := func(yield func(store.ImportRecord, error) bool) {
		line := 0
		for d := range synth.Generate(synth.Options{Domains: 20, Seed: 5}) {
			line++
			if line == 10 {
				time.Sleep(time.Second) // the COPY runs past the statement timeout
			}
			if !yield(store.ImportRecord{Line: line, Domain: d}, nil) {
				return
			}
		}
	}
	for _, c := range []struct {
		name string
		opts postgres.Options
		ok   bool
	}{
		{"statement timeout shorter", postgres.Options{StatementTimeout: 200 * time.Millisecond, ImportTimeout: time.Minute}, true},
		{"import timeout shorter", postgres.Options{StatementTimeout: time.Minute, ImportTimeout: 200 * time.Millisecond}, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			db, err := postgres.OpenWith(ctx, pgtest.NewMigrated(t), c.opts)
			if err != nil {
				t.Fatal(err)
			}
			defer db.Close()
			res, err := db.Import(ctx, slow, store.ImportInsert)
			switch {
			case c.ok && (err != nil || res.Inserted != 20):
				t.Errorf("import: %+v, %v; want 20 domains inserted", res, err)
			case !c.ok && !cancelledByServer(err):
				t.Errorf("import: %+v, %v; want PostgreSQL's cancellation for the import's timeout", res, err)
			}
		})
	}
}

// TestCallTimeout: a database that stops answering altogether (a black
// hole: connections taken, nothing ever said, which no statement timeout
// can end) fails each call after the statement timeout and its margin,
// saying so, instead of hanging it; so does taking the publisher's lock.
func TestCallTimeout(t *testing.T) {
	dsn := pgtest.NewMigrated(t)
	proxy, through := pgtest.NewProxy(t, dsn)
	ctx := context.Background()
	db, err := postgres.OpenWith(ctx, through, postgres.Options{StatementTimeout: 200 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.Zones(ctx); err != nil {
		t.Fatalf("before the black hole: %v", err)
	}
	proxy.Silence()
	defer proxy.Close()
	for name, call := range map[string]func() error{
		"Zones": func() error { _, err := db.Zones(ctx); return err },
		"TryLock": func() error {
			_, _, err := db.TryLock(ctx, store.PublisherLock)
			return err
		},
		"Snapshot": func() error {
			s, err := db.Snapshot(ctx)
			if err == nil {
				s.Close()
			}
			return err
		},
	} {
		done := make(chan error, 1)
		go func() { done <- call() }()
		select {
		case err := <-done:
			if err == nil || !strings.Contains(err.Error(), "no answer from the database within 1.2s") {
				t.Errorf("%s against a black hole: %v; want no answer within 1.2s", name, err)
			}
		case <-time.After(time.Minute):
			t.Fatalf("%s against a black hole still hangs after a minute", name)
		}
	}
}
