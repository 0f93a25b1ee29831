package httpapi

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"go.uber.org/zap"

	"github.com/ptzone/ptzone/store"
)

// The delegation states a registrar sees.
const (
	StateUnchecked = "unchecked" // never checked: not delegated yet (Art 4.2)
	StateOK        = "ok"
	StateWarning   = "warning"
	StateRefused   = "refused"  // never passed a check: not delegated (Art 4.2)
	StateFailing   = "failing"  // delegated, failing: withheld after the grace period (Art 23.2)
	StateWithheld  = "withheld" // failed past the grace period: out of the zone (Art 23.2)
)

var states = []string{StateUnchecked, StateOK, StateWarning, StateRefused, StateFailing, StateWithheld}

// stateOf names a domain's delegation state.
func stateOf(st *store.DelegationState) string {
	switch {
	case st == nil:
		return StateUnchecked
	case st.Withheld:
		return StateWithheld
	case st.LastVerdict == store.VerdictFail && st.LastPassed.IsZero():
		return StateRefused
	case st.LastVerdict == store.VerdictFail:
		return StateFailing
	case st.LastVerdict == store.VerdictWarning:
		return StateWarning
	}
	return StateOK
}

// DomainSummary is a domain as the registrar's list shows it.
type DomainSummary struct {
	Name   string `json:"name"`
	Zone   string `json:"zone"`
	Status string `json:"status"`
	State  string `json:"state"`
	// Reason says why the domain is (not) delegated.
	Reason      string     `json:"reason,omitempty"`
	LastChecked *time.Time `json:"last_checked,omitempty"`
	// FailingSince and WithheldAfter: a failing domain is withheld
	// after WithheldAfter unless it passes before (Art 23.2).
	FailingSince  *time.Time `json:"failing_since,omitempty"`
	WithheldAfter *time.Time `json:"withheld_after,omitempty"`
}

// DomainDetail is one domain with its findings and history.
type DomainDetail struct {
	DomainSummary
	Expires     string             `json:"expires"`
	TechEmail   string             `json:"tech_email,omitempty"`
	Nameservers []store.Nameserver `json:"nameservers"`
	DS          []store.DS         `json:"ds,omitempty"`
	Findings    []store.Finding    `json:"findings"`
	History     []CheckSummary     `json:"history"`
}

// CheckSummary is one past check.
type CheckSummary struct {
	Time     time.Time       `json:"time"`
	Trigger  string          `json:"trigger"`
	Verdict  string          `json:"verdict"`
	Findings []store.Finding `json:"findings"`
}

func timePtr(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	return &t
}

func (a *API) summary(d store.Domain, st *store.DelegationState) DomainSummary {
	s := DomainSummary{Name: d.Name, Zone: d.Zone, Status: string(d.Status), State: stateOf(st)}
	if st == nil {
		return s
	}
	s.Reason, s.LastChecked = st.Reason, timePtr(st.LastChecked)
	if s.State == StateFailing {
		s.FailingSince = timePtr(st.FirstFailure)
		s.WithheldAfter = timePtr(st.FirstFailure.Add(a.opt.Grace))
	}
	return s
}

// domainList reads a registrar's domains, those in the state given (all
// when empty), in name order after the name given, at most limit.
func (a *API) domainList(ctx context.Context, registrar, state, after string, limit int) ([]DomainSummary, error) {
	snap, err := a.opt.Store.Snapshot(ctx)
	if err != nil {
		return nil, err
	}
	defer snap.Close()
	out := []DomainSummary{}
	for c, err := range snap.Domains(ctx, store.Filter{Registrar: registrar}) {
		if err != nil {
			return nil, err
		}
		if c.Domain.Name <= after {
			continue
		}
		s := a.summary(c.Domain, c.State)
		if state != "" && s.State != state {
			continue
		}
		out = append(out, s)
		if len(out) == limit {
			break
		}
	}
	return out, nil
}

func badRequest(format string, args ...any) error {
	return &apiError{status: http.StatusBadRequest, code: "bad_request", message: fmt.Sprintf(format, args...)}
}

// listParams reads ?state=, ?after= and ?limit= (default 1000, at most
// 10000).
func listParams(r *http.Request) (state, after string, limit int, err error) {
	q := r.URL.Query()
	state, after, limit = q.Get("state"), q.Get("after"), 1000
	if state != "" && !slices.Contains(states, state) {
		return "", "", 0, badRequest("state %q: want one of %s", state, strings.Join(states, ", "))
	}
	if l := q.Get("limit"); l != "" {
		n, err := strconv.Atoi(l)
		if err != nil || n < 1 || n > 10000 {
			return "", "", 0, badRequest("limit %q: want 1 to 10000", l)
		}
		limit = n
	}
	return state, after, limit, nil
}

// listDomains: GET /api/v1/registrar/domains?state=failing&after=NAME&limit=N
func (a *API) listDomains(w http.ResponseWriter, r *http.Request, reg store.Registrar) error {
	state, after, limit, err := listParams(r)
	if err != nil {
		return err
	}
	list, err := a.domainList(r.Context(), reg.ID, state, after, limit)
	if err != nil {
		return err
	}
	body := map[string]any{"registrar": reg.ID, "domains": list}
	if len(list) == limit {
		body["next"] = "?after=" + list[len(list)-1].Name
	}
	writeJSON(w, http.StatusOK, body)
	return nil
}

