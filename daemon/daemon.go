package daemon

import (
	"context"
	"errors"
	"fmt"
	"math"
	"net"
	"net/http"
	"reflect"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"go.uber.org/zap"

	"github.com/ptzone/ptzone/authserver"
	"github.com/ptzone/ptzone/datadir"
	"github.com/ptzone/ptzone/delegation"
	"github.com/ptzone/ptzone/httpapi"
	"github.com/ptzone/ptzone/notify"
	"github.com/ptzone/ptzone/policy"
	"github.com/ptzone/ptzone/publish"
	"github.com/ptzone/ptzone/store"
)

// Deps are what a daemon is given rather than opens itself.
type Deps struct {
	// Registry is the store, opened by the caller (which knows the
	// backends); the daemon does not close it.
	Registry store.Registry
	// Locker elects the one publisher among daemons sharing the store;
	// nil makes this daemon the publisher.
	Locker store.Locker
	// DataDir holds the published zones (DataDir/zones) and the keys.
	DataDir string
	Log     *zap.Logger
	// Metrics receives every metric and is served on /metrics.
	Metrics *prometheus.Registry
	// Now is the clock of publications, checks and notices (default
	// time.Now); tests drive it.
	Now func() time.Time
	// StoreChanged, when set, is called each time the database becomes
	// unreachable or answers again after Start (StoreProblem says which),
	// to tell the service manager.
	StoreChanged func()
}

var (
	// ErrNotPublisher is returned for a publication asked of a daemon
	// that does not hold the publisher's lock: another daemon publishes.
	ErrNotPublisher error = &stateError{"another daemon is the publisher: ask it"}
	// ErrFrozen is returned for a publication while an operator has
	// publishing of every zone frozen (a dry run still runs). A zone
	// frozen alone is not an error: its outcome is publish.OutcomeFrozen.
	ErrFrozen error = &stateError{"publishing is frozen: thaw it first"}
	// ErrStoreDown is returned for work that needs the database while it
	// is unreachable; the zones are still served.
	ErrStoreDown error = &stateError{"the database is unreachable: the zones last published are served; try again when it answers"}
)

// OutcomeStoreDown is the outcome of a job's run skipped because the
// database is unreachable (ptzone_job_runs_total{outcome="database_down"}).
const OutcomeStoreDown = "database_down"

// stateError is an error that says the daemon's state forbids an action
// for now, not that the request is wrong or the action failed.
type stateError struct{ message string }

func (e *stateError) Error() string { return e.message }

// Conflict marks the error as a conflict with the daemon's state, which
// the operator API answers 409 Conflict.
func (e *stateError) Conflict() {}

// Daemon is ptzone as a service: it serves the published zones, and runs
// publications, checks, the sweep, notices and pruning on their
// schedules. Several daemons may share one PostgreSQL store: one of them
// publishes (a lock elects it), all check and notify, each claiming its
// own share of the work.
type Daemon struct {
	deps Deps
	log  *zap.Logger
	srv  *authserver.Server
	jobs *JobMetrics
	met  *metrics

	mu    sync.Mutex // guards cfg and the parts made from it
	cfg   *Config
	pcfg  publish.Config // what pub was made with
	pub   *publish.Publisher
	api   *httpapi.API // nil without a web server
	sched *Scheduler
	queue *delegation.QueueChecker
	sweep *delegation.Sweeper
	note  *notify.Notifier // nil without a relay

	pubMu  sync.Mutex // one publication at a time, and guards lock
	lock   store.Lock
	leader atomic.Bool

	expiryMu sync.Mutex
	expiry   map[string]time.Time // by zone: the first signature to expire, as last published

	db        *storeWatch
	started   atomic.Bool // Start is done: changes of the database are told (Deps.StoreChanged)
	heldMu    sync.Mutex
	held      map[string]bool // the jobs skipped while the database was unreachable, run when it answers
	stopWatch context.CancelFunc
	watchDone chan struct{}

	reload     chan chan struct{}
	stopFollow context.CancelFunc
	followDone chan struct{} // guarded by mu: closed when the follower ends; nil before Start
	dnsAddrs   []net.Addr
	http       *http.Server
	httpAddr   net.Addr
	httpDone   chan struct{}
}

