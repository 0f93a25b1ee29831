package storetest

import (
	"errors"
	"testing"
	"time"

	"github.com/ptzone/ptzone/store"
)

// testOperations: the audit log keeps every entry, newest first; a freeze
// is one at a time, recorded in the audit log with it, and a thaw ends
// it, recorded too.
func testOperations(t *testing.T, r store.Registry) {
	c := ctx(t)
	t0 := time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)
	if _, frozen, err := r.Frozen(c); err != nil || frozen {
		t.Fatalf("a new store is frozen: %v, %v", frozen, err)
	}
	if _, err := r.Audit(c, store.AuditEntry{Time: t0, Actor: "ana", Action: "publish", Target: "pt", Detail: []byte(`{"serial": 7}`)}); err != nil {
		t.Fatal(err)
	}
	freeze := store.Freeze{Time: t0.Add(time.Minute), Actor: "ana", Reason: "KSK rollover under way"}
	if err := r.Freeze(c, freeze); err != nil {
		t.Fatal(err)
	}
	if err := r.Freeze(c, store.Freeze{Time: t0.Add(2 * time.Minute), Actor: "rui", Reason: "again"}); !errors.Is(err, store.ErrFrozen) {
		t.Errorf("a second freeze: %v, want ErrFrozen", err)
	}
	if f, frozen, err := r.Frozen(c); err != nil || !frozen || f != freeze {
		t.Errorf("Frozen = %+v, %v, %v; want %+v", f, frozen, err, freeze)
	}
	thaw := store.AuditEntry{Time: t0.Add(time.Hour), Actor: "rui", Action: "thaw", Reason: "rollover done"}
	if f, err := r.Thaw(c, thaw); err != nil || f != freeze {
		t.Errorf("Thaw = %+v, %v; want the freeze ended, %+v", f, err, freeze)
	}
	if _, err := r.Thaw(c, thaw); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("a thaw without a freeze: %v, want ErrNotFound", err)
	}
	if _, frozen, _ := r.Frozen(c); frozen {
		t.Error("still frozen after the thaw")
	}
	log, err := r.AuditLog(c, 10)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, e := range log {
		got = append(got, e.Actor+" "+e.Action+" "+e.Target+" "+e.Reason)
	}
	want := []string{"rui thaw  rollover done", "ana freeze  KSK rollover under way", "ana publish pt "}
	if len(got) != len(want) {
		t.Fatalf("audit log %q, want %q", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("audit log[%d] = %q, want %q", i, got[i], want[i])
		}
	}
	if !log[2].Time.Equal(t0) || string(log[2].Detail) != `{"serial": 7}` && string(log[2].Detail) != `{"serial":7}` {
		t.Errorf("the first entry: %+v (%s)", log[2], log[2].Detail)
	}
}
