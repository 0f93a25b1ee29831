package datadir

import (
	"context"
	"errors"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"

	"github.com/ptzone/ptzone/authserver"
	"github.com/ptzone/ptzone/zone"
)

// swaps is a Server that keeps what it is given.
type swaps struct {
	mu    sync.Mutex
	snaps []*authserver.Snapshot
}

func (s *swaps) Swap(snap *authserver.Snapshot) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.snaps = append(s.snaps, snap)
}

func (s *swaps) count() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.snaps)
}

// servedSerial is the serial of pt as the follower last read it.
func servedSerial(f *Follower) uint32 {
	if f.served == nil || f.served.Zone("pt") == nil {
		return 0
	}
	return f.served.Zone("pt").Zone.Serial()
}

// appendVersion publishes z after the version in d, as a patch.
func appendVersion(t *testing.T, d Dir, z *zone.Zone) {
	t.Helper()
	pt := loadPT(t, d, Refuse)
	patch, err := zone.DiffPatch(pt.Zone, z, pt.Zone.Serial(), z.Serial())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := d.Write("pt", pt.Journal, Version{Zone: z, Patch: patch}, Limits{}); err != nil {
		t.Fatal(err)
	}
}

// TestFollowerLooksAtChanges: a look reads the zones again only when a
// publication changed their image or journal (not when it rewrote a
// state alone), and keeps what it serves when the new version cannot be
// read.
func TestFollowerLooksAtChanges(t *testing.T) {
	d, _ := publishThree(t)
	vs := versions(t, 5)
	core, logs := observer.New(zapcore.InfoLevel)
	f := NewFollower(d, []string{"pt."}, zap.New(core))
	srv := &swaps{}
	if _, err := f.Snapshot(); err != nil || servedSerial(f) != 3 {
		t.Fatalf("first read: serial %d, %v", servedSerial(f), err)
	}
	f.look(srv, false)
	if srv.count() != 0 {
		t.Error("nothing changed, yet the zones were read again")
	}
	if err := os.WriteFile(d.stateFile("pt"), []byte("a state"), 0o644); err != nil {
		t.Fatal(err)
	}
	f.look(srv, false)
	if srv.count() != 0 {
		t.Error("a state alone changed, yet the zones were read again")
	}
	appendVersion(t, d, vs[3])
	f.look(srv, false)
	if srv.count() != 1 || servedSerial(f) != 4 {
		t.Errorf("after a publication: %d swaps, serial %d; want 1, 4", srv.count(), servedSerial(f))
	}
	// A publication whose every version is damaged: the one served stays.
	appendVersion(t, d, vs[4])
	flipByte(t, d.imageFile("pt"))
	flipByte(t, d.prevFile("pt"))
	f.look(srv, false)
	if srv.count() != 1 || servedSerial(f) != 4 {
		t.Errorf("after an unreadable publication: %d swaps, serial %d; want 1, 4", srv.count(), servedSerial(f))
	}
	if logs.FilterMessage("reading the published zones; still serving the previous ones").Len() != 1 {
		t.Errorf("the unreadable publication is not logged: %v", logs.All())
	}
}

// TestFollowerLogsWhatItPassesOver: a damaged file and a zone never
// published are logged, each with its zone.
func TestFollowerLogsWhatItPassesOver(t *testing.T) {
	d, _ := publishThree(t)
	flipByte(t, d.imageFile("pt"))
	core, logs := observer.New(zapcore.InfoLevel)
	f := NewFollower(d, []string{"pt.", "com.pt."}, zap.New(core))
	if _, err := f.Snapshot(); err != nil {
		t.Fatal(err)
	}
	passed := logs.FilterMessage("file passed over").FilterField(zap.String("zone", "pt")).All()
	if len(passed) != 1 || !strings.Contains(passed[0].ContextMap()["error"].(string), "pt.zone.bin") {
		t.Errorf("the damaged image is not logged: %v", logs.All())
	}
	if logs.FilterMessage("zone never published: not served").FilterField(zap.String("zone", "com.pt")).Len() != 1 {
		t.Errorf("com.pt, never published, is not logged: %v", logs.All())
	}
}

// TestFollowerRun: a follower started on an empty directory serves the
// first publication when asked to look, and says when the look is over;
// it stops with its context.
func TestFollowerRun(t *testing.T) {
	d := New(t.TempDir())
	f := NewFollower(d, []string{"pt"}, zap.NewNop())
	if _, err := f.Snapshot(); !errors.Is(err, ErrNothingPublished) {
		t.Fatalf("an empty directory: %v", err)
	}
	srv := &swaps{}
	ctx, cancel := context.WithCancel(context.Background())
	reload := make(chan chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		f.Run(ctx, srv, time.Hour, reload) // an hour: only the looks asked for happen
	}()
	defer func() {
		cancel()
		<-done
	}()
	look := func() {
		t.Helper()
		over := make(chan struct{})
		select {
		case reload <- over:
		case <-time.After(10 * time.Second):
			t.Fatal("the follower does not take the request to look")
		}
		select {
		case <-over:
		case <-time.After(10 * time.Second):
			t.Fatal("the follower does not say the look is over")
		}
	}
	look()
	if srv.count() != 0 {
		t.Error("nothing published, yet something was served")
	}
	vs := versions(t, 1)
	if _, err := d.Write("pt", loadPT(t, d, Refuse).Journal, Version{Zone: vs[0]}, Limits{}); err != nil {
		t.Fatal(err)
	}
	look()
	if srv.count() != 1 {
		t.Fatalf("after the first publication: %d swaps, want 1", srv.count())
	}
	appendVersion(t, d, vs[1])
	look()
	if srv.count() != 2 || servedSerial(f) != 2 {
		t.Errorf("after the second publication: %d swaps, serial %d; want 2, 2", srv.count(), servedSerial(f))
	}
}
