package authserver

import (
	"net/netip"
	"strings"
	"sync"
	"time"

	"github.com/miekg/dns"
)

// RateLimit is response rate limiting for UDP (as in BIND and Knot DNS):
// a server answering spoofed queries must not become an amplifier. Each
// client network, with each kind of response (the same answer, the same
// zone's NXDOMAIN or referral, any error), gets Rate responses a second;
// past that, responses are dropped, but every Slip-th is sent truncated,
// empty, so that a real client retries over TCP, which no spoofer can.
type RateLimit struct {
	// Off turns rate limiting off; it is on by default.
	Off bool
	// Rate is the responses a second per bucket (default 20).
	Rate int
	// Slip sends every Slip-th dropped response truncated (default 2;
	// 1 truncates every one; -1 never).
	Slip int
	// IPv4Prefix and IPv6Prefix are the client networks counted as one
	// (default /24 and /56).
	IPv4Prefix, IPv6Prefix int
	// Exempt lists networks never limited (monitoring, say).
	Exempt []netip.Prefix
}

func (r RateLimit) withDefaults() RateLimit {
	if r.Rate == 0 {
		r.Rate = 20
	}
	if r.Slip == 0 {
		r.Slip = 2
	}
	if r.IPv4Prefix == 0 {
		r.IPv4Prefix = 24
	}
	if r.IPv6Prefix == 0 {
		r.IPv6Prefix = 56
	}
	return r
}

// rrlBuckets bounds the buckets kept, whatever the traffic: a flood of
// queries from as many spoofed networks as it likes cannot grow the
// table past it (a bucket with its key takes some 200 octets: 50 MB at
// most). BIND's table holds 20,000 entries by default, Knot's 393,241.
const rrlBuckets = 1 << 18

// limiter holds the token buckets, in the order they were last used.
// A bucket idle for a second is full again, so it is forgotten as soon
// as a new one comes (from the old end of the order, at no cost per
// query); when the table is full of buckets in use, the one used least
// recently makes room, and its network's count starts again
// (onEvict counts it). A network limited because it is flooded is used
// all the time, so it is not the one forgotten.
type limiter struct {
	cfg     RateLimit
	max     int
	onEvict func()

	mu      sync.Mutex
	buckets map[rrlKey]*bucket
	// newest and oldest are the ends of the order of use.
	newest, oldest *bucket
}

type rrlKey struct {
	client netip.Prefix
	kind   string // the answer, the zone, or "error"
}

type bucket struct {
	key     rrlKey
	tokens  float64
	last    time.Time
	dropped int
	// newer and older are the buckets used just after and just before.
	newer, older *bucket
}

// newLimiter returns a limiter of cfg; onEvict, if set, is called for
// each bucket in use forgotten to make room.
func newLimiter(cfg RateLimit, onEvict func()) *limiter {
	return &limiter{cfg: cfg.withDefaults(), max: rrlBuckets, onEvict: onEvict, buckets: map[rrlKey]*bucket{}}
}

// verdict is what to do with a response.
type verdict int

const (
	send verdict = iota
	drop
	slip // send it truncated and empty
)

// judge decides on one response, of the kind responseKind names, to a
// client at a time.
func (l *limiter) judge(client netip.Addr, kind string, now time.Time) verdict {
	if l == nil || l.cfg.Off || !client.IsValid() {
		return send
	}
	client = client.Unmap()
	for _, p := range l.cfg.Exempt {
		if p.Contains(client) {
			return send
		}
	}
	bits := l.cfg.IPv6Prefix
	if client.Is4() {
		bits = l.cfg.IPv4Prefix
	}
	network, _ := client.Prefix(bits)
	k := rrlKey{client: network, kind: kind}
	rate := float64(l.cfg.Rate)
	l.mu.Lock()
	defer l.mu.Unlock()
	b := l.buckets[k]
	if b == nil {
		l.forget(now)
		if len(l.buckets) >= l.max {
			l.remove(l.oldest)
			if l.onEvict != nil {
				l.onEvict()
			}
		}
		b = &bucket{key: k, tokens: rate, last: now}
		l.buckets[k] = b
	} else {
		l.unlink(b)
	}
	l.pushNewest(b)
	b.tokens = min(rate, b.tokens+now.Sub(b.last).Seconds()*rate)
	b.last = now
	if b.tokens >= 1 {
		b.tokens--
		return send
	}
	b.dropped++
	if l.cfg.Slip > 0 && b.dropped%l.cfg.Slip == 0 {
		return slip
	}
	return drop
}

// forget drops the buckets idle for a second or more, from the old end
// of the order: they are full again.
func (l *limiter) forget(now time.Time) {
	for l.oldest != nil && now.Sub(l.oldest.last) >= time.Second {
		l.remove(l.oldest)
	}
}

func (l *limiter) remove(b *bucket) {
	l.unlink(b)
	delete(l.buckets, b.key)
}

func (l *limiter) unlink(b *bucket) {
	if b.newer != nil {
		b.newer.older = b.older
	} else {
		l.newest = b.older
	}
	if b.older != nil {
		b.older.newer = b.newer
	} else {
		l.oldest = b.newer
	}
	b.newer, b.older = nil, nil
}

func (l *limiter) pushNewest(b *bucket) {
	b.older = l.newest
	if l.newest != nil {
		l.newest.newer = b
	} else {
		l.oldest = b
	}
	l.newest = b
}

// responseKind names what a response is, for rate limiting: the same
// answer, a zone's NXDOMAIN or no data, a referral to a delegation, or an
// error, as BIND's and Knot's limiters class them.
func responseKind(m *dns.Msg) string {
	switch {
	case m.Rcode == dns.RcodeNameError || m.Rcode == dns.RcodeSuccess && len(m.Answer) == 0 && m.Authoritative:
		for _, rr := range m.Ns {
			if rr.Header().Rrtype == dns.TypeSOA {
				return "negative " + strings.ToLower(rr.Header().Name)
			}
		}
	case m.Rcode == dns.RcodeSuccess && len(m.Answer) == 0 && len(m.Ns) > 0:
		return "referral " + strings.ToLower(m.Ns[0].Header().Name)
	case m.Rcode == dns.RcodeSuccess && len(m.Question) == 1:
		return "answer " + strings.ToLower(m.Question[0].Name) + " " + dns.TypeToString[m.Question[0].Qtype]
	}
	return "error"
}
