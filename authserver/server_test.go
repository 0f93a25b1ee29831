package authserver

import (
	"context"
	"errors"
	"io"
	"net"
	"net/netip"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/miekg/dns"

	"github.com/ptzone/ptzone/internal/tooltest"
)

// TestSwapIsAtomic: while publications swap snapshots, every response
// comes whole from one of them: its SOA serial and the keys of all its
// signatures belong to the same version of the zone.
func TestSwapIsAtomic(t *testing.T) {
	v1 := signedPT(t, testPT)
	v2 := signedPT(t, strings.Replace(testPT, "1763812800", "1763812900", 1))
	tags := map[uint32][]uint16{}
	for serial, tz := range map[uint32]*testZone{1763812800: v1, 1763812900: v2} {
		for _, k := range tz.keys {
			tags[serial] = append(tags[serial], k.Tag)
		}
	}
	srv := New(Config{}, nil)
	srv.Swap(v1.snap)
	stop := make(chan struct{})
	var swapper, queriers sync.WaitGroup
	swapper.Go(func() {
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			if i%2 == 0 {
				srv.Swap(v2.snap)
			} else {
				srv.Swap(v1.snap)
			}
		}
	})
	var mu sync.Mutex
	var bad []string
	for range 2 {
		queriers.Go(func() {
			for range 2000 {
				q := new(dns.Msg)
				q.SetQuestion("nao-existe.pt.", dns.TypeA)
				q.SetEdns0(4096, true)
				r := srv.Respond(q, false)
				var serial uint32
				var signers []uint16
				for _, rr := range r.Ns {
					switch v := rr.(type) {
					case *dns.SOA:
						serial = v.Serial
					case *dns.RRSIG:
						signers = append(signers, v.KeyTag)
					}
				}
				for _, tag := range signers {
					if !slices.Contains(tags[serial], tag) {
						mu.Lock()
						bad = append(bad, r.String())
						mu.Unlock()
						break
					}
				}
			}
		})
	}
	queriers.Wait()
	close(stop)
	swapper.Wait()
	if len(bad) > 0 {
		t.Errorf("%d responses mixed two versions; the first:\n%s", len(bad), bad[0])
	}
}

// start serves snap with srv on a loopback port until the test ends,
// and returns the address.
func start(t *testing.T, srv *Server, snap *Snapshot) string {
	t.Helper()
	srv.Swap(snap)
	addr, err := srv.Listen("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := srv.Shutdown(ctx); err != nil {
			t.Error(err)
		}
	})
	return addr.String()
}

// listen starts a server of the configuration on a loopback port.
func listen(t *testing.T, tz *testZone, cfg Config) string {
	t.Helper()
	return start(t, New(cfg, nil), tz.snap)
}