// New returns a daemon of the configuration; nothing runs until Start.
func New(cfg *Config, deps Deps) (*Daemon, error) {
	if deps.Log == nil {
		deps.Log = zap.NewNop()
	}
	if deps.Metrics == nil {
		deps.Metrics = prometheus.NewRegistry()
	}
	if deps.Now == nil {
		deps.Now = time.Now
	}
	acfg, err := cfg.AuthServer()
	if err != nil {
		return nil, err
	}
	acfg.Registerer = deps.Metrics
	d := &Daemon{deps: deps, log: deps.Log, jobs: NewJobMetrics(deps.Metrics), met: newMetrics(deps.Metrics),
		reload: make(chan chan struct{}), expiry: map[string]time.Time{}, held: map[string]bool{}}
	d.db = newStoreWatch(storeProbe(deps.Registry), deps.Log.Named("store"), d.storeChanged)
	d.srv = authserver.New(acfg, deps.Log.Named("dns"))
	sweepMetrics := delegation.NewSweepMetrics(deps.Metrics)
	if err := d.configure(cfg, sweepMetrics); err != nil {
		return nil, err
	}
	d.met.register(deps.Metrics, d)
	return d, nil
}

// configure makes the parts that follow the configuration.
func (d *Daemon) configure(cfg *Config, sweepMetrics *delegation.SweepMetrics) error {
	pcfg, err := cfg.PublishConfig(d.deps.DataDir)
	if err != nil {
		return err
	}
	checker, err := cfg.Checker()
	if err != nil {
		return err
	}
	relay, haveRelay, err := cfg.SMTPRelay()
	if err != nil {
		return err
	}
	hook, err := cfg.NoticeWebhook()
	if err != nil {
		return err
	}
	operators, err := cfg.operatorTokens()
	if err != nil {
		return err
	}
	log := d.log.With(zap.String("node", cfg.NodeName()))
	sched := NewScheduler(log.Named("schedule"), d.jobs)
	deadlines := cfg.Deadlines()
	for _, j := range []Job{
		{Name: "publish", Spec: orDefault(cfg.Schedule.Publish, defaultPublish), Run: d.publishJob},
		{Name: "checks", Spec: orDefault(cfg.Schedule.Checks, defaultChecks), Run: d.checksJob},
		{Name: "sweep", Spec: orDefault(cfg.Schedule.Sweep, defaultSweep), Run: d.sweepJob},
		{Name: "notify", Spec: orDefault(cfg.Schedule.Notify, defaultNotify), Run: d.notifyJob},
		{Name: "prune", Spec: orDefault(cfg.Schedule.Prune, defaultPrune), Run: d.pruneJob},
	} {
		j.Run = d.needsStore(j.Name, j.Run)
		j.Deadline = deadlines[j.Name]
		if err := sched.Add(j); err != nil {
			return err
		}
	}
	reg, now := d.deps.Registry, d.deps.Now
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.pub == nil || !reflect.DeepEqual(d.pcfg, pcfg) {
		// A new publisher starts from the files: its first publication
		// may be a full build.
		d.pub = publish.New(pcfg, reg, policy.New(policy.Lists{}), log)
	}
	if d.api != nil {
		d.api.SetOperators(operators)
	}
	d.pcfg = pcfg
	d.cfg, d.sched = cfg, sched
	d.queue = &delegation.QueueChecker{Checker: checker, Store: reg, Lifecycle: cfg.Lifecycle(), Concurrency: cfg.Checks.Concurrency,
		Now: now, Log: log.Named("checks")}
	d.sweep = &delegation.Sweeper{Checker: checker, Store: reg, Lifecycle: cfg.Lifecycle(), RatePerAddress: cfg.Checks.RatePerAddress,
		Concurrency: cfg.Checks.Concurrency, Now: now, Log: log.Named("sweep"), Metrics: sweepMetrics}
	d.note = nil
	if haveRelay || hook != nil {
		d.note = &notify.Notifier{Store: reg, SMTP: relay, Webhook: hook, Now: now, Log: log.Named("notify")}
	}
	return nil
}

// Config returns the configuration in force.
func (d *Daemon) Config() *Config {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.cfg
}

