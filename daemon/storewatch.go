package daemon

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"math/rand/v2"
	"slices"
	"sync"
	"time"

	"go.uber.org/zap"

	"github.com/ptzone/ptzone/store"
)

// How the daemon follows its database. The zones are served from the
// data directory whatever the database's state; what needs the database
// (the jobs, the operators' publications) waits while it is unreachable.
const (
	// firstProbeTimeout bounds the attempt Start makes, after the zones
	// are served: its verdict is the state systemd is told at READY.
	firstProbeTimeout = time.Second
	// probeTimeout bounds every later attempt (a TLS handshake to a
	// remote server fits; a black hole is given up on).
	probeTimeout = 5 * time.Second
	// probeEvery is the time between probes while the database answers:
	// how late, at worst, /readyz and ptzone_database_up see it drop when
	// no job notices first.
	probeEvery = 10 * time.Second
)

// defaultBackoff spaces the attempts to reach a database that does not
// answer: half a second, doubling to 30 s, each up to a fifth shorter at
// random so that daemons restarted together do not knock together.
var defaultBackoff = retryBackoff{First: 500 * time.Millisecond, Max: 30 * time.Second, Jitter: 0.2}

// retryBackoff spaces the attempts to reach the database.
type retryBackoff struct {
	First, Max time.Duration
	// Jitter is the fraction, from 0 to 1, by which a delay may be
	// shortened at random.
	Jitter float64
}

// Delay is the wait after the given number of consecutive failures (1
// for the first): First doubled for each failure after the first, at
// most Max, less Jitter×r of it (r from 0 to 1).
func (b retryBackoff) Delay(failures int, r float64) time.Duration {
	d := b.First
	for i := 1; i < failures && d < b.Max; i++ {
		d *= 2
	}
	d = min(d, b.Max)
	return d - time.Duration(float64(d)*b.Jitter*r)
}

// storeState is what the daemon knows of its database.
type storeState struct {
	Known bool // a probe has given its verdict
	Up    bool
	// Since is when the database last came up or went down (or was
	// first found so).
	Since time.Time
	// Err is why the last probe failed; Failures how many in a row.
	Err      error
	Failures int
}

// String says the state in words, for /readyz and the skipped jobs.
func (s storeState) String() string {
	switch {
	case !s.Known:
		return "connecting to the database"
	case s.Up:
		return "the database answers"
	default:
		return fmt.Sprintf("the database is unreachable since %s, retrying: %v", s.Since.UTC().Format(time.RFC3339), s.Err)
	}
}

// storeWatch follows whether the database answers: Start asks once,
// then run asks again on probeEvery while it answers and with backoff
// while it does not, and a job that fails asks at once (check). Each
// change is logged and reported to changed.
type storeWatch struct {
	probe   func(context.Context) error
	log     *zap.Logger
	backoff retryBackoff
	every   time.Duration
	// after is the sleeper (time.After); rand gives the jitter's r
	// (rand.Float64); now reads the clock of Since (time.Now). Tests
	// replace them.
	after func(time.Duration) <-chan time.Time
	rand  func() float64
	now   func() time.Time
	// changed is told of each change, in order, the first verdict
	// included; it must not call check.
	changed func(storeState)
	// kick wakes run when a check made elsewhere changed the state: a
	// drop a job found is retried on the backoff, not after every.
	kick chan struct{}

	probeMu sync.Mutex // one probe at a time: verdicts apply in order
	mu      sync.Mutex
	st      storeState
}

func newStoreWatch(probe func(context.Context) error, log *zap.Logger, changed func(storeState)) *storeWatch {
	return &storeWatch{probe: probe, log: log, backoff: defaultBackoff, every: probeEvery,
		after: time.After, rand: rand.Float64, now: time.Now, changed: changed, kick: make(chan struct{}, 1)}
}

// state returns what is known of the database.
func (w *storeWatch) state() storeState {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.st
}

