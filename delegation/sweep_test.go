package delegation

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/ptzone/ptzone/delegation/lab"
	"github.com/ptzone/ptzone/internal/testkit"
	"github.com/ptzone/ptzone/store"
	"github.com/ptzone/ptzone/store/sqlite"
)

// sweepFixture is a registry of domains hosted by one provider (two lab
// servers) plus one domain on a server that refuses everything, and a
// reserved domain with no name servers.
type sweepFixture struct {
	db       *sqlite.DB
	port     int
	provider []*lab.Server
	broken   *lab.Server
	hosted   []string
}

func newSweepFixture(t *testing.T, n int) *sweepFixture {
	t.Helper()
	ctx := context.Background()
	db, l := registryAndLab(t)
	f := &sweepFixture{db: db, port: l.Port}
	if err := db.PutRegistrar(ctx, store.Registrar{ID: "REG-1"}); err != nil {
		t.Fatal(err)
	}
	a1, a2, a3 := lab.Addr(1), lab.Addr(257), lab.Addr(513)
	put := func(name string, ns ...store.Nameserver) {
		t.Helper()
		err := db.PutDomain(ctx, store.Domain{Name: name, Zone: "pt", Status: store.StatusActive, Registrar: "REG-1",
			TechEmail: "dns@" + name, Expires: time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC), Nameservers: ns})
		if err != nil {
			t.Fatal(err)
		}
	}
	provider := []store.Nameserver{{Name: "ns1.provider.pt", Addrs: []netip.Addr{a1}}, {Name: "ns2.provider.pt", Addrs: []netip.Addr{a2}}}
	var zones []*lab.Zone
	for i := range n {
		name := fmt.Sprintf("cliente%03d.pt", i)
		f.hosted = append(f.hosted, name)
		zones = append(zones, &lab.Zone{Name: name, NS: []string{"ns1.provider.pt", "ns2.provider.pt"}, Serial: 7})
		put(name, provider...)
	}
	put("avariado.pt", store.Nameserver{Name: "ns.avariado.net", Addrs: []netip.Addr{a3}}, provider[0])
	put("reservado.pt")
	for _, a := range []netip.Addr{a1, a2} {
		s, err := l.Serve(a, 0, 0, zones...)
		if err != nil {
			t.Fatal(err)
		}
		f.provider = append(f.provider, s)
	}
	var err error
	if f.broken, err = l.Serve(a3, lab.Refused, 0); err != nil {
		t.Fatal(err)
	}
	return f
}

// interruptingStore cancels the sweep after its first batch is recorded:
// a restart in the middle of a sweep.
type interruptingStore struct {
	*sqlite.DB
	cancel  context.CancelFunc
	batches int
}

func (s *interruptingStore) RecordChecks(ctx context.Context, recs []store.CheckRecord, sw *store.Sweep) ([]int64, error) {
	ids, err := s.DB.RecordChecks(ctx, recs, sw)
	if s.batches++; s.batches == 1 {
		s.cancel()
	}
	return ids, err
}