// Scheduler returns the scheduler in force (replaced by Reload).
func (d *Daemon) Scheduler() *Scheduler {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.sched
}

// Start serves the zones last published into the data directory (before
// the store is consulted: a primary answers while its database is down),
// listens for DNS and HTTP, asks the database once (for at most a
// second), keeps asking in the background, and starts the schedule.
// With nothing published yet the server refuses queries until the first
// publication.
func (d *Daemon) Start(ctx context.Context, dnsListen []string, httpListen string) error {
	cfg := d.Config()
	dir := datadir.ZonesDir(d.deps.DataDir)
	follower := datadir.NewFollower(datadir.New(dir), cfg.ServedZones(), d.log)
	snap, err := follower.Snapshot()
	switch {
	case errors.Is(err, datadir.ErrNothingPublished):
		d.log.Warn("nothing published yet: queries are refused until the first publication", zap.String("dir", dir))
	case err != nil:
		return err
	default:
		d.srv.Swap(snap)
	}
	for _, a := range dnsListen {
		bound, err := d.srv.Listen(a)
		if err != nil {
			d.shutdownServer()
			return err
		}
		d.dnsAddrs = append(d.dnsAddrs, bound)
	}
	if httpListen != "" {
		if err := d.startHTTP(httpListen); err != nil {
			d.shutdownServer()
			return err
		}
	}
	followCtx, stop := context.WithCancel(context.WithoutCancel(ctx))
	followDone := make(chan struct{})
	d.mu.Lock()
	d.stopFollow, d.followDone = stop, followDone
	d.mu.Unlock()
	go func() {
		defer close(followDone)
		follower.Run(followCtx, d.srv, cfg.FollowInterval(), d.reload)
	}()
	// DNS is answered from here on; the database's state decides only
	// what the jobs do.
	d.db.check(ctx, firstProbeTimeout)
	watchCtx, stopWatch := context.WithCancel(context.WithoutCancel(ctx))
	watchDone := make(chan struct{})
	d.mu.Lock()
	d.stopWatch, d.watchDone = stopWatch, watchDone
	d.mu.Unlock()
	go func() {
		defer close(watchDone)
		d.db.run(watchCtx)
	}()
	d.started.Store(true)
	d.Scheduler().Start()
	d.log.Info("daemon started", zap.String("node", cfg.NodeName()), zap.Int("dns_listeners", len(d.dnsAddrs)),
		zap.Stringer("http", d.httpAddr), zap.Bool("database_up", d.db.state().Up))
	return nil
}

// DNSAddrs are the addresses DNS is served on.
func (d *Daemon) DNSAddrs() []net.Addr { return d.dnsAddrs }

// HTTPAddr is the address of the web server (nil without one).
func (d *Daemon) HTTPAddr() net.Addr { return d.httpAddr }

// Server is the authoritative server.
func (d *Daemon) Server() *authserver.Server { return d.srv }

func (d *Daemon) startHTTP(addr string) error {
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", promhttp.HandlerFor(d.deps.Metrics, promhttp.HandlerOpts{}))
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) { fmt.Fprintln(w, "ok") })
	mux.HandleFunc("GET /readyz", d.readyz)
	cfg := d.Config()
	operators, err := cfg.operatorTokens()
	if err != nil {
		return err
	}
	api := httpapi.New(httpapi.Options{Store: d.deps.Registry, Grace: cfg.Checks.Grace.Duration, Now: d.deps.Now, Log: d.log.Named("http"),
		Operator: d, OperatorStore: d.deps.Registry, Operators: operators, Endpoints: []httpapi.Endpoint{
			{Path: "/metrics", PT: "Métricas para o Prometheus", EN: "Metrics for Prometheus"},
			{Path: "/healthz", PT: "Vivo: o processo responde", EN: "Alive: the process answers"},
			{Path: "/readyz", PT: "Pronto: zonas servidas e a base de dados responde", EN: "Ready: zones served and the database answers"},
		}})
	api.Routes(mux)
	d.mu.Lock()
	d.api = api
	d.mu.Unlock()
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("http.listen %s: %w", addr, err)
	}
	d.httpAddr = ln.Addr()
	d.http = newHTTPServer(mux, d.log.Named("http"), webLimits)
	d.httpDone = make(chan struct{})
	go func() {
		defer close(d.httpDone)
		if err := d.http.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			d.log.Error("http server", zap.Error(err))
		}
	}()
	return nil
}

