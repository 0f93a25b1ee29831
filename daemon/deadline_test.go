package daemon

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/miekg/dns"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"go.uber.org/zap"
	"go.uber.org/zap/zaptest/observer"

	"github.com/ptzone/ptzone/internal/testkit"
	"github.com/ptzone/ptzone/store/postgres"
	"github.com/ptzone/ptzone/store/postgres/pgtest"
	"github.com/ptzone/ptzone/zonegen"
)

// runs is how many runs of the job ended with the outcome.
func runs(m *JobMetrics, job, outcome string) int {
	return int(testutil.ToFloat64(m.runs.WithLabelValues(job, outcome)))
}

// cutShort returns the log's entries saying a job was cut short by its
// deadline, by job.
func cutShort(logs *observer.ObservedLogs) map[string]string {
	out := map[string]string{}
	for _, e := range logs.FilterMessage("job cut short by its deadline").All() {
		fields := e.ContextMap()
		out[fields["job"].(string)] = fields["error"].(string)
	}
	return out
}

// TestSchedulerDeadline: a run still going at its job's deadline has its
// context ended; if it fails for it, it is counted and logged as cut
// short by the deadline, naming it. A run that fails of itself is an
// error, and one that ignores its deadline and succeeds, a success.
func TestSchedulerDeadline(t *testing.T) {
	core, logs := observer.New(zap.InfoLevel)
	metrics := NewJobMetrics(prometheus.NewRegistry())
	s := NewScheduler(zap.New(core), metrics)
	deadline := 50 * time.Millisecond
	for _, j := range []Job{
		{Name: "hangs", Run: func(ctx context.Context) error { <-ctx.Done(); return ctx.Err() }},
		{Name: "fails", Run: func(context.Context) error { return errors.New("relay refused") }},
		{Name: "ignores", Run: func(ctx context.Context) error { <-ctx.Done(); return nil }},
	} {
		j.Spec, j.Deadline = SpecOff, deadline
		if err := s.Add(j); err != nil {
			t.Fatal(err)
		}
		if err := s.RunNow(j.Name); err != nil {
			t.Fatal(err)
		}
	}
	waitFor(t, "every run ended", func() bool {
		return runs(metrics, "hangs", "deadline")+runs(metrics, "fails", "error")+runs(metrics, "ignores", "ok") == 3
	})
	if n := runs(metrics, "hangs", "error") + runs(metrics, "fails", "deadline") + runs(metrics, "ignores", "deadline"); n != 0 {
		t.Errorf("%d runs counted under another outcome", n)
	}
	got := cutShort(logs)
	if len(got) != 1 || !strings.Contains(got["hangs"], "job hangs ran past its deadline of 50ms") {
		t.Errorf("logged as cut short: %v; want the job that hung, with its deadline", got)
	}
	s.Stop(context.Background())
}

// TestJobDeadlineBlackHole, on PostgreSQL: the database stops answering
// altogether (a black hole: connections taken, nothing said) while the
// daemon publishes from it. The publish job ends by its deadline,
// counted and logged as such, instead of hanging; DNS is answered
// throughout from the zones last published.
func TestJobDeadlineBlackHole(t *testing.T) {
	ctx := context.Background()
	proxy, through := pgtest.NewProxy(t, pgtest.NewMigrated(t))
	db, err := postgres.Open(ctx, through)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	keys := t.TempDir()
	testkit.GenerateKeyFiles(t, keys, time.Now().Add(-time.Hour), zonegen.DefaultZones()...)
	cfg := labConfig("a", 53)
	cfg.Schedule.PublishDeadline = Duration{2 * time.Second}
	core, logs := observer.New(zap.WarnLevel)
	dir := t.TempDir()
	cfg.Publish.KeysDir = keys
	d, err := New(cfg, Deps{Registry: db, Locker: db, DataDir: dir, Log: zap.New(core)})
	if err != nil {
		t.Fatal(err)
	}
	if err := d.Start(ctx, []string{"127.0.0.1:0"}, ""); err != nil {
		t.Fatal(err)
	}
	defer func() {
		proxy.Close() // what waits on the black hole sees the end
		stop, cancel := context.WithTimeout(ctx, 30*time.Second)
		defer cancel()
		d.Stop(stop)
	}()
	publishNow(t, d)
	served := servedSerial(d, "pt")

	proxy.Silence()
	if err := d.Scheduler().RunNow("publish"); err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(time.Minute); runs(d.jobs, "publish", "deadline") == 0; time.Sleep(50 * time.Millisecond) {
		if time.Now().After(deadline) { // a bound only: the job's deadline is 2 s
			t.Fatalf("the publish job still runs a minute into the black hole (runs: %d ok, %d error)",
				runs(d.jobs, "publish", "ok"), runs(d.jobs, "publish", "error"))
		}
		if r := ask(t, d, "pt.", dns.TypeSOA); r.Rcode != dns.RcodeSuccess || len(r.Answer) == 0 {
			t.Fatalf("pt. SOA while the database is a black hole: %v", r)
		}
	}
	if why := cutShort(logs)["publish"]; !strings.Contains(why, "job publish ran past its deadline of 2s") {
		t.Errorf("the log says %q; want the publish job cut short by its deadline", why)
	}
	if now := servedSerial(d, "pt"); now != served {
		t.Errorf("pt served at serial %d, want %d as before", now, served)
	}
}