// ownDomain reads a domain of the registrar's; another's is not found.
func (a *API) ownDomain(ctx context.Context, reg store.Registrar, name string) (store.Domain, *store.DelegationState, error) {
	d, err := a.opt.Store.Domain(ctx, strings.ToLower(strings.TrimSuffix(name, ".")))
	if err != nil {
		return d, nil, err
	}
	if d.Registrar != reg.ID {
		return d, nil, errNoSuchDomain
	}
	st, err := a.opt.Store.DelegationState(ctx, d.Name)
	switch {
	case err == nil:
		return d, &st, nil
	case errors.Is(err, store.ErrNotFound):
		return d, nil, nil
	}
	return d, nil, err
}

func (a *API) detail(ctx context.Context, reg store.Registrar, name string) (DomainDetail, error) {
	d, st, err := a.ownDomain(ctx, reg, name)
	if err != nil {
		return DomainDetail{}, err
	}
	out := DomainDetail{DomainSummary: a.summary(d, st), Expires: d.Expires.Format(time.DateOnly), TechEmail: d.TechEmail,
		Nameservers: d.Nameservers, DS: d.DS, Findings: []store.Finding{}, History: []CheckSummary{}}
	if st != nil && st.Findings != nil {
		// Errors first: they are what keeps the domain out.
		out.Findings = slices.Clone(st.Findings)
		slices.SortStableFunc(out.Findings, func(a, b store.Finding) int { return b.Severity.Rank() - a.Severity.Rank() })
	}
	hist, err := a.opt.Store.CheckHistory(ctx, d.Name, 20)
	if err != nil {
		return out, err
	}
	for _, h := range hist {
		out.History = append(out.History, CheckSummary{Time: h.Time, Trigger: h.Trigger, Verdict: string(h.Verdict), Findings: h.Findings})
	}
	return out, nil
}

// getDomain: GET /api/v1/registrar/domains/{name}
func (a *API) getDomain(w http.ResponseWriter, r *http.Request, reg store.Registrar) error {
	d, err := a.detail(r.Context(), reg, r.PathValue("name"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, d)
	return nil
}

// recheck queues a check of a domain of the registrar's, within the
// rate limits.
func (a *API) recheck(ctx context.Context, reg store.Registrar, name string) (store.Domain, error) {
	d, _, err := a.ownDomain(ctx, reg, name)
	if err != nil {
		return d, err
	}
	if d.Status != store.StatusActive || len(d.Nameservers) == 0 {
		return d, &apiError{status: http.StatusConflict, code: "not_checkable",
			message: fmt.Sprintf("%s is %s with %d name servers: only active domains with name servers are checked (Art 4)", d.Name, d.Status, len(d.Nameservers))}
	}
	now := a.opt.Now()
	if wait := a.limiter.allow(reg.ID, d.Name, now); wait > 0 {
		return d, &apiError{status: http.StatusTooManyRequests, code: "rate_limited", retryAfter: wait,
			message: fmt.Sprintf("re-checks are limited: one a domain every %s, %d an hour in all; try again in %s",
				a.opt.RecheckEvery, a.opt.RecheckPerHour, wait.Round(time.Second))}
	}
	if err := a.opt.Store.RequestCheck(ctx, d.Name, store.CheckRegistrar, now); err != nil {
		return d, err
	}
	a.opt.Log.Info("re-check requested", zap.String("registrar", reg.ID), zap.String("domain", d.Name))
	return d, nil
}

// recheckDomain: POST /api/v1/registrar/domains/{name}/check
func (a *API) recheckDomain(w http.ResponseWriter, r *http.Request, reg store.Registrar) error {
	d, err := a.recheck(r.Context(), reg, r.PathValue("name"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusAccepted, map[string]string{"domain": d.Name, "queued": "a check is queued; its result shows here within minutes"})
	return nil
}

// recheckLimiter bounds the re-checks a registrar asks for: one a domain
// per interval, and a number an hour in all.
type recheckLimiter struct {
	every   time.Duration
	perHour int

	mu     sync.Mutex
	last   map[[2]string]time.Time // by registrar and domain
	recent map[string][]time.Time  // by registrar, the last hour's
}

func newRecheckLimiter(every time.Duration, perHour int) *recheckLimiter {
	return &recheckLimiter{every: every, perHour: perHour, last: map[[2]string]time.Time{}, recent: map[string][]time.Time{}}
}

// allow counts a request and returns 0, or how long to wait.
func (l *recheckLimiter) allow(registrar, domain string, now time.Time) time.Duration {
	l.mu.Lock()
	defer l.mu.Unlock()
	key := [2]string{registrar, domain}
	if last, ok := l.last[key]; ok && now.Sub(last) < l.every {
		return l.every - now.Sub(last)
	}
	recent := l.recent[registrar][:0]
	for _, t := range l.recent[registrar] {
		if now.Sub(t) < time.Hour {
			recent = append(recent, t)
		}
	}
	if len(recent) >= l.perHour {
		l.recent[registrar] = recent
		return time.Hour - now.Sub(recent[0])
	}
	l.recent[registrar] = append(recent, now)
	l.last[key] = now
	// The map of domains grows with use; forget what no longer limits.
	if len(l.last) > 100000 {
		for k, t := range l.last {
			if now.Sub(t) >= l.every {
				delete(l.last, k)
			}
		}
	}
	return 0
}

func formatSeconds(d time.Duration) string {
	return strconv.Itoa(int((d + time.Second - 1) / time.Second))
}
