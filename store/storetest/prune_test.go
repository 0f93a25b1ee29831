package storetest

import (
	"errors"
	"slices"
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

	res, err := r.Prune(c, store.PruneCut{History: cut})
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
	if res, err := r.Prune(c, store.PruneCut{History: cut}); err != nil || res != (store.PruneResult{}) {
		t.Errorf("a second Prune = %+v, %v; want nothing more", res, err)
	}
}

// testPrunePublications: the publication log's entries older than the
// cut go, but each zone's newest published or adopted entry, whatever
// its age (the serial the next publication goes on from); the entries
// after the cut stay, and the guard's window (PublishedSince) still
// finds them. A cut of history alone leaves the log whole.
func testPrunePublications(t *testing.T, r store.Registry) {
	c := ctx(t)
	day := 24 * time.Hour
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	cut := t0.Add(100 * day)
	entries := []struct {
		zone    string
		at      time.Time
		outcome store.Outcome
	}{
		{"pt", t0, store.OutcomePublished},                       // 0: old, goes
		{"pt", t0.Add(day), store.OutcomeRefused},                // 1: old, goes
		{"pt", t0.Add(2 * day), store.OutcomePublished},          // 2: goes: 5 is newer
		{"com.pt", t0, store.OutcomeAdopted},                     // 3: com.pt's newest adopted or published: kept
		{"com.pt", t0.Add(day), store.OutcomeFailed},             // 4: old, goes
		{"org.pt", t0, store.OutcomeRefused},                     // 5: old, goes (never published)
		{"pt", cut.Add(time.Hour), store.OutcomePublished},       // 6: after the cut
		{"com.pt", cut.Add(2 * time.Hour), store.OutcomeRefused}, // 7: after the cut
	}
	ids := make([]int64, len(entries))
	for i, e := range entries {
		id, err := r.RecordPublication(c, store.Publication{Zone: e.zone, Serial: uint32(i + 1), Time: e.at, Outcome: e.outcome, TriggeredBy: "cron"})
		if err != nil {
			t.Fatal(err)
		}
		ids[i] = id
	}
	if res, err := r.Prune(c, store.PruneCut{History: cut.Add(day)}); err != nil || res.Publications != 0 {
		t.Fatalf("a cut of history alone: %+v, %v; want the log whole", res, err)
	}
	res, err := r.Prune(c, store.PruneCut{Publications: cut})
	if err != nil {
		t.Fatal(err)
	}
	if res != (store.PruneResult{Publications: 5}) {
		t.Errorf("Prune = %+v, want 5 publications", res)
	}
	all, err := r.Publications(c, "", 100)
	if err != nil {
		t.Fatal(err)
	}
	var left []int64
	for _, p := range all {
		left = append(left, p.ID)
	}
	if want := []int64{ids[7], ids[6], ids[3]}; !slices.Equal(left, want) {
		t.Errorf("the log after pruning holds ids %v, want %v (entries 7, 6, 3)", left, want)
	}
	if got, err := r.PublishedSince(c, "pt", cut); err != nil || len(got) != 1 || got[0].ID != ids[6] {
		t.Errorf("pt's window after pruning: %+v, %v", got, err)
	}
	if res, err := r.Prune(c, store.PruneCut{Publications: cut}); err != nil || res != (store.PruneResult{}) {
		t.Errorf("a second Prune = %+v, %v; want nothing more", res, err)
	}
}

// testPruneChangeFeed: the change feed's deleted domains older than the
// cut go (the database's clock stamps them: the cuts here are an hour
// from now either way); a token from before the deletions pruned is
// then refused, never answered without them, while one taken after the
// prune is answered, and sees the deletions since. A cut before the
// deletion removes nothing and refuses nothing.
func testPruneChangeFeed(t *testing.T, r store.Registry) {
	c := ctx(t)
	mustPut(t, r, plainDomain("fica.pt", "pt", store.StatusActive), plainDomain("sai.pt", "pt", store.StatusActive),
		plainDomain("depois.pt", "pt", store.StatusActive))
	before, _ := snapshotToken(t, r, "", store.Filter{})
	if _, err := r.Import(c, records(plainDomain("fica.pt", "pt", store.StatusActive), plainDomain("depois.pt", "pt", store.StatusActive)),
		store.ImportReplace); err != nil {
		t.Fatal(err)
	}
	between, _ := snapshotToken(t, r, "", store.Filter{})

	res, err := r.Prune(c, store.PruneCut{Deletions: time.Now().Add(-time.Hour)})
	if err != nil || res != (store.PruneResult{}) {
		t.Fatalf("a cut an hour ago: %+v, %v; want nothing pruned", res, err)
	}
	if _, got := snapshotToken(t, r, before, store.Filter{}); !slices.Contains(keys(got), "sai.pt") || got["sai.pt"] != nil {
		t.Fatalf("the deletion of sai.pt before any prune: %v", keys(got))
	}

	if res, err := r.Prune(c, store.PruneCut{Deletions: time.Now().Add(time.Hour)}); err != nil || res != (store.PruneResult{Deletions: 1}) {
		t.Fatalf("a cut an hour ahead: %+v, %v; want the deletion of sai.pt pruned", res, err)
	}
	changes := func(token string) ([]string, error) {
		snap, err := r.Snapshot(c)
		if err != nil {
			t.Fatal(err)
		}
		defer snap.Close()
		var names []string
		for ch, err := range snap.Changes(c, token, store.Filter{}) {
			if err != nil {
				return names, err
			}
			names = append(names, ch.Name)
		}
		return names, nil
	}
	if got, err := changes(before); !errors.Is(err, store.ErrChangeToken) {
		t.Errorf("a token from before the pruned deletion: %v, %v; want ErrChangeToken", got, err)
	}
	after, _ := snapshotToken(t, r, "", store.Filter{})
	if _, err := r.Import(c, records(plainDomain("fica.pt", "pt", store.StatusActive)), store.ImportReplace); err != nil {
		t.Fatal(err)
	}
	if got, err := changes(after); err != nil || !slices.Equal(got, []string{"depois.pt"}) {
		t.Errorf("changes since a token taken after the prune: %v, %v; want the deletion of depois.pt", got, err)
	}
	// A token between the deletion and the prune needs nothing pruned:
	// it is answered, with the deletion after it, or refused (PostgreSQL
	// cannot tell it from an older one while another transaction of the
	// cluster ran), never answered without it.
	if got, err := changes(between); err == nil && !slices.Contains(got, "depois.pt") {
		t.Errorf("changes since a token between the deletion and the prune: %v; want depois.pt's deletion, or a refusal", got)
	} else if err != nil && !errors.Is(err, store.ErrChangeToken) {
		t.Error(err)
	}
}
