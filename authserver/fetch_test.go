package authserver

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/ptzone/ptzone/zone"
)

// TestFetchZone: a transfer in with the key gives the zone served,
// signatures and all; without the key, or with a wrong secret, it fails
// and says why; a transfer cut short by its context fails.
func TestFetchZone(t *testing.T) {
	p := newPrimary(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	key := &TSIGKey{Name: xfrKey, Secret: xfrSecret}
	got, err := FetchZone(ctx, p.addr, pt, key)
	if err != nil {
		t.Fatal(err)
	}
	differ := 0
	for ch := range zone.Diff(p.v1, got) {
		if differ++; differ <= 3 {
			t.Errorf("the transferred zone differs at %s %s", ch.Owner, zone.TypeString(ch.Type))
		}
	}
	if got.Serial() != p.s1 || got.Stats().Records != p.v1.Stats().Records {
		t.Errorf("transferred serial %d with %d records, want %d with %d", got.Serial(), got.Stats().Records, p.s1, p.v1.Stats().Records)
	}

	if _, err := FetchZone(ctx, p.addr, pt, nil); err == nil || !strings.Contains(err.Error(), "REFUSED") {
		t.Errorf("an unsigned transfer: %v, want REFUSED", err)
	}
	wrong := &TSIGKey{Name: xfrKey, Secret: "d3Jvbmctc2VjcmV0LWZvci10aGUtdGVzdA=="}
	if _, err := FetchZone(ctx, p.addr, pt, wrong); err == nil || !strings.Contains(err.Error(), "NOTAUTH") {
		t.Errorf("a transfer signed with a wrong secret: %v, want NOTAUTH", err)
	}
	if _, err := FetchZone(ctx, p.addr, zone.MustParseName("com.pt."), key); err == nil {
		t.Error("a zone the server does not serve was transferred")
	}
	// A zone larger than one message: every message after the first is
	// verified on the MAC before it (timers only).
	text, _ := differentialPT(3000)
	big := tablePT(t, text)
	srv := New(Config{TSIG: []TSIGKey{*key}, Transfer: map[string]Transfer{"pt.": {Keys: []string{xfrKey}}}}, nil)
	addr := start(t, srv, big.snap)
	got, err = FetchZone(ctx, addr, pt, key)
	if err != nil {
		t.Fatal(err)
	}
	if got.Stats().Bytes < 2*65535 || got.Stats().Records != big.zone.Stats().Records {
		t.Errorf("the large zone came in with %d records (%d octets), want %d records in several messages",
			got.Stats().Records, got.Stats().Bytes, big.zone.Stats().Records)
	}

	done, stop := context.WithCancel(context.Background())
	stop()
	if _, err := FetchZone(done, p.addr, pt, key); err == nil {
		t.Error("a transfer with its context ended went through")
	}
}
