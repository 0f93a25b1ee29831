package publish_test

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"go.uber.org/zap"

	"github.com/ptzone/ptzone/publish"
	"github.com/ptzone/ptzone/store"
	"github.com/ptzone/ptzone/zone"
)

// delegationsOf counts a zone's delegations as the guard does: the NS
// RRsets below the apex.
func delegationsOf(z *zone.Zone) int {
	n := 0
	for r := range z.All() {
		if r.Type() == zone.TypeNS && r.Owner() != z.Origin() {
			n++
		}
	}
	return n
}

// activeIn returns the active domains of zone z with nameservers, in
// name order.
func (f *fixture) activeIn(t *testing.T, z string) []store.Domain {
	t.Helper()
	ctx := context.Background()
	snap, err := f.db.Snapshot(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer snap.Close()
	var out []store.Domain
	for c, err := range snap.Domains(ctx, store.Filter{Zone: z, Statuses: []store.Status{store.StatusActive}}) {
		if err != nil {
			t.Fatal(err)
		}
		if len(c.Domain.Nameservers) > 0 {
			out = append(out, c.Domain)
		}
	}
	return out
}

func (f *fixture) setStatus(t *testing.T, name string, s store.Status) {
	t.Helper()
	if err := f.db.SetStatus(context.Background(), name, s); err != nil {
		t.Fatal(err)
	}
}

// hundredDelegations makes pt a zone of exactly 100 delegations, so that
// one removal is 1%, publishes it at t0, and returns the domains still
// delegated in it. The guard sums removals over a day and refuses more
// than 2 or 5%, whichever is larger.
func hundredDelegations(t *testing.T, f *fixture) []store.Domain {
	t.Helper()
	f.cfg.Guard.Window = 24 * time.Hour
	f.cfg.Guard.Thresholds.DelegationsRemoved = publish.Limit{Percent: 5, Count: 2}
	dry := f.run(t, publish.Request{Now: t0, DryRun: true})["pt"]
	extra := delegationsOf(dry.Final) - 100
	actives := f.activeIn(t, "pt")
	if extra < 0 || extra > len(actives) {
		t.Fatalf("pt has %d delegations, %d of them active domains: cannot make it 100", extra+100, len(actives))
	}
	for _, d := range actives[len(actives)-extra:] {
		f.setStatus(t, d.Name, store.StatusSuspended)
	}
	o := f.run(t, publish.Request{Now: t0})["pt"]
	if o.Outcome != store.OutcomePublished || delegationsOf(o.Final) != 100 {
		t.Fatalf("the first publication: %s, %d delegations, %v", o.Outcome, delegationsOf(o.Final), o.Refusals)
	}
	return actives[:len(actives)-extra]
}

// windowRefusal returns o's refusal of removed delegations over the
// guard's window, failing the test if there is none.
func windowRefusal(t *testing.T, o publish.ZoneOutcome, rs []publish.Refusal) publish.Refusal {
	t.Helper()
	for _, r := range rs {
		if r.Code == publish.RefuseRemoved && r.Figures != nil && r.Figures.Window != "" {
			return r
		}
	}
	t.Fatalf("%s serial %d: no refusal of removals over the window: %s %v", o.Zone, o.Serial, o.Outcome, rs)
	return publish.Refusal{}
}

// TestGuardWindowSumsRemovals: a domain suspended every hour, ten in a
// row, each removal 1% of the zone and under the limit per publication
// (2 or 5%): the publications within the day go on until their sum
// would pass 5%, then every one is refused, the refusal naming the
// category, the limit and the figures; so the zone is never drained a
// percent at a time. A force passes the refusal over the window too, and
// its removals still count in it.
func TestGuardWindowSumsRemovals(t *testing.T) {
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) { testGuardWindowSumsRemovals(t, newFixtureOn(t, b.open(t))) })
	}
}