// TestServeOverSockets: UDP and TCP on one port; queries pipelined on a
// TCP connection all get their answers (RFC 7766 §6.2.1.1); connections
// past the per-client limit are closed at once, while the client's
// others stay open; an idle connection is closed by the server (§6.2.3);
// kdig, a real client, gets the signed SOA.
func TestServeOverSockets(t *testing.T) {
	tz := signedPT(t, testPT)
	addr := listen(t, tz, Config{})
	// Bounds, should the server not answer or not close: not how long
	// anything may take.
	const bound = 10 * time.Second

	for _, network := range []string{"udp", "tcp"} {
		c := &dns.Client{Net: network, Timeout: bound}
		q := new(dns.Msg)
		q.SetQuestion("seguro.pt.", dns.TypeDS)
		r, _, err := c.Exchange(q, addr)
		if err != nil || !r.Authoritative || len(r.Answer) != 1 {
			t.Fatalf("%s: %v %v", network, r, err)
		}
	}

	// Three queries written before any answer is read.
	conn, err := dns.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(bound))
	ids := map[uint16]bool{}
	for _, name := range []string{"pt.", "seguro.pt.", "nao-existe.pt."} {
		q := new(dns.Msg)
		q.SetQuestion(name, dns.TypeSOA)
		ids[q.Id] = true
		if err := conn.WriteMsg(q); err != nil {
			t.Fatal(err)
		}
	}
	for range 3 {
		r, err := conn.ReadMsg()
		if err != nil {
			t.Fatalf("pipelined: %v", err)
		}
		delete(ids, r.Id)
	}
	if len(ids) != 0 {
		t.Errorf("pipelined queries left unanswered: %v", ids)
	}

	// A server taking two connections from a client: two answered ones
	// (so the server has taken them, and keeps them, for an hour idle)
	// hold the client's slots; a third is closed without an answer, and
	// the first two still answer.
	limitAddr := listen(t, tz, Config{MaxTCPPerClient: 2, TCPIdleTimeout: time.Hour})
	first := exchangeTCP(t, nil, limitAddr, bound)
	defer first.Close()
	second := exchangeTCP(t, nil, limitAddr, bound)
	defer second.Close()
	third, err := net.Dial("tcp", limitAddr)
	if err != nil {
		t.Fatal(err)
	}
	defer third.Close()
	third.SetDeadline(time.Now().Add(bound))
	if _, err := third.Read(make([]byte, 1)); !errors.Is(err, io.EOF) && !isReset(err) {
		t.Errorf("a third connection from one client: %v, want it closed", err)
	}
	exchangeTCP(t, first, limitAddr, bound)
	exchangeTCP(t, second, limitAddr, bound)

	// An idle connection is closed by the server, whether it never asked
	// (the read timeout) or was answered (the idle timeout): a read ends
	// without an answer, before the bound.
	idleAddr := listen(t, tz, Config{TCPIdleTimeout: 100 * time.Millisecond})
	silent, err := net.Dial("tcp", idleAddr)
	if err != nil {
		t.Fatal(err)
	}
	defer silent.Close()
	answered := exchangeTCP(t, nil, idleAddr, bound)
	defer answered.Close()
	for what, c := range map[string]net.Conn{"a connection that never asked": silent, "a connection idle after an answer": answered.Conn} {
		c.SetDeadline(time.Now().Add(bound))
		if _, err := c.Read(make([]byte, 1)); !errors.Is(err, io.EOF) && !isReset(err) {
			t.Errorf("%s: %v, want it closed by the server", what, err)
		}
	}

	host, port, _ := net.SplitHostPort(addr)
	for _, transport := range []string{"+notcp", "+tcp"} {
		out := tooltest.Run(t, bound, "kdig", "@"+host, "-p", port, "pt.", "SOA", "+dnssec", transport)
		if out.Err != nil || !strings.Contains(out.Output, "status: NOERROR") || !strings.Contains(out.Output, "Flags: qr aa") ||
			!strings.Contains(out.Output, "RRSIG\tSOA") {
			t.Errorf("kdig %s:\n%s", transport, out.Output)
		}
	}
}

// exchangeTCP asks pt. SOA on conn, or on a new connection to addr if
// conn is nil, and returns the connection once answered.
func exchangeTCP(t *testing.T, conn *dns.Conn, addr string, bound time.Duration) *dns.Conn {
	t.Helper()
	if conn == nil {
		var err error
		if conn, err = dns.Dial("tcp", addr); err != nil {
			t.Fatal(err)
		}
	}
	conn.SetDeadline(time.Now().Add(bound))
	q := new(dns.Msg)
	q.SetQuestion("pt.", dns.TypeSOA)
	if err := conn.WriteMsg(q); err != nil {
		t.Fatalf("TCP to %s: %v", addr, err)
	}
	if r, err := conn.ReadMsg(); err != nil || r.Id != q.Id || r.Rcode != dns.RcodeSuccess {
		t.Fatalf("TCP to %s: %v %v", addr, r, err)
	}
	return conn
}

func isReset(err error) bool {
	var op *net.OpError
	return errors.As(err, &op) && strings.Contains(op.Err.Error(), "reset")
}

