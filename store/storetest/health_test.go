package storetest

import (
	"reflect"
	"testing"
	"time"

	"github.com/ptzone/ptzone/store"
)

// testHealth: the active delegations are counted by the gate's state and
// last verdict (suspended domains and domains without name servers are
// not delegations), and the outbox by the notices waiting and the oldest.
func testHealth(t *testing.T, r store.Registry) {
	c := ctx(t)
	h, err := r.Health(c)
	if err != nil {
		t.Fatal(err)
	}
	if want := store.NewHealth(); !reflect.DeepEqual(h, want) {
		t.Errorf("an empty registry's health: %+v, want %+v", h, want)
	}
	t0 := time.Date(2026, 11, 23, 3, 0, 0, 0, time.UTC)
	names := []string{"nunca.pt", "recusado.pt", "bom.pt", "aviso.pt", "falha.pt", "retido.pt"}
	for _, n := range names {
		mustPut(t, r, plainDomain(n, "pt", store.StatusActive))
	}
	bare := plainDomain("semns.pt", "pt", store.StatusActive)
	bare.Nameservers = nil
	mustPut(t, r, bare, plainDomain("suspenso.pt", "pt", store.StatusSuspended))
	state := func(name string, v store.Verdict, passed, failed bool, withheld bool) store.CheckRecord {
		st := store.DelegationState{Domain: name, LastVerdict: v, LastChecked: t0, Withheld: withheld, Updated: t0}
		if passed {
			st.LastPassed = t0.Add(-time.Hour)
		}
		if failed {
			st.FirstFailure, st.ConsecutiveFailures = t0, 1
		}
		return store.CheckRecord{Result: store.CheckResult{Domain: name, Time: t0, Trigger: "sweep", Verdict: v}, State: st}
	}
	failing := state("falha.pt", store.VerdictFail, true, true, false)
	failing.Notices = []store.Notice{{Created: t0.Add(-time.Minute), Domain: "falha.pt", Kind: store.NoticeFailing, Role: store.RoleTech,
		Recipient: "tech@falha.pt", Deadline: t0.Add(14 * 24 * time.Hour)},
		{Created: t0, Domain: "falha.pt", Kind: store.NoticeFailing, Role: store.RoleRegistrar, Recipient: "REG-2", Deadline: t0.Add(14 * 24 * time.Hour)}}
	recs := []store.CheckRecord{
		state("recusado.pt", store.VerdictFail, false, true, false),
		state("bom.pt", store.VerdictPass, true, false, false),
		state("aviso.pt", store.VerdictWarning, true, false, false),
		failing,
		state("retido.pt", store.VerdictFail, true, true, true),
		state("suspenso.pt", store.VerdictPass, true, false, false),
	}
	if _, err := r.RecordChecks(c, recs, nil); err != nil {
		t.Fatal(err)
	}
	if h, err = r.Health(c); err != nil {
		t.Fatal(err)
	}
	want := store.NewHealth()
	want.Delegations = map[string]int{store.GateUnchecked: 1, store.GateRefused: 1, store.GatePassing: 2, store.GateFailing: 1, store.GateWithheld: 1}
	want.Verdicts = map[store.Verdict]int{store.VerdictPass: 1, store.VerdictWarning: 1, store.VerdictFail: 3}
	want.OutboxPending, want.OutboxOldest = 2, t0.Add(-time.Minute)
	if !reflect.DeepEqual(h, want) {
		t.Errorf("health:\n%+v\nwant\n%+v", h, want)
	}
}
