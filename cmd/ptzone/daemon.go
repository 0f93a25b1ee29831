package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"go.uber.org/zap"

	"github.com/ptzone/ptzone/daemon"
	"github.com/ptzone/ptzone/internal/sdnotify"
	"github.com/ptzone/ptzone/internal/storedsn"
	"github.com/ptzone/ptzone/store"
	"github.com/ptzone/ptzone/store/postgres"
)

// servingStatus is the daemon's state on one line, for systemctl status.
func servingStatus(d *daemon.Daemon) string {
	var addrs []string
	for _, a := range d.DNSAddrs() {
		addrs = append(addrs, a.String())
	}
	zones := 0
	if snap := d.Server().Current(); snap != nil {
		zones = len(snap.Zones())
	}
	status := fmt.Sprintf("serving %d zones on %s", zones, strings.Join(addrs, " "))
	if zones == 0 {
		status = fmt.Sprintf("DNS on %s: nothing published yet, queries refused until the first publication", strings.Join(addrs, " "))
	}
	if problem := d.StoreProblem(); problem != "" {
		status += "; " + problem
	}
	return status
}

// openLazily opens the registry the flags name without waiting for it:
// PostgreSQL is connected to when first used (the daemon serves its
// zones whatever the database's state, and reaches it in the
// background); SQLite, a file in the data directory, is opened at once.
func (s *storeFlags) openLazily(ctx context.Context, e *env) (store.Registry, storedsn.DSN, error) {
	b, err := s.backend(e)
	if err != nil {
		return nil, b, err
	}
	if b.Kind != storedsn.Postgres {
		return s.open(ctx, e)
	}
	r, err := postgres.OpenLazyWith(b.Target, s.postgres)
	if err != nil {
		return nil, b, usageErrorf("--db %v", err)
	}
	return r, b, nil
}