// check asks the database now, within timeout, and records the verdict;
// it returns the probe's error. A probe cut short because ctx ended (the
// daemon stopping) gives no verdict.
func (w *storeWatch) check(ctx context.Context, timeout time.Duration) error {
	w.probeMu.Lock()
	defer w.probeMu.Unlock()
	pctx, cancel := context.WithTimeout(ctx, timeout)
	err := w.probe(pctx)
	cancel()
	if err != nil && ctx.Err() != nil {
		return err
	}
	w.mu.Lock()
	prev := w.st
	st := storeState{Known: true, Up: err == nil, Since: prev.Since, Err: err}
	if !st.Up {
		st.Failures = prev.Failures + 1
	}
	changed := !prev.Known || prev.Up != st.Up
	if changed {
		st.Since = w.now()
	}
	w.st = st
	w.mu.Unlock()
	switch {
	case !changed && st.Up:
	case !changed:
		w.log.Debug("the database is still unreachable", zap.Int("attempts", st.Failures), zap.Error(err))
	case st.Up && !prev.Known:
		w.log.Info("the database answers")
	case st.Up:
		w.log.Info("the database answers again: the jobs resume", zap.Duration("down_for", st.Since.Sub(prev.Since)))
	case !prev.Known:
		w.log.Warn("the database is unreachable: the zones last published are served, and the jobs wait until it answers; retrying",
			zap.Error(err))
	default:
		w.log.Error("the database has become unreachable: the zones last published are still served, and the jobs wait until it answers; retrying",
			zap.Error(err))
	}
	if changed {
		select {
		case w.kick <- struct{}{}:
		default:
		}
		if w.changed != nil {
			w.changed(st)
		}
	}
	return err
}

// run asks the database again and again until ctx ends: every w.every
// while it answers, after w.backoff's delay while it does not. A change
// found by a check made elsewhere starts the wait again.
func (w *storeWatch) run(ctx context.Context) {
	for {
		select {
		case <-w.kick: // the state read next is at least as new
		default:
		}
		wait := w.every
		if st := w.state(); !st.Up {
			wait = w.backoff.Delay(max(st.Failures, 1), w.rand())
		}
		select {
		case <-ctx.Done():
			return
		case <-w.kick:
			continue
		case <-w.after(wait):
		}
		w.check(ctx, probeTimeout)
	}
}

// storeProbe is how the daemon asks whether its store answers: its Ping
// where it has one (PostgreSQL's connects and checks the schema), else
// a small read.
func storeProbe(reg store.Registry) func(context.Context) error {
	if p, ok := reg.(interface{ Ping(context.Context) error }); ok {
		return p.Ping
	}
	return func(ctx context.Context) error {
		_, err := reg.Zones(ctx)
		return err
	}
}

// StoreProblem is "" while the database answers, else what is wrong in
// a few words, for the service manager's status line.
func (d *Daemon) StoreProblem() string {
	st := d.db.state()
	switch {
	case st.Up:
		return ""
	case !st.Known:
		return "connecting to the database"
	default:
		return "database unreachable since " + st.Since.UTC().Format(time.RFC3339) + ", retrying"
	}
}

// storeAnswers returns nil when the database answers: as last found, or,
// when it was found unreachable, at a probe now (an operator asking
// need not wait for the next retry).
func (d *Daemon) storeAnswers(ctx context.Context) error {
	if d.db.state().Up {
		return nil
	}
	if err := d.db.check(ctx, probeTimeout); err != nil {
		return fmt.Errorf("%w (%v)", ErrStoreDown, err)
	}
	return nil
}

// needsStore wraps a job that needs the database: while the database is
// unreachable the run is skipped (counted as database_down) and the job
// held, to run as soon as the database answers; a run that fails has
// the database asked at once, and when that is what failed, the error
// says so and the job is held too.
func (d *Daemon) needsStore(job string, run func(context.Context) error) func(context.Context) error {
	return func(ctx context.Context) error {
		if st := d.db.state(); !st.Up {
			d.hold(job)
			return &Skipped{Outcome: OutcomeStoreDown, Reason: st.String()}
		}
		err := run(ctx)
		if err == nil || ctx.Err() != nil {
			return err
		}
		if perr := d.db.check(ctx, probeTimeout); perr != nil {
			d.hold(job)
			return fmt.Errorf("the database is unreachable (%v): %w", perr, err)
		}
		return err
	}
}

func (d *Daemon) hold(job string) {
	d.heldMu.Lock()
	defer d.heldMu.Unlock()
	d.held[job] = true
}

// storeChanged follows the database's changes: back, it runs the jobs
// held while it was away, rather than leave the zones unpublished and
// the checks and notices waiting until their next time.
func (d *Daemon) storeChanged(st storeState) {
	if st.Up {
		d.heldMu.Lock()
		jobs := slices.Sorted(maps.Keys(d.held))
		clear(d.held)
		d.heldMu.Unlock()
		sched := d.Scheduler()
		for _, j := range jobs {
			if err := sched.RunNow(j); err != nil && !errors.Is(err, ErrRunning) {
				d.log.Warn("running a job held while the database was unreachable", zap.String("job", j), zap.Error(err))
			}
		}
	}
	if d.started.Load() && d.deps.StoreChanged != nil {
		d.deps.StoreChanged()
	}
}