// readyz is ready when zones are served and the database answers, as
// last found (a probe every probeEvery, and after each failed job): it
// never waits on the database itself. While the database is unreachable
// the daemon is degraded, not dead: it still serves DNS and transfers
// (/healthz stays ok, so that no supervisor restarts it for a fault a
// restart cannot mend), but it does not publish, check or notify, which
// is what 503 says to a monitor.
func (d *Daemon) readyz(w http.ResponseWriter, r *http.Request) {
	snap := d.srv.Current()
	if snap == nil || len(snap.Zones()) == 0 {
		http.Error(w, "not ready: no zone published yet", http.StatusServiceUnavailable)
		return
	}
	if st := d.db.state(); !st.Up {
		http.Error(w, fmt.Sprintf("degraded: %d zones served as last published; %s", len(snap.Zones()), st), http.StatusServiceUnavailable)
		return
	}
	fmt.Fprintf(w, "ready: %d zones served\n", len(snap.Zones()))
}

// Stop drains the running jobs (up to ctx's deadline, then cancels them),
// gives up the publisher's lock, and stops serving.
func (d *Daemon) Stop(ctx context.Context) error {
	err := d.Scheduler().Stop(ctx)
	d.pubMu.Lock()
	if d.lock != nil {
		rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		if rerr := d.lock.Release(rctx); rerr != nil {
			d.log.Warn("releasing the publisher's lock", zap.Error(rerr))
		}
		cancel()
		d.lock = nil
		d.leader.Store(false)
	}
	d.pubMu.Unlock()
	d.mu.Lock()
	stopFollow, followDone := d.stopFollow, d.followDone
	stopWatch, watchDone := d.stopWatch, d.watchDone
	d.mu.Unlock()
	if stopWatch != nil {
		stopWatch()
		<-watchDone
	}
	if stopFollow != nil {
		stopFollow()
		<-followDone
	}
	if d.http != nil {
		hctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		d.http.Shutdown(hctx)
		cancel()
		<-d.httpDone
	}
	d.shutdownServer()
	d.log.Info("daemon stopped")
	return err
}

func (d *Daemon) shutdownServer() {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	d.srv.Shutdown(ctx)
}

// Reload puts a new configuration in force, whole or not at all: the
// zones' parameters, schedule, checks, notices, publications and
// operators' tokens follow it at once (running jobs finish under the old
// one), and so do the server's TSIG keys, transfers, notifications,
// EDNS size, query limit, CHAOS and NSID answers and rate limit. What
// needs the listeners or the store made again (listen addresses, the
// zones served, TCP limits, the web server's address, the store) takes
// effect at the next restart, and the log says which.
func (d *Daemon) Reload(ctx context.Context, cfg *Config) error {
	old := d.Config()
	acfg, err := cfg.AuthServer()
	if err != nil {
		return err
	}
	oldSched := d.Scheduler()
	if err := d.configure(cfg, d.sweep.Metrics); err != nil {
		return err
	}
	restart := d.srv.Reconfigure(acfg)
	for _, c := range []struct {
		name    string
		changed bool
	}{
		{"server.listen", !slices.Equal(old.Server.Listen, cfg.Server.Listen)},
		{"zones", !slices.Equal(old.ServedZones(), cfg.ServedZones())},
		{"server.follow_interval", old.Server.FollowInterval != cfg.Server.FollowInterval},
		{"http.listen", old.HTTP != cfg.HTTP},
		{"store.dsn", old.Store != cfg.Store},
	} {
		if c.changed {
			restart = append(restart, c.name)
		}
	}
	if len(restart) > 0 {
		d.log.Warn("reload: these settings changed and take effect at the next restart", zap.Strings("settings", restart))
	}
	// The old schedule stops triggering; its running jobs finish.
	if err := oldSched.Stop(ctx); err != nil {
		d.log.Warn("reload: a job of the old schedule was cut short", zap.Error(err))
	}
	d.Scheduler().Start()
	d.log.Info("configuration reloaded")
	return nil
}

