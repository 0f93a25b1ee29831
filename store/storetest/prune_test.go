package storetest

import (
	"testing"
	"time"

	"github.com/ptzone/ptzone/store"
)

// testPrune: history older than the cut goes, except each domain's
// newest check (a domain checked long ago still shows why), notices not
// yet sent and the newest finished sweep.
func testPrune(t *testing.T, r store.Registry) {
	c := ctx(t)
	mustPut(t, r, plainDomain("velho.pt", "pt", store.StatusActive), plainDomain("novo.pt", "pt", store.StatusActive))
	day := 24 * time.Hour
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	cut := t0.Add(100 * day)
	check := func(domain string, at time.Time, notices ...store.Notice) store.CheckRecord {
		return store.CheckRecord{Result: store.CheckResult{Domain: domain, Time: at, Trigger: "sweep", Verdict: store.VerdictPass},
			State:   store.DelegationState{Domain: domain, LastVerdict: store.VerdictPass, LastChecked: at, LastPassed: at, Updated: at},
			Notices: notices}
	}
	notice := func(domain string, at time.Time) store.Notice {
		return store.Notice{Created: at, Domain: domain, Kind: store.NoticeRestored, Role: store.RoleTech, Recipient: "dns@" + domain}
	}
	for i, at := range []time.Time{t0, t0.Add(day), t0.Add(2 * day)} {
		sw, _, err := r.OpenSweep(c, at)
		if err != nil {
			t.Fatal(err)
		}
		sw.Finished = at.Add(time.Hour)
		recs := []store.CheckRecord{check("velho.pt", at)}
		if i == 0 {
			recs = []store.CheckRecord{check("velho.pt", at, notice("velho.pt", at)), check("novo.pt", at, notice("novo.pt", at))}
		}
		if _, err := r.RecordChecks(c, recs, &sw); err != nil {
			t.Fatal(err)
		}
	}
	// novo.pt is checked again after the cut; one of the old notices is
	// sent, the other still waits.
	if _, err := r.RecordChecks(c, []store.CheckRecord{check("novo.pt", cut.Add(day))}, nil); err != nil {
		t.Fatal(err)
	}
	pending, err := r.Notices(c, true, 10)
	if err != nil || len(pending) != 2 {
		t.Fatalf("notices: %v, %v", pending, err)
	}
	if err := r.NoticeSent(c, pending[0].ID, t0.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}

	res, err := r.Prune(c, cut)
	if err != nil {
		t.Fatal(err)
	}
	// velho.pt keeps its newest of three; novo.pt loses its old one.
	if res != (store.PruneResult{Checks: 3, Notices: 1, Sweeps: 2}) {
		t.Errorf("Prune = %+v, want 3 checks, 1 notice, 2 sweeps", res)
	}
	if h, _ := r.CheckHistory(c, "velho.pt", 10); len(h) != 1 || !h[0].Time.Equal(t0.Add(2*day)) {
		t.Errorf("velho.pt's history after pruning: %+v, want its newest check alone", h)
	}
	if h, _ := r.CheckHistory(c, "novo.pt", 10); len(h) != 1 || !h[0].Time.Equal(cut.Add(day)) {
		t.Errorf("novo.pt's history after pruning: %+v", h)
	}
	if n, _ := r.Notices(c, true, 10); len(n) != 1 || n[0].ID != pending[1].ID {
		t.Errorf("the unsent notice went: %+v", n)
	}
	if sw, _ := r.Sweeps(c, 10); len(sw) != 1 || !sw[0].Started.Equal(t0.Add(2*day)) {
		t.Errorf("sweeps after pruning: %+v, want the newest alone", sw)
	}
	if res, err := r.Prune(c, cut); err != nil || res != (store.PruneResult{}) {
		t.Errorf("a second Prune = %+v, %v; want nothing more", res, err)
	}
}
