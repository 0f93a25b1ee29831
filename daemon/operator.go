package daemon

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/miekg/dns"
	"go.uber.org/zap"

	"github.com/ptzone/ptzone/httpapi"
	"github.com/ptzone/ptzone/policy"
	"github.com/ptzone/ptzone/publish"
	"github.com/ptzone/ptzone/store"
	"github.com/ptzone/ptzone/zonegen"
)

// Rollback publishes a zone again with the records of its version before
// the last publication (publish.Publisher.Rollback), then freezes the
// zone's publishing, unless it is frozen already: the next scheduled
// publication would otherwise build the zone again from the registry, and
// publish what was rolled back. The other zones go on publishing. The
// operator thaws the zone once the registry is mended. A rollback runs
// while publishing is frozen: it is how an operator answers a bad
// publication.
func (d *Daemon) Rollback(ctx context.Context, zoneName, by, reason string) (publish.ZoneOutcome, error) {
	ctx, cancel := context.WithTimeout(ctx, d.Config().Deadlines()["publish"])
	defer cancel()
	d.pubMu.Lock()
	defer d.pubMu.Unlock()
	ok, err := d.isPublisher(ctx)
	if err != nil {
		return publish.ZoneOutcome{}, err
	}
	if !ok {
		return publish.ZoneOutcome{}, ErrNotPublisher
	}
	d.mu.Lock()
	pub := d.pub
	d.mu.Unlock()
	now := d.deps.Now().UTC().Truncate(time.Second)
	start := time.Now()
	o, err := pub.Rollback(ctx, publish.RollbackRequest{Zone: zoneName, Now: now, By: by, Reason: reason, Lock: d.lock})
	if err != nil {
		return o, err
	}
	d.met.published([]publish.ZoneOutcome{o}, nil, time.Since(start))
	d.noteExpiry([]publish.ZoneOutcome{o})
	if o.Outcome != store.OutcomePublished {
		return o, nil
	}
	d.followNow(ctx)
	f := store.Freeze{Zone: zoneName, Time: now, Actor: by,
		Reason: fmt.Sprintf("%s rolled back to serial %d: %s (thaw once the registry is mended; the next publication builds from it)", zoneName, o.Serial, reason)}
	if err := d.deps.Registry.Freeze(ctx, f); err != nil && !errors.Is(err, store.ErrFrozen) {
		return o, fmt.Errorf("rolled back, but freezing the publishing of %s failed (the next scheduled publication will build it from the registry again): %w", zoneName, err)
	}
	d.log.Warn("zone rolled back; its publishing frozen", zap.String("zone", zoneName), zap.Uint32("serial", o.Serial), zap.String("by", by))
	return o, nil
}

// Explain answers "why is NAME (not) in the zone?" from what decides it:
// the registry's status and data, the policy, the gate's state, the zone
// served now, and the publications (frozen, refused by the guard, or yet
// to come).
func (d *Daemon) Explain(ctx context.Context, name string) (httpapi.Explanation, error) {
	name = strings.ToLower(strings.TrimSuffix(name, "."))
	ex := httpapi.Explanation{Domain: name}
	cfg := d.Config()
	ex.InZone, ex.Zone, ex.ServedSerial = d.delegatedNow(name, cfg.ServedZones())

	wanted, err := d.explainRegistry(ctx, name, cfg, &ex)
	if err != nil || ex.Decision == string(zonegen.ReasonFixed) {
		return ex, err
	}
	if wanted == ex.InZone {
		return ex, nil
	}
	// The zone served is not what the registry wants: say what holds the
	// change back, or that the next publication makes it.
	if wanted {
		ex.Reasons = append(ex.Reasons, "it is not in the zone served yet")
	} else {
		ex.Reasons = append(ex.Reasons, "it is still in the zone served")
	}
	if fs, err := d.deps.Registry.Freezes(ctx); err != nil {
		return ex, err
	} else if f, frozen := store.FreezeOf(fs, ex.Zone); frozen {
		ex.Reasons = append(ex.Reasons, f.String())
		return ex, nil
	}
	pubs, err := d.deps.Registry.Publications(ctx, ex.Zone, 1)
	if err != nil {
		return ex, err
	}
	if len(pubs) > 0 && pubs[0].Outcome == store.OutcomeRefused {
		ex.Reasons = append(ex.Reasons, fmt.Sprintf("the last publication of %s (%s) was refused by the guard: %s", ex.Zone,
			pubs[0].Time.Format(time.RFC3339), pubs[0].Reason))
		return ex, nil
	}
	next := d.Scheduler().Next()["publish"]
	if next.IsZero() {
		ex.Reasons = append(ex.Reasons, "the next publication makes it so (none is scheduled: publish now)")
	} else {
		ex.Reasons = append(ex.Reasons, "the next publication makes it so, at "+next.UTC().Format(time.RFC3339))
	}
	return ex, nil
}

