package storetest

import (
	"errors"
	"reflect"
	"testing"
	"time"

	"github.com/ptzone/ptzone/store"
)

// testSweeps checks that a batch of checks, its notices and its sweep's
// progress are written together, that an interrupted sweep is found again,
// and that a bad record writes nothing of its batch.
func testSweeps(t *testing.T, r store.Registry) {
	c := ctx(t)
	mustPut(t, r, sampleDomain("exemplo.pt", "pt"), plainDomain("outro.pt", "pt", store.StatusActive))
	t0 := time.Date(2026, 11, 23, 2, 0, 0, 0, time.UTC)
	sw, resumed, err := r.OpenSweep(c, t0)
	if err != nil || resumed || sw.ID == 0 || !sw.Started.Equal(t0) {
		t.Fatalf("OpenSweep = %+v, %v, %v; want a new sweep started at %v", sw, resumed, err, t0)
	}
	finding := store.Finding{Code: "NS_NO_RESPONSE", Severity: store.SeverityError, Nameserver: "ns1.exemplo.pt", Message: "no answer"}
	deadline := t0.Add(14 * 24 * time.Hour)
	failing := store.CheckRecord{
		Result: store.CheckResult{Domain: "exemplo.pt", Time: t0, Trigger: "sweep", Verdict: store.VerdictFail, Findings: []store.Finding{finding}},
		State: store.DelegationState{Domain: "exemplo.pt", LastVerdict: store.VerdictFail, LastChecked: t0, LastPassed: t0.Add(-24 * time.Hour),
			FirstFailure: t0, ConsecutiveFailures: 1, Reason: "failing", Updated: t0},
		Notices: []store.Notice{
			{Created: t0, Domain: "exemplo.pt", Kind: store.NoticeFailing, Role: store.RoleTech, Recipient: "tech@exemplo.pt", Deadline: deadline, Findings: []store.Finding{finding}},
			{Created: t0, Domain: "exemplo.pt", Kind: store.NoticeFailing, Role: store.RoleRegistrar, Recipient: "REG-1", Deadline: deadline},
			{Created: t0, Domain: "exemplo.pt", Kind: store.NoticeFailing, Role: store.RoleWebhook, Recipient: "ops", Deadline: deadline, Findings: []store.Finding{finding}},
		},
	}
	gone := store.CheckRecord{
		Result: store.CheckResult{Domain: "apagado.pt", Time: t0, Trigger: "sweep", Verdict: store.VerdictPass},
		State:  store.DelegationState{Domain: "apagado.pt", LastVerdict: store.VerdictPass, LastChecked: t0, LastPassed: t0, Updated: t0},
	}
	sw.Cursor, sw.Checked, sw.Failed = "exemplo.pt", 2, 1
	ids, err := r.RecordChecks(c, []store.CheckRecord{gone, failing}, &sw)
	if err != nil {
		t.Fatal(err)
	}
	if len(ids) != 2 || ids[0] != 0 || ids[1] == 0 {
		t.Errorf("RecordChecks ids = %v, want [0 (deleted domain skipped) N]", ids)
	}
	notices, err := r.Notices(c, true, 10)
	if err != nil {
		t.Fatal(err)
	}
	for i := range notices {
		if notices[i].ID == 0 {
			t.Errorf("notice %d has no id", i)
		}
		notices[i].ID = 0
	}
	if !reflect.DeepEqual(notices, failing.Notices) {
		t.Errorf("Notices =\n %+v\nwant\n %+v", notices, failing.Notices)
	}

	// A restart finds the sweep where it was left.
	again, resumed, err := r.OpenSweep(c, t0.Add(time.Hour))
	if err != nil || !resumed || again != sw {
		t.Errorf("OpenSweep after an interruption = %+v, %v, %v; want %+v resumed", again, resumed, err, sw)
	}

	// A bad notice fails its whole batch: no result, no progress.
	bad := failing
	bad.Notices = []store.Notice{{Created: t0, Domain: "exemplo.pt", Kind: "postcard", Role: store.RoleTech, Recipient: "x@y.pt"}}
	ok := store.CheckRecord{
		Result: store.CheckResult{Domain: "outro.pt", Time: t0, Trigger: "sweep", Verdict: store.VerdictPass},
		State:  store.DelegationState{Domain: "outro.pt", LastVerdict: store.VerdictPass, LastChecked: t0, LastPassed: t0, Updated: t0},
	}
	progress := sw
	progress.Cursor, progress.Checked = "outro.pt", 3
	if _, err := r.RecordChecks(c, []store.CheckRecord{ok, bad}, &progress); err == nil {
		t.Error("RecordChecks accepted a notice of an unknown kind")
	}
	if _, err := r.DelegationState(c, "outro.pt"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("a failed batch wrote outro.pt's state (%v)", err)
	}
	if list, err := r.Sweeps(c, 5); err != nil || len(list) != 1 || list[0] != sw {
		t.Errorf("Sweeps after a failed batch = %+v, %v; want [%+v]", list, err, sw)
	}

	// Finishing the sweep lets the next one start.
	sw.Cursor, sw.Checked, sw.Finished = "outro.pt", 3, t0.Add(2*time.Hour)
	if _, err := r.RecordChecks(c, []store.CheckRecord{ok}, &sw); err != nil {
		t.Fatal(err)
	}
	next, resumed, err := r.OpenSweep(c, t0.Add(3*time.Hour))
	if err != nil || resumed || next.ID == sw.ID {
		t.Errorf("OpenSweep after a finished one = %+v, %v, %v; want a new sweep", next, resumed, err)
	}
	if list, err := r.Sweeps(c, 5); err != nil || len(list) != 2 || list[0] != next || list[1] != sw {
		t.Errorf("Sweeps = %+v, %v; want [%+v %+v]", list, err, next, sw)
	}
	if all, err := r.Notices(c, false, 10); err != nil || len(all) != len(failing.Notices) {
		t.Errorf("Notices(all) = %d, %v; want the %d queued", len(all), err, len(failing.Notices))
	}
}