// Run starts the daemon, and stops it when ctx ends, draining for up to
// drain. SIGHUP handling is the caller's (it calls Reload).
func (d *Daemon) Run(ctx context.Context, dnsListen []string, httpListen string, drain time.Duration) error {
	if err := d.Start(ctx, dnsListen, httpListen); err != nil {
		return err
	}
	<-ctx.Done()
	stop, cancel := context.WithTimeout(context.WithoutCancel(ctx), drain)
	defer cancel()
	return d.Stop(stop)
}

// isPublisher takes the publisher's lock if it is free, and reports
// whether this daemon holds it. Called with pubMu held.
func (d *Daemon) isPublisher(ctx context.Context) (bool, error) {
	if d.deps.Locker == nil {
		d.leader.Store(true)
		return true, nil
	}
	if d.lock != nil {
		if d.lock.Held(ctx) {
			return true, nil
		}
		d.log.Error("the publisher's lock is lost (the database connection ended?): publishing stops until it is taken again")
		d.lock.Release(ctx)
		d.lock = nil
		d.leader.Store(false)
	}
	l, ok, err := d.deps.Locker.TryLock(ctx, store.PublisherLock)
	if err != nil {
		return false, fmt.Errorf("taking the publisher's lock: %w", err)
	}
	if ok {
		d.lock = l
		d.leader.Store(true)
		d.log.Info("this daemon is now the publisher", zap.Int64("generation", l.Generation()))
	}
	return ok, nil
}

// Publish runs one publication now, unless another daemon is the
// publisher (ErrNotPublisher) or publishing is frozen (ErrFrozen). The
// zones frozen alone are left as they are (publish.Request.Frozen), the
// others published. The served zones follow at once.
func (d *Daemon) Publish(ctx context.Context, req publish.Request) ([]publish.ZoneOutcome, error) {
	if err := d.storeAnswers(ctx); err != nil {
		return nil, err
	}
	// An operator's publication is bounded as the scheduled ones are.
	ctx, cancel := context.WithTimeout(ctx, d.Config().Deadlines()["publish"])
	defer cancel()
	d.pubMu.Lock()
	defer d.pubMu.Unlock()
	ok, err := d.isPublisher(ctx)
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, ErrNotPublisher
	}
	if !req.DryRun {
		fs, err := d.deps.Registry.Freezes(ctx)
		if err != nil {
			return nil, err
		}
		if f, frozen := store.FreezeOf(fs, ""); frozen {
			return nil, fmt.Errorf("%w (by %s since %s: %s)", ErrFrozen, f.Actor, f.Time.Format(time.RFC3339), f.Reason)
		}
		for _, f := range fs {
			if req.Frozen == nil {
				req.Frozen = map[string]string{}
			}
			req.Frozen[f.Zone] = f.String()
		}
	}
	// A takeover the standby had not caught up with: the last published
	// zones first, to judge this publication against.
	d.followPublished(ctx)
	d.mu.Lock()
	pub := d.pub
	d.mu.Unlock()
	if req.Now.IsZero() {
		req.Now = d.deps.Now().UTC().Truncate(time.Second)
	}
	// Each zone is written, and recorded, only while the lock is held
	// and nobody took it since (nil without a Locker: one daemon alone).
	req.Lock = d.lock
	start := time.Now()
	out, err := pub.RunOnce(ctx, req)
	d.met.published(out, err, time.Since(start))
	d.noteExpiry(out)
	if err != nil {
		return nil, err
	}
	for _, o := range out {
		if o.Outcome == store.OutcomePublished {
			d.followNow(ctx)
			break
		}
	}
	return out, nil
}

// followNow makes the server look at the data directory at once, and
// waits until it has: when a publication returns, its zones are the ones
// answered (a demo, a test or an operator may query them next).
func (d *Daemon) followNow(ctx context.Context) {
	d.mu.Lock()
	followDone := d.followDone
	d.mu.Unlock()
	if followDone == nil {
		return // not serving
	}
	served := make(chan struct{})
	select {
	case d.reload <- served:
	case <-followDone:
		return
	case <-ctx.Done():
		return
	}
	select {
	case <-served:
	case <-followDone:
	case <-ctx.Done():
	}
}

