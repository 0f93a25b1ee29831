package delegation

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap"

	"github.com/ptzone/ptzone/store"
)

// SweepStore is what a sweep reads and writes.
type SweepStore interface {
	Snapshot(ctx context.Context) (store.Snapshot, error)
	Counts(ctx context.Context) ([]store.ZoneCount, error)
	OpenSweep(ctx context.Context, started time.Time) (store.Sweep, bool, error)
	RecordChecks(ctx context.Context, records []store.CheckRecord, sweep *store.Sweep) ([]int64, error)
}

// Sweeper checks every active domain of the registry: the regular pass
// that keeps delegations honest (Art 23.2) and lets new ones in (Art 4.2).
type Sweeper struct {
	Checker   *Checker
	Store     SweepStore
	Lifecycle Lifecycle
	// RatePerAddress is the most queries a second sent to one address
	// (default 20): a hosting provider's server answering for thousands
	// of domains is paced, not flooded.
	RatePerAddress float64
	// Concurrency is how many domains are checked at once (default 256).
	Concurrency int
	// BatchSize is how many results each transaction writes (default 500).
	BatchSize int
	// MaxSilentShare is the share of a batch (of 50 domains or more)
	// whose servers all stayed silent above which the sweep stops without
	// recording the batch (default 0.5): when most domains fail to answer
	// at once, the checker's own network has most likely failed, and a
	// failure of ours must not start any domain's grace period or send a
	// notice. The sweep resumes from its last recorded batch.
	MaxSilentShare float64
	// Limit, when positive, ends the run after this many domains: the
	// sweep is left unfinished, and the next run goes on from there. A
	// daemon spreads a sweep over a day this way (a share a run).
	Limit int
	// ProgressEvery is how often progress is logged (default 30 s).
	ProgressEvery time.Duration
	// Progress, when set, is told of each domain checked, in order: the
	// sweep's count so far and the active domains' total (0 when they
	// could not be counted). A terminal's progress line, say.
	Progress func(checked, total int)
	// Now is the clock (default time.Now).
	Now     func() time.Time
	Log     *zap.Logger
	Metrics *SweepMetrics

	// paced, when set, is given each run's session: tests read the pace
	// its queries were given.
	paced func(*session)
}

// SweepMetrics are a sweeper's Prometheus metrics.
type SweepMetrics struct {
	checked   *prometheus.CounterVec
	queries   prometheus.Counter
	progress  prometheus.Gauge
	completed prometheus.Gauge
	duration  prometheus.Gauge
}

// NewSweepMetrics registers the sweep metrics with reg.
func NewSweepMetrics(reg prometheus.Registerer) *SweepMetrics {
	m := &SweepMetrics{
		checked: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "ptzone_sweep_domains_checked_total",
			Help: "Domains checked by sweeps, by verdict."}, []string{"verdict"}),
		queries: prometheus.NewCounter(prometheus.CounterOpts{Name: "ptzone_sweep_queries_total",
			Help: "DNS queries sent by sweeps."}),
		progress: prometheus.NewGauge(prometheus.GaugeOpts{Name: "ptzone_sweep_progress_ratio",
			Help: "Share of the active domains the running sweep has checked; 1 when none runs."}),
		completed: prometheus.NewGauge(prometheus.GaugeOpts{Name: "ptzone_sweep_last_completed_timestamp_seconds",
			Help: "When the last sweep completed, in Unix time."}),
		duration: prometheus.NewGauge(prometheus.GaugeOpts{Name: "ptzone_sweep_last_duration_seconds",
			Help: "How long the last completed sweep took, from its start (across restarts)."}),
	}
	m.progress.Set(1)
	reg.MustRegister(m.checked, m.queries, m.progress, m.completed, m.duration)
	return m
}

// ErrSilent stops a sweep whose domains' servers mostly stay silent at
// once (see Sweeper.MaxSilentShare).
var ErrSilent = errors.New("most name servers did not answer: the checker's own network looks down")

// silentSample is the fewest domains a batch needs before its silence
// is judged.
const silentSample = 50

// SweepStats is what a sweep did.
type SweepStats struct {
	Sweep   store.Sweep
	Resumed bool
	// Checked counts the domains this run checked (not those a previous,
	// interrupted run did), Queries the queries it sent.
	Checked, Failed int
	Queries         int64
	Elapsed         time.Duration
}

func (s *Sweeper) now() time.Time {
	if s.Now == nil {
		return time.Now()
	}
	return s.Now()
}

// checked is one domain's check on its way to the store, numbered in the
// order the domains were read.
type checked struct {
	seq    int
	name   string
	rec    store.CheckRecord
	silent bool
}

