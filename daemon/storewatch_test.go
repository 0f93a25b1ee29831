package daemon

import (
	"context"
	"errors"
	"slices"
	"sync"
	"testing"
	"time"

	"go.uber.org/zap/zaptest"

	"github.com/ptzone/ptzone/internal/testkit"
)

// TestBackoffDelay: the wait doubles from First with each failure, stops
// at Max (however many failures), and jitter shortens it by up to its
// fraction, never lengthens it.
func TestBackoffDelay(t *testing.T) {
	b := retryBackoff{First: time.Second, Max: 8 * time.Second, Jitter: 0.2}
	for _, c := range []struct {
		failures int
		r        float64
		want     time.Duration
	}{
		{1, 0, time.Second},
		{2, 0, 2 * time.Second},
		{3, 0, 4 * time.Second},
		{4, 0, 8 * time.Second},
		{5, 0, 8 * time.Second},
		{1000, 0, 8 * time.Second},
		{3, 1, 3200 * time.Millisecond},
		{3, 0.5, 3600 * time.Millisecond},
		{1000, 1, 6400 * time.Millisecond},
	} {
		if got := b.Delay(c.failures, c.r); got != c.want {
			t.Errorf("Delay(%d, %v) = %v, want %v", c.failures, c.r, got, c.want)
		}
	}
	if got := defaultBackoff.Delay(1000, 0); got != 30*time.Second {
		t.Errorf("the daemon's backoff is capped at %v, want 30s", got)
	}
}

// scriptedProbe answers with the errors given, in turn, then nil.
type scriptedProbe struct {
	mu      sync.Mutex
	answers []error
	calls   int
}

func (p *scriptedProbe) probe(ctx context.Context) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.calls++
	if len(p.answers) == 0 {
		return nil
	}
	err := p.answers[0]
	p.answers = p.answers[1:]
	return err
}

// TestStoreWatchRetries drives the watch with its own sleeper: a database
// down at the first probe is asked again after the backoff's delays,
// growing, until it answers; then every w.every; down again, the backoff
// starts over. Each change is told once, in order, with its time.
func TestStoreWatchRetries(t *testing.T) {
	refused := errors.New("connection refused")
	p := &scriptedProbe{answers: []error{refused, refused, refused, refused, nil, refused, refused}}
	clk := testkit.NewClock(testkit.FixedTime)
	var mu sync.Mutex
	var changes []storeState
	w := newStoreWatch(p.probe, zaptest.NewLogger(t), func(st storeState) {
		mu.Lock()
		defer mu.Unlock()
		changes = append(changes, st)
	})
	w.backoff = retryBackoff{First: time.Second, Max: 4 * time.Second, Jitter: 0.2}
	w.every = time.Minute
	w.rand = func() float64 { return 0.5 }
	w.now = clk.Now
	waits := make(chan time.Duration)
	fire := make(chan time.Time)
	w.after = func(d time.Duration) <-chan time.Time {
		waits <- d
		return fire
	}

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	if err := w.check(ctx, time.Second); !errors.Is(err, refused) {
		t.Fatalf("the first check: %v", err)
	}
	if st := w.state(); !st.Known || st.Up || st.Failures != 1 || !st.Since.Equal(testkit.FixedTime) {
		t.Fatalf("after the first check: %+v", st)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		w.run(ctx)
	}()
	var got []time.Duration
	for range 6 {
		got = append(got, <-waits)
		clk.Add(time.Second)
		fire <- time.Time{}
	}
	got = append(got, <-waits)
	cancel()
	<-done

	// Refused at first and three times more: 0.9 s, 1.8 s, 3.6 s, then
	// capped at 4 s less a tenth; it answers, and is asked a minute
	// later; refused again, the backoff starts over.
	want := []time.Duration{900 * time.Millisecond, 1800 * time.Millisecond, 3600 * time.Millisecond, 3600 * time.Millisecond,
		time.Minute, 900 * time.Millisecond, 1800 * time.Millisecond}
	if !slices.Equal(got, want) {
		t.Errorf("the waits: %v, want %v", got, want)
	}
	mu.Lock()
	defer mu.Unlock()
	var ups []bool
	for _, c := range changes {
		ups = append(ups, c.Up)
	}
	if !slices.Equal(ups, []bool{false, true, false}) {
		t.Fatalf("the changes told: %v, want down, up, down", ups)
	}
	if at := testkit.FixedTime.Add(4 * time.Second); !changes[1].Since.Equal(at) {
		t.Errorf("up since %v, want %v (the fourth retry)", changes[1].Since, at)
	}
	if !errors.Is(changes[2].Err, refused) || changes[2].Failures != 1 {
		t.Errorf("down again: %+v", changes[2])
	}
}

// TestStoreWatchStoppingIsNoVerdict: a probe cut short because the daemon
// stops says nothing of the database.
func TestStoreWatchStoppingIsNoVerdict(t *testing.T) {
	w := newStoreWatch(func(ctx context.Context) error {
		<-ctx.Done()
		return ctx.Err()
	}, zaptest.NewLogger(t), nil)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := w.check(ctx, time.Hour); err == nil {
		t.Fatal("a probe cut short did not fail")
	}
	if st := w.state(); st.Known {
		t.Errorf("a probe cut short gave a verdict: %+v", st)
	}
}
