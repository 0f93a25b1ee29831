package publish_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/ptzone/ptzone/datadir"
	"github.com/ptzone/ptzone/dnssec"
	"github.com/ptzone/ptzone/publish"
	"github.com/ptzone/ptzone/store"
	"github.com/ptzone/ptzone/zone"
	"go.uber.org/zap"
)

// nsOf returns the NS targets of owner in z, as text.
func nsOf(t *testing.T, z *zone.Zone, owner string) string {
	t.Helper()
	set, ok := z.Get(zone.MustParseName(owner), zone.TypeNS)
	if !ok {
		return ""
	}
	var out []string
	for rd := range set.Rdata() {
		n, _, err := zone.NameFromWire(rd)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, n.String())
	}
	return strings.Join(out, " ")
}

// TestRollback: a bad publication is rolled back to the records of the
// one before, with a new serial, signed and verified afresh, in the
// journal for IXFR and in the log with who and why; the next publication
// builds in full from the registry.
func TestRollback(t *testing.T) {
	t.Run("journal", func(t *testing.T) { testRollback(t, newFixture(t)) })
	// A journal that keeps nothing: the version before is the image the
	// last flush kept.
	t.Run("image", func(t *testing.T) {
		f := newFixture(t)
		f.cfg.FlushAfter, f.cfg.JournalKeep = 1, 1
		testRollback(t, f)
	})
}

func testRollback(t *testing.T, f *fixture) {
	v1 := f.run(t, publish.Request{Now: t0})["pt"]
	d := f.changeIn(t, "pt")
	owner := d.Name + "."
	before := nsOf(t, v1.Final, owner)
	v2 := f.run(t, publish.Request{Now: t0.Add(time.Minute)})["pt"]
	if bad := nsOf(t, v2.Final, owner); bad == before || !strings.Contains(bad, "mudanca") {
		t.Fatalf("the change did not reach the zone: %q then %q", before, bad)
	}

	p := publish.New(f.cfg, f.db, pol, zap.NewNop())
	at := t0.Add(2 * time.Minute)
	o, err := p.Rollback(context.Background(), publish.RollbackRequest{Zone: "pt", Now: at, By: "ana", Reason: "the wrong name servers"})
	if err != nil {
		t.Fatal(err)
	}
	if o.Outcome != store.OutcomePublished || o.Mode != "rollback" || o.Serial == v2.Serial || !serialAfter(o.Serial, v2.Serial) {
		t.Fatalf("rollback: %s %s serial %d after %d; refusals %v", o.Outcome, o.Mode, o.Serial, v2.Serial, o.Refusals)
	}
	got, err := f.lastPublished("pt")
	if err != nil {
		t.Fatal(err)
	}
	if got.Serial() != o.Serial || nsOf(t, got, owner) != before {
		t.Errorf("published after the rollback: serial %d, %s NS %q; want %d, %q", got.Serial(), owner, nsOf(t, got, owner), o.Serial, before)
	}
	rep := dnssec.Verify(got, dnssec.VerifyOptions{Now: at})
	if !rep.OK() || rep.EarliestExpiration.Before(at.Add(7*24*time.Hour)) {
		t.Errorf("the rolled back zone: %v, signatures from %s", rep.Problems, rep.EarliestExpiration)
	}
	// Secondaries take it incrementally: the journal goes from v2 to it.
	served, err := datadir.New(f.out).Load([]string{"pt"}, datadir.PassOver)
	if err != nil {
		t.Fatal(err)
	}
	if patches, ok := served.Zone("pt").Journal.Patches(v2.Serial, o.Serial); f.cfg.JournalKeep == 0 && (!ok || len(patches) != 1) {
		t.Errorf("no journal from %d to the rollback's %d", v2.Serial, o.Serial)
	}
	pubs, err := f.db.Publications(context.Background(), "pt", 1)
	if err != nil || len(pubs) != 1 || pubs[0].Serial != o.Serial || pubs[0].TriggeredBy != "rollback:ana" ||
		!strings.Contains(pubs[0].Reason, "the wrong name servers") || !strings.Contains(pubs[0].Reason, itoa(int(v1.Serial))) {
		t.Errorf("the log: %+v %v", pubs, err)
	}

	// The registry still says otherwise: the next publication, a full
	// build, publishes it again (which is why the daemon freezes).
	v4 := f.run(t, publish.Request{Now: t0.Add(3 * time.Minute)})["pt"]
	if receiptMode(t, f, "pt") != "full" || !serialAfter(v4.Serial, o.Serial) || !strings.Contains(nsOf(t, v4.Final, owner), "mudanca") {
		t.Errorf("after the rollback: %s serial %d, NS %q", receiptMode(t, f, "pt"), v4.Serial, nsOf(t, v4.Final, owner))
	}
}

// TestRollbackNeedsAnEarlierVersion: a zone published once has nothing
// to roll back to; one never published neither.
func TestRollbackNeedsAnEarlierVersion(t *testing.T) {
	f := newFixture(t)
	p := publish.New(f.cfg, f.db, pol, zap.NewNop())
	req := publish.RollbackRequest{Zone: "pt", Now: t0, By: "ana", Reason: "r"}
	if _, err := p.Rollback(context.Background(), req); !errors.Is(err, datadir.ErrNoEarlierVersion) {
		t.Errorf("never published: %v", err)
	}
	f.run(t, publish.Request{Now: t0})
	req.Now = t0.Add(time.Minute)
	if _, err := p.Rollback(context.Background(), req); !errors.Is(err, datadir.ErrNoEarlierVersion) {
		t.Errorf("published once: %v", err)
	}
	req.Zone = "gov.pt"
	if _, err := p.Rollback(context.Background(), req); err == nil || !strings.Contains(err.Error(), "not one of the zones") {
		t.Errorf("a zone not served: %v", err)
	}
}

func serialAfter(a, b uint32) bool { return a != b && a-b < 1<<31 }
