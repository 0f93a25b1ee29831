package daemon

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/ptzone/ptzone/internal/testkit"
	"github.com/ptzone/ptzone/publish"
	"github.com/ptzone/ptzone/store"
	"github.com/ptzone/ptzone/store/postgres"
	"github.com/ptzone/ptzone/store/postgres/pgtest"
	"github.com/ptzone/ptzone/zonegen"
)

// midPublication is the registry of a daemon whose publication is
// interrupted: the first time the guard reads the publication log's
// window (the zone built, signed and verified, not yet written), it runs
// interrupt.
type midPublication struct {
	*postgres.DB
	mu        sync.Mutex
	interrupt func()
}

func (r *midPublication) PublishedSince(ctx context.Context, zone string, since time.Time) ([]store.Publication, error) {
	r.mu.Lock()
	interrupt := r.interrupt
	r.interrupt = nil
	r.mu.Unlock()
	if interrupt != nil {
		interrupt()
	}
	return r.DB.PublishedSince(ctx, zone, since)
}

// TestDaemonFencedMidPublication, on PostgreSQL: the publisher's session
// ends while it publishes (after signing, before writing), and another
// daemon takes the lock: the publisher writes nothing (it serves the
// zones it served, the log records nothing of it), says its zones were
// fenced, and is no longer the publisher.
func TestDaemonFencedMidPublication(t *testing.T) {
	ctx := context.Background()
	db, dsn := pgtest.Open(t)
	other, err := postgres.Open(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	keys := t.TempDir()
	testkit.GenerateKeyFiles(t, keys, time.Now().Add(-time.Hour), zonegen.DefaultZones()...)
	cfg := labConfig("a", 53)
	cfg.Publish.AssumeChecked = true
	reg := &midPublication{DB: db}
	d := startDaemon(t, cfg, reg, db, keys, nil)
	publishNow(t, d)
	served := servedSerial(d, "pt")
	logged, err := db.Publications(ctx, "", 100)
	if err != nil {
		t.Fatal(err)
	}

	if err := db.PutRegistrar(ctx, store.Registrar{ID: "REG-1"}); err != nil {
		t.Fatal(err)
	}
	if err := db.PutDomain(ctx, store.Domain{Name: "novo.pt", Zone: "pt", Status: store.StatusActive, Registrar: "REG-1",
		Expires:     time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC),
		Nameservers: []store.Nameserver{{Name: "ns1.exemplo.net"}, {Name: "ns2.exemplo.net"}}}); err != nil {
		t.Fatal(err)
	}
	var taken store.Lock
	reg.mu.Lock()
	reg.interrupt = func() {
		pgtest.EndLockSessions(t, dsn)
		var ok bool
		if taken, ok, err = other.TryLock(ctx, store.PublisherLock); err != nil || !ok {
			t.Errorf("the other daemon's TryLock: %v, %v", ok, err)
		}
	}
	reg.mu.Unlock()
	out, err := d.Publish(ctx, publishRequest("test@a"))
	if err != nil {
		t.Fatal(err)
	}
	if taken == nil {
		t.Fatal("the publication never reached the guard's window")
	}
	defer taken.Release(ctx)
	for _, o := range out {
		if o.Zone == "pt" && (o.Outcome != store.OutcomeFailed || len(o.Refusals) != 1 || o.Refusals[0].Code != publish.RefuseFenced) {
			t.Errorf("pt once the lock was taken: %s %v; want failed, fenced", o.Outcome, o.Refusals)
		}
		if o.Outcome == store.OutcomePublished {
			t.Errorf("%s published once the lock was taken", o.Zone)
		}
	}
	if now := servedSerial(d, "pt"); now != served {
		t.Errorf("pt served at serial %d, want %d as before", now, served)
	}
	if now, err := db.Publications(ctx, "", 100); err != nil || len(now) != len(logged) {
		t.Errorf("the log holds %d entries (%v), want the %d before", len(now), err, len(logged))
	}
	if _, err := d.Publish(ctx, publishRequest("test@a")); !errors.Is(err, ErrNotPublisher) || d.IsPublisher() {
		t.Errorf("publishing again: %v, publisher %v; want ErrNotPublisher", err, d.IsPublisher())
	}
}
