package delegation

import (
	"context"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	"github.com/miekg/dns"

	"github.com/ptzone/ptzone/delegation/resolve"
)

// session is what the checks of one sweep (or of one Check call) share:
// the pace of queries to each address, the probes that depend on the
// address only (TCP, EDNS, recursion: run once however many domains the
// address serves), the name servers' resolved addresses, and the count of
// queries sent.
type session struct {
	c        *Checker
	interval time.Duration // between two queries to one address; 0 for no limit

	mu    sync.Mutex
	next  map[netip.Addr]time.Time // when an address may be asked again
	addrs map[netip.Addr]*addressProbes
	names map[string]*resolution

	lookup resolve.Lookup // nil: names without glue stay without address

	queries atomic.Int64
	counted int64 // of queries, how many the sweep's metric has
}

const pacingGuard = 50 * time.Millisecond

func newSession(c *Checker, perSecond float64) *session {
	s := &session{c: c, next: map[netip.Addr]time.Time{}, addrs: map[netip.Addr]*addressProbes{}, names: map[string]*resolution{}}
	switch {
	case c.Resolver.IsValid():
		// The operator's own resolver: not paced like others' servers.
		s.lookup = &resolve.Recursive{Server: c.Resolver, Exchange: s.unpaced}
	case len(c.Hints) > 0:
		it := &resolve.Iterative{Hints: c.Hints, Port: uint16(c.port()), Exchange: s.paced}
		if c.Public {
			it.Refuse = isSpecialPurpose
		}
		s.lookup = it
	}
	if perSecond > 0 {
		// perSecond queries are spread over a second and a twentieth: the
		// server counts them as they arrive, and scheduling may bring two
		// a little closer than they were sent; 50 ms of such jitter still
		// puts no more than perSecond into any of its seconds.
		s.interval = time.Duration(float64(time.Second+pacingGuard) / perSecond)
	}
	return s
}

// wait holds a query to addr until the address's pace allows it.
func (s *session) wait(ctx context.Context, addr netip.Addr) error {
	if s.interval == 0 {
		return nil
	}
	now := time.Now()
	at := s.slot(addr, now)
	if !at.After(now) {
		return nil
	}
	t := time.NewTimer(at.Sub(now))
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// slot reserves the next time addr may be asked, asked at now. Slots are
// handed out in the order asked, so an address serving thousands of
// domains gets its queries one interval apart, never in a burst.
func (s *session) slot(addr netip.Addr, now time.Time) time.Time {
	s.mu.Lock()
	defer s.mu.Unlock()
	at := s.next[addr]
	if at.Before(now) {
		at = now
	}
	s.next[addr] = at.Add(s.interval)
	return at
}

// exchange asks one address on the checker's port, at its pace,
// retrying a query that gets no answer.
func (s *session) exchange(ctx context.Context, q *dns.Msg, addr netip.Addr, network string) (*dns.Msg, error) {
	return s.send(ctx, q, netip.AddrPortFrom(addr, uint16(s.c.port())), network, true)
}

func (s *session) paced(ctx context.Context, q *dns.Msg, to netip.AddrPort, network string) (*dns.Msg, error) {
	return s.send(ctx, q, to, network, true)
}

func (s *session) unpaced(ctx context.Context, q *dns.Msg, to netip.AddrPort, network string) (*dns.Msg, error) {
	return s.send(ctx, q, to, network, false)
}

func (s *session) send(ctx context.Context, q *dns.Msg, to netip.AddrPort, network string, paced bool) (*dns.Msg, error) {
	cl := &dns.Client{Net: network, Timeout: s.c.timeout()}
	var err error
	for range s.c.attempts() {
		if paced {
			if err = s.wait(ctx, to.Addr()); err != nil {
				return nil, err
			}
		}
		s.queries.Add(1)
		var r *dns.Msg
		if r, _, err = cl.ExchangeContext(ctx, q, to.String()); err == nil {
			return r, nil
		}
		if ctx.Err() != nil {
			break
		}
	}
	return nil, err
}

// addressProbes are the findings of the probes that depend on an address
// only, made by the first domain checked there.
type addressProbes struct {
	once sync.Once
	// Each holds the finding's evidence, "" when all was well.
	noTCP, noEDNS, openRecursion string
}

// perAddress returns the address's probes, running them with p the first
// time.
func (s *session) perAddress(ctx context.Context, p *probe) *addressProbes {
	s.mu.Lock()
	a := s.addrs[p.addr]
	if a == nil {
		a = &addressProbes{}
		s.addrs[p.addr] = a
	}
	s.mu.Unlock()
	a.once.Do(func() { p.addressProbes(ctx, a) })
	return a
}

// resolution is a name server's addresses as the session's lookup gave
// them.
type resolution struct {
	once sync.Once
	ans  resolve.Answer
	err  error
}

// resolve returns a name's addresses, looking them up once per session.
func (s *session) resolve(ctx context.Context, name string) (resolve.Answer, error) {
	s.mu.Lock()
	r := s.names[name]
	if r == nil {
		r = &resolution{}
		s.names[name] = r
	}
	s.mu.Unlock()
	r.once.Do(func() { r.ans, r.err = s.lookup.Lookup(ctx, name) })
	return r.ans, r.err
}
