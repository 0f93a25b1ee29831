package authserver

import (
	"net/netip"
	"testing"
	"time"
)

// TestRateLimitTableBound: a flood of queries from 20,000 distinct client
// networks, IPv4 and IPv6, at one instant (so that no bucket is idle and
// none could be forgotten for that) never grows the table past its bound;
// the buckets that make room are counted; a network flooded meanwhile
// (asking every tenth query) keeps its bucket and stays limited, since
// the bucket forgotten is the one used least recently; and a second
// later, every idle bucket is forgotten as the next one comes. The
// table's order of use and its map stay one.
func TestRateLimitTableBound(t *testing.T) {
	evicted := 0
	l := newLimiter(RateLimit{Rate: 5}, func() { evicted++ })
	l.max = 64
	now := time.Unix(1_800_000_000, 0)
	victim := netip.MustParseAddr("198.51.100.7")
	sent, largest := 0, 0
	for i := range 20000 {
		var client netip.Addr
		if i%2 == 0 {
			client = netip.AddrFrom4([4]byte{10, byte(i >> 8), byte(i), 1}) // one /24 each
		} else {
			client = netip.AddrFrom16([16]byte{0x20, 0x01, 0x0d, 0xb8, byte(i >> 16), byte(i >> 8), byte(i)}) // one /56 each
		}
		l.judge(client, "answer pt. SOA", now)
		if i%10 == 0 && l.judge(victim, "answer pt. SOA", now) == send {
			sent++
		}
		largest = max(largest, len(l.buckets))
	}
	if largest > l.max {
		t.Errorf("the table grew to %d buckets, past its bound of %d", largest, l.max)
	}
	if want := 20000 + 1 - l.max; evicted != want {
		t.Errorf("%d buckets in use forgotten, want %d", evicted, want)
	}
	if sent != 5 {
		t.Errorf("the flooded network got %d of its 2,000 responses sent at one instant, want its rate's 5", sent)
	}
	checkOrder(t, l)

	// A second later every bucket is full again: the next one to come
	// finds the others forgotten.
	now = now.Add(time.Second)
	l.judge(netip.MustParseAddr("203.0.113.1"), "error", now)
	if len(l.buckets) != 1 {
		t.Errorf("%d buckets after a second idle, want the new one alone", len(l.buckets))
	}
	checkOrder(t, l)
}

// checkOrder fails the test unless the order of use holds exactly the
// map's buckets, each once, linked both ways.
func checkOrder(t *testing.T, l *limiter) {
	t.Helper()
	n := 0
	var newer *bucket
	for b := l.newest; b != nil; b = b.older {
		if b.newer != newer || l.buckets[b.key] != b {
			t.Fatalf("bucket %v is linked wrong, or not in the map", b.key)
		}
		newer = b
		if n++; n > len(l.buckets) {
			t.Fatalf("the order of use holds more buckets than the map's %d", len(l.buckets))
		}
	}
	if n != len(l.buckets) || l.oldest != newer {
		t.Fatalf("the order of use holds %d buckets, the map %d", n, len(l.buckets))
	}
}
