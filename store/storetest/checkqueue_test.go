package storetest

import (
	"errors"
	"net/netip"
	"sync"
	"testing"
	"time"

	"github.com/ptzone/ptzone/store"
)

// testCheckQueue: a domain registered active with name servers, or whose
// name servers, DS records or activation change, is queued for a check by
// the database itself (Art 4.2: no delegation before a passing check);
// other writes queue nothing. Claims are leased, one claimant each; a
// check recorded with its request takes it off the queue unless the
// delegation changed again meanwhile.
func testCheckQueue(t *testing.T, r store.Registry) {
	c := ctx(t)
	now := time.Now().Add(time.Hour) // after every write's own time
	const lease = 10 * time.Minute
	claim := func(at time.Time) map[string]store.CheckRequest {
		t.Helper()
		got, err := r.ClaimChecks(c, at, lease, 100)
		if err != nil {
			t.Fatal(err)
		}
		out := map[string]store.CheckRequest{}
		for _, q := range got {
			out[q.Domain] = q
		}
		return out
	}

	mustPut(t, r, sampleDomain("exemplo.pt", "pt"), plainDomain("reservado.pt", "pt", store.StatusReserved))
	noNS := sampleDomain("semns.pt", "pt")
	noNS.Nameservers, noNS.DS = nil, nil
	mustPut(t, r, noNS)
	got := claim(now)
	if len(got) != 1 || got["exemplo.pt"].Reason != store.CheckNew || got["exemplo.pt"].Version != 1 {
		t.Fatalf("after registering: %+v; want exemplo.pt alone, new", got)
	}
	if again := claim(now.Add(time.Minute)); len(again) != 0 {
		t.Errorf("claimed during the lease: %+v", again)
	}

	// A write that leaves the delegation alone queues nothing more.
	d := sampleDomain("exemplo.pt", "pt")
	d.Expires = date(2028, 3, 1)
	mustPut(t, r, d)
	later := now.Add(lease)
	if got := claim(later); got["exemplo.pt"].Version != 1 {
		t.Errorf("after renewing: %+v; want version 1 still", got["exemplo.pt"])
	}
	first := got["exemplo.pt"]

	// New name servers: a newer request, which the check of the first
	// leaves in the queue.
	d.Nameservers = append(d.Nameservers, store.Nameserver{Name: "ns2.exemplo.pt", Addrs: []netip.Addr{netip.MustParseAddr("192.0.2.2")}})
	mustPut(t, r, d)
	check := func(q store.CheckRequest, at time.Time) {
		t.Helper()
		rec := store.CheckRecord{Result: store.CheckResult{Domain: q.Domain, Time: at, Trigger: q.Reason, Verdict: store.VerdictPass},
			State:   store.DelegationState{Domain: q.Domain, LastVerdict: store.VerdictPass, LastChecked: at, LastPassed: at, Updated: at},
			Request: &q}
		if _, err := r.RecordChecks(c, []store.CheckRecord{rec}, nil); err != nil {
			t.Fatal(err)
		}
	}
	check(first, later)
	later = later.Add(lease)
	got = claim(later)
	if q := got["exemplo.pt"]; q.Reason != store.CheckChanged || q.Version != 2 {
		t.Fatalf("after new name servers: %+v; want version 2, changed", q)
	}
	check(got["exemplo.pt"], later)
	if got := claim(later.Add(lease)); len(got) != 0 {
		t.Errorf("after the check: %+v; want an empty queue", got)
	}

	// Activation queues; so does a registrar's or an operator's request.
	if err := r.SetStatus(c, "reservado.pt", store.StatusActive); err != nil {
		t.Fatal(err)
	}
	if err := r.RequestCheck(c, "exemplo.pt", store.CheckRegistrar, later); err != nil {
		t.Fatal(err)
	}
	if err := r.RequestCheck(c, "nada.pt", store.CheckOperator, later); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("RequestCheck of no domain: %v, want ErrNotFound", err)
	}
	later = later.Add(2 * lease)
	got = claim(later)
	if len(got) != 2 || got["reservado.pt"].Reason != store.CheckChanged || got["exemplo.pt"].Reason != store.CheckRegistrar {
		t.Errorf("after activation and a request: %+v", got)
	}

	// A domain no longer active is not claimed; its request waits.
	if err := r.RequestCheck(c, "exemplo.pt", store.CheckOperator, later); err != nil {
		t.Fatal(err)
	}
	if err := r.SetStatus(c, "exemplo.pt", store.StatusSuspended); err != nil {
		t.Fatal(err)
	}
	later = later.Add(lease)
	if got := claim(later); len(got) != 1 || got["reservado.pt"].Domain == "" {
		t.Errorf("with exemplo.pt suspended: %+v; want reservado.pt alone", got)
	}
	if err := r.SetStatus(c, "exemplo.pt", store.StatusActive); err != nil {
		t.Fatal(err)
	}

	// Claimants at once share the queue.
	for _, name := range []string{"a.pt", "b.pt", "c.pt", "d.pt", "e.pt", "f.pt"} {
		mustPut(t, r, sampleDomain(name, "pt"))
	}
	later = later.Add(lease)
	var mu sync.Mutex
	seen := map[string]int{}
	var wg sync.WaitGroup
	for range 3 {
		wg.Go(func() {
			qs, err := r.ClaimChecks(c, later, lease, 3)
			if err != nil {
				t.Error(err)
				return
			}
			mu.Lock()
			defer mu.Unlock()
			for _, q := range qs {
				seen[q.Domain]++
			}
		})
	}
	wg.Wait()
	if len(seen) != 8 {
		t.Errorf("three claimants of three got %d requests, want the 8 queued: %v", len(seen), seen)
	}
	for name, n := range seen {
		if n != 1 {
			t.Errorf("%s claimed %d times", name, n)
		}
	}
}
