package storetest

import (
	"context"
	"testing"

	"github.com/ptzone/ptzone/store"
)

// TestLockHandover: of two daemons sharing one store (a and b, opened
// separately on it), a takes the publisher's lock, b is refused it but
// not another role's, and once a lets go b takes it. What ends a lock
// otherwise (its holder's death) is each backend's own test.
func TestLockHandover(t *testing.T) {
	for _, bk := range backends {
		t.Run(bk.name, func(t *testing.T) {
			a, b := bk.openTwo(t)
			lockHandover(t, a, b)
		})
	}
}

func lockHandover(t *testing.T, a, b store.Locker) {
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
	lb.Release(ctx)
}
