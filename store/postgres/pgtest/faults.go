package pgtest

import (
	"context"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// EndLockSessions ends, as the server ends a session whose client
// vanished, every session of the database at dsn that holds an advisory
// lock (a daemon's publisher lock), and waits until they are gone.
func EndLockSessions(t testing.TB, dsn string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatalf("pgtest: connecting to %s: %v", redactURL(dsn), err)
	}
	defer conn.Close(ctx)
	var ended int
	err = conn.QueryRow(ctx, `
		SELECT count(*) FROM (
			SELECT pg_terminate_backend(pid, 10000) FROM (
				SELECT DISTINCT l.pid FROM pg_locks l JOIN pg_database d ON d.oid = l.database
				WHERE l.locktype = 'advisory' AND d.datname = current_database() AND l.pid <> pg_backend_pid()) s) e`).Scan(&ended)
	if err != nil {
		t.Fatalf("pgtest: ending the sessions holding advisory locks: %v", err)
	}
	if ended == 0 {
		t.Fatal("pgtest: no session holds an advisory lock in the database")
	}
}
