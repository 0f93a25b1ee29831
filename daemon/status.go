package daemon

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/miekg/dns"

	"github.com/ptzone/ptzone/dnssec"
	"github.com/ptzone/ptzone/httpapi"
	"github.com/ptzone/ptzone/publish"
	"github.com/ptzone/ptzone/store"
	"github.com/ptzone/ptzone/zonegen"
)

// noteExpiry keeps each zone's earliest signature expiry as published.
func (d *Daemon) noteExpiry(out []publish.ZoneOutcome) {
	d.expiryMu.Lock()
	defer d.expiryMu.Unlock()
	for _, o := range out {
		if (o.Outcome == store.OutcomePublished || o.Outcome == publish.OutcomeUnchanged) && o.Report != nil && !o.Report.EarliestExpiration.IsZero() {
			d.expiry[o.Zone] = o.Report.EarliestExpiration
		}
	}
}

// Status implements httpapi.Operator: the publisher's role, the freeze
// of every zone, the jobs' next runs, and per zone the serial served (by
// us and by each secondary), the freeze that stops it, the last
// publication, the last refusal, the keys, and when its signatures start
// expiring.
func (d *Daemon) Status(ctx context.Context) (httpapi.Status, error) {
	cfg := d.Config()
	st := httpapi.Status{Node: cfg.NodeName(), Publisher: d.IsPublisher(), NextRuns: d.Scheduler().Next()}
	if err := d.storeAnswers(ctx); err != nil {
		return st, err
	}
	freezes, err := d.deps.Registry.Freezes(ctx)
	if err != nil {
		return st, err
	}
	if f, frozen := store.FreezeOf(freezes, ""); frozen {
		st.Frozen = &f
	}
	d.expiryMu.Lock()
	expiry := make(map[string]time.Time, len(d.expiry))
	for z, t := range d.expiry {
		expiry[z] = t
	}
	d.expiryMu.Unlock()
	secondaries := d.srv.Secondaries()
	for _, origin := range cfg.ServedZones() {
		name := strings.TrimSuffix(origin, ".")
		zs := httpapi.ZoneStatus{Zone: name, ServedSerial: servedSerialOf(d, origin)}
		if f, frozen := store.FreezeOf(freezes, name); frozen {
			zs.Frozen = &f
		}
		if t, ok := expiry[name]; ok {
			zs.SignaturesExpire = &t
		}
		if zs.Keys, err = d.keyStates(name); err != nil {
			return st, err
		}
		for _, sec := range secondaries {
			if sec.Zone == origin {
				zs.Secondaries = append(zs.Secondaries, httpapi.SecondaryStatus{Secondary: sec.Secondary, Serial: sec.Serial,
					Behind: sec.Error != "" || zonegen.SerialGreater(zs.ServedSerial, sec.Serial), Checked: sec.Checked, Error: sec.Error})
			}
		}
		pubs, err := d.deps.Registry.Publications(ctx, name, 50)
		if err != nil {
			return st, err
		}
		for i, p := range pubs {
			if i == 0 {
				zs.LastOutcome, zs.LastAttempt = string(p.Outcome), &pubs[i].Time
			}
			switch {
			case p.Outcome == store.OutcomePublished && zs.LastPublication == nil:
				zs.LastPublished = &pubs[i].Time
				zs.LastPublication = publicationStatus(p)
			case (p.Outcome == store.OutcomeRefused || p.Outcome == store.OutcomeFailed) && zs.LastRefusal == nil:
				zs.LastRefusal = publicationStatus(p)
			}
		}
		st.Zones = append(st.Zones, zs)
	}
	return st, nil
}

// publicationStatus is an entry of the publication log as the status
// shows it: the refusals' codes are read from its receipt.
func publicationStatus(p store.Publication) *httpapi.PublicationStatus {
	ps := &httpapi.PublicationStatus{Time: p.Time, Serial: p.Serial, Outcome: string(p.Outcome), TriggeredBy: p.TriggeredBy, Reason: p.Reason}
	var receipt struct {
		Refusals []publish.Refusal `json:"refusals"`
	}
	if json.Unmarshal(p.Details, &receipt) == nil {
		for _, r := range receipt.Refusals {
			ps.Codes = append(ps.Codes, r.Code)
		}
	}
	return ps
}

// keyStates lists a zone's keys as the key directory holds them.
func (d *Daemon) keyStates(zoneName string) ([]httpapi.KeyStatus, error) {
	d.mu.Lock()
	pub := d.pub
	d.mu.Unlock()
	keys, err := pub.Keys(zoneName)
	if err != nil {
		return nil, fmt.Errorf("the keys of %s: %w", zoneName, err)
	}
	now := d.deps.Now()
	out := make([]httpapi.KeyStatus, 0, len(keys))
	for _, k := range keys {
		ks := httpapi.KeyStatus{Tag: k.Tag, Algorithm: k.Algorithm(), Role: dnssec.Role(k, keys), State: k.State(now)}
		if t := k.Timing.Inactive; !t.IsZero() {
			ks.Inactive = &t
		}
		if t := k.Timing.Delete; !t.IsZero() {
			ks.Delete = &t
		}
		out = append(out, ks)
	}
	return out, nil
}

// servedSerialOf is the serial the server answers with for a zone, 0
// when it serves none.
func servedSerialOf(d *Daemon, origin string) uint32 {
	q := new(dns.Msg)
	q.SetQuestion(origin, dns.TypeSOA)
	r := d.srv.Respond(q, false)
	if r == nil || r.Rcode != dns.RcodeSuccess || len(r.Answer) == 0 {
		return 0
	}
	if soa, ok := r.Answer[0].(*dns.SOA); ok {
		return soa.Serial
	}
	return 0
}
