package daemon

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/robfig/cron/v3"
	"go.uber.org/zap"
)

// Job is a task the daemon runs on a schedule. The schedule only
// triggers it, and bounds each run by its deadline: the work is the
// job's own.
type Job struct {
	Name string
	// Spec is a cron spec: five fields ("*/15 * * * *"), six with
	// seconds first, or a descriptor ("@every 1m", "@hourly"); "off"
	// schedules no run (RunNow still runs it).
	Spec string
	// Deadline bounds each run: its context ends that long after it
	// began, and a run that fails for it is counted apart (outcome
	// "deadline") and logged as such. Zero: no deadline.
	Deadline time.Duration
	Run      func(ctx context.Context) error
}

// DeadlineError is the cause of a run's context ended by its job's
// deadline.
type DeadlineError struct {
	Job      string
	Deadline time.Duration
}

func (e *DeadlineError) Error() string {
	return fmt.Sprintf("job %s ran past its deadline of %s", e.Job, e.Deadline)
}

// ErrRunning is returned by RunNow for a job already running.
var ErrRunning = errors.New("already running")

// Skipped is what a job returns when it did not run for a passing reason
// (the database unreachable): the run is logged as skipped, with the
// reason, and counted under Outcome rather than as an error or a success.
type Skipped struct {
	Outcome string
	Reason  string
}

func (s *Skipped) Error() string { return "skipped: " + s.Reason }

// Scheduler runs jobs at their times. A job never overlaps itself: a run
// still going when the next is due makes that one skipped (and counted).
// Stop lets running jobs finish (drains), up to a deadline after which
// their context is cancelled.
type Scheduler struct {
	log     *zap.Logger
	metrics *JobMetrics
	cron    *cron.Cron

	ctx    context.Context // the jobs' context, cancelled when a drain runs out
	cancel context.CancelFunc

	mu      sync.Mutex
	jobs    map[string]Job
	ids     map[string]cron.EntryID
	running map[string]bool
	stopped bool
	wg      sync.WaitGroup
}

// JobMetrics are the scheduler's Prometheus metrics.
type JobMetrics struct {
	runs        *prometheus.CounterVec
	duration    *prometheus.GaugeVec
	lastSuccess *prometheus.GaugeVec
}

// NewJobMetrics registers the scheduler's metrics with reg.
func NewJobMetrics(reg prometheus.Registerer) *JobMetrics {
	m := &JobMetrics{
		runs: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "ptzone_job_runs_total",
			Help: "Scheduled job runs, by job and outcome (ok, error, deadline: cut short by its deadline, skipped: the previous run was still going, database_down: not run while the database is unreachable)."}, []string{"job", "outcome"}),
		duration: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "ptzone_job_last_duration_seconds",
			Help: "How long each job's last run took."}, []string{"job"}),
		lastSuccess: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "ptzone_job_last_success_timestamp_seconds",
			Help: "When each job last ran without error, in Unix time."}, []string{"job"}),
	}
	reg.MustRegister(m.runs, m.duration, m.lastSuccess)
	return m
}

var specParser = cron.NewParser(cron.SecondOptional | cron.Minute | cron.Hour | cron.Dom | cron.Month | cron.Dow | cron.Descriptor)

// NewScheduler returns a scheduler with no jobs; metrics may be nil.
func NewScheduler(log *zap.Logger, metrics *JobMetrics) *Scheduler {
	if log == nil {
		log = zap.NewNop()
	}
	ctx, cancel := context.WithCancel(context.Background())
	return &Scheduler{log: log, metrics: metrics, cron: cron.New(cron.WithParser(specParser), cron.WithLocation(time.UTC)),
		ctx: ctx, cancel: cancel, jobs: map[string]Job{}, ids: map[string]cron.EntryID{}, running: map[string]bool{}}
}

