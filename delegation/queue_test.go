package delegation

import (
	"context"
	"net/netip"
	"testing"
	"time"

	"github.com/ptzone/ptzone/delegation/lab"
	"github.com/ptzone/ptzone/internal/testkit"
	"github.com/ptzone/ptzone/store"
)

// TestQueueChecker: a domain registered with name servers is checked from
// the queue the database fills, and enters the zone when the check passes
// (Art 4.2); one whose new name servers fail starts its grace period with
// notices (Art 23.2); a registrar's request is checked as asked. Each
// check is recorded with its reason, and the queue empties.
func TestQueueChecker(t *testing.T) {
	ctx := context.Background()
	db, l := registryAndLab(t)
	if err := db.PutRegistrar(ctx, store.Registrar{ID: "REG-1", Email: "suporte@registo.pt"}); err != nil {
		t.Fatal(err)
	}
	good1, good2, refusing := lab.Addr(1), lab.Addr(257), lab.Addr(513)
	zones := []*lab.Zone{
		{Name: "novo.pt", NS: []string{"ns1.provider.pt", "ns2.provider.pt"}, Serial: 1},
		{Name: "outro.pt", NS: []string{"ns1.provider.pt", "ns2.provider.pt"}, Serial: 1},
	}
	for _, a := range []netip.Addr{good1, good2} {
		if _, err := l.Serve(a, 0, 0, zones...); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := l.Serve(refusing, lab.Refused, 0); err != nil {
		t.Fatal(err)
	}
	provider := []store.Nameserver{{Name: "ns1.provider.pt", Addrs: []netip.Addr{good1}}, {Name: "ns2.provider.pt", Addrs: []netip.Addr{good2}}}
	put := func(name string, ns []store.Nameserver) {
		t.Helper()
		if err := db.PutDomain(ctx, store.Domain{Name: name, Zone: "pt", Status: store.StatusActive, Registrar: "REG-1",
			TechEmail: "dns@" + name, Expires: time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC), Nameservers: ns}); err != nil {
			t.Fatal(err)
		}
	}
	put("novo.pt", provider)
	put("outro.pt", provider)

	clock := testkit.NewClock(time.Now().Add(time.Hour))
	q := &QueueChecker{Checker: &Checker{Port: l.Port, Timeout: 200 * time.Millisecond, Attempts: 1}, Store: db,
		Now: clock.Now}
	run := func(want int) {
		t.Helper()
		n, err := q.RunOnce(ctx)
		if err != nil || n != want {
			t.Fatalf("RunOnce = %d, %v; want %d checked", n, err, want)
		}
	}
	run(2)
	run(0)
	for _, name := range []string{"novo.pt", "outro.pt"} {
		st, err := db.DelegationState(ctx, name)
		if err != nil || st.LastPassed.IsZero() || st.Withheld {
			t.Errorf("%s after its first check: %+v, %v; want passed", name, st, err)
		}
		if hist, err := db.CheckHistory(ctx, name, 5); err != nil || len(hist) != 1 || hist[0].Trigger != store.CheckNew {
			t.Errorf("%s history %+v, %v; want one check for a new domain", name, hist, err)
		}
	}

	// novo.pt moves to a server that refuses it: checked as changed, it
	// starts its grace period, and its contacts are told.
	clock.Add(time.Hour)
	put("novo.pt", []store.Nameserver{provider[0], {Name: "ns.avariado.pt", Addrs: []netip.Addr{refusing}}})
	if err := db.RequestCheck(ctx, "outro.pt", store.CheckRegistrar, clock.Now()); err != nil {
		t.Fatal(err)
	}
	run(2)
	run(0)
	st, err := db.DelegationState(ctx, "novo.pt")
	if err != nil || st.LastVerdict != store.VerdictFail || st.FirstFailure.IsZero() || st.Withheld {
		t.Errorf("novo.pt after its change: %+v, %v; want failing, in its grace period", st, err)
	}
	notices, err := db.Notices(ctx, true, 10)
	if err != nil || len(notices) != 2 || notices[0].Kind != store.NoticeFailing {
		t.Errorf("notices %+v, %v; want the failing notices to the technical contact and the registrar", notices, err)
	}
	for name, trigger := range map[string]string{"novo.pt": store.CheckChanged, "outro.pt": store.CheckRegistrar} {
		if hist, err := db.CheckHistory(ctx, name, 5); err != nil || len(hist) != 2 || hist[0].Trigger != trigger {
			t.Errorf("%s history %+v, %v; want its second check, %s", name, hist, err, trigger)
		}
	}
}
