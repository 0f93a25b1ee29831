package authserver

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/miekg/dns"
	"go.uber.org/zap"
)

// notifyAttempts and notifyFirstWait bound the retries of one NOTIFY:
// 1, 2, 4, 8 seconds apart, then the secondary is left to its SOA
// refresh timer.
const (
	notifyAttempts  = 5
	notifyFirstWait = time.Second
)

// notifyChanged sends NOTIFY for every zone of next whose serial differs
// from prev's to the secondaries its Transfer lists. A newer serial's
// NOTIFY replaces an older one's still being retried.
func (s *Server) notifyChanged(prev, next *Snapshot) {
	if next == nil {
		return
	}
	for _, sv := range next.zones {
		t, ok := s.conf().Transfer[sv.origin.String()]
		if !ok || len(t.Notify) == 0 {
			continue
		}
		serial := sv.soa.SOASerial()
		if prev != nil {
			if old := prev.find(sv.origin); old != nil && old.origin == sv.origin && old.soa.SOASerial() == serial {
				continue
			}
		}
		for _, target := range t.Notify {
			s.startNotify(sv, serial, target, t.NotifyKey)
		}
	}
}

func (s *Server) startNotify(sv *served, serial uint32, target, key string) {
	origin := sv.origin.String()
	s.mu.Lock()
	if cancel := s.notifyTo[[2]string{origin, target}]; cancel != nil {
		cancel()
	}
	ctx, cancel := context.WithCancel(s.ctx)
	s.notifyTo[[2]string{origin, target}] = cancel
	s.mu.Unlock()
	soa := records(sv.soa, origin)
	s.notifies.Go(func() {
		defer cancel()
		s.notify(ctx, origin, serial, soa, target, key)
	})
}

// notify sends one zone's NOTIFY to one secondary until it answers, or
// the attempts run out, or ctx ends (RFC 1996 §3.6). A signed NOTIFY
// counts as answered only by a response signed with its key (RFC 8945
// §5.4: an unsigned one is discarded).
func (s *Server) notify(ctx context.Context, origin string, serial uint32, soa []dns.RR, target, key string) {
	log := s.log.With(zap.String("zone", origin), zap.Uint32("serial", serial), zap.String("secondary", target))
	c := &dns.Client{Timeout: 2 * time.Second, TsigProvider: s.keys}
	var alg string
	if key != "" {
		for _, k := range s.conf().TSIG {
			if dns.CanonicalName(k.Name) == dns.CanonicalName(key) {
				alg = tsigAlgorithm(k)
			}
		}
	}
	wait := notifyFirstWait
	for attempt := 1; ; attempt++ {
		m := new(dns.Msg)
		m.SetNotify(origin)
		m.Authoritative = true
		m.Answer = soa
		if key != "" {
			m.SetTsig(dns.CanonicalName(key), alg, 300, s.now().Unix())
		}
		r, _, err := c.ExchangeContext(ctx, m, target)
		var t *dns.TSIG
		if r != nil {
			t = r.IsTsig()
		}
		if t != nil && t.Error != dns.RcodeSuccess {
			err = fmt.Errorf("the secondary's TSIG error %s: %w", dns.RcodeToString[int(t.Error)], errRcode(r.Rcode))
		} else if err == nil && key != "" && t == nil {
			err = errUnsigned
		}
		switch {
		case err == nil && r.Rcode == dns.RcodeSuccess:
			log.Info("secondary notified", zap.Int("attempt", attempt))
			return
		case err == nil:
			err = errRcode(r.Rcode)
		}
		if ctx.Err() != nil {
			return // shut down, or a newer serial is being announced
		}
		if attempt == notifyAttempts {
			log.Warn("secondary not notified", zap.Int("attempts", attempt), zap.Error(err))
			return
		}
		log.Debug("NOTIFY not answered, retrying", zap.Error(err), zap.Duration("in", wait))
		select {
		case <-ctx.Done():
			return
		case <-time.After(wait):
		}
		wait *= 2
	}
}

// errUnsigned is an unsigned response to a signed NOTIFY.
var errUnsigned = errors.New("answered without a TSIG")

type errRcode int

func (e errRcode) Error() string { return "answered " + dns.RcodeToString[int(e)] }