func testGuardWindowSumsRemovals(t *testing.T, f *fixture) {
	delegated := hundredDelegations(t, f)
	var serials []uint32
	for i := 1; i <= 9; i++ {
		f.setStatus(t, delegated[i-1].Name, store.StatusSuspended)
		o := f.run(t, publish.Request{Now: t0.Add(time.Duration(i) * time.Hour)})["pt"]
		if i <= 5 {
			if o.Outcome != store.OutcomePublished || o.Delta.Removed != 1 {
				t.Fatalf("removal %d (%d%% in all): %s, %d removed, %v", i, i, o.Outcome, o.Delta.Removed, o.Refusals)
			}
			serials = append(serials, o.Serial)
			continue
		}
		// The candidate removes every domain suspended since the 5th,
		// under the limit per publication (at most 4 of 95).
		if o.Outcome != store.OutcomeRefused || len(o.Refusals) != 1 || o.Delta.Removed != i-5 {
			t.Fatalf("removal %d (%d%% in all): %s, %d removed, refusals %v", i, i, o.Outcome, o.Delta.Removed, o.Refusals)
		}
		r := windowRefusal(t, o, o.Refusals)
		fig := r.Figures
		if fig.Changes != i || fig.Base != 100 || fig.Earlier != 5 || fig.Publications != 5 || fig.Percent != float64(i) ||
			fig.Limit != (publish.Limit{Percent: 5, Count: 2}) || fig.Window != "24h" || !r.Forceable {
			t.Errorf("removal %d: figures %+v", i, fig)
		}
		if i == 6 {
			want := "6 delegations removed within 24h: 5 by 5 earlier publications since 2026-11-21T18:00:00Z, and 1 by this one; " +
				"6 of the 100 delegated when the window began (6%); the limit within 24h is 2 or 5%, whichever is larger"
			if r.Message != want || !strings.HasPrefix(r.String(), publish.RefuseRemoved+": ") {
				t.Errorf("the refusal says\n %s\nwant\n %s", r.Message, want)
			}
			// The offender of this publication first, then the last
			// publications' own, each with its serial and why the
			// registry dropped it.
			d := r.Details
			if len(d) != 6 || d[0].Name != delegated[5].Name || d[0].Serial != 0 || d[0].Registry != "status" || d[0].Status != "suspended" ||
				d[1].Name != delegated[4].Name || d[1].Serial != serials[4] || d[5].Name != delegated[0].Name || d[5].Serial != serials[0] {
				t.Errorf("offenders %+v", d)
			}
			if lines := r.Lines(); len(lines) != 7 || lines[1] != delegated[5].Name+": status suspended in the registry" ||
				lines[2] != fmt.Sprintf("%s: status suspended in the registry (published in serial %d)", delegated[4].Name, serials[4]) {
				t.Errorf("lines:\n%s", strings.Join(lines, "\n"))
			}
		}
	}
	last, err := f.lastPublished("pt")
	if err != nil || delegationsOf(last) != 95 {
		t.Fatalf("after nine removals of 1%%, the zone published has %d delegations (%v), want 95", delegationsOf(last), err)
	}
	// Without the window the same candidate passes: the window refused it.
	noWindow := f.cfg
	noWindow.Guard.Window = 0
	o := f.runWith(t, publish.New(noWindow, f.db, pol, zap.NewNop()), publish.Request{Now: t0.Add(9*time.Hour + time.Minute), DryRun: true})["pt"]
	if o.Outcome != store.OutcomeDryRun || o.Delta.Removed != 4 {
		t.Fatalf("without a window: %s, %d removed, %v", o.Outcome, o.Delta.Removed, o.Refusals)
	}

	// Forced, it is published; the window starts again after it: one
	// more removal is published, and five more are refused as before.
	o = f.run(t, publish.Request{Now: t0.Add(9*time.Hour + 2*time.Minute), Force: &publish.Force{By: "ana", Reason: "expiry batch, ticket 81"}})["pt"]
	if o.Outcome != store.OutcomePublished || len(o.Forced) != 1 || o.Forced[0].Figures.Window != "24h" {
		t.Fatalf("forced: %s, forced %v, standing %v", o.Outcome, o.Forced, o.Refusals)
	}
	f.setStatus(t, delegated[9].Name, store.StatusSuspended)
	if o = f.run(t, publish.Request{Now: t0.Add(10 * time.Hour)})["pt"]; o.Outcome != store.OutcomePublished {
		t.Fatalf("the first removal after a force: %s %v", o.Outcome, o.Refusals)
	}
	f.setStatus(t, delegated[10].Name, store.StatusSuspended)
	f.setStatus(t, delegated[11].Name, store.StatusSuspended)
	if o = f.run(t, publish.Request{Now: t0.Add(11 * time.Hour)})["pt"]; o.Outcome != store.OutcomePublished {
		t.Fatalf("three removals after a force: %s %v", o.Outcome, o.Refusals)
	}
	f.setStatus(t, delegated[12].Name, store.StatusSuspended)
	f.setStatus(t, delegated[13].Name, store.StatusSuspended)
	o = f.run(t, publish.Request{Now: t0.Add(12 * time.Hour)})["pt"]
	r := windowRefusal(t, o, o.Refusals)
	if r.Figures.Changes != 5 || r.Figures.Earlier != 3 || r.Figures.Publications != 2 ||
		!strings.Contains(r.Message, "3 by 2 earlier publications since 2026-11-22T00:00:00Z, and 2 by this one") {
		t.Errorf("after a force: %s %+v", r.Message, r.Figures)
	}
}

