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

// rrlBuckets bounds the buckets kept; past it, those idle for a second
// or more are forgotten.
const rrlBuckets = 1 << 20

// limiter holds the token buckets.
type limiter struct {
	cfg RateLimit

	mu      sync.Mutex
	buckets map[rrlKey]*bucket
}

type rrlKey struct {
	client netip.Prefix
	kind   string // the answer, the zone, or "error"
}

type bucket struct {
	tokens  float64
	last    time.Time
	dropped int
}

func newLimiter(cfg RateLimit) *limiter {
	return &limiter{cfg: cfg.withDefaults(), buckets: map[rrlKey]*bucket{}}
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
		if len(l.buckets) >= rrlBuckets {
			l.forget(now)
		}
		b = &bucket{tokens: rate, last: now}
		l.buckets[k] = b
	}
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

// forget drops the buckets idle for a second or more: they are full
// again.
func (l *limiter) forget(now time.Time) {
	for k, b := range l.buckets {
		if now.Sub(b.last) >= time.Second {
			delete(l.buckets, k)
		}
	}
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
