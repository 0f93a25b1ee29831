package delegation

import (
	"fmt"
	"time"

	"github.com/ptzone/ptzone/store"
)

// Lifecycle holds the gate's rules: when a checked domain enters the zone,
// how long a delegated one may fail before it is withheld, and whom the
// failures are told. The zero value takes the defaults.
type Lifecycle struct {
	// Grace is how long a delegated domain may fail before it is
	// withheld (Art 23.2); default 14 days.
	Grace time.Duration
	// Confirmations and Spread: a domain is withheld only when at least
	// this many failing checks, the first and the last at least Spread
	// apart, confirm the failure; defaults 3 and 48 hours. One bad
	// afternoon of a network, ours or theirs, withholds nothing.
	Confirmations int
	Spread        time.Duration
	// Reminders are when, counted from the first failure, the technical
	// contact and the registrar are reminded; default 7 days and 13 days
	// (a day before the default grace ends); an empty, non-nil list sends
	// none. A reminder is sent by the first check past its time, and only
	// within the grace period.
	Reminders []time.Duration
	// Webhook, when set, is the name of the registry's webhook: every
	// notice is queued for it too, once per transition beside the two
	// mails, for the registry's own tools (a ticket, a chat channel).
	Webhook string
}

func (l Lifecycle) grace() time.Duration {
	if l.Grace == 0 {
		return 14 * 24 * time.Hour
	}
	return l.Grace
}

func (l Lifecycle) confirmations() int {
	if l.Confirmations == 0 {
		return 3
	}
	return l.Confirmations
}

func (l Lifecycle) spread() time.Duration {
	if l.Spread == 0 {
		return 48 * time.Hour
	}
	return l.Spread
}

func (l Lifecycle) reminders() []time.Duration {
	if l.Reminders == nil {
		return []time.Duration{7 * 24 * time.Hour, 13 * 24 * time.Hour}
	}
	return l.Reminders
}

// Next returns what a check of domain d means for it: the domain's state
// after the check, given prev (nil if it was never checked), and the
// notices to queue. The result's Time is the check's time; nothing else
// reads a clock, so tests drive the lifecycle with any clock they like.
//
// A domain that never passed a check stays out of the zone until one
// passes (Art 4.2). A delegated domain that starts failing keeps its
// delegation through the grace period and is withheld after it, once the
// failures are confirmed (Art 23.2). One passing check opens the gate
// again for the next publication.
func (l Lifecycle) Next(prev *store.DelegationState, d store.Domain, r store.CheckResult) store.CheckRecord {
	now := r.Time
	var st store.DelegationState
	if prev != nil {
		st = *prev
	}
	st.Domain, st.LastVerdict, st.LastChecked, st.Updated, st.Findings = d.Name, r.Verdict, now, now, r.Findings
	rec := store.CheckRecord{Result: r}
	notify := func(kind store.NoticeKind, deadline time.Time) {
		var findings []store.Finding
		if kind != store.NoticeRestored {
			findings = r.Findings
		}
		for _, to := range [][2]string{{store.RoleTech, d.TechEmail}, {store.RoleRegistrar, d.Registrar}, {store.RoleWebhook, l.Webhook}} {
			if to[1] != "" {
				rec.Notices = append(rec.Notices, store.Notice{Created: now, Domain: d.Name, Kind: kind,
					Role: to[0], Recipient: to[1], Deadline: deadline, Findings: findings})
			}
		}
	}

	if r.Verdict != store.VerdictFail {
		neverPassed, wasFailing, wasWithheld := st.LastPassed.IsZero(), !st.FirstFailure.IsZero(), st.Withheld
		st.LastPassed, st.FirstFailure, st.ConsecutiveFailures, st.Withheld = now, time.Time{}, 0, false
		switch {
		case neverPassed:
			st.Reason = "passed its first check: delegated from the next publication (Art 4.2)"
		case wasWithheld:
			st.Reason = "passes again: delegated again from the next publication (Art 23.2)"
			notify(store.NoticeRestored, time.Time{})
		case wasFailing:
			st.Reason = "passes again: the grace period is over"
			notify(store.NoticeRestored, time.Time{})
		default:
			st.Reason = "passes"
		}
		rec.State = st
		return rec
	}

	first := st.FirstFailure.IsZero()
	if first {
		st.FirstFailure, st.ConsecutiveFailures = now, 0
	}
	st.ConsecutiveFailures++
	since := st.FirstFailure.Format(time.RFC3339)
	deadline := st.FirstFailure.Add(l.grace())
	switch {
	case st.LastPassed.IsZero():
		st.Reason = "has not passed a check: not delegated until one passes (Art 4.2)"
		if first {
			notify(store.NoticeRefused, time.Time{})
		}
	case st.Withheld:
		st.Reason = fmt.Sprintf("withheld: failing since %s (Art 23.2)", since)
	case !now.Before(deadline) && st.ConsecutiveFailures >= l.confirmations() && now.Sub(st.FirstFailure) >= l.spread():
		st.Withheld = true
		st.Reason = fmt.Sprintf("withheld: failing since %s, past the grace period, confirmed by %d checks (Art 23.2)",
			since, st.ConsecutiveFailures)
		notify(store.NoticeWithheld, time.Time{})
	case !now.Before(deadline):
		st.Reason = fmt.Sprintf("failing since %s, past the grace period: withheld once %d checks %s apart confirm it (Art 23.2)",
			since, l.confirmations(), l.spread())
	default:
		st.Reason = fmt.Sprintf("failing since %s: delegated until %s, then withheld unless it passes (Art 23.2)",
			since, deadline.Format(time.RFC3339))
		if first {
			notify(store.NoticeFailing, deadline)
			break
		}
		for _, after := range l.reminders() {
			at := st.FirstFailure.Add(after)
			if prev != nil && prev.LastChecked.Before(at) && !now.Before(at) {
				notify(store.NoticeReminder, deadline)
				break
			}
		}
	}
	rec.State = st
	return rec
}