func daemonCommand() *command {
	var (
		sf         storeFlags
		configFile string
		listen     stringList
		httpListen string
		drain      time.Duration
	)
	return &command{
		name:     "daemon",
		synopsis: "--config FILE [flags]",
		summary:  "Run ptzone as a service: publish, check, notify and serve on a schedule",
		help: `Runs until SIGTERM or SIGINT: serves the zones last published into
DATA-DIR/zones at once (before the database is consulted), then on the
configuration's schedule publishes the zones, checks new and changed
delegations, sweeps every active domain once a day, delivers the notices
and prunes old history. The web server (http.listen) serves /metrics,
/healthz and /readyz.

The database may be down, unreachable or not yet migrated when the
daemon starts, or go away while it runs: DNS and transfers go on from
the data directory, the jobs that need the database are skipped (logged,
and counted as database_down), and the daemon retries in the background,
every half a second at first, then less often, up to every 30 s. When
the database answers again the jobs skipped run at once. Meanwhile
/healthz is ok, /readyz answers 503 "degraded", ptzone_database_up is 0,
and systemctl status says "database unreachable".

Daemons sharing one PostgreSQL elect one publisher among them; the others
check and notify, and take over the publishing within one publish interval
when it stops. On SIGTERM the running jobs are given --drain to finish.
SIGHUP reads the configuration again: the zones, schedule, checks,
notices, publications, operators' tokens and the server's TSIG keys,
transfers and answers follow the new one; a file with an error is
refused whole, and the configuration in force kept. Listen addresses,
the zones served and the store take effect at the next restart.

Under systemd (a unit of Type=notify, as deploy/ptzone.service is), the
daemon tells systemd on $NOTIFY_SOCKET when it is ready: its DNS and HTTP
listeners up and the last published zones served. It says so again after
each SIGHUP, and when it begins to stop; systemctl status shows its state
on one line.

The registry is --db, else store.dsn, else PTZONE_DB, else SQLite in the
data directory. The log goes to standard error as the [log] section says
(JSON unless standard error is a terminal). See
deploy/ptzone.example.toml for every setting.`,
		flags: func(fs *flag.FlagSet) {
			sf.register(fs)
			fs.StringVar(&configFile, "config", "", "configuration `FILE` (TOML)")
			fs.Var(&listen, "listen", "serve DNS on `ADDR` (repeatable; default the configuration's server.listen)")
			fs.StringVar(&httpListen, "http", "", "serve the web pages, API and metrics on `ADDR` (default the configuration's http.listen)")
			fs.DurationVar(&drain, "drain", 30*time.Second, "on SIGTERM, how long running jobs are given to finish")
		},
		run: func(ctx context.Context, e *env, args []string) error {
			if len(args) > 0 {
				return usageErrorf("daemon takes no arguments")
			}
			cfg := &daemon.Config{}
			if configFile != "" {
				var err error
				if cfg, err = daemon.LoadConfig(configFile); err != nil {
					return inputError(err)
				}
			}
			if sf.dataDir == "" {
				sf.dataDir = cfg.DataDir
			}
			if sf.dsn == "" {
				sf.dsn = cfg.Store.DSN
			}
			sf.postgres.StatementTimeout = cfg.Store.StatementTimeout.Duration
			log, level := commandLogger(e, cfg.Log)
			systemd, err := sdnotify.New(e.getenv("NOTIFY_SOCKET"))
			if err != nil {
				// systemd waits for a READY=1 that cannot come, and
				// says so when it gives up.
				log.Error("cannot tell systemd the daemon's state", zap.Error(err))
				systemd = &sdnotify.Notifier{}
			}
			tell := func(err error) {
				if err != nil {
					log.Warn("telling systemd the daemon's state", zap.Error(err))
				}
			}
			reg, b, err := sf.openLazily(ctx, e)
			if err != nil {
				return err
			}
			defer reg.Close()
			locker, _ := reg.(store.Locker)
			metrics := prometheus.NewRegistry()
			metrics.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
			var d *daemon.Daemon
			// Called only once Start is done, when d is set.
			storeChanged := func() { tell(systemd.Status(servingStatus(d))) }
			d, err = daemon.New(cfg, daemon.Deps{Registry: reg, Locker: locker, DataDir: sf.dataDirectory(e), Log: log, Metrics: metrics,
				StoreChanged: storeChanged})
			if err != nil {
				return inputError(err)
			}
			dns := []string(listen)
			if len(dns) == 0 {
				dns = cfg.Listen()
			}
			if httpListen == "" {
				httpListen = cfg.HTTP.Listen
			}
			// SIGHUP is caught from before the first line is printed.
			hup := make(chan os.Signal, 1)
			signal.Notify(hup, syscall.SIGHUP)
			defer signal.Stop(hup)
			if err := d.Start(ctx, dns, httpListen); err != nil {
				return err
			}
			for _, a := range d.DNSAddrs() {
				fmt.Fprintf(e.stdout, "serving DNS on %s\n", a)
			}
			if a := d.HTTPAddr(); a != nil {
				fmt.Fprintf(e.stdout, "serving HTTP on http://%s/\n", a)
			}
			fmt.Fprintf(e.stdout, "registry %s, node %s\n", b, cfg.NodeName())
			// Start has served the last published zones and bound every
			// listener: the daemon is ready, whatever the database's state
			// (the status line says it).
			tell(systemd.Ready(servingStatus(d)))
			for done := false; !done; {
				select {
				case <-ctx.Done():
					done = true
				case <-hup:
					if configFile == "" {
						log.Warn("SIGHUP: no configuration file to read again")
						continue
					}
					tell(systemd.Reloading("reading " + configFile))
					next, err := daemon.LoadConfig(configFile)
					if err == nil {
						// The reload's own lines are logged at the new level.
						prev := level.Level()
						level.SetLevel(next.Log.ZapLevel())
						if err = d.Reload(ctx, next); err != nil {
							level.SetLevel(prev)
						}
					}
					if err != nil {
						log.Error("SIGHUP: the configuration is refused; the one in force is kept", zap.Error(err))
						tell(systemd.Ready(servingStatus(d) + "; the configuration reloaded is refused: " + err.Error()))
						continue
					}
					if next.Log.JSON(isTerminal(e.stderr)) != cfg.Log.JSON(isTerminal(e.stderr)) {
						log.Warn("log.format changed: it takes effect at the next restart")
					}
					cfg = next
					tell(systemd.Ready(servingStatus(d)))
				}
			}
			tell(systemd.Stopping(fmt.Sprintf("stopping: running jobs have %s to finish", drain)))
			stop, cancel := context.WithTimeout(context.WithoutCancel(ctx), drain)
			defer cancel()
			return d.Stop(stop)
		},
	}
}
