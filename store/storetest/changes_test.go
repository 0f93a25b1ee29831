package storetest

import (
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/ptzone/ptzone/store"
)

// snapshotToken opens a snapshot, returns its change token and, when
// since is not empty, the changes it sees since that token, by name
// (nil candidate: deleted).
func snapshotToken(t *testing.T, r store.Registry, since string, f store.Filter) (string, map[string]*store.Candidate) {
	t.Helper()
	snap, err := r.Snapshot(ctx(t))
	if err != nil {
		t.Fatalf("Snapshot: %v", err)
	}
	defer snap.Close()
	if since == "" {
		return snap.ChangeToken(), nil
	}
	got := map[string]*store.Candidate{}
	var order []string
	for c, err := range snap.Changes(ctx(t), since, f) {
		if err != nil {
			t.Fatalf("Changes: %v", err)
		}
		got[c.Name] = c.Candidate
		order = append(order, c.Name)
	}
	return snap.ChangeToken(), got
}

func keys(m map[string]*store.Candidate) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

// testChangeFeed: the change feed names every domain written, deleted or
// crossing the gate since a token, and not a domain whose check changed
// nothing that decides its delegation.
func testChangeFeed(t *testing.T, r store.Registry) {
	c := ctx(t)
	mustPut(t, r, sampleDomain("alfa.pt", "pt"), plainDomain("beta.pt", "pt", store.StatusActive),
		plainDomain("gama.com.pt", "com.pt", store.StatusActive), plainDomain("delta.pt", "pt", store.StatusActive))
	tok0, _ := snapshotToken(t, r, "", store.Filter{})
	tok1, none := snapshotToken(t, r, tok0, store.Filter{})
	if len(none) != 0 {
		t.Errorf("nothing written, yet changes %v", keys(none))
	}

	// Written: a new delegation, a new status.
	alfa := sampleDomain("alfa.pt", "pt")
	alfa.Nameservers = alfa.Nameservers[1:]
	mustPut(t, r, alfa)
	if err := r.SetStatus(c, "beta.pt", store.StatusSuspended); err != nil {
		t.Fatal(err)
	}
	tok2, got := snapshotToken(t, r, tok1, store.Filter{DelegationOnly: true})
	if !slices.Equal(keys(got), []string{"alfa.pt", "beta.pt"}) {
		t.Fatalf("changes after two writes: %v", keys(got))
	}
	if b := got["beta.pt"]; b == nil || b.Domain.Status != store.StatusSuspended {
		t.Errorf("beta.pt as the feed gives it: %+v", b)
	}
	if a := got["alfa.pt"]; a == nil || len(a.Domain.Nameservers) != 1 || len(a.Domain.DS) != 2 {
		t.Errorf("alfa.pt as the feed gives it: %+v", a)
	}

	// The gate: a first state is a change; a second failure that passes
	// no threshold is not; a first pass is.
	t0 := time.Date(2026, 11, 20, 8, 0, 0, 0, time.UTC)
	fail := func(at time.Time, n int) {
		t.Helper()
		if _, err := r.RecordCheck(c, store.CheckResult{Domain: "delta.pt", Time: at, Trigger: "sweep", Verdict: store.VerdictFail},
			store.DelegationState{Domain: "delta.pt", LastVerdict: store.VerdictFail, LastChecked: at, FirstFailure: t0, ConsecutiveFailures: n, Updated: at}); err != nil {
			t.Fatal(err)
		}
	}
	fail(t0, 1)
	tok3, got := snapshotToken(t, r, tok2, store.Filter{})
	if !slices.Equal(keys(got), []string{"delta.pt"}) {
		t.Errorf("changes after a first check: %v", keys(got))
	}
	fail(t0.Add(time.Hour), 2)
	tok4, got := snapshotToken(t, r, tok3, store.Filter{})
	if len(got) != 0 {
		t.Errorf("a second failing check changed nothing that decides the delegation, yet changes %v", keys(got))
	}
	at := t0.Add(2 * time.Hour)
	if _, err := r.RecordCheck(c, store.CheckResult{Domain: "delta.pt", Time: at, Trigger: "sweep", Verdict: store.VerdictPass},
		store.DelegationState{Domain: "delta.pt", LastVerdict: store.VerdictPass, LastChecked: at, LastPassed: at, Updated: at}); err != nil {
		t.Fatal(err)
	}
	tok5, got := snapshotToken(t, r, tok4, store.Filter{})
	if d := got["delta.pt"]; len(got) != 1 || d == nil || d.State == nil || d.State.LastPassed.IsZero() {
		t.Errorf("changes after a first pass: %v (%+v)", keys(got), got["delta.pt"])
	}

	// Deleted: gama.com.pt goes in a replacing import.
	kept := []store.Domain{alfa, plainDomain("beta.pt", "pt", store.StatusSuspended), plainDomain("delta.pt", "pt", store.StatusActive)}
	if _, err := r.Import(c, records(kept...), store.ImportReplace); err != nil {
		t.Fatal(err)
	}
	_, got = snapshotToken(t, r, tok5, store.Filter{Zone: "com.pt"})
	if cand, ok := got["gama.com.pt"]; !ok || cand != nil || len(got) != 1 {
		t.Errorf("changes in com.pt after gama.com.pt was deleted: %v (gama: %v)", keys(got), cand)
	}
	tok6, got := snapshotToken(t, r, tok5, store.Filter{Zone: "pt"})
	if _, ok := got["gama.com.pt"]; ok {
		t.Error("the zone filter let a com.pt change through")
	}

	// A snapshot sees no change written after it; the next one does.
	early, err := r.Snapshot(c)
	if err != nil {
		t.Fatal(err)
	}
	mustPut(t, r, plainDomain("tarde.pt", "pt", store.StatusActive))
	for ch, err := range early.Changes(c, tok6, store.Filter{}) {
		if err != nil {
			t.Fatal(err)
		}
		if ch.Name == "tarde.pt" {
			t.Error("a snapshot saw a change written after it was taken")
		}
	}
	earlyTok := early.ChangeToken()
	early.Close()
	if _, got := snapshotToken(t, r, earlyTok, store.Filter{}); got["tarde.pt"] == nil {
		t.Errorf("the next snapshot misses tarde.pt: %v", keys(got))
	}

	// Tokens the feed cannot answer from.
	snap, err := r.Snapshot(c)
	if err != nil {
		t.Fatal(err)
	}
	defer snap.Close()
	for _, bad := range []string{"", "garbage", "sqlite:other:1", "pg:other:1:2:"} {
		var first error
		for _, err := range snap.Changes(c, bad, store.Filter{}) {
			first = err
			break
		}
		if !errors.Is(first, store.ErrChangeToken) {
			t.Errorf("token %q: %v, want ErrChangeToken", bad, first)
		}
	}
}