// TestGuardWindowForgets: a publication older than the window no longer
// counts. Five removals of 1% an hour apart fill the window (5%); a sixth
// is refused while the first is less than 24 hours old, refused still
// when it is older (the four left are 5.05% of the 99 delegations the
// window then begins with), and published once the second is older too.
func TestGuardWindowForgets(t *testing.T) {
	f := newFixture(t)
	delegated := hundredDelegations(t, f)
	for i := 1; i <= 5; i++ {
		f.setStatus(t, delegated[i-1].Name, store.StatusSuspended)
		if o := f.run(t, publish.Request{Now: t0.Add(time.Duration(i) * time.Hour)})["pt"]; o.Outcome != store.OutcomePublished {
			t.Fatalf("removal %d: %s %v", i, o.Outcome, o.Refusals)
		}
	}
	f.setStatus(t, delegated[5].Name, store.StatusSuspended)
	for _, c := range []struct {
		at            time.Duration
		earlier, base int
		published     bool
	}{
		{6 * time.Hour, 5, 100, false},
		{24*time.Hour + 30*time.Minute, 5, 100, false}, // the first removal is 23h30m old
		{25*time.Hour + 30*time.Minute, 4, 99, false},  // it is out: 5 of 99
		{26*time.Hour + 30*time.Minute, 3, 98, true},   // so is the second: 4 of 98
	} {
		o := f.run(t, publish.Request{Now: t0.Add(c.at)})["pt"]
		if c.published {
			if o.Outcome != store.OutcomePublished || o.Delta.Removed != 1 || len(o.Refusals) != 0 {
				t.Errorf("at t0+%s: %s, %d removed, %v", c.at, o.Outcome, o.Delta.Removed, o.Refusals)
			}
			continue
		}
		if r := windowRefusal(t, o, o.Refusals); r.Figures.Earlier != c.earlier || r.Figures.Base != c.base || r.Figures.Changes != c.earlier+1 {
			t.Errorf("at t0+%s: %+v, want %d earlier of %d", c.at, r.Figures, c.earlier, c.base)
		}
	}
}

