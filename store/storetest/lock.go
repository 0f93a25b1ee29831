package storetest

import (
	"context"
	"testing"

	"github.com/ptzone/ptzone/store"
)

// LockHandover checks two daemons sharing one store (a and b, opened
// separately on it): a takes the publisher's lock, b is refused it but
// not another role's, and once a lets go b takes it. It returns b's lock,
// still held, for the backend's own checks of what ends a lock.
func LockHandover(t *testing.T, a, b store.Locker) store.Lock {
	t.Helper()
	ctx := context.Background()
	la, ok, err := a.TryLock(ctx, "publisher")
	if err != nil || !ok || !la.Held(ctx) {
		t.Fatalf("first TryLock: %v, %v", ok, err)
	}
	if _, ok, err := b.TryLock(ctx, "publisher"); err != nil || ok {
		t.Fatalf("second TryLock while held: %v, %v; want refused", ok, err)
	}
	if lo, ok, err := b.TryLock(ctx, "sweeper"); err != nil || !ok {
		t.Errorf("another role's lock: %v, %v", ok, err)
	} else {
		lo.Release(ctx)
	}
	if err := la.Release(ctx); err != nil || la.Held(ctx) {
		t.Fatalf("Release: %v, held %v", err, la.Held(ctx))
	}
	lb, ok, err := b.TryLock(ctx, "publisher")
	if err != nil || !ok {
		t.Fatalf("TryLock after release: %v, %v", ok, err)
	}
	return lb
}
