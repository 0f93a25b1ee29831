package authserver

import (
	"context"
	"math"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/miekg/dns"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/ptzone/ptzone/zone"
)

// servedAt returns a snapshot of pt at serial.
func servedAt(t *testing.T, serial uint32) *Snapshot {
	t.Helper()
	b := zone.NewBuilder(pt, 0)
	b.Add(pt, zone.TypeSOA, 3600, zone.SOA{MName: zone.MustParseName("a.dns.pt."), RName: pt, Serial: serial}.Rdata())
	b.Add(pt, zone.TypeNS, 3600, zone.MustParseName("a.dns.pt.").Wire())
	z, err := b.Zone()
	if err != nil {
		t.Fatal(err)
	}
	snap, err := NewSnapshot(z)
	if err != nil {
		t.Fatal(err)
	}
	return snap
}

// TestSerialBehind: RFC 1982's order, across the wrap at 2^32.
func TestSerialBehind(t *testing.T) {
	for _, c := range []struct {
		a, b   uint32
		behind bool
	}{
		{100, 101, true}, {101, 100, false}, {100, 100, false},
		{4294967290, 5, true}, {5, 4294967290, false}, // 5 follows 4294967290, eleven steps on
		{0, 1<<31 - 1, true}, {1<<31 - 1, 0, false}, {0, 1 << 31, false}, // 2^31 apart: undefined, not behind
	} {
		if got := serialBehind(c.a, c.b); got != c.behind {
			t.Errorf("serialBehind(%d, %d) = %v, want %v", c.a, c.b, got, c.behind)
		}
	}
}

// TestLagOf: a secondary's lag counts from the first serial served after
// the one it has, not from the last publication (a secondary stuck while
// publications go on lags since the first it missed), across the wrap of
// the serial; a secondary with the serial served, or a later one, has
// none; one behind every serial remembered lags since the oldest.
func TestLagOf(t *testing.T) {
	srv := New(Config{}, nil)
	t0 := time.Date(2026, 12, 1, 3, 0, 0, 0, time.UTC)
	for i, serial := range []uint32{4294967290, 4294967295, 3, 10} {
		srv.noteServed(servedAt(t, serial), t0.Add(time.Duration(i)*10*time.Minute))
	}
	srv.noteServed(servedAt(t, 10), t0.Add(time.Hour)) // the same serial again: no new entry
	now := t0.Add(45 * time.Minute)
	for _, c := range []struct {
		serial uint32
		lag    time.Duration
	}{
		{10, 0}, {11, 0}, // the serial served, and one ahead
		{3, 15 * time.Minute},          // lacks 10, served from 30 min
		{4294967295, 25 * time.Minute}, // lacks 3, past the wrap, served from 20 min
		{4294967290, 35 * time.Minute}, // lacks 4294967295, served from 10 min
		{4294967200, 45 * time.Minute}, // before every serial remembered: since the oldest
	} {
		srv.mu.Lock()
		got := srv.lagOf("pt.", c.serial, now)
		srv.mu.Unlock()
		if got != c.lag {
			t.Errorf("a secondary at %d lags %s, want %s", c.serial, got, c.lag)
		}
	}
	for range lagHistory + 10 {
		srv.noteServed(servedAt(t, uint32(len(srv.servedAt["pt."])+100)), now)
	}
	if n := len(srv.servedAt["pt."]); n > lagHistory {
		t.Errorf("%d serials remembered, past the bound of %d", n, lagHistory)
	}
}

// TestSecondaryLagMetric: the poll of a secondary (a small server on
// loopback answering the SOA serial the test sets) exports how long it
// has lacked a serial served, on the server's clock: growing while it is
// stuck at a serial as publications go on, counted from the first it
// missed; shorter as it catches up; 0 once it has the serial served or
// a later one; and still growing, from the last serial it answered,
// while it does not answer.
func TestSecondaryLagMetric(t *testing.T) {
	var secondarySerial atomic.Uint32
	var down atomic.Bool
	secondary := &dns.Server{Net: "udp", Handler: dns.HandlerFunc(func(w dns.ResponseWriter, req *dns.Msg) {
		m := new(dns.Msg)
		m.SetReply(req)
		switch {
		case req.Opcode == dns.OpcodeNotify:
		case down.Load():
			m.Rcode = dns.RcodeServerFailure
		default:
			m.Answer = []dns.RR{&dns.SOA{Hdr: dns.RR_Header{Name: "pt.", Rrtype: dns.TypeSOA, Class: dns.ClassINET, Ttl: 3600},
				Ns: "a.dns.pt.", Mbox: "pt.", Serial: secondarySerial.Load()}}
		}
		w.WriteMsg(m)
	})}
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	secondary.PacketConn = pc
	go secondary.ActivateAndServe()
	t.Cleanup(func() { secondary.Shutdown() })

	reg := prometheus.NewRegistry()
	srv := New(Config{SecondaryPoll: 20 * time.Millisecond, Registerer: reg, RateLimit: RateLimit{Off: true},
		Transfer: map[string]Transfer{"pt.": {AllowFrom: []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}, Notify: []string{pc.LocalAddr().String()}}}}, nil)
	var mu sync.Mutex
	clock := time.Date(2026, 12, 1, 3, 0, 0, 0, time.UTC)
	srv.now = func() time.Time { mu.Lock(); defer mu.Unlock(); return clock }
	at := func(d time.Duration) {
		mu.Lock()
		clock = time.Date(2026, 12, 1, 3, 0, 0, 0, time.UTC).Add(d)
		mu.Unlock()
	}
	p := &primary{srv: srv, reg: reg}
	secondarySerial.Store(100)
	start(t, srv, servedAt(t, 100))
	labels := map[string]string{"zone": "pt.", "secondary": pc.LocalAddr().String()}
	waitLag := func(want time.Duration) {
		t.Helper()
		deadline := time.Now().Add(10 * time.Second)
		for got := p.metric("ptzone_secondary_lag_seconds", labels); math.Abs(got-want.Seconds()) > 0.5; got = p.metric("ptzone_secondary_lag_seconds", labels) {
			if time.Now().After(deadline) {
				t.Fatalf("ptzone_secondary_lag_seconds is %v, want %v (the secondary at %d): %+v", got, want.Seconds(), secondarySerial.Load(), srv.Secondaries())
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
	waitLag(0)
	at(10 * time.Minute)
	srv.Swap(servedAt(t, 101))
	at(25 * time.Minute)
	waitLag(15 * time.Minute)
	at(30 * time.Minute)
	srv.Swap(servedAt(t, 102))
	at(50 * time.Minute)
	waitLag(40 * time.Minute) // since 101, the first it missed
	secondarySerial.Store(101)
	waitLag(20 * time.Minute) // since 102
	secondarySerial.Store(103)
	waitLag(0) // ahead: not behind
	secondarySerial.Store(102)
	waitLag(0)
	for deadline := time.Now().Add(10 * time.Second); p.metric("ptzone_secondary_serial", labels) != 102; time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the poll never saw the secondary back at 102")
		}
	}
	down.Store(true)
	at(60 * time.Minute)
	srv.Swap(servedAt(t, 103))
	at(70 * time.Minute)
	waitLag(10 * time.Minute) // by the 102 it last answered
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	srv.Shutdown(ctx)
}
