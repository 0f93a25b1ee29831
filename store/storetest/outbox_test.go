package storetest

import (
	"errors"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/ptzone/ptzone/store"
)

// testOutbox: notices are claimed oldest first for a lease, by one
// claimant at a time; a failed delivery waits for its retry time, a sent
// notice is never claimed again, and a lease that lapses frees its notice
// (its notifier died).
func testOutbox(t *testing.T, r store.Registry) {
	c := ctx(t)
	mustPut(t, r, sampleDomain("exemplo.pt", "pt"))
	t0 := time.Date(2026, 11, 23, 3, 0, 0, 0, time.UTC)
	var notices []store.Notice
	for i := range 6 {
		notices = append(notices, store.Notice{Created: t0, Domain: "exemplo.pt", Kind: store.NoticeFailing, Role: store.RoleTech,
			Recipient: "tech@exemplo.pt", Deadline: t0.Add(time.Duration(i) * time.Hour)})
	}
	rec := store.CheckRecord{
		Result: store.CheckResult{Domain: "exemplo.pt", Time: t0, Trigger: "sweep", Verdict: store.VerdictFail},
		State: store.DelegationState{Domain: "exemplo.pt", LastVerdict: store.VerdictFail, LastChecked: t0, FirstFailure: t0,
			ConsecutiveFailures: 1, Reason: "failing", Updated: t0},
		Notices: notices,
	}
	if _, err := r.RecordChecks(c, []store.CheckRecord{rec}, nil); err != nil {
		t.Fatal(err)
	}

	// Claimants at once share the six, each notice to one of them.
	const lease = 10 * time.Minute
	var mu sync.Mutex
	claimed := map[int64]int{}
	var wg sync.WaitGroup
	for range 3 {
		wg.Go(func() {
			got, err := r.ClaimNotices(c, t0, lease, 2)
			if err != nil {
				t.Error(err)
				return
			}
			mu.Lock()
			defer mu.Unlock()
			for _, n := range got {
				claimed[n.ID]++
			}
		})
	}
	wg.Wait()
	if len(claimed) != 6 {
		t.Fatalf("three claimants of two got %d notices, want the 6", len(claimed))
	}
	for id, n := range claimed {
		if n != 1 {
			t.Errorf("notice %d claimed %d times", id, n)
		}
	}
	if got, err := r.ClaimNotices(c, t0.Add(time.Minute), lease, 10); err != nil || len(got) != 0 {
		t.Errorf("claimed during the leases: %d, %v; want none", len(got), err)
	}

	all, err := r.Notices(c, true, 10)
	if err != nil || len(all) != 6 {
		t.Fatalf("Notices = %d, %v", len(all), err)
	}
	first, second := all[0].ID, all[1].ID
	at := t0.Add(time.Minute)
	if err := r.NoticeSent(c, first, at); err != nil {
		t.Fatal(err)
	}
	if err := r.NoticeFailed(c, second, "smtp: 421 try later", t0.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	if err := r.NoticeSent(c, first, at.Add(time.Hour)); err != nil {
		t.Errorf("a notice sent twice: %v, want it left as it was", err)
	}
	if err := r.NoticeSent(c, 1<<40, at); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("NoticeSent of no notice: %v, want ErrNotFound", err)
	}
	if err := r.NoticeFailed(c, 1<<40, "x", at); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("NoticeFailed of no notice: %v, want ErrNotFound", err)
	}

	// After the leases, before the retry: the four others, oldest first.
	after := t0.Add(lease)
	got, err := r.ClaimNotices(c, after, lease, 10)
	if err != nil || len(got) != 4 || got[0].ID != all[2].ID || got[3].ID != all[5].ID {
		t.Errorf("after the leases: %+v, %v; want notices 3 to 6", got, err)
	}
	// After the retry time (and those leases): the failed one, with its
	// attempt and error; never the sent one.
	got, err = r.ClaimNotices(c, t0.Add(time.Hour), lease, 10)
	if err != nil || len(got) != 5 || got[0].ID != second || got[0].Attempts != 1 || got[0].LastError != "smtp: 421 try later" {
		t.Errorf("after the retry time: %+v, %v; want notice 2 (1 attempt, its error) and 3 to 6", got, err)
	}
	if pending, err := r.Notices(c, true, 10); err != nil || len(pending) != 5 {
		t.Errorf("pending: %d, %v; want 5", len(pending), err)
	}
	if sent, err := r.Notices(c, false, 10); err != nil || len(sent) != 6 || !sent[0].Sent.Equal(at) {
		t.Errorf("all: %+v, %v; want 6, the first sent at %v", sent, err, at)
	}
}

// testOutboxByRole: a notifier claims only the roles it can deliver (a
// webhook without a mail relay leaves the mails waiting); no role given
// means every role.
func testOutboxByRole(t *testing.T, r store.Registry) {
	c := ctx(t)
	mustPut(t, r, sampleDomain("exemplo.pt", "pt"))
	t0 := time.Date(2026, 11, 23, 3, 0, 0, 0, time.UTC)
	notice := func(role, to string) store.Notice {
		return store.Notice{Created: t0, Domain: "exemplo.pt", Kind: store.NoticeFailing, Role: role, Recipient: to}
	}
	rec := store.CheckRecord{
		Result: store.CheckResult{Domain: "exemplo.pt", Time: t0, Trigger: "sweep", Verdict: store.VerdictFail},
		State: store.DelegationState{Domain: "exemplo.pt", LastVerdict: store.VerdictFail, LastChecked: t0, FirstFailure: t0,
			ConsecutiveFailures: 1, Reason: "failing", Updated: t0},
		Notices: []store.Notice{notice(store.RoleTech, "dns@exemplo.pt"), notice(store.RoleRegistrar, "REG-1"), notice(store.RoleWebhook, "ops")},
	}
	if _, err := r.RecordChecks(c, []store.CheckRecord{rec}, nil); err != nil {
		t.Fatal(err)
	}
	roles := func(ns []store.Notice) []string {
		var out []string
		for _, n := range ns {
			out = append(out, n.Role)
		}
		return out
	}
	got, err := r.ClaimNotices(c, t0, time.Minute, 10, store.RoleWebhook)
	if err != nil || !slices.Equal(roles(got), []string{store.RoleWebhook}) {
		t.Errorf("claiming the webhook's: %v, %v", roles(got), err)
	}
	got, err = r.ClaimNotices(c, t0, time.Minute, 10, store.RoleTech, store.RoleRegistrar)
	if err != nil || !slices.Equal(roles(got), []string{store.RoleTech, store.RoleRegistrar}) {
		t.Errorf("claiming the mails: %v, %v", roles(got), err)
	}
	got, err = r.ClaimNotices(c, t0.Add(time.Hour), time.Minute, 10)
	if err != nil || len(got) != 3 {
		t.Errorf("claiming every role once the leases ran out: %v, %v", roles(got), err)
	}
}