// TestSweep checks every active domain once, probing each address's
// transport once per sweep, at the per-address pace, and goes on after an
// interruption where it stopped (Art 23.2; docs/design.md, the checker).
func TestSweep(t *testing.T) {
	const hosted, rate = 60, 100
	f := newSweepFixture(t, hosted)
	reg := prometheus.NewRegistry()
	metrics := NewSweepMetrics(reg)
	clock := testkit.NewClock(time.Date(2026, 12, 1, 3, 0, 0, 0, time.UTC))
	var sess *session
	newSweeper := func(st SweepStore) *Sweeper {
		return &Sweeper{Checker: &Checker{Port: f.port, Timeout: 200 * time.Millisecond, Attempts: 1}, Store: st,
			RatePerAddress: rate, Concurrency: 8, BatchSize: 10, Metrics: metrics, Now: clock.Now,
			paced: func(s *session) { sess = s }}
	}

	// The first run stops after its first batch.
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	first, err := newSweeper(&interruptingStore{DB: f.db, cancel: cancel}).Run(ctx)
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("interrupted sweep: %v, want context.Canceled", err)
	}
	sweeps, err := f.db.Sweeps(context.Background(), 5)
	if err != nil || len(sweeps) != 1 || !sweeps[0].Finished.IsZero() || sweeps[0].Checked < 10 || sweeps[0].Checked != first.Checked {
		t.Fatalf("after the interruption: sweeps %+v (%v), run %+v", sweeps, err, first)
	}

	// The second goes on after the cursor and finishes.
	second, err := newSweeper(f.db).Run(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	active := hosted + 1 // and avariado.pt; reservado.pt has nothing to check
	if !second.Resumed || second.Sweep.ID != sweeps[0].ID || second.Sweep.Checked != active || second.Sweep.Finished.IsZero() ||
		first.Checked+second.Checked != active || second.Sweep.Failed != 1 {
		t.Errorf("resumed sweep: %+v (first run checked %d)", second, first.Checked)
	}
	// Each domain checked once over the two runs.
	for _, name := range append(f.hosted, "avariado.pt") {
		hist, err := f.db.CheckHistory(context.Background(), name, 5)
		if err != nil || len(hist) != 1 || hist[0].Trigger != "sweep" {
			t.Errorf("%s: history %+v, %v; want one sweep check", name, hist, err)
		}
	}
	if st, err := f.db.DelegationState(context.Background(), "avariado.pt"); err != nil || st.LastVerdict != store.VerdictFail {
		t.Errorf("avariado.pt: %+v, %v; want a failing state", st, err)
	}
	if _, err := f.db.DelegationState(context.Background(), "reservado.pt"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("reservado.pt was checked (%v)", err)
	}

	if got := testutil.ToFloat64(metrics.checked.WithLabelValues("pass")); got != hosted {
		t.Errorf("ptzone_sweep_domains_checked_total{verdict=pass} = %v, want %d", got, hosted)
	}
	if got := testutil.ToFloat64(metrics.progress); got != 1 {
		t.Errorf("ptzone_sweep_progress_ratio after the sweep = %v, want 1", got)
	}

	// A finished sweep is not resumed: the next run starts a new one.
	clock.Add(24 * time.Hour)
	before := []uint64{f.provider[0].Queries(), f.provider[1].Queries()}
	third, err := newSweeper(f.db).Run(context.Background())
	if err != nil || third.Resumed || third.Sweep.ID == second.Sweep.ID || third.Checked != active {
		t.Errorf("next sweep: %+v, %v", third, err)
	}
	// The states moved on: each check started from the state the last one
	// left, so its conditional write took.
	for _, name := range []string{f.hosted[0], f.hosted[hosted-1], "avariado.pt"} {
		if st, err := f.db.DelegationState(context.Background(), name); err != nil || !st.LastChecked.Equal(clock.Now()) {
			t.Errorf("%s after the next sweep: %+v, %v; want checked at %v", name, st, err, clock.Now())
		}
	}
	if st, _ := f.db.DelegationState(context.Background(), "avariado.pt"); st.ConsecutiveFailures != 2 {
		t.Errorf("avariado.pt failed %d checks in a row, want 2", st.ConsecutiveFailures)
	}
	// Per domain, SOA and NS at each address; per address, TCP, EDNS and
	// recursion once. ns1 is also avariado.pt's, and refuses it: one query.
	for i, s := range f.provider {
		want := uint64(2*hosted + 3)
		if i == 0 {
			want++
		}
		if got := s.Queries() - before[i]; got != want {
			t.Errorf("%s received %d queries in a sweep, want %d", s.Addr, got, want)
		}
	}
	// Those queries were paced at the rate per address: the session's
	// slots (TestSessionPaces checks them on a fixed clock) were taken
	// for each server's address.
	if sess == nil {
		t.Fatal("the sweep made no session")
	}
	if want := (time.Second + pacingGuard) / rate; sess.interval != want {
		t.Fatalf("the sweep's session paces every %v, want %v", sess.interval, want)
	}
	for _, s := range f.provider {
		if _, paced := sess.next[s.Addr]; !paced {
			t.Errorf("the queries to %s were not paced", s.Addr)
		}
	}
	if want := int64(2*(2*hosted+3) + 1 + 1); third.Queries != want {
		t.Errorf("the sweep counts %d queries sent, want %d", third.Queries, want)
	}
}

