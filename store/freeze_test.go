package store

import (
	"testing"
	"time"
)

// TestFreezeOf: a zone is stopped by the freeze of every zone before its
// own, by its own otherwise, and not by another zone's; the freeze of
// every zone alone answers for "".
func TestFreezeOf(t *testing.T) {
	t0 := time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)
	all := Freeze{Time: t0, Actor: "ana", Reason: "migration"}
	comPT := Freeze{Zone: "com.pt", Time: t0, Actor: "rui", Reason: "rolled back"}
	for _, c := range []struct {
		freezes []Freeze
		zone    string
		want    Freeze
		frozen  bool
	}{
		{nil, "pt", Freeze{}, false},
		{[]Freeze{comPT}, "pt", Freeze{}, false},
		{[]Freeze{comPT}, "com.pt", comPT, true},
		{[]Freeze{comPT}, "", Freeze{}, false},
		{[]Freeze{all, comPT}, "com.pt", all, true},
		{[]Freeze{comPT, all}, "com.pt", all, true},
		{[]Freeze{all}, "pt", all, true},
		{[]Freeze{all, comPT}, "", all, true},
	} {
		got, frozen := FreezeOf(c.freezes, c.zone)
		if got != c.want || frozen != c.frozen {
			t.Errorf("FreezeOf(%+v, %q) = %+v, %v; want %+v, %v", c.freezes, c.zone, got, frozen, c.want, c.frozen)
		}
	}
	if s := comPT.String(); s != "publishing of com.pt is frozen by rui since 2026-11-23T10:00:00Z: rolled back" {
		t.Errorf("com.pt's freeze says %q", s)
	}
	if s := all.String(); s != "publishing is frozen by ana since 2026-11-23T10:00:00Z: migration" {
		t.Errorf("the freeze of every zone says %q", s)
	}
}
