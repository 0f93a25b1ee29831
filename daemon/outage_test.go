package daemon

import (
	"context"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/miekg/dns"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"

	"github.com/ptzone/ptzone/internal/testkit"
	"github.com/ptzone/ptzone/store"
	"github.com/ptzone/ptzone/store/postgres"
	"github.com/ptzone/ptzone/store/postgres/pgtest"
	"github.com/ptzone/ptzone/zonegen"
)

// jobRuns is how many of a job's runs ended with the outcome given.
func jobRuns(d *Daemon, job, outcome string) int {
	return int(testutil.ToFloat64(d.jobs.runs.WithLabelValues(job, outcome)))
}

// getPath fetches a path of the daemon's web server.
func getPath(t *testing.T, d *Daemon, path string) (int, string) {
	t.Helper()
	c := &http.Client{Timeout: 10 * time.Second}
	r, err := c.Get("http://" + d.HTTPAddr().String() + path)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Body.Close()
	b, _ := io.ReadAll(r.Body)
	return r.StatusCode, string(b)
}

// TestDaemonThroughDatabaseOutage, on a PostgreSQL cluster the test
// stops while the daemon runs: the first job to need it fails at once
// and says the database is unreachable; from then on DNS answers as last
// published (signed), the jobs are skipped and counted as database_down,
// an operator's publication and status are refused with ErrStoreDown,
// /readyz says degraded while /healthz stays ok, and ptzone_database_up
// is 0. Started again, the database is found by the retries, and the
// jobs skipped run at once, without waiting for their schedule: the
// domain registered before the outage is published.
func TestDaemonThroughDatabaseOutage(t *testing.T) {
	ctx := context.Background()
	cluster := pgtest.NewCluster(t)
	db, err := postgres.OpenLazy(cluster.NewMigrated(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	keys := t.TempDir()
	testkit.GenerateKeyFiles(t, keys, time.Now().Add(-time.Hour), zonegen.DefaultZones()...)
	cfg := labConfig("a", 53)
	cfg.Publish.KeysDir = keys
	cfg.Publish.AssumeChecked = true
	core, logs := observer.New(zapcore.InfoLevel)
	d, err := New(cfg, Deps{Registry: db, Locker: db, DataDir: t.TempDir(), Log: zap.New(core)})
	if err != nil {
		t.Fatal(err)
	}
	// The drop is left for a job to find (no probe between), and the
	// retries come quickly.
	d.db.every = time.Hour
	d.db.backoff = retryBackoff{First: 20 * time.Millisecond, Max: 200 * time.Millisecond}
	if err := d.Start(ctx, []string{"127.0.0.1:0"}, "127.0.0.1:0"); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		stop, cancel := context.WithTimeout(ctx, 10*time.Second)
		defer cancel()
		d.Stop(stop)
	})
	publishNow(t, d)
	published := servedSerial(d, "pt")
	if err := db.PutRegistrar(ctx, store.Registrar{ID: "REG-1", Name: "Registo Um", Email: "tech@registo.pt"}); err != nil {
		t.Fatal(err)
	}
	err = db.PutDomain(ctx, store.Domain{Name: "novo.pt", Zone: "pt", Status: store.StatusActive, Registrar: "REG-1",
		TechEmail: "dns@novo.pt", Expires: time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC),
		Nameservers: []store.Nameserver{{Name: "ns1.example.net"}, {Name: "ns2.example.org"}}})
	if err != nil {
		t.Fatal(err)
	}

	cluster.Stop(t)
	if err := d.Scheduler().RunNow("publish"); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the publish job failing", func() bool { return jobRuns(d, "publish", "error") == 1 })
	failed := logs.FilterMessage("job failed").All()
	if len(failed) != 1 || !strings.Contains(failed[0].ContextMap()["error"].(string), "the database is unreachable") {
		t.Errorf("the failed job's log does not say the database is unreachable: %v", failed)
	}
	if len(logs.FilterMessage("the database has become unreachable: the zones last published are still served, and the jobs wait until it answers; retrying").All()) != 1 {
		t.Error("the drop is not logged once")
	}

	// DNS answers as published, signed.
	r := ask(t, d, "pt.", dns.TypeSOA)
	if len(r.Answer) != 2 || r.Answer[0].(*dns.SOA).Serial != published || r.Answer[1].(*dns.RRSIG).TypeCovered != dns.TypeSOA {
		t.Errorf("pt. SOA during the outage: %v", r)
	}
	if code, body := getPath(t, d, "/readyz"); code != http.StatusServiceUnavailable || !strings.Contains(body, "degraded: 8 zones served as last published; the database is unreachable since") {
		t.Errorf("/readyz during the outage: %d %s", code, body)
	}
	if code, body := getPath(t, d, "/healthz"); code != http.StatusOK {
		t.Errorf("/healthz during the outage: %d %s", code, body)
	}
	if _, body := getPath(t, d, "/metrics"); !strings.Contains(body, "\nptzone_database_up 0\n") {
		t.Error("/metrics during the outage lacks ptzone_database_up 0")
	}
	if _, err := d.Publish(ctx, publishRequest("operator")); !errors.Is(err, ErrStoreDown) {
		t.Errorf("a publication asked during the outage: %v, want ErrStoreDown", err)
	}
	if _, err := d.Status(ctx); !errors.Is(err, ErrStoreDown) {
		t.Errorf("the status asked during the outage: %v, want ErrStoreDown", err)
	}
	if err := d.Scheduler().RunNow("checks"); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the checks job skipped", func() bool { return jobRuns(d, "checks", OutcomeStoreDown) == 1 })
	if in, _ := delegated(t, d, "novo.pt"); in {
		t.Fatal("novo.pt delegated while the database was down")
	}

	cluster.Start(t)
	t.Cleanup(func() {
		if t.Failed() {
			for _, e := range logs.All() {
				t.Logf("%s %s %v", e.Level, e.Message, e.ContextMap())
			}
		}
	})
	waitFor(t, "novo.pt published once the database is back", func() bool {
		in, _ := delegated(t, d, "novo.pt")
		return in
	})
	waitFor(t, "the checks job run once the database is back", func() bool { return jobRuns(d, "checks", "ok") == 1 })
	if code, body := getPath(t, d, "/readyz"); code != http.StatusOK {
		t.Errorf("/readyz after the outage: %d %s", code, body)
	}
	if _, body := getPath(t, d, "/metrics"); !strings.Contains(body, "\nptzone_database_up 1\n") {
		t.Error("/metrics after the outage lacks ptzone_database_up 1")
	}
	if served := servedSerial(d, "pt"); served <= published {
		t.Errorf("serial %d served after the outage, %d before", served, published)
	}
	if jobRuns(d, "publish", "ok") != 1 {
		t.Errorf("publish job runs ok: %d, want the one held", jobRuns(d, "publish", "ok"))
	}
}
