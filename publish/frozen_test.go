package publish_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"go.uber.org/zap"

	"github.com/ptzone/ptzone/publish"
	"github.com/ptzone/ptzone/store"
)

// TestFrozenZoneStays: with com.pt frozen, a publication publishes pt
// and leaves com.pt as it was: outcome frozen, the freeze's words as its
// refusal, its serial and file unchanged, nothing in the log; thawed, the
// next publication publishes com.pt with the changes made meanwhile. A
// forced publication does not pass a freeze. After a rollback of com.pt,
// frozen, pt publishes still (in full: com.pt has no build state left).
func TestFrozenZoneStays(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	p := publish.New(f.cfg, f.db, pol, zap.NewNop())
	v1 := f.runWith(t, p, publish.Request{Now: t0})
	logged := func(z string) int {
		t.Helper()
		pubs, err := f.db.Publications(ctx, z, 100)
		if err != nil {
			t.Fatal(err)
		}
		return len(pubs)
	}
	comLogged := logged("com.pt")

	inPT, inCom := f.changeIn(t, "pt"), f.changeIn(t, "com.pt")
	const why = "publishing of com.pt is frozen by rui since 2026-01-01T00:00:00Z: com.pt under review"
	frozen := map[string]string{"com.pt": why}
	v2 := f.runWith(t, p, publish.Request{Now: t0.Add(time.Hour), Frozen: frozen,
		Force: &publish.Force{By: "ana", Reason: "a force is no thaw"}})
	pt, com := v2["pt"], v2["com.pt"]
	if pt.Outcome != store.OutcomePublished || !serialAfter(pt.Serial, v1["pt"].Serial) || !strings.Contains(nsOf(t, pt.Final, inPT.Name+"."), "mudanca") {
		t.Errorf("pt beside frozen com.pt: %s serial %d (was %d)", pt.Outcome, pt.Serial, v1["pt"].Serial)
	}
	if com.Outcome != publish.OutcomeFrozen || com.Serial != v1["com.pt"].Serial || len(com.Refusals) != 1 ||
		com.Refusals[0].Code != publish.RefuseFrozen || com.Refusals[0].Message != why || com.Refusals[0].Forceable {
		t.Errorf("frozen com.pt: %s serial %d (was %d), refusals %+v", com.Outcome, com.Serial, v1["com.pt"].Serial, com.Refusals)
	}
	onDisk, err := f.lastPublished("com.pt")
	if err != nil {
		t.Fatal(err)
	}
	if onDisk.Serial() != v1["com.pt"].Serial || strings.Contains(nsOf(t, onDisk, inCom.Name+"."), "mudanca") {
		t.Errorf("com.pt as published while frozen: serial %d, %s NS %q", onDisk.Serial(), inCom.Name, nsOf(t, onDisk, inCom.Name+"."))
	}
	if n := logged("com.pt"); n != comLogged {
		t.Errorf("the log of com.pt while frozen: %d entries, want %d", n, comLogged)
	}

	// Thawed: com.pt catches up, from where it was left in the change feed.
	v3 := f.runWith(t, p, publish.Request{Now: t0.Add(2 * time.Hour)})
	if com := v3["com.pt"]; com.Outcome != store.OutcomePublished || !serialAfter(com.Serial, v1["com.pt"].Serial) ||
		!strings.Contains(nsOf(t, com.Final, inCom.Name+"."), "mudanca") {
		t.Errorf("com.pt thawed: %s serial %d, %s NS %q", com.Outcome, com.Serial, inCom.Name, nsOf(t, com.Final, inCom.Name+"."))
	}

	// Rolled back and frozen: pt goes on publishing.
	rb, err := p.Rollback(ctx, publish.RollbackRequest{Zone: "com.pt", Now: t0.Add(3 * time.Hour), By: "rui", Reason: "the wrong name servers"})
	if err != nil || rb.Outcome != store.OutcomePublished {
		t.Fatalf("rolling back com.pt: %+v %v", rb.Outcome, err)
	}
	f.changeIn(t, "pt")
	v4 := f.runWith(t, p, publish.Request{Now: t0.Add(4 * time.Hour), Frozen: frozen})
	if pt := v4["pt"]; pt.Outcome != store.OutcomePublished || !serialAfter(pt.Serial, v3["pt"].Serial) {
		t.Errorf("pt after the rollback of com.pt: %s serial %d (was %d)", pt.Outcome, pt.Serial, v3["pt"].Serial)
	}
	if com := v4["com.pt"]; com.Outcome != publish.OutcomeFrozen || com.Serial != rb.Serial {
		t.Errorf("com.pt rolled back and frozen: %s serial %d, want frozen at %d", com.Outcome, com.Serial, rb.Serial)
	}
	if got, err := f.lastPublished("com.pt"); err != nil || got.Serial() != rb.Serial {
		t.Errorf("com.pt on disk after the rollback: %v", err)
	}
}
