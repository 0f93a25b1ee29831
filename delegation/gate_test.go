package delegation

import (
	"context"
	"errors"
	"net/netip"
	"slices"
	"testing"
	"time"

	"github.com/ptzone/ptzone/delegation/lab"
	"github.com/ptzone/ptzone/internal/testkit/testdb"
	"github.com/ptzone/ptzone/policy"
	"github.com/ptzone/ptzone/store"
	"github.com/ptzone/ptzone/store/sqlite"
	"github.com/ptzone/ptzone/zonegen"
)

// lifecycleFixture is one domain in the embedded store, served by two lab
// servers a test can break and mend, checked at times the test chooses.
type lifecycleFixture struct {
	t       *testing.T
	db      *sqlite.DB
	c       *Checker
	servers []*lab.Server
	life    Lifecycle
	pol     *policy.Policy
}

// registryAndLab opens an empty embedded registry and a lab, both closed
// when the test ends.
func registryAndLab(t *testing.T) (*sqlite.DB, *lab.Lab) {
	t.Helper()
	db := testdb.Open(t)
	l, err := lab.New()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	return db, l
}

func newLifecycleFixture(t *testing.T, names ...string) *lifecycleFixture {
	t.Helper()
	ctx := context.Background()
	db, l := registryAndLab(t)
	f := &lifecycleFixture{t: t, db: db, c: &Checker{Port: l.Port, Timeout: 200 * time.Millisecond, Attempts: 1},
		pol: policy.New(policy.BundledLists())}
	if err := db.PutRegistrar(ctx, store.Registrar{ID: "REG-1", Name: "Registo Um"}); err != nil {
		t.Fatal(err)
	}
	// Both domains on the same two servers (a hosting provider's).
	a1, a2 := lab.Addr(1), lab.Addr(257)
	var zones []*lab.Zone
	for _, name := range names {
		zones = append(zones, &lab.Zone{Name: name, NS: []string{"ns1.provider.net", "ns2.provider.net"}, Serial: 1})
		err := db.PutDomain(ctx, store.Domain{Name: name, Zone: "pt", Status: store.StatusActive, Registrar: "REG-1",
			TechEmail: "dns@" + name, Expires: time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC),
			Nameservers: []store.Nameserver{{Name: "ns1.provider.net", Addrs: []netip.Addr{a1}}, {Name: "ns2.provider.net", Addrs: []netip.Addr{a2}}}})
		if err != nil {
			t.Fatal(err)
		}
	}
	for _, a := range []netip.Addr{a1, a2} {
		s, err := l.Serve(a, 0, 0, zones...)
		if err != nil {
			t.Fatal(err)
		}
		f.servers = append(f.servers, s)
	}
	return f
}

func (f *lifecycleFixture) setFaults(fault lab.Fault) {
	for _, s := range f.servers {
		s.SetFaults(fault)
	}
}

// check checks the domain as the sweep does at the time given, records
// the outcome, and returns the notices it queued and whether the next
// zone would carry the delegation.
func (f *lifecycleFixture) check(name string, at time.Time) ([]store.Notice, bool, store.DelegationState) {
	f.t.Helper()
	ctx := context.Background()
	dom, err := f.db.Domain(ctx, name)
	if err != nil {
		f.t.Fatal(err)
	}
	var prev *store.DelegationState
	if st, err := f.db.DelegationState(ctx, name); err == nil {
		prev = &st
	} else if !errors.Is(err, store.ErrNotFound) {
		f.t.Fatal(err)
	}
	rep := f.c.Check(ctx, FromDomain(dom))
	rec := f.life.Next(prev, dom, rep.Result(at, time.Second, "sweep"))
	if _, err := f.db.RecordChecks(ctx, []store.CheckRecord{rec}, nil); err != nil {
		f.t.Fatal(err)
	}
	st, err := f.db.DelegationState(ctx, name)
	if err != nil {
		f.t.Fatal(err)
	}
	return rec.Notices, zonegen.Include(store.Candidate{Domain: dom, State: &st}, f.pol, false) == zonegen.ReasonIn, st
}

func kinds(ns []store.Notice) []string {
	var out []string
	for _, n := range ns {
		out = append(out, string(n.Kind)+"→"+n.Role+":"+n.Recipient)
	}
	return out
}