// TestSweepStopsWhenAllIsSilent: when the servers of most domains stop
// answering at once (here the provider's two, serving all but one
// domain: as if the checker's own network had failed), the sweep records
// nothing of that batch, so that no domain counts a failure that may be
// ours, nor gets a notice (Art 23.2 judges the domain's servers); it
// stops with ErrSilent, and its next run, the silence over, goes on from
// the last batch recorded.
func TestSweepStopsWhenAllIsSilent(t *testing.T) {
	const hosted = 120
	f := newSweepFixture(t, hosted)
	ctx := context.Background()
	sweeper := &Sweeper{Checker: &Checker{Port: f.port, Timeout: 100 * time.Millisecond, Attempts: 1}, Store: f.db,
		RatePerAddress: 1000, Concurrency: 32, BatchSize: 60}
	for _, s := range f.provider {
		s.SetFaults(lab.Timeout)
	}
	_, err := sweeper.Run(ctx)
	if !errors.Is(err, ErrSilent) {
		t.Fatalf("a silent sweep: %v, want ErrSilent", err)
	}
	sweeps, err := f.db.Sweeps(ctx, 5)
	if err != nil || len(sweeps) != 1 || sweeps[0].Checked != 0 || sweeps[0].Cursor != "" || !sweeps[0].Finished.IsZero() {
		t.Fatalf("after the silence: %+v, %v; want one open sweep with nothing recorded", sweeps, err)
	}
	for _, name := range append(f.hosted[:3], "avariado.pt") {
		if hist, err := f.db.CheckHistory(ctx, name, 5); err != nil || len(hist) != 0 {
			t.Errorf("%s: history %+v, %v; want none", name, hist, err)
		}
	}
	if notices, err := f.db.Notices(ctx, true, 10); err != nil || len(notices) != 0 {
		t.Errorf("notices %+v, %v; want none", notices, err)
	}

	for _, s := range f.provider {
		s.SetFaults(0)
	}
	// The servers answer now: the timeout only bounds a wait, and a
	// loaded machine must not turn a slow answer into a failure.
	sweeper.Checker.Timeout = 5 * time.Second
	stats, err := sweeper.Run(ctx)
	if err != nil || !stats.Resumed || stats.Sweep.ID != sweeps[0].ID || stats.Sweep.Checked != hosted+1 || stats.Sweep.Failed != 1 {
		t.Errorf("after the silence: %+v, %v", stats, err)
	}
}

// TestSweepLimit: a run with a Limit checks that many domains and leaves
// the sweep unfinished; the runs that follow go on from there, so that a
// daemon spreads one sweep over a day and still checks every active
// domain once (Art 23.2).
func TestSweepLimit(t *testing.T) {
	const hosted = 25
	f := newSweepFixture(t, hosted)
	active := hosted + 1
	sw := &Sweeper{Checker: &Checker{Port: f.port, Timeout: 200 * time.Millisecond, Attempts: 1}, Store: f.db,
		RatePerAddress: 1000, Concurrency: 4, BatchSize: 4, Limit: 10}
	// The progress counts the sweep's domains in order, across its runs.
	var progress []int
	sw.Progress = func(checked, total int) {
		if total != active+1 { // reservado.pt counts, though it has no servers to check
			t.Errorf("progress total %d, want %d active domains", total, active+1)
		}
		progress = append(progress, checked)
	}
	var runs []SweepStats
	for range 3 {
		st, err := sw.Run(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		runs = append(runs, st)
	}
	if runs[0].Checked != 10 || runs[0].Sweep.Finished.IsZero() == false || runs[1].Checked != 10 || !runs[1].Resumed ||
		runs[2].Checked != active-20 || runs[2].Sweep.Finished.IsZero() || runs[2].Sweep.ID != runs[0].Sweep.ID {
		t.Errorf("three limited runs: %+v", runs)
	}
	for i, n := range progress {
		if n != i+1 || len(progress) != active {
			t.Fatalf("progress %v, want 1 to %d", progress, active)
		}
	}
	for _, name := range append(f.hosted, "avariado.pt") {
		if hist, err := f.db.CheckHistory(context.Background(), name, 5); err != nil || len(hist) != 1 {
			t.Errorf("%s: checked %d times (%v), want once", name, len(hist), err)
		}
	}
}