// Run sweeps the registry: it goes on with an interrupted sweep, or starts
// one, and returns when every active domain with name servers was checked
// and recorded, or at the first store error, or when ctx ends. Results
// are recorded in the order of the names, in batches, each with the
// sweep's cursor, so that a sweep stopped at any point goes on after its
// last recorded domain.
func (s *Sweeper) Run(ctx context.Context) (SweepStats, error) {
	log := s.Log
	if log == nil {
		log = zap.NewNop()
	}
	concurrency, batchSize, every, rate := s.Concurrency, s.BatchSize, s.ProgressEvery, s.RatePerAddress
	if concurrency <= 0 {
		concurrency = 256
	}
	if batchSize <= 0 {
		batchSize = 500
	}
	if every <= 0 {
		every = 30 * time.Second
	}
	if rate <= 0 {
		rate = 20
	}
	maxSilent := s.MaxSilentShare
	if maxSilent <= 0 {
		maxSilent = 0.5
	}

	begun := time.Now()
	sw, resumed, err := s.Store.OpenSweep(ctx, s.now())
	if err != nil {
		return SweepStats{}, fmt.Errorf("sweep: %w", err)
	}
	stats := SweepStats{Sweep: sw, Resumed: resumed}
	total := 0
	// The total only feeds progress and ETA: without it the sweep runs.
	if counts, err := s.Store.Counts(ctx); err != nil {
		log.Warn("sweep: counting the active domains for progress", zap.Error(err))
	} else {
		for _, c := range counts {
			if c.Status == store.StatusActive {
				total += c.Count
			}
		}
	}
	log.Info("sweep starting", zap.Int64("sweep", sw.ID), zap.Bool("resumed", resumed), zap.String("after", sw.Cursor),
		zap.Int("done", sw.Checked), zap.Int("active_domains", total))

	snap, err := s.Store.Snapshot(ctx)
	if err != nil {
		return stats, fmt.Errorf("sweep %d: %w", sw.ID, err)
	}
	defer snap.Close()

	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	sess := newSession(s.Checker, rate)
	if s.paced != nil {
		s.paced(sess)
	}
	results := make(chan checked, concurrency)
	// window bounds the domains read but not yet recorded: one slow
	// domain holds back the cursor, not the reading of the next ones,
	// up to a point.
	window := make(chan struct{}, 8*concurrency)
	busy := make(chan struct{}, concurrency)
	var workers sync.WaitGroup
	readErr := make(chan error, 1)

	after := sw.Cursor // the collector moves sw.Cursor on meanwhile
	limited := false   // the reader stopped at the Limit
	go func() {
		defer func() {
			workers.Wait()
			close(results)
		}()
		seq := 0
		for cand, err := range snap.Domains(ctx, store.Filter{Statuses: []store.Status{store.StatusActive}}) {
			if err != nil {
				readErr <- err
				return
			}
			d := cand.Domain
			if resumed && d.Name <= after || len(d.Nameservers) == 0 {
				continue
			}
			if s.Limit > 0 && seq == s.Limit {
				limited = true
				return
			}
			select {
			case window <- struct{}{}:
			case <-ctx.Done():
				return
			}
			select {
			case busy <- struct{}{}:
			case <-ctx.Done():
				return
			}
			n := seq
			seq++
			workers.Go(func() {
				defer func() { <-busy }()
				start := time.Now()
				rep := s.Checker.check(ctx, FromDomain(d), sess)
				if ctx.Err() != nil {
					return // an interrupted check proves nothing
				}
				rec := s.Lifecycle.Next(cand.State, d, rep.Result(s.now(), time.Since(start), "sweep"))
				base := time.Time{}
				if cand.State != nil {
					base = cand.State.Updated
				}
				rec.Base = &base
				results <- checked{seq: n, name: d.Name, rec: rec, silent: rep.silent}
			})
		}
	}()

	// Results arrive in any order and are recorded in the order read.
	pending := map[int]checked{}
	next := 0
	recordedUntil := sw.Cursor
	var batch []store.CheckRecord
	silent := 0 // of the batch
	lastLog := time.Now()
	flush := func(ctx context.Context, final bool) error {
		if len(batch) == 0 && !final {
			return nil
		}
		if len(batch) >= silentSample && float64(silent) > maxSilent*float64(len(batch)) {
			log.Error("sweep stopped: most name servers stayed silent; the batch is not recorded, and the sweep goes on from the last one at its next run",
				zap.Int64("sweep", sw.ID), zap.Int("silent", silent), zap.Int("batch", len(batch)), zap.String("recorded_until", recordedUntil))
			return fmt.Errorf("sweep %d: %d of %d domains after %q: %w", sw.ID, silent, len(batch), recordedUntil, ErrSilent)
		}
		if final {
			sw.Finished = s.now()
		}
		if _, err := s.Store.RecordChecks(ctx, batch, &sw); err != nil {
			return fmt.Errorf("sweep %d: recording results: %w", sw.ID, err)
		}
		for range batch {
			<-window
		}
		batch, silent, recordedUntil = batch[:0], 0, sw.Cursor
		return nil
	}
	for c := range results {
		pending[c.seq] = c
		for {
			c, ok := pending[next]
			if !ok {
				break
			}
			delete(pending, next)
			next++
			batch = append(batch, c.rec)
			if c.silent {
				silent++
			}
			sw.Cursor = c.name
			sw.Checked++
			stats.Checked++
			verdict := c.rec.Result.Verdict
			if verdict == store.VerdictFail {
				sw.Failed++
				stats.Failed++
			}
			if s.Metrics != nil {
				s.Metrics.checked.WithLabelValues(string(verdict)).Inc()
			}
			if s.Progress != nil {
				s.Progress(sw.Checked, total)
			}
		}
		// Once ctx ends, the results already on their way join the batch:
		// it is recorded after the loop, with a context of its own.
		if len(batch) >= batchSize && ctx.Err() == nil {
			if err := flush(ctx, false); err != nil {
				cancel()
				for range results {
				}
				return stats, err
			}
		}
		if s.Metrics != nil && total > 0 {
			s.Metrics.progress.Set(min(1, float64(sw.Checked)/float64(total)))
		}
		if time.Since(lastLog) >= every {
			lastLog = time.Now()
			s.countQueries(sess)
			s.logProgress(log, sw, stats, sess, total, begun)
		}
	}
	select {
	case err := <-readErr:
		return stats, fmt.Errorf("sweep %d: reading the registry: %w", sw.ID, err)
	default:
	}
	if err := ctx.Err(); err != nil {
		// What was checked in order is kept: the next run goes on after it.
		saveCtx, done := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
		defer done()
		return stats, fmt.Errorf("sweep %d: %w", sw.ID, errors.Join(err, flush(saveCtx, false)))
	}
	if limited { // read only after results is closed, when the reader is done
		err := flush(ctx, false)
		stats.Sweep, stats.Queries, stats.Elapsed = sw, sess.queries.Load(), time.Since(begun)
		s.countQueries(sess)
		log.Info("sweep run done; the sweep goes on at the next run", zap.Int64("sweep", sw.ID), zap.Int("checked", stats.Checked),
			zap.String("after", sw.Cursor), zap.Int("done", sw.Checked), zap.Int("active_domains", total))
		return stats, err
	}
	if err := flush(ctx, true); err != nil {
		return stats, err
	}
	stats.Sweep, stats.Queries, stats.Elapsed = sw, sess.queries.Load(), time.Since(begun)
	s.countQueries(sess)
	if s.Metrics != nil {
		s.Metrics.progress.Set(1)
		s.Metrics.completed.Set(float64(sw.Finished.Unix()))
		s.Metrics.duration.Set(sw.Finished.Sub(sw.Started).Seconds())
	}
	s.logProgress(log, sw, stats, sess, total, begun)
	log.Info("sweep finished", zap.Int64("sweep", sw.ID), zap.Int("checked", sw.Checked), zap.Int("failed", sw.Failed),
		zap.Duration("took", stats.Elapsed))
	return stats, nil
}

// countQueries adds the queries sent since it was last called to the
// metric.
func (s *Sweeper) countQueries(sess *session) {
	if s.Metrics == nil {
		return
	}
	n := sess.queries.Load()
	s.Metrics.queries.Add(float64(n - sess.counted))
	sess.counted = n
}

func (s *Sweeper) logProgress(log *zap.Logger, sw store.Sweep, stats SweepStats, sess *session, total int, begun time.Time) {
	elapsed := time.Since(begun)
	rate := float64(stats.Checked) / elapsed.Seconds()
	fields := []zap.Field{zap.Int64("sweep", sw.ID), zap.Int("checked", sw.Checked), zap.Int("failed", sw.Failed),
		zap.Int("active_domains", total), zap.Float64("domains_per_second", rate)}
	if stats.Checked > 0 {
		fields = append(fields, zap.Float64("queries_per_domain", float64(sess.queries.Load())/float64(stats.Checked)))
	}
	if left := total - sw.Checked; rate > 0 && left > 0 {
		fields = append(fields, zap.Duration("eta", time.Duration(float64(left)/rate*float64(time.Second))))
	}
	log.Info("sweep progress", fields...)
}
