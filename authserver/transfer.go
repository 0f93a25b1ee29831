package authserver

import (
	"fmt"
	"net"
	"net/netip"
	"slices"
	"strings"
	"time"

	"github.com/miekg/dns"
	"go.uber.org/zap"

	"github.com/ptzone/ptzone/zone"
)

// Transfer is who may transfer a zone and whom to tell of new serials.
// A transfer must come from an address in AllowFrom, if it is set, and be
// signed by one of Keys, if set; with neither, transfers are refused.
type Transfer struct {
	AllowFrom []netip.Prefix
	Keys      []string // TSIG key names
	// Notify lists the secondaries (host:port) sent a NOTIFY when the
	// zone's serial changes, signed with NotifyKey if set (RFC 1996).
	Notify    []string
	NotifyKey string
}

// History gives the changes between two versions of a zone, for IXFR:
// the patches from serial from to serial to, in order; false when it does
// not hold them all.
type History interface {
	Patches(from, to uint32) ([]*zone.Patch, bool)
}

// WithHistory returns a copy of the snapshot whose zone origin answers
// IXFR from h.
func (s *Snapshot) WithHistory(origin zone.Name, h History) (*Snapshot, error) {
	out := &Snapshot{zones: slices.Clone(s.zones), cache: newRespCache()}
	for i, sv := range out.zones {
		if sv.origin == origin {
			c := *sv
			c.history = h
			out.zones[i] = &c
			return out, nil
		}
	}
	return nil, fmt.Errorf("authserver: no zone %s in the snapshot", origin)
}

// transferSize bounds the records of one transfer message, as their
// uncompressed lengths add up: room is left for the header, the question
// and a signature.
const transferSize = dns.MaxMsgSize - 1024

// transfer answers AXFR and IXFR (RFC 5936, RFC 1995): from one snapshot,
// to the clients the zone's Transfer allows, in messages filled up to a
// size, signed when the request was (ServeDNS has answered a request
// whose signature does not verify).
func (s *Server) transfer(w dns.ResponseWriter, req *dns.Msg, udp bool) {
	q := req.Question[0]
	kind := dns.TypeToString[q.Qtype]
	outcome := "refused"
	// The zone label is a served zone's name, or "other": the names in
	// requests are anyone's to choose, and each would be a new series.
	zoneLabel := "other"
	defer func() { s.metrics.transfers.WithLabelValues(zoneLabel, kind, outcome).Inc() }()
	refuse := func(rcode int) {
		m := new(dns.Msg)
		m.SetRcode(req, rcode)
		s.sign(w, req, m)
		if err := w.WriteMsg(m); err != nil {
			s.log.Debug("writing a response", zap.Error(err))
		}
	}
	name, err := nameOf(q.Name)
	snap := s.snap.Load()
	if err != nil || snap == nil {
		refuse(dns.RcodeNotAuth)
		return
	}
	sv := snap.find(name)
	if sv == nil || sv.origin != name {
		refuse(dns.RcodeNotAuth)
		return
	}
	zoneLabel = sv.origin.String()
	if !s.allowed(sv.origin, w.RemoteAddr(), req) {
		s.log.Info("transfer refused", zap.String("zone", q.Name), zap.Stringer("client", w.RemoteAddr()))
		refuse(dns.RcodeRefused)
		return
	}
	current := sv.soa.SOASerial()
	if udp {
		// Over UDP an IXFR gets the current SOA, which tells the client
		// whether to come back over TCP (RFC 1995 §2); AXFR is TCP only.
		if q.Qtype != dns.TypeIXFR {
			refuse(dns.RcodeFormatError)
			return
		}
		m := new(dns.Msg)
		m.SetReply(req)
		m.Authoritative = true
		m.Answer = records(sv.soa, q.Name)
		s.sign(w, req, m)
		w.WriteMsg(m)
		outcome = "soa over udp"
		return
	}
	select {
	case s.transfers <- struct{}{}:
		defer func() { <-s.transfers }()
	default:
		s.log.Warn("transfer refused: too many at once", zap.String("zone", q.Name), zap.Stringer("client", w.RemoteAddr()))
		refuse(dns.RcodeRefused)
		return
	}
	var stream func(yield func(dns.RR) bool)
	kind = "AXFR"
	if q.Qtype == dns.TypeIXFR {
		if from, ok := ixfrSerial(req); ok {
			if stream, ok = sv.incremental(from, current); ok {
				kind = "IXFR"
			}
		}
	}
	if stream == nil {
		stream = sv.full
	}
	start := time.Now()
	n, msgs, err := s.send(w, req, stream)
	log := s.log.With(zap.String("zone", q.Name), zap.Stringer("client", w.RemoteAddr()), zap.String("kind", kind),
		zap.Uint32("serial", current), zap.Int("records", n), zap.Int("messages", msgs), zap.Duration("took", time.Since(start)))
	if err != nil {
		outcome = "failed"
		log.Warn("transfer failed", zap.Error(err))
		return
	}
	outcome = "sent"
	log.Info("transfer sent")
}