// Add schedules a job; a spec that does not parse is an error naming the
// job.
func (s *Scheduler) Add(j Job) error {
	if err := checkSpec(j.Spec); err != nil {
		return fmt.Errorf("job %s: %w", j.Name, err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, dup := s.jobs[j.Name]; dup {
		return fmt.Errorf("job %s: scheduled twice", j.Name)
	}
	s.jobs[j.Name] = j
	if j.Spec == SpecOff {
		return nil
	}
	sched, _ := specParser.Parse(j.Spec)
	s.ids[j.Name] = s.cron.Schedule(sched, cron.FuncJob(func() {
		if err := s.start(j, "schedule"); errors.Is(err, ErrRunning) {
			s.log.Warn("job skipped: its last run is still going", zap.String("job", j.Name))
			if s.metrics != nil {
				s.metrics.runs.WithLabelValues(j.Name, "skipped").Inc()
			}
		}
	}))
	return nil
}

// SpecOff is the spec of a job that runs only when asked (RunNow).
const SpecOff = "off"

// checkSpec says what is wrong with a spec, if anything.
func checkSpec(spec string) error {
	if spec == SpecOff {
		return nil
	}
	if _, err := specParser.Parse(spec); err != nil {
		return fmt.Errorf("schedule %q: %w", spec, err)
	}
	return nil
}

// Start begins triggering the jobs at their times.
func (s *Scheduler) Start() { s.cron.Start() }

// RunNow runs a job at once, as an operator asks ("publish now"), unless
// it is running already (ErrRunning).
func (s *Scheduler) RunNow(name string) error {
	s.mu.Lock()
	j, ok := s.jobs[name]
	s.mu.Unlock()
	if !ok {
		return fmt.Errorf("job %s: no such job", name)
	}
	return s.start(j, "request")
}

// Next returns when each scheduled job runs next, by name (zero before
// Start).
func (s *Scheduler) Next() map[string]time.Time {
	s.mu.Lock()
	ids := maps.Clone(s.ids)
	s.mu.Unlock()
	out := map[string]time.Time{}
	for name, id := range ids {
		out[name] = s.cron.Entry(id).Next
	}
	return out
}

// start runs a job in its own goroutine unless it is running.
func (s *Scheduler) start(j Job, why string) error {
	s.mu.Lock()
	if s.stopped {
		s.mu.Unlock()
		return errors.New("the scheduler is stopping")
	}
	if s.running[j.Name] {
		s.mu.Unlock()
		return ErrRunning
	}
	s.running[j.Name] = true
	s.wg.Add(1)
	s.mu.Unlock()
	go func() {
		defer s.wg.Done()
		defer func() {
			s.mu.Lock()
			delete(s.running, j.Name)
			s.mu.Unlock()
		}()
		begun := time.Now()
		ctx, cancel := s.ctx, context.CancelFunc(func() {})
		if j.Deadline > 0 {
			ctx, cancel = context.WithTimeoutCause(s.ctx, j.Deadline, &DeadlineError{Job: j.Name, Deadline: j.Deadline})
		}
		err := j.Run(ctx)
		cause := context.Cause(ctx)
		cancel()
		took := time.Since(begun)
		outcome := "ok"
		var skipped *Skipped
		var late *DeadlineError
		switch {
		case errors.As(err, &skipped):
			outcome = skipped.Outcome
			s.log.Warn("job skipped", zap.String("job", j.Name), zap.String("trigger", why), zap.String("reason", skipped.Reason))
		case err != nil && errors.As(cause, &late):
			outcome = "deadline"
			s.log.Error("job cut short by its deadline", zap.String("job", j.Name), zap.String("trigger", why), zap.Duration("deadline", j.Deadline),
				zap.Duration("took", took), zap.Error(fmt.Errorf("%w: %w", late, err)))
		case err != nil:
			outcome = "error"
			s.log.Error("job failed", zap.String("job", j.Name), zap.String("trigger", why), zap.Duration("took", took), zap.Error(err))
		default:
			s.log.Debug("job done", zap.String("job", j.Name), zap.String("trigger", why), zap.Duration("took", took))
		}
		if s.metrics != nil {
			s.metrics.runs.WithLabelValues(j.Name, outcome).Inc()
			if skipped == nil {
				s.metrics.duration.WithLabelValues(j.Name).Set(took.Seconds())
			}
			if err == nil {
				s.metrics.lastSuccess.WithLabelValues(j.Name).Set(float64(time.Now().Unix()))
			}
		}
	}()
	return nil
}

// Stop triggers no more runs and waits for the running ones to finish;
// when ctx ends first, their context is cancelled, and Stop waits for
// them to return and reports that the drain was cut short.
func (s *Scheduler) Stop(ctx context.Context) error {
	s.mu.Lock()
	s.stopped = true
	s.mu.Unlock()
	<-s.cron.Stop().Done()
	done := make(chan struct{})
	go func() {
		s.wg.Wait()
		close(done)
	}()
	select {
	case <-done:
		s.cancel()
		return nil
	case <-ctx.Done():
		s.cancel()
		<-done
		return fmt.Errorf("scheduler: jobs cancelled after the drain ran out: %w", ctx.Err())
	}
}