// TestGuardOffendersCarryRegistryReason: a refusal of removed
// delegations says, for each, why the registry no longer delegates it,
// from the registry itself: pending deletion (Art 26.5), withheld after
// failing its checks (Art 23.2), no nameservers left, deleted. The
// operator API and the publication log carry it as JSON.
func TestGuardOffendersCarryRegistryReason(t *testing.T) {
	f := newFixture(t)
	f.cfg.Zones.AssumeChecked = false
	f.cfg.Guard.Thresholds.DelegationsRemoved = publish.Limit{Percent: 1, Count: 3}
	ctx := context.Background()
	all := f.activeIn(t, "pt")
	pass := func(name string, at time.Time, withheld bool) {
		t.Helper()
		s := store.DelegationState{Domain: name, LastVerdict: store.VerdictPass, LastChecked: at, LastPassed: at, Withheld: withheld, Updated: at}
		if withheld {
			s.LastVerdict, s.LastPassed, s.FirstFailure = store.VerdictFail, t0.Add(-time.Hour), t0.Add(-40*24*time.Hour)
		}
		if _, err := f.db.RecordCheck(ctx, store.CheckResult{Domain: name, Time: at, Trigger: "test", Verdict: s.LastVerdict}, s); err != nil {
			t.Fatal(err)
		}
	}
	for _, d := range all {
		pass(d.Name, t0.Add(-time.Hour), false)
	}
	if o := f.run(t, publish.Request{Now: t0})["pt"]; o.Outcome != store.OutcomePublished {
		t.Fatalf("first: %s %v", o.Outcome, o.Refusals)
	}
	pending, withheld, bare, gone := all[0], all[1], all[2], all[3]
	f.setStatus(t, pending.Name, store.StatusPendingDelete)
	pass(withheld.Name, t0, true)
	bare.Nameservers = nil
	if err := f.db.PutDomain(ctx, bare); err != nil {
		t.Fatal(err)
	}
	// Deleted: the registry replaced by itself without it.
	snap, err := f.db.Snapshot(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var keep []store.ImportRecord
	for c, err := range snap.Domains(ctx, store.Filter{}) {
		if err != nil {
			t.Fatal(err)
		}
		if c.Domain.Name != gone.Name {
			keep = append(keep, store.ImportRecord{Line: len(keep) + 1, Domain: c.Domain})
		}
	}
	snap.Close()
	records := func(yield func(store.ImportRecord, error) bool) {
		for _, r := range keep {
			if !yield(r, nil) {
				return
			}
		}
	}
	if res, err := f.db.Import(ctx, records, store.ImportReplace); err != nil || res.Deleted != 1 {
		t.Fatalf("deleting %s: %+v %v", gone.Name, res, err)
	}

	o := f.run(t, publish.Request{Now: t0.Add(time.Minute)})["pt"]
	var r *publish.Refusal
	for i := range o.Refusals {
		if o.Refusals[i].Code == publish.RefuseRemoved {
			r = &o.Refusals[i]
		}
	}
	if o.Outcome != store.OutcomeRefused || r == nil {
		t.Fatalf("4 delegations removed: %s %v", o.Outcome, o.Refusals)
	}
	if r.Figures == nil || r.Figures.Changes != 4 || r.Figures.Window != "" || !strings.HasPrefix(r.Message, "4 delegations would disappear: 4 of the ") ||
		!strings.HasSuffix(r.Message, "; the limit per publication is 3 or 1%, whichever is larger") {
		t.Errorf("refusal %s, figures %+v", r.Message, r.Figures)
	}
	want := map[string]publish.Offender{
		pending.Name:  {Registry: "status", Status: "pending_delete"},
		withheld.Name: {Registry: "withheld", Status: "active"},
		bare.Name:     {Registry: "no-nameservers", Status: "active"},
		gone.Name:     {Registry: "absent"},
	}
	for _, d := range r.Details {
		w, ok := want[d.Name]
		if !ok || d.Registry != w.Registry || d.Status != w.Status || len(d.Old) == 0 || !strings.HasPrefix(d.Old[0], "NS ") || len(d.New) != 0 {
			t.Errorf("offender %+v, want %+v with its old NS", d, w)
		}
		delete(want, d.Name)
	}
	if len(want) != 0 {
		t.Errorf("offenders %+v miss %v", r.Details, want)
	}
	if lines := r.Lines(); !slices.Contains(lines, pending.Name+": status pending_delete in the registry") ||
		!slices.Contains(lines, gone.Name+": absent from the registry") {
		t.Errorf("lines:\n%s", strings.Join(lines, "\n"))
	}

	// The publication log's receipt holds the same refusal.
	pubs, err := f.db.Publications(ctx, "pt", 1)
	if err != nil || len(pubs) != 1 {
		t.Fatal(pubs, err)
	}
	var receipt struct{ Refusals []publish.Refusal }
	if err := json.Unmarshal(pubs[0].Details, &receipt); err != nil {
		t.Fatal(err)
	}
	i := slices.IndexFunc(receipt.Refusals, func(x publish.Refusal) bool { return x.Code == publish.RefuseRemoved })
	if i < 0 || !slices.ContainsFunc(receipt.Refusals[i].Details, func(d publish.Offender) bool {
		return d.Name == pending.Name && d.Status == "pending_delete"
	}) {
		t.Errorf("the receipt's refusals: %s", pubs[0].Details)
	}
}
