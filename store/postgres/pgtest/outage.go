package pgtest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"os"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/ptzone/ptzone/store/postgres"
)

// Cluster is a throwaway cluster of one test's own, which the test may
// stop and start again: a database outage, without disturbing the
// databases of the other tests (they share another cluster). It is
// always started from the installed server binaries, even when
// PTZONE_TEST_DATABASE_URL names a server, since that one is not the
// test's to stop. What was committed before Stop is there after Start,
// as on a production server. It is stopped and removed when the test
// ends.
type Cluster struct {
	c       *cluster
	stopped atomic.Bool
}

// NewCluster starts a cluster for the test alone.
func NewCluster(t testing.TB) *Cluster {
	t.Helper()
	c, err := startCluster(true)
	if err != nil {
		unavailable(t, err)
	}
	out := &Cluster{c: c}
	t.Cleanup(func() {
		var err error
		if out.stopped.Load() {
			err = os.RemoveAll(c.base)
		} else {
			err = c.stop()
		}
		if err != nil {
			t.Errorf("pgtest: %v", err)
		}
	})
	return out
}

// NewMigrated creates a database on the cluster, migrated to the schema
// this binary knows, and returns its postgres:// URL (a Unix socket in
// the cluster's directory).
func (c *Cluster) NewMigrated(t testing.TB) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	conn, err := pgx.Connect(ctx, c.c.url("postgres"))
	if err != nil {
		t.Fatalf("pgtest: connecting to the test's cluster: %v", err)
	}
	defer conn.Close(ctx)
	var suffix [6]byte
	rand.Read(suffix[:])
	name := "ptzone_test_" + hex.EncodeToString(suffix[:])
	if _, err := conn.Exec(ctx, "CREATE DATABASE "+name); err != nil {
		t.Fatalf("pgtest: creating database: %v", err)
	}
	dsn := c.c.url(name)
	if _, err := postgres.Migrate(ctx, dsn); err != nil {
		t.Fatalf("pgtest: migrating %s: %v", redactURL(dsn), err)
	}
	return dsn
}

// Stop stops the server at once, as a crash would: its sessions end, its
// socket goes, and connecting fails until Start.
func (c *Cluster) Stop(t testing.TB) {
	t.Helper()
	if err := c.c.halt(); err != nil {
		t.Fatalf("pgtest: %v", err)
	}
	c.stopped.Store(true)
}

// Start starts the stopped server again and waits until it accepts
// connections; the databases are as they were.
func (c *Cluster) Start(t testing.TB) {
	t.Helper()
	if err := c.c.start(); err != nil {
		t.Fatalf("pgtest: %v", err)
	}
	c.stopped.Store(false)
}
