package daemon

import (
	"context"
	"errors"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

// waitFor polls cond for up to ten seconds.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); !cond(); time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("after ten seconds: %s", what)
		}
	}
}

// TestSchedulerRunsJobsAlone: a job runs at its times, never overlapping
// itself (a run due while the last goes on is skipped and counted); an
// operator's "now" runs it at once, or says it is running.
func TestSchedulerRunsJobsAlone(t *testing.T) {
	metrics := NewJobMetrics(prometheus.NewRegistry())
	s := NewScheduler(nil, metrics)
	var quick, slow atomic.Int32
	var firstQuick atomic.Pointer[time.Time]
	release := make(chan struct{})
	if err := s.Add(Job{Name: "quick", Spec: "@every 1s", Run: func(context.Context) error {
		now := time.Now()
		firstQuick.CompareAndSwap(nil, &now)
		quick.Add(1)
		return nil
	}}); err != nil {
		t.Fatal(err)
	}
	if err := s.Add(Job{Name: "slow", Spec: "* * * * * *", Run: func(ctx context.Context) error {
		slow.Add(1)
		select {
		case <-release:
		case <-ctx.Done():
		}
		return errors.New("slow went wrong")
	}}); err != nil {
		t.Fatal(err)
	}
	if next := s.Next(); len(next) != 2 {
		t.Errorf("Next = %v", next)
	}
	s.Start()
	defer s.Stop(context.Background())
	waitFor(t, "quick ran twice", func() bool { return quick.Load() >= 2 })
	waitFor(t, "slow was skipped while running", func() bool {
		return testutil.ToFloat64(metrics.runs.WithLabelValues("slow", "skipped")) >= 1
	})
	if n := slow.Load(); n != 1 {
		t.Errorf("slow started %d times while its first run went on", n)
	}
	if err := s.RunNow("slow"); !errors.Is(err, ErrRunning) {
		t.Errorf("RunNow of a running job: %v, want ErrRunning", err)
	}
	close(release)
	waitFor(t, "slow's failure counted", func() bool {
		return testutil.ToFloat64(metrics.runs.WithLabelValues("slow", "error")) >= 1
	})
	before := quick.Load()
	if err := s.RunNow("quick"); err != nil && !errors.Is(err, ErrRunning) {
		t.Fatal(err)
	}
	waitFor(t, "quick ran on request", func() bool { return quick.Load() > before })
	if err := s.RunNow("nothing"); err == nil {
		t.Error("RunNow of no such job: no error")
	}
	// Next moves on as the job runs: after two scheduled runs, the next
	// is later than the first run began (checked by order, not by how
	// near the clock it is).
	if next := s.Next()["quick"]; next.IsZero() || !next.After(*firstQuick.Load()) {
		t.Errorf("quick's next run: %v, its first run began %v", next, *firstQuick.Load())
	}
	if got := testutil.ToFloat64(metrics.lastSuccess.WithLabelValues("quick")); got == 0 {
		t.Error("no last success time for quick")
	}
}

// TestSchedulerDrains: Stop lets a running job finish and starts no more;
// when the drain's context ends first, the job's context is cancelled
// and Stop says so. The job runs until the test releases it, and the
// drain ends when the test cancels it: what is checked is the order of
// these, not how long anything takes.
func TestSchedulerDrains(t *testing.T) {
	for _, cut := range []bool{false, true} {
		s := NewScheduler(nil, nil)
		var started, finished, cancelled atomic.Int32
		release := make(chan struct{})
		if err := s.Add(Job{Name: "publish", Spec: "@every 1h", Run: func(ctx context.Context) error {
			started.Add(1)
			select {
			case <-release:
				finished.Add(1)
			case <-ctx.Done():
				cancelled.Add(1)
			}
			return nil
		}}); err != nil {
			t.Fatal(err)
		}
		s.Start()
		if err := s.RunNow("publish"); err != nil {
			t.Fatal(err)
		}
		waitFor(t, "the job started", func() bool { return started.Load() == 1 })
		drain, endDrain := context.WithCancel(context.Background())
		type stopped struct {
			err                 error
			finished, cancelled int32
		}
		stopDone := make(chan stopped, 1)
		go func() {
			err := s.Stop(drain)
			stopDone <- stopped{err, finished.Load(), cancelled.Load()}
		}()
		// Stop has begun once the scheduler refuses new runs; the job
		// still runs, so Stop must still be waiting.
		waitFor(t, "Stop refusing runs", func() bool {
			err := s.RunNow("publish")
			return err != nil && !errors.Is(err, ErrRunning)
		})
		select {
		case st := <-stopDone:
			t.Fatalf("Stop returned (%v) while the job ran", st.err)
		default:
		}
		if cut {
			endDrain()
		} else {
			close(release)
		}
		var st stopped
		select {
		case st = <-stopDone:
		case <-time.After(10 * time.Second): // a bound only
			t.Fatal("Stop did not return")
		}
		endDrain()
		switch {
		case !cut && (st.err != nil || st.finished != 1 || st.cancelled != 0):
			t.Errorf("drain: %v, finished %d, cancelled %d as Stop returned; want the run finished first", st.err, st.finished, st.cancelled)
		case cut && (!errors.Is(st.err, context.Canceled) || st.cancelled != 1 || st.finished != 0):
			t.Errorf("drain cut short: %v, cancelled %d, finished %d as Stop returned; want the run cancelled first, and said", st.err, st.cancelled, st.finished)
		}
		if err := s.RunNow("publish"); err == nil || started.Load() != 1 {
			t.Errorf("a run after Stop: %v (started %d)", err, started.Load())
		}
	}
}

// TestSchedulerRefusesBadSpecs names the job and its schedule.
func TestSchedulerRefusesBadSpecs(t *testing.T) {
	s := NewScheduler(nil, nil)
	err := s.Add(Job{Name: "sweep", Spec: "every day", Run: func(context.Context) error { return nil }})
	if err == nil || !strings.Contains(err.Error(), `job sweep: schedule "every day"`) {
		t.Errorf("bad spec: %v", err)
	}
	ok := Job{Name: "notify", Spec: "*/1 * * * *", Run: func(context.Context) error { return nil }}
	if err := s.Add(ok); err != nil {
		t.Fatal(err)
	}
	if err := s.Add(ok); err == nil {
		t.Error("a job scheduled twice: no error")
	}
}