// TestLifecycle follows a delegated domain through notice, grace,
// withholding, repair and delegation again, on a clock the test sets
// (Art 4.2, 23.2; docs/design.md, the gate).
func TestLifecycle(t *testing.T) {
	f := newLifecycleFixture(t, "exemplo.pt")
	day := 24 * time.Hour
	t0 := time.Date(2026, 12, 1, 3, 0, 0, 0, time.UTC)
	step := func(at time.Time, wantNotices []string, wantIn bool) store.DelegationState {
		t.Helper()
		notices, in, st := f.check("exemplo.pt", at)
		if got := kinds(notices); !slices.Equal(got, wantNotices) {
			t.Errorf("%s: notices %v, want %v", at.Format(time.DateTime), got, wantNotices)
		}
		if in != wantIn {
			t.Errorf("%s: delegated = %v, want %v (state %+v)", at.Format(time.DateTime), in, wantIn, st)
		}
		return st
	}
	both := func(kind store.NoticeKind) []string {
		return []string{string(kind) + "→tech:dns@exemplo.pt", string(kind) + "→registrar:REG-1"}
	}

	step(t0, nil, true) // passes: delegated (Art 4.2)

	f.setFaults(lab.Refused)
	t1 := t0.Add(day)
	st := step(t1, both(store.NoticeFailing), true) // failing: notices, still delegated
	if !st.FirstFailure.Equal(t1) || st.ConsecutiveFailures != 1 {
		t.Errorf("after the first failure: %+v", st)
	}
	step(t1.Add(day), nil, true)
	step(t1.Add(7*day+time.Hour), both(store.NoticeReminder), true) // the 7-day reminder
	step(t1.Add(8*day), nil, true)
	step(t1.Add(13*day+time.Hour), both(store.NoticeReminder), true) // the day-before reminder
	st = step(t1.Add(14*day), both(store.NoticeWithheld), false)     // grace over, 6 failures over 14 days: withheld
	if !st.Withheld || st.ConsecutiveFailures != 6 {
		t.Errorf("after the grace period: %+v", st)
	}
	step(t1.Add(15*day), nil, false) // still failing: no more notices

	f.setFaults(0)
	st = step(t1.Add(16*day), both(store.NoticeRestored), true) // mended: delegated again
	if st.Withheld || !st.FirstFailure.IsZero() || st.ConsecutiveFailures != 0 || !st.LastPassed.Equal(t1.Add(16*day)) {
		t.Errorf("after the repair: %+v", st)
	}

	// The failures' notices reached the outbox, in order.
	queued, err := f.db.Notices(context.Background(), true, 100)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, n := range queued {
		got = append(got, string(n.Kind))
	}
	want := []string{"delegation_failing", "delegation_failing", "delegation_reminder", "delegation_reminder",
		"delegation_reminder", "delegation_reminder", "delegation_withheld", "delegation_withheld", "delegation_restored", "delegation_restored"}
	if !slices.Equal(got, want) {
		t.Errorf("outbox %v, want %v", got, want)
	}
	if n := queued[0]; !n.Deadline.Equal(t1.Add(14*day)) || len(n.Findings) == 0 {
		t.Errorf("the failing notice: deadline %v (want %v), %d findings", n.Deadline, t1.Add(14*day), len(n.Findings))
	}
}

// TestLifecycleNeedsConfirmation: past a grace period of one day,
// failures seen by fewer than three checks, or by checks less than 48
// hours apart, withhold nothing.
func TestLifecycleNeedsConfirmation(t *testing.T) {
	hour := time.Hour
	for _, tc := range []struct {
		name     string
		life     Lifecycle
		checks   []time.Duration // after the passing check
		withheld time.Duration   // the check that withholds
	}{
		// 26 h: past the grace, two checks 25 h apart: kept. 49 h: three
		// checks, 48 hours apart: withheld.
		{"three checks over 48 hours", Lifecycle{Grace: 24 * hour}, []time.Duration{hour, 26 * hour, 49 * hour}, 49 * hour},
		// With no spread asked for, the count alone holds it back.
		{"three checks", Lifecycle{Grace: 24 * hour, Spread: time.Nanosecond}, []time.Duration{hour, 26 * hour, 27 * hour}, 27 * hour},
		// With no count asked for, the spread alone holds it back.
		{"48 hours", Lifecycle{Grace: 24 * hour, Confirmations: 1}, []time.Duration{hour, 26 * hour, 49 * hour}, 49 * hour},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newLifecycleFixture(t, "exemplo.pt")
			f.life = tc.life
			t0 := time.Date(2026, 12, 1, 3, 0, 0, 0, time.UTC)
			if _, in, _ := f.check("exemplo.pt", t0); !in {
				t.Fatal("healthy domain not delegated")
			}
			f.setFaults(lab.Timeout)
			for _, at := range tc.checks {
				_, in, st := f.check("exemplo.pt", t0.Add(at))
				if want := at < tc.withheld; in != want {
					t.Errorf("failing check at +%v: delegated = %v, want %v (%s)", at, in, want, st.Reason)
				}
			}
		})
	}
}