// allowed reports whether a client may transfer a zone.
func (s *Server) allowed(origin zone.Name, client net.Addr, req *dns.Msg) bool {
	t, ok := s.conf().Transfer[origin.String()]
	if !ok || len(t.AllowFrom) == 0 && len(t.Keys) == 0 {
		return false
	}
	if len(t.AllowFrom) > 0 {
		ap, err := netip.ParseAddrPort(client.String())
		if err != nil || !slices.ContainsFunc(t.AllowFrom, func(p netip.Prefix) bool { return p.Contains(ap.Addr().Unmap()) }) {
			return false
		}
	}
	if len(t.Keys) > 0 {
		tsig := req.IsTsig()
		if tsig == nil || !slices.ContainsFunc(t.Keys, func(k string) bool { return strings.EqualFold(dns.Fqdn(k), tsig.Hdr.Name) }) {
			return false
		}
	}
	return true
}

// send writes the stream's records in as many messages as they need.
func (s *Server) send(w dns.ResponseWriter, req *dns.Msg, stream func(func(dns.RR) bool)) (records, messages int, err error) {
	var batch []dns.RR
	size := 0
	flush := func() error {
		m := new(dns.Msg)
		m.SetReply(req)
		m.Authoritative = true
		m.Compress = true
		m.Answer = batch
		s.sign(w, req, m)
		if err := w.WriteMsg(m); err != nil {
			return err
		}
		// Messages after the first are signed over the previous MAC and
		// the timers only (RFC 8945 §5.3.1).
		w.TsigTimersOnly(true)
		messages++
		batch, size = nil, 0
		return nil
	}
	for rr := range stream {
		if l := dns.Len(rr); size+l > transferSize && len(batch) > 0 {
			if err = flush(); err != nil {
				return records, messages, err
			}
		}
		batch = append(batch, rr)
		size += dns.Len(rr)
		records++
	}
	if len(batch) > 0 {
		err = flush()
	}
	return records, messages, err
}

// full yields the zone as AXFR sends it: the SOA, every other record, the
// SOA again (RFC 5936 §2.2).
func (sv *served) full(yield func(dns.RR) bool) {
	soa := records(sv.soa, sv.origin.String())
	for _, rr := range soa {
		if !yield(rr) {
			return
		}
	}
	for r := range sv.z.All() {
		if r.OwnerIndex() == sv.apex && r.Type() == zone.TypeSOA {
			continue
		}
		for _, rr := range records(r, r.Owner().String()) {
			if !yield(rr) {
				return
			}
		}
	}
	for _, rr := range soa {
		if !yield(rr) {
			return
		}
	}
}

// incremental returns the IXFR stream from serial from to the current
// one (RFC 1995 §4): the current SOA; for each change, the old SOA and
// the records removed, the new SOA and the records added; the current SOA
// again. A client already current gets the SOA alone. false when the
// history does not reach back to from.
func (sv *served) incremental(from, current uint32) (func(func(dns.RR) bool), bool) {
	soa := records(sv.soa, sv.origin.String())
	if from == current {
		return func(yield func(dns.RR) bool) {
			for _, rr := range soa {
				yield(rr)
			}
		}, true
	}
	if sv.history == nil {
		return nil, false
	}
	patches, ok := sv.history.Patches(from, current)
	if !ok || len(patches) == 0 {
		return nil, false
	}
	return func(yield func(dns.RR) bool) {
		emit := func(rrs []dns.RR) bool {
			for _, rr := range rrs {
				if !yield(rr) {
					return false
				}
			}
			return true
		}
		if !emit(soa) {
			return
		}
		for _, p := range patches {
			removed, added := patchRecords(p)
			if !emit(removed) || !emit(added) {
				return
			}
		}
		emit(soa)
	}, true
}

// patchRecords returns a patch's removals, led by the old SOA, and its
// additions, led by the new one: the records of Old that New lacks, and
// of New that Old lacks.
func patchRecords(p *zone.Patch) (removed, added []dns.RR) {
	origin := p.Old.Origin()
	diff := func(a, b *zone.Zone) (soa, out []dns.RR) {
		for r := range a.All() {
			owner := r.Owner()
			text := owner.String()
			if owner == origin && r.Type() == zone.TypeSOA {
				soa = records(r, text)
				continue
			}
			other, _ := b.Find(owner)
			for _, rr := range records(r, text) {
				if !holds(b, other, owner, r, rr) {
					out = append(out, rr)
				}
			}
		}
		return soa, out
	}
	oldSOA, gone := diff(p.Old, p.New)
	newSOA, came := diff(p.New, p.Old)
	return append(oldSOA, gone...), append(newSOA, came...)
}

// holds reports whether zone b has record rr (of RRset r, at owner),
// b's owner index being i when it has the owner.
func holds(b *zone.Zone, i int, owner zone.Name, r zone.RRset, rr dns.RR) bool {
	if i >= b.Owners() || b.Owner(i) != owner {
		return false
	}
	var set zone.RRset
	var ok bool
	if r.Type() == zone.TypeRRSIG {
		set, ok = b.GetSig(i, r.Covered())
	} else {
		set, ok = b.GetAt(i, r.Type())
	}
	if !ok || set.TTL() != r.TTL() {
		return false
	}
	for _, other := range records(set, rr.Header().Name) {
		if dns.IsDuplicate(rr, other) {
			return true
		}
	}
	return false
}

// ixfrSerial reads the client's serial from an IXFR request's authority
// section.
func ixfrSerial(req *dns.Msg) (uint32, bool) {
	for _, rr := range req.Ns {
		if soa, ok := rr.(*dns.SOA); ok {
			return soa.Serial, true
		}
	}
	return 0, false
}