// explainRegistry fills in what the registry and the gate say of name,
// and reports whether the next publication delegates it.
func (d *Daemon) explainRegistry(ctx context.Context, name string, cfg *Config, ex *httpapi.Explanation) (bool, error) {
	dom, err := d.deps.Registry.Domain(ctx, name)
	switch {
	case errors.Is(err, store.ErrNotFound):
		for _, z := range cfg.ServedZones() {
			if strings.TrimSuffix(z, ".") == name {
				ex.Decision = string(zonegen.ReasonFixed)
				ex.Reasons = append(ex.Reasons, decisionText(zonegen.ReasonFixed, store.Domain{}, nil, false))
				return true, nil
			}
		}
		ex.Decision = "not-registered"
		ex.Reasons = append(ex.Reasons, "it is not in the registry")
		return false, nil
	case err != nil:
		return false, err
	}
	ex.Registered, ex.Status, ex.Zone = true, string(dom.Status), dom.Zone
	var st *store.DelegationState
	if s, err := d.deps.Registry.DelegationState(ctx, name); err == nil {
		st = &s
	} else if !errors.Is(err, store.ErrNotFound) {
		return false, err
	}
	decision := zonegen.Include(store.Candidate{Domain: dom, State: st}, policy.New(policy.Lists{}), cfg.Publish.AssumeChecked)
	ex.Decision = "delegate"
	if decision != zonegen.ReasonIn {
		ex.Decision = string(decision)
	}
	ex.Reasons = append(ex.Reasons, decisionText(decision, dom, st, cfg.Publish.AssumeChecked))
	if st != nil {
		ex.LastVerdict, ex.GateReason = string(st.LastVerdict), st.Reason
		if !st.LastChecked.IsZero() {
			t := st.LastChecked
			ex.LastChecked = &t
		}
		for _, f := range st.Findings {
			if f.Severity == store.SeverityError {
				ex.Findings = append(ex.Findings, f)
			}
		}
	}
	return decision == zonegen.ReasonIn, nil
}

// decisionText says in a sentence what the zone generator decides for a
// registered domain, and why, with the article.
func decisionText(r zonegen.Reason, d store.Domain, st *store.DelegationState, assumeChecked bool) string {
	switch r {
	case zonegen.ReasonStatus:
		return fmt.Sprintf("its status is %s: only active domains are delegated (Art 4; pending deletion Art 26.5, suspended Art 35 and 39, removed Art 22 and 33)", d.Status)
	case zonegen.ReasonNoNameservers:
		return "it has no name servers to delegate to"
	case zonegen.ReasonName:
		return "its name breaks the Rules as they stand (ptzone names check " + d.Name + ")"
	case zonegen.ReasonNeverChecked:
		if st == nil {
			return "it has not been checked yet: a domain is delegated once its name servers pass a check (Art 4.2)"
		}
		return "its name servers have not passed a check yet, so it is not delegated (Art 4.2): " + st.Reason
	case zonegen.ReasonWithheld:
		return "it is withheld: " + st.Reason
	case zonegen.ReasonFixed:
		return "it is one of our zones or a static delegation, delegated as configured"
	}
	switch {
	case assumeChecked:
		return "it is active with name servers, and checks are assumed passed (publish.assume_checked)"
	case st != nil && !st.FirstFailure.IsZero():
		return "it is delegated, but " + st.Reason
	}
	return "it is delegated: active, with name servers that passed their last check (Art 4.2)"
}

// delegatedNow reports whether the zone served delegates name, the zone
// that would, and its serial.
func (d *Daemon) delegatedNow(name string, served []string) (in bool, zoneName string, serial uint32) {
	best := ""
	for _, origin := range served {
		o := strings.TrimSuffix(origin, ".")
		if strings.HasSuffix(name, "."+o) && len(o) > len(best) {
			best = o
		}
	}
	if best == "" {
		return false, "", 0
	}
	q := new(dns.Msg)
	q.SetQuestion(dns.Fqdn(name), dns.TypeNS)
	r := d.srv.Respond(q, false)
	if r != nil {
		for _, rr := range r.Ns {
			if ns, ok := rr.(*dns.NS); ok && strings.EqualFold(ns.Hdr.Name, dns.Fqdn(name)) {
				in = true
			}
		}
	}
	return in, best, servedSerialOf(d, best+".")
}

// Zones implements httpapi.Operator: the names of the zones served.
func (d *Daemon) Zones() []string {
	served := d.Config().ServedZones()
	out := make([]string, len(served))
	for i, origin := range served {
		out[i] = strings.TrimSuffix(origin, ".")
	}
	return out
}
