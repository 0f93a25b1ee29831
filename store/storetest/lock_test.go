package storetest

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/ptzone/ptzone/store"
)

// TestLockHandover: of two daemons sharing one store (a and b, opened
// separately on it), a takes the publisher's lock, b is refused it but
// not another role's, and once a lets go b takes it. What ends a lock
// otherwise (its holder's death) is each backend's own test.
func TestLockHandover(t *testing.T) {
	for _, bk := range backends {
		t.Run(bk.name, func(t *testing.T) {
			a, b, _ := bk.openTwo(t)
			lockHandover(t, a, b)
		})
	}
}

func lockHandover(t *testing.T, a, b store.Locker) {
	ctx := context.Background()
	la, ok, err := a.TryLock(ctx, store.PublisherLock)
	if err != nil || !ok || !la.Held(ctx) {
		t.Fatalf("first TryLock: %v, %v", ok, err)
	}
	if _, ok, err := b.TryLock(ctx, store.PublisherLock); err != nil || ok {
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
	lb, ok, err := b.TryLock(ctx, store.PublisherLock)
	if err != nil || !ok {
		t.Fatalf("TryLock after release: %v, %v", ok, err)
	}
	if lb.Generation() <= la.Generation() {
		t.Errorf("generations: %d taken after %d", lb.Generation(), la.Generation())
	}
	lb.Release(ctx)
}

// TestLockFencing: a publisher that loses its lock while it works (its
// database session ended; its lock file removed) while another daemon
// takes the lock finds it no longer held, and the publication log
// refuses what it records under its generation; the new holder, and
// what is recorded without the lock, are recorded.
func TestLockFencing(t *testing.T) {
	for _, bk := range backends {
		t.Run(bk.name, func(t *testing.T) {
			ctx := context.Background()
			a, b, lose := bk.openTwo(t)
			la, ok, err := a.TryLock(ctx, store.PublisherLock)
			if err != nil || !ok {
				t.Fatalf("TryLock: %v, %v", ok, err)
			}
			defer la.Release(ctx)
			if la.Generation() < 1 {
				t.Fatalf("the first generation is %d", la.Generation())
			}
			t0 := time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC)
			entry := func(serial uint32, gen int64) store.Publication {
				return store.Publication{Zone: "pt", Serial: serial, Time: t0, Outcome: store.OutcomePublished, TriggeredBy: "schedule@a",
					Generation: gen}
			}
			if _, err := a.RecordPublication(ctx, entry(1, la.Generation())); err != nil {
				t.Fatalf("recording under the lock held: %v", err)
			}
			if _, ok, err := b.TryLock(ctx, store.PublisherLock); err != nil || ok {
				t.Fatalf("b's TryLock while a holds the lock: %v, %v", ok, err)
			}

			lose(t, store.PublisherLock)
			lb, ok, err := b.TryLock(ctx, store.PublisherLock)
			if err != nil || !ok {
				t.Fatalf("TryLock once a lost it: %v, %v", ok, err)
			}
			defer lb.Release(ctx)
			if lb.Generation() != la.Generation()+1 {
				t.Errorf("b took generation %d after a's %d", lb.Generation(), la.Generation())
			}
			if la.Held(ctx) {
				t.Error("a still holds the lock b took")
			}
			if !lb.Held(ctx) {
				t.Error("b does not hold the lock it took")
			}
			_, err = a.RecordPublication(ctx, entry(2, la.Generation()))
			if !errors.Is(err, store.ErrFenced) {
				t.Errorf("recording under a's lost generation: %v, want ErrFenced", err)
			}
			if _, err := b.RecordPublication(ctx, entry(3, lb.Generation())); err != nil {
				t.Errorf("recording under b's generation: %v", err)
			}
			if _, err := a.RecordPublication(ctx, entry(4, 0)); err != nil {
				t.Errorf("recording without the lock: %v", err)
			}
			pubs, err := b.Publications(ctx, "pt", 10)
			if err != nil {
				t.Fatal(err)
			}
			var got []uint32
			var gens []int64
			for _, p := range pubs {
				got, gens = append(got, p.Serial), append(gens, p.Generation)
			}
			if want := []int64{0, lb.Generation(), la.Generation()}; len(got) != 3 || got[0] != 4 || got[1] != 3 || got[2] != 1 ||
				gens[0] != want[0] || gens[1] != want[1] || gens[2] != want[2] {
				t.Errorf("the log holds serials %v under generations %v; want 4, 3, 1 under %v", got, gens, want)
			}
		})
	}
}
