package storetest

import (
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/ptzone/ptzone/store"
)

// testOperations: the audit log keeps every entry, newest first; a freeze
// is one at a time per zone (or for every zone), recorded in the audit
// log with it, its zone the entry's target, and a thaw ends it, recorded
// too; a zone's freeze and every zone's are independent.
func testOperations(t *testing.T, r store.Registry) {
	c := ctx(t)
	t0 := time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)
	freezes := func() []store.Freeze {
		t.Helper()
		fs, err := r.Freezes(c)
		if err != nil {
			t.Fatal(err)
		}
		return fs
	}
	if fs := freezes(); len(fs) != 0 {
		t.Fatalf("a new store is frozen: %+v", fs)
	}
	if _, err := r.Audit(c, store.AuditEntry{Time: t0, Actor: "ana", Action: "publish", Target: "pt", Detail: []byte(`{"serial": 7}`)}); err != nil {
		t.Fatal(err)
	}
	all := store.Freeze{Time: t0.Add(time.Minute), Actor: "ana", Reason: "KSK rollover under way"}
	if err := r.Freeze(c, all); err != nil {
		t.Fatal(err)
	}
	if err := r.Freeze(c, store.Freeze{Time: t0.Add(2 * time.Minute), Actor: "rui", Reason: "again"}); !errors.Is(err, store.ErrFrozen) {
		t.Errorf("a second freeze: %v, want ErrFrozen", err)
	}
	comPT := store.Freeze{Zone: "com.pt", Time: t0.Add(3 * time.Minute), Actor: "rui", Reason: "com.pt rolled back"}
	if err := r.Freeze(c, comPT); err != nil {
		t.Fatalf("freezing com.pt while every zone is frozen: %v", err)
	}
	if err := r.Freeze(c, store.Freeze{Zone: "com.pt", Time: t0.Add(4 * time.Minute), Actor: "ana", Reason: "twice"}); !errors.Is(err, store.ErrFrozen) {
		t.Errorf("freezing com.pt twice: %v, want ErrFrozen", err)
	}
	orgPT := store.Freeze{Zone: "org.pt", Time: t0.Add(5 * time.Minute), Actor: "ana", Reason: "org.pt under review"}
	if err := r.Freeze(c, orgPT); err != nil {
		t.Fatal(err)
	}
	if fs := freezes(); !slices.Equal(fs, []store.Freeze{all, comPT, orgPT}) {
		t.Errorf("Freezes = %+v; want every zone's, com.pt's, org.pt's", fs)
	}
	thaw := store.AuditEntry{Time: t0.Add(time.Hour), Actor: "rui", Action: "thaw", Reason: "rollover done"}
	if f, err := r.Thaw(c, "", thaw); err != nil || f != all {
		t.Errorf("Thaw of every zone = %+v, %v; want the freeze ended, %+v", f, err, all)
	}
	if _, err := r.Thaw(c, "", thaw); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("a thaw without a freeze: %v, want ErrNotFound", err)
	}
	if _, err := r.Thaw(c, "net.pt", thaw); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("a thaw of a zone not frozen: %v, want ErrNotFound", err)
	}
	if fs := freezes(); !slices.Equal(fs, []store.Freeze{comPT, orgPT}) {
		t.Errorf("Freezes after the thaw of every zone = %+v; want com.pt's and org.pt's", fs)
	}
	if f, err := r.Thaw(c, "com.pt", store.AuditEntry{Time: t0.Add(2 * time.Hour), Actor: "ana", Action: "thaw", Reason: "registry mended"}); err != nil || f != comPT {
		t.Errorf("Thaw of com.pt = %+v, %v; want %+v", f, err, comPT)
	}
	if fs := freezes(); !slices.Equal(fs, []store.Freeze{orgPT}) {
		t.Errorf("Freezes after the thaw of com.pt = %+v; want org.pt's", fs)
	}
	log, err := r.AuditLog(c, 10)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, e := range log {
		got = append(got, e.Actor+" "+e.Action+" "+e.Target+" "+e.Reason)
	}
	want := []string{"ana thaw com.pt registry mended", "rui thaw  rollover done", "ana freeze org.pt org.pt under review",
		"rui freeze com.pt com.pt rolled back", "ana freeze  KSK rollover under way", "ana publish pt "}
	if len(got) != len(want) {
		t.Fatalf("audit log %q, want %q", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("audit log[%d] = %q, want %q", i, got[i], want[i])
		}
	}
	first := log[len(log)-1]
	if !first.Time.Equal(t0) || string(first.Detail) != `{"serial": 7}` && string(first.Detail) != `{"serial":7}` {
		t.Errorf("the first entry: %+v (%s)", first, first.Detail)
	}
}