// TestNewDomainWaitsForAPassingCheck: a domain never delegated enters the
// zone only after a passing check (Art 4.2); its failures are told once.
func TestNewDomainWaitsForAPassingCheck(t *testing.T) {
	f := newLifecycleFixture(t, "novo.pt", "outro.pt")
	ctx := context.Background()
	dom, err := f.db.Domain(ctx, "novo.pt")
	if err != nil {
		t.Fatal(err)
	}
	if zonegen.Include(store.Candidate{Domain: dom}, f.pol, false) == zonegen.ReasonIn {
		t.Fatal("a never-checked domain is delegated")
	}
	f.setFaults(lab.ServFail)
	t0 := time.Date(2026, 12, 1, 3, 0, 0, 0, time.UTC)
	notices, in, _ := f.check("novo.pt", t0)
	if in || !slices.Equal(kinds(notices), []string{"delegation_refused→tech:dns@novo.pt", "delegation_refused→registrar:REG-1"}) {
		t.Errorf("first failing check: delegated %v, notices %v", in, kinds(notices))
	}
	if notices, in, _ := f.check("novo.pt", t0.Add(30*24*time.Hour)); in || len(notices) != 0 {
		t.Errorf("failing a month later: delegated %v, notices %v (no grace for what was never delegated)", in, kinds(notices))
	}
	f.setFaults(0)
	if notices, in, st := f.check("novo.pt", t0.Add(31*24*time.Hour)); !in || len(notices) != 0 {
		t.Errorf("first passing check: delegated %v, notices %v (%s)", in, kinds(notices), st.Reason)
	}
}

// TestWebhookNotices: with a webhook configured, each transition is
// queued for it too, once, with the findings the mails carry (Art 5c,
// 23.2); without one, only the two mails.
func TestWebhookNotices(t *testing.T) {
	t0 := time.Date(2026, 12, 1, 3, 0, 0, 0, time.UTC)
	dom := store.Domain{Name: "exemplo.pt", Zone: "pt", Registrar: "REG-1", TechEmail: "dns@exemplo.pt"}
	passed := &store.DelegationState{Domain: "exemplo.pt", LastVerdict: store.VerdictPass, LastPassed: t0.Add(-time.Hour)}
	finding := store.Finding{Code: "NO_RESPONSE", Severity: store.SeverityError, Message: "no answer"}
	fail := store.CheckResult{Domain: "exemplo.pt", Time: t0, Verdict: store.VerdictFail, Findings: []store.Finding{finding}}

	rec := Lifecycle{Webhook: "ops"}.Next(passed, dom, fail)
	want := []string{"delegation_failing→tech:dns@exemplo.pt", "delegation_failing→registrar:REG-1", "delegation_failing→webhook:ops"}
	if !slices.Equal(kinds(rec.Notices), want) {
		t.Fatalf("the first failure queued %v, want %v", kinds(rec.Notices), want)
	}
	hook := rec.Notices[2]
	if len(hook.Findings) != 1 || hook.Findings[0].Code != "NO_RESPONSE" || !hook.Deadline.Equal(t0.Add(14*24*time.Hour)) {
		t.Errorf("the webhook's notice: %+v", hook)
	}
	// Failing again queues nothing more, for the webhook neither.
	again := Lifecycle{Webhook: "ops"}.Next(&rec.State, dom, fail)
	if len(again.Notices) != 0 {
		t.Errorf("the second failure queued %v", kinds(again.Notices))
	}
	pass := store.CheckResult{Domain: "exemplo.pt", Time: t0.Add(time.Hour), Verdict: store.VerdictPass}
	if got := (Lifecycle{Webhook: "ops"}).Next(&again.State, dom, pass); !slices.Contains(kinds(got.Notices), "delegation_restored→webhook:ops") {
		t.Errorf("the repair queued %v, nothing for the webhook", kinds(got.Notices))
	}
	if got := (Lifecycle{}).Next(passed, dom, fail); len(got.Notices) != 2 {
		t.Errorf("without a webhook the first failure queued %v", kinds(got.Notices))
	}
}
