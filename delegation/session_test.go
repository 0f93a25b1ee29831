package delegation

import (
	"net/netip"
	"testing"
	"time"
)

// TestSessionPaces: a session hands out the slots of one address one
// interval apart in the order asked, however many are asked at once, and
// each address has its own; the interval spreads perSecond queries over
// a second and the pacing guard, so that no second of the server's holds
// more. Driven by a fixed clock: the pace is the slots' times, not how
// long anything took.
func TestSessionPaces(t *testing.T) {
	const perSecond = 100
	s := newSession(&Checker{}, perSecond)
	if want := (time.Second + pacingGuard) / perSecond; s.interval != want {
		t.Fatalf("interval %v, want %v", s.interval, want)
	}
	if unpaced := newSession(&Checker{}, 0); unpaced.interval != 0 {
		t.Errorf("a session without a rate paces every %v", unpaced.interval)
	}
	now := time.Date(2026, 12, 1, 3, 0, 0, 0, time.UTC)
	a, b := netip.MustParseAddr("192.0.2.1"), netip.MustParseAddr("2001:db8::1")
	for i := range 3*perSecond + 1 {
		if at := s.slot(a, now); !at.Equal(now.Add(time.Duration(i) * s.interval)) {
			t.Fatalf("slot %d of %s at %v, want %v", i, a, at, now.Add(time.Duration(i)*s.interval))
		}
	}
	// perSecond+1 slots never fit in one second.
	if span := time.Duration(perSecond) * s.interval; span <= time.Second {
		t.Errorf("%d slots span %v: one second could hold %d", perSecond+1, span, perSecond+1)
	}
	if at := s.slot(b, now); !at.Equal(now) {
		t.Errorf("another address waits for the first one's slots: %v", at)
	}
	// Once its slots are past, an address is asked at once.
	later := now.Add(time.Hour)
	if at := s.slot(a, later); !at.Equal(later) {
		t.Errorf("slot after the backlog: %v, want %v", at, later)
	}
}