// FuzzRespond: any message a client can send gets a response that packs
// and, over UDP, fits the size the client can take; no input panics.
// Seeded with real queries.
func FuzzRespond(f *testing.F) {
	for _, c := range []struct {
		name  string
		qtype uint16
		edns  uint16
		do    bool
	}{
		{"pt.", dns.TypeSOA, 0, false}, {"seguro.pt.", dns.TypeDS, 1232, true}, {"www.seguro.pt.", dns.TypeA, 512, true},
		{"nao-existe.pt.", dns.TypeA, 4096, true}, {"ReGiStO.pT.", dns.TypeAAAA, 1232, true}, {"pt.", dns.TypeANY, 0, false},
		{"example.com.", dns.TypeNS, 1232, false}, {"pt.", dns.TypeAXFR, 0, false},
	} {
		q := new(dns.Msg)
		q.SetQuestion(c.name, c.qtype)
		if c.edns > 0 {
			q.SetEdns0(c.edns, c.do)
		}
		b, err := q.Pack()
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	tz := signedPT(f, testPT)
	f.Fuzz(func(t *testing.T, b []byte) {
		q := new(dns.Msg)
		if q.Unpack(b) != nil {
			return
		}
		r := tz.srv.Respond(q, true)
		if r == nil {
			return
		}
		out, err := r.Pack()
		if err != nil {
			t.Fatalf("the response does not pack: %v\n%s", err, r)
		}
		limit := dns.MinMsgSize
		if opt := q.IsEdns0(); opt != nil {
			limit = max(limit, min(int(opt.UDPSize()), 1232))
		}
		if len(out) > limit {
			t.Fatalf("a UDP response of %d octets to a client that takes %d", len(out), limit)
		}
	})
}

// TestRateLimit: one client network asking for the same answer faster
// than the rate gets the rate's worth of answers a second, then every
// second response truncated and empty (slip 2, so that a real client
// retries over TCP) and the others dropped; another kind of response, or
// another network, has its own bucket; an exempt network has none; time
// refills the bucket.
func TestRateLimit(t *testing.T) {
	l := newLimiter(RateLimit{Rate: 5, Exempt: []netip.Prefix{netip.MustParsePrefix("192.0.2.0/28")}}, nil)
	tz := signedPT(t, testPT)
	answer := tz.ask(t, "pt.", dns.TypeSOA, false)
	nx := tz.ask(t, "nao-existe.pt.", dns.TypeA, false)
	now := time.Unix(1_800_000_000, 0)
	client := netip.MustParseAddr("198.51.100.7")
	count := func(c netip.Addr, m *dns.Msg, n int) map[verdict]int {
		got := map[verdict]int{}
		for range n {
			got[l.judge(c, responseKind(m), now)]++
		}
		return got
	}
	if got := count(client, answer, 25); got[send] != 5 || got[slip] != 10 || got[drop] != 10 {
		t.Errorf("25 responses at once: %v, want 5 sent, 10 slipped, 10 dropped", got)
	}
	if got := count(netip.MustParseAddr("198.51.100.200"), answer, 3); got[send] != 0 {
		t.Errorf("another address of the same /24 has its own bucket: %v", got)
	}
	if got := count(client, nx, 5); got[send] != 5 {
		t.Errorf("another kind of response: %v", got)
	}
	if got := count(netip.MustParseAddr("203.0.113.1"), answer, 5); got[send] != 5 {
		t.Errorf("another network: %v", got)
	}
	if got := count(netip.MustParseAddr("192.0.2.5"), answer, 50); got[send] != 50 {
		t.Errorf("an exempt network: %v", got)
	}
	now = now.Add(400 * time.Millisecond) // two tokens back at 5 a second
	if got := count(client, answer, 3); got[send] != 2 {
		t.Errorf("after 0.4 s: %v, want 2 sent", got)
	}

	// Over the network, with the defaults (20 a second, slip 2), at one
	// instant of the server's clock: of sixty queries written at once,
	// twenty are answered, twenty get a truncated empty response and
	// twenty none.
	srv := New(Config{}, nil)
	instant := now
	srv.now = func() time.Time { return instant }
	conn, err := net.Dial("udp", start(t, srv, tz.snap))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	for i := range 60 {
		q := new(dns.Msg)
		q.SetQuestion("pt.", dns.TypeSOA)
		q.Id = uint16(i + 1)
		b, _ := q.Pack()
		if _, err := conn.Write(b); err != nil {
			t.Fatal(err)
		}
	}
	answered, truncated := 0, 0
	conn.SetReadDeadline(time.Now().Add(10 * time.Second)) // a bound, should responses be missing
	buf := make([]byte, 1500)
	for answered+truncated < 40 {
		n, err := conn.Read(buf)
		if err != nil {
			t.Fatalf("60 queries at once over UDP: %d answered, %d truncated, then %v; want 20 and 20", answered, truncated, err)
		}
		r := new(dns.Msg)
		if err := r.Unpack(buf[:n]); err != nil {
			t.Fatal(err)
		}
		if r.Truncated && len(r.Answer) == 0 {
			truncated++
		} else {
			answered++
		}
	}
	if answered != 20 || truncated != 20 {
		t.Errorf("60 queries at once over UDP: %d answered, %d truncated; want 20 and 20", answered, truncated)
	}
	// Shutdown waits for the queries in progress: the counts are final.
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := srv.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	if st := srv.Stats(); st != (Stats{RateLimited: 20, Slipped: 20}) {
		t.Errorf("stats %+v after %d answered and %d truncated of 60, want 20 dropped and 20 slipped", st, answered, truncated)
	}
}

// TestQuerySizeLimit: a query larger than MaxQuerySize gets FORMERR, over
// UDP and TCP; one within it is answered.
func TestQuerySizeLimit(t *testing.T) {
	tz := signedPT(t, testPT)
	addr := listen(t, tz, Config{MaxQuerySize: 600, EDNSSize: 4096})
	for _, network := range []string{"udp", "tcp"} {
		c := &dns.Client{Net: network, Timeout: 2 * time.Second, UDPSize: 4096}
		q := new(dns.Msg)
		q.SetQuestion("pt.", dns.TypeSOA)
		q.SetEdns0(4096, false)
		if r, _, err := c.Exchange(q, addr); err != nil || r.Rcode != dns.RcodeSuccess {
			t.Fatalf("%s: a small query: %v %v", network, r, err)
		}
		q.IsEdns0().Option = append(q.IsEdns0().Option, &dns.EDNS0_LOCAL{Code: 65001, Data: make([]byte, 700)})
		if r, _, err := c.Exchange(q, addr); err != nil || r.Rcode != dns.RcodeFormatError {
			t.Errorf("%s: a query of %d octets: %v %v", network, q.Len(), r, err)
		}
	}
}

// TestCachedResponses: a question asked again is answered from the
// snapshot's cache, as it would be answered afresh: with the asker's ID,
// RD and CD bits and case; over UDP fitted to its size; and a new
// snapshot does not answer from the old one's cache.
func TestCachedResponses(t *testing.T) {
	v1 := signedPT(t, testPT)
	v2 := signedPT(t, strings.Replace(testPT, "1763812800", "1763812900", 1))
	srv := New(Config{RateLimit: RateLimit{Off: true}}, nil)
	addr := start(t, srv, v1.snap)
	c := &dns.Client{Timeout: 2 * time.Second}
	for i, name := range []string{"www.seguro.pt.", "WWW.SeGuRo.PT.", "www.seguro.pt.", "nao-existe.pt.", "NAO-existe.PT.", "Seguro.pt."} {
		for _, size := range []uint16{512, 1232} {
			q := new(dns.Msg)
			q.SetQuestion(name, dns.TypeA)
			q.SetEdns0(size, true)
			q.RecursionDesired = i%2 == 0
			q.CheckingDisabled = i%3 == 0
			got, _, err := c.Exchange(q, addr)
			if err != nil {
				t.Fatal(err)
			}
			want := srv.Respond(q, true)
			if d := differences(got, want, name); len(d) > 0 || got.Id != q.Id || got.RecursionDesired != q.RecursionDesired ||
				got.CheckingDisabled != q.CheckingDisabled || got.Question[0].Name != name {
				t.Errorf("%s (%d): %v; id %d/%d, question %q", name, size, d, got.Id, q.Id, got.Question[0].Name)
			}
			for _, rr := range got.Answer {
				if strings.EqualFold(rr.Header().Name, name) && rr.Header().Name != name {
					t.Errorf("%s: an answer owned by %q", name, rr.Header().Name)
				}
			}
		}
	}
	if n := v1.snap.cache.size(); n == 0 || n > 6 {
		t.Errorf("%d responses cached, want one per distinct question and size", n)
	}
	srv.Swap(v2.snap)
	q := new(dns.Msg)
	q.SetQuestion("nao-existe.pt.", dns.TypeA)
	q.SetEdns0(1232, true)
	r, _, err := c.Exchange(q, addr)
	if err != nil {
		t.Fatal(err)
	}
	for _, rr := range r.Ns {
		if soa, ok := rr.(*dns.SOA); ok && soa.Serial != 1763812900 {
			t.Errorf("after the swap, serial %d from the old snapshot's cache", soa.Serial)
		}
	}
}