// testConditionalState: a sweep's check, started from a state that a
// newer check replaced meanwhile, joins the history without replacing the
// newer state or queueing its notices.
func testConditionalState(t *testing.T, r store.Registry) {
	c := ctx(t)
	mustPut(t, r, sampleDomain("exemplo.pt", "pt"))
	t0 := time.Date(2026, 11, 23, 2, 0, 0, 0, time.UTC)
	pass := func(at time.Time, base *time.Time) store.CheckRecord {
		return store.CheckRecord{Base: base,
			Result: store.CheckResult{Domain: "exemplo.pt", Time: at, Trigger: "sweep", Verdict: store.VerdictPass},
			State:  store.DelegationState{Domain: "exemplo.pt", LastVerdict: store.VerdictPass, LastChecked: at, LastPassed: at, Updated: at}}
	}
	fail := func(at time.Time, base *time.Time) store.CheckRecord {
		return store.CheckRecord{Base: base,
			Result: store.CheckResult{Domain: "exemplo.pt", Time: at, Trigger: "sweep", Verdict: store.VerdictFail},
			State: store.DelegationState{Domain: "exemplo.pt", LastVerdict: store.VerdictFail, LastChecked: at, LastPassed: t0,
				FirstFailure: at, ConsecutiveFailures: 1, Updated: at},
			Notices: []store.Notice{{Created: at, Domain: "exemplo.pt", Kind: store.NoticeFailing, Role: store.RoleRegistrar, Recipient: "REG-1"}}}
	}
	var never time.Time
	if _, err := r.RecordChecks(c, []store.CheckRecord{pass(t0, &never)}, nil); err != nil {
		t.Fatal(err)
	}
	// A registrar's check at t1; then a sweep's, begun from t0's state.
	t1, t2 := t0.Add(time.Minute), t0.Add(2*time.Minute)
	if _, err := r.RecordChecks(c, []store.CheckRecord{pass(t1, nil)}, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := r.RecordChecks(c, []store.CheckRecord{fail(t2, &t0)}, nil); err != nil {
		t.Fatal(err)
	}
	if st, err := r.DelegationState(c, "exemplo.pt"); err != nil || !st.Updated.Equal(t1) {
		t.Errorf("state after a stale sweep check = %+v, %v; want the registrar's of %v", st, err, t1)
	}
	if hist, err := r.CheckHistory(c, "exemplo.pt", 10); err != nil || len(hist) != 3 {
		t.Errorf("history = %d results, %v; want 3", len(hist), err)
	}
	if n, err := r.Notices(c, true, 10); err != nil || len(n) != 0 {
		t.Errorf("a stale check queued %d notices (%v)", len(n), err)
	}
	// Begun from the current state, it is written.
	if _, err := r.RecordChecks(c, []store.CheckRecord{fail(t2, &t1)}, nil); err != nil {
		t.Fatal(err)
	}
	if st, err := r.DelegationState(c, "exemplo.pt"); err != nil || !st.Updated.Equal(t2) || st.LastVerdict != store.VerdictFail {
		t.Errorf("state after a current sweep check = %+v, %v", st, err)
	}
	if n, err := r.Notices(c, true, 10); err != nil || len(n) != 1 {
		t.Errorf("a current check queued %d notices (%v), want 1", len(n), err)
	}
}