// IsPublisher reports whether this daemon held the publisher's lock at
// its last publication.
func (d *Daemon) IsPublisher() bool { return d.leader.Load() }

func (d *Daemon) publishJob(ctx context.Context) error {
	_, err := d.Publish(ctx, publish.Request{TriggeredBy: "schedule@" + d.Config().NodeName()})
	if errors.Is(err, ErrNotPublisher) {
		// A standby keeps the publisher's last zones, to judge its
		// first publication against if it takes over.
		d.followPublished(ctx)
		return nil
	}
	if errors.Is(err, ErrFrozen) {
		return nil
	}
	return err
}

// checksJob checks the queue, a batch after another, until it is empty.
func (d *Daemon) checksJob(ctx context.Context) error {
	d.mu.Lock()
	q := d.queue
	d.mu.Unlock()
	batch := q.Batch
	if batch <= 0 {
		batch = 100
	}
	for ctx.Err() == nil {
		n, err := q.RunOnce(ctx)
		if err != nil {
			return err
		}
		if n < batch {
			return nil
		}
	}
	return ctx.Err()
}

// sweepJob checks the next share of the rolling sweep: the active
// domains over the sweep period's runs, with a margin, so that each is
// checked at least once a period whatever the sweep's pace.
func (d *Daemon) sweepJob(ctx context.Context) error {
	d.mu.Lock()
	sw, cfg := *d.sweep, d.cfg
	d.mu.Unlock()
	counts, err := d.deps.Registry.Counts(ctx)
	if err != nil {
		return fmt.Errorf("sweep: counting the active domains: %w", err)
	}
	active := 0
	for _, c := range counts {
		if c.Status == store.StatusActive {
			active += c.Count
		}
	}
	sw.Limit = sweepShare(active, specInterval(orDefault(cfg.Schedule.Sweep, defaultSweep), d.deps.Now()), cfg.SweepPeriod())
	_, err = sw.Run(ctx)
	return err
}

// sweepShare is how many domains one sweep run checks: its share of the
// period, a quarter more for the runs lost to restarts and slow servers,
// at least 100; 0 (no limit) when a run is due only once a period.
func sweepShare(active int, interval, period time.Duration) int {
	if interval <= 0 || interval >= period {
		return 0
	}
	share := int(math.Ceil(float64(active) * interval.Seconds() / period.Seconds() * 1.25))
	return max(share, 100)
}

// specInterval is the time between a spec's next two runs.
func specInterval(spec string, now time.Time) time.Duration {
	if spec == SpecOff {
		return 0
	}
	s, err := specParser.Parse(spec)
	if err != nil {
		return 0
	}
	next := s.Next(now)
	return s.Next(next).Sub(next)
}

// notifyJob delivers the due notices, a batch after another.
func (d *Daemon) notifyJob(ctx context.Context) error {
	d.mu.Lock()
	n := d.note
	d.mu.Unlock()
	if n == nil {
		return nil // no relay, no webhook: the notices wait in the outbox
	}
	for ctx.Err() == nil {
		res, err := n.RunOnce(ctx)
		if err != nil {
			return err
		}
		batch := n.Batch
		if batch <= 0 {
			batch = 50
		}
		if res.Sent+res.Failed < batch {
			return nil
		}
	}
	return ctx.Err()
}

// pruneJob removes history older than keep_history (pruneCut).
func (d *Daemon) pruneJob(ctx context.Context) error {
	pr, ok := d.deps.Registry.(store.Pruner)
	if !ok {
		return nil
	}
	cut := d.Config().pruneCut(d.deps.Now())
	res, err := pr.Prune(ctx, cut)
	if err != nil {
		return fmt.Errorf("prune: %w", err)
	}
	d.log.Info("history pruned", zap.Time("before", cut.History), zap.Time("publications_before", cut.Publications),
		zap.Int64("checks", res.Checks), zap.Int64("notices", res.Notices), zap.Int64("sweeps", res.Sweeps),
		zap.Int64("publications", res.Publications), zap.Int64("deletions", res.Deletions))
	return nil
}
