package daemon

import (
	"context"
	"testing"
	"time"

	"github.com/ptzone/ptzone/internal/testkit"
	"github.com/ptzone/ptzone/internal/testkit/testdb"
	"github.com/ptzone/ptzone/publish"
	"github.com/ptzone/ptzone/store"
	"github.com/ptzone/ptzone/zonegen"
)

// TestPruneCut: the prune job removes history older than keep_history,
// but the publication log only past the longest guard window when that
// is longer (the guard sums a zone's publications over it), whichever
// zone's it is.
func TestPruneCut(t *testing.T) {
	now := time.Date(2026, 12, 1, 3, 30, 0, 0, time.UTC)
	for _, c := range []struct {
		name, text string
		want       store.PruneCut
	}{
		{"the defaults", "", store.PruneCut{History: now.Add(-90 * 24 * time.Hour), Publications: now.Add(-90 * 24 * time.Hour),
			Deletions: now.Add(-90 * 24 * time.Hour)}},
		{"a short history", "[schedule]\nkeep_history = \"1h\"\n", store.PruneCut{History: now.Add(-time.Hour),
			Publications: now.Add(-24 * time.Hour), Deletions: now.Add(-time.Hour)}},
		{"a zone's longer window", "[schedule]\nkeep_history = \"36h\"\n[zone.\"pt\"]\n[zone.\"com.pt\"]\n[zone.\"com.pt\".guard]\nwindow = \"72h\"\n",
			store.PruneCut{History: now.Add(-36 * time.Hour), Publications: now.Add(-72 * time.Hour), Deletions: now.Add(-36 * time.Hour)}},
	} {
		cfg, err := ParseConfig("prune.toml", c.text)
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		if got := cfg.pruneCut(now); got != c.want {
			t.Errorf("%s: %+v, want %+v", c.name, got, c.want)
		}
	}
}

// TestPublishAfterThePrune: once the prune removed deletions from the
// change feed that the publisher's last token would need, its next
// publication reads the whole registry instead (the store refuses the
// token), and the domain deleted meanwhile is out of the zone served; a
// deletion the feed still holds is published incrementally, as before.
func TestPublishAfterThePrune(t *testing.T) {
	ctx := context.Background()
	db := testdb.Sample(t)
	keys := t.TempDir()
	testkit.GenerateKeyFiles(t, keys, time.Now().Add(-time.Hour), zonegen.DefaultZones()...)
	cfg := labConfig("prune", 53)
	cfg.Publish.AssumeChecked = true
	d := startDaemon(t, cfg, db, nil, keys, nil)
	publishOnce := func() map[string]string {
		t.Helper()
		out, err := d.Publish(ctx, publishRequest("test@prune"))
		if err != nil {
			t.Fatal(err)
		}
		modes := map[string]string{}
		for _, o := range out {
			if o.Outcome != store.OutcomePublished && o.Outcome != publish.OutcomeUnchanged {
				t.Fatalf("%s: %s %v", o.Zone, o.Outcome, o.Refusals)
			}
			modes[o.Zone] = o.Mode
		}
		return modes
	}
	// deleteDomain deletes an active delegated domain of pt from the
	// registry (a replacing import of all the others), and returns it.
	deleteDomain := func() string {
		t.Helper()
		snap, err := db.Snapshot(ctx)
		if err != nil {
			t.Fatal(err)
		}
		var keep []store.ImportRecord
		gone := ""
		for c, err := range snap.Domains(ctx, store.Filter{}) {
			if err != nil {
				t.Fatal(err)
			}
			dom := c.Domain
			if gone == "" && dom.Zone == "pt" && dom.Status == store.StatusActive && len(dom.Nameservers) > 0 {
				if in, _ := delegated(t, d, dom.Name); in {
					gone = dom.Name
					continue
				}
			}
			keep = append(keep, store.ImportRecord{Line: len(keep) + 1, Domain: dom})
		}
		snap.Close()
		if gone == "" {
			t.Fatal("no delegated domain of pt to delete")
		}
		records := func(yield func(store.ImportRecord, error) bool) {
			for _, r := range keep {
				if !yield(r, nil) {
					return
				}
			}
		}
		if _, err := db.Import(ctx, records, store.ImportReplace); err != nil {
			t.Fatal(err)
		}
		return gone
	}
	publishOnce()
	first := deleteDomain()
	if modes := publishOnce(); modes["pt"] != "incremental" {
		t.Fatalf("a deletion the feed holds: pt published %s, want incremental", modes["pt"])
	}
	if in, _ := delegated(t, d, first); in {
		t.Fatalf("%s, deleted, is still delegated", first)
	}
	second := deleteDomain()
	if res, err := db.Prune(ctx, store.PruneCut{Deletions: time.Now().Add(time.Hour)}); err != nil || res.Deletions != 2 {
		t.Fatalf("pruning the deletions: %+v, %v", res, err)
	}
	if modes := publishOnce(); modes["pt"] != "full" {
		t.Fatalf("after the prune: pt published %s, want full", modes["pt"])
	}
	if in, _ := delegated(t, d, second); in {
		t.Errorf("%s, deleted before the prune, is still delegated", second)
	}
}
