package main

import (
	"context"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap"
	"golang.org/x/sys/unix"

	"github.com/ptzone/ptzone/daemon"
	"github.com/ptzone/ptzone/delegation"
	"github.com/ptzone/ptzone/internal/atomicfile"
	"github.com/ptzone/ptzone/internal/demo"
	"github.com/ptzone/ptzone/internal/storedsn"
	"github.com/ptzone/ptzone/policy"
	"github.com/ptzone/ptzone/publish"
	"github.com/ptzone/ptzone/store"
	"github.com/ptzone/ptzone/store/sqlite"
	"github.com/ptzone/ptzone/zonegen"
)

func demoCommand() *command {
	var (
		sf         storeFlags
		listen     string
		httpListen string
	)
	return &command{
		name:     "demo",
		synopsis: "[--data-dir DIR] [--listen ADDR] [--http ADDR]",
		summary:  "Run ptzone on a sample registry, with nothing to install",
		help: `Runs the whole of ptzone on the bundled sample registry (a few hundred .pt
domains across every hierarchy and status), on this machine alone:

 1. loads the sample into an embedded SQLite store, DIR/demo/registry.db;
 2. starts a lab of simulated name servers on loopback (127.0.0.0/8), one
    for each name server the sample names (its addresses rewritten into
    the lab's), some broken on purpose;
 3. checks every active delegation against them, as the daily sweep does
    (Art 4.2, 23.2);
 4. generates the zones' keys (DIR/demo/keys, the first time), then builds,
    signs, verifies, guards and publishes the .pt zones (DIR/demo/zones);
 5. serves them on 127.0.0.1 (--listen, default 127.0.0.1:5353), with the
    registrars' and operators' web pages and API and the metrics on
    --http (default 127.0.0.1:8053), and runs the daemon's schedule:
    publications every minute, checks of changed delegations, the sweep.

It prints a registrar's token (REG-2, whose broken domains the pages
explain), an operator's token, and what to try. Ctrl-C stops everything.
Running it again starts from the same sample and goes on from the last
publication. No PostgreSQL and no root are needed; the logs go to
DIR/demo/ptzone.log.`,
		flags: func(fs *flag.FlagSet) {
			fs.StringVar(&sf.dataDir, "data-dir", "", "data `DIR`; the demo uses DIR/demo (default $PTZONE_DATA_DIR, else $XDG_STATE_HOME/ptzone or ~/.local/state/ptzone)")
			fs.StringVar(&listen, "listen", "127.0.0.1:5353", "serve the zones on `ADDR` (host:port, loopback)")
			fs.StringVar(&httpListen, "http", "127.0.0.1:8053", "serve the web pages, API and metrics on `ADDR` (host:port, loopback)")
		},
		run: func(ctx context.Context, e *env, args []string) error {
			if len(args) > 0 {
				return usageErrorf("demo takes no arguments")
			}
			return runDemo(ctx, e, filepath.Join(sf.dataDirectory(e), "demo"), listen, httpListen)
		},
	}
}

func runDemo(ctx context.Context, e *env, dir, listen, httpListen string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	logFile, err := os.OpenFile(filepath.Join(dir, "ptzone.log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	defer logFile.Close()
	log := logger(logFile)

	start := time.Now()
	registry := storedsn.Default(dir)
	fmt.Fprintf(e.stdout, "ptzone demo\n\nRegistry: %s\n", registry)
	r, err := sqlite.Open(ctx, registry.Target)
	if err != nil {
		return err
	}
	defer r.Close()
	sample, err := demo.SampleRecords()
	if err != nil {
		return err
	}
	world, err := demo.NewWorld(sample)
	if err != nil {
		return err
	}
	res, err := r.Import(ctx, func(yield func(store.ImportRecord, error) bool) {
		for _, rec := range world.Records {
			if !yield(rec, nil) {
				return
			}
		}
	}, store.ImportReplace)
	if err != nil {
		return fmt.Errorf("loading the sample registry: %w", err)
	}
	fmt.Fprintf(e.stdout, "Loaded %d sample domains (%d new, %d updated, %d removed) in %s.\n\n",
		len(world.Records), res.Inserted, res.Updated, res.Deleted, time.Since(start).Round(time.Millisecond))
	counts, err := r.Counts(ctx)
	if err != nil {
		return err
	}
	printCounts(e.stdout, counts)
	publishable := 0
	for _, c := range counts {
		if policy.Publishable(c.Status) {
			publishable += c.Count
		}
	}
	fmt.Fprintf(e.stdout, "\n%d domains are active and so candidates for delegation (Art 4); the others\n"+
		"stay out of the zone: reserved (Art 4.2), pending_delete (Art 26.5),\n"+
		"suspended (Art 35, 39), removed (Art 22, 33).\n", publishable)

	lb, err := world.Start()
	if err != nil {
		return err
	}
	defer lb.Close()
	fmt.Fprintf(e.stdout, "\nLab: %d simulated name servers on 127.0.x.2, port %d, each on a network of its own,\n"+
		"and a resolver (%s) for those named without glue. The sample's addresses\n"+
		"(documentation ranges) now point there; its %d IPv6 glue addresses are left out.\n"+
		"Broken on purpose:\n", world.Servers(), lb.Port, world.Resolver, world.V6Dropped)
	for _, f := range demo.Faults() {
		fmt.Fprintf(e.stdout, "  %-34s %s\n", f.Domain, f.What)
	}

	cfg, cfgPath, registrarToken, operatorToken, err := demoConfig(dir, lb.Port, world.Resolver)
	if err != nil {
		return fmt.Errorf("demo: its configuration: %w", err)
	}
	fmt.Fprintf(e.stdout, "\nConfiguration: %s (the zones, their parameters, the schedule, the checks)\n", cfgPath)
	if err := r.SetRegistrarToken(ctx, demo.Registrar, store.HashToken(registrarToken)); err != nil {
		return err
	}
	if err := demoSweep(ctx, e, r, cfg, log); err != nil {
		return err
	}

	keys, _ := filepath.Glob(filepath.Join(dir, "keys", "K*.key"))
	if len(keys) == 0 {
		fmt.Fprintf(e.stdout, "\nGenerating the zones' DNSSEC keys (a KSK and a ZSK each, ECDSA P-256) into %s:\n", filepath.Join(dir, "keys"))
		if code := run(ctx, e, []string{"keys", "generate", "--all", "--config", cfgPath, "--data-dir", dir}); code != exitOK {
			return fmt.Errorf("generating the demo's keys failed (exit %d)", code)
		}
	}
	metrics := prometheus.NewRegistry()
	d, err := daemon.New(cfg, daemon.Deps{Registry: r, Locker: r, DataDir: dir, Log: log, Metrics: metrics})
	if err != nil {
		return err
	}
	if err := d.Start(ctx, []string{listen}, httpListen); err != nil {
		return fmt.Errorf("demo: %w (another --listen or --http address?)", err)
	}
	stopped := false
	stop := func() error {
		if stopped {
			return nil
		}
		stopped = true
		ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
		defer cancel()
		return d.Stop(ctx)
	}
	defer stop()
	fmt.Fprintf(e.stdout, "\nPublishing the zones into %s (built, signed, verified, guarded):\n", filepath.Join(dir, "zones"))
	outs, err := d.Publish(ctx, publish.Request{TriggeredBy: "demo"})
	if err != nil {
		return fmt.Errorf("demo: publishing: %w", err)
	}
	if !printOutcomes(e.stdout, outs) {
		return errors.New("demo: a zone was not published; see above")
	}
	printDemoTry(e.stdout, d, dir, cfgPath, registry.Target, registrarToken, operatorToken)
	<-ctx.Done()
	fmt.Fprintln(e.stdout, "\nStopping...")
	if err := stop(); err != nil {
		return err
	}
	fmt.Fprintln(e.stdout, "Stopped.")
	return nil
}

// demoConfig returns the daemon's configuration for the lab, from
// dir/ptzone.toml, written the first time with a section per zone and
// the defaults spelled out, for the user to change and run again. What
// belongs to this run is set over it: the checks go to the lab's port
// and loopback addresses, and a registrar's and an operator's tokens are
// made afresh.
func demoConfig(dir string, port int, resolver netip.Addr) (cfg *daemon.Config, path, registrarToken, operatorToken string, err error) {
	path = filepath.Join(dir, "ptzone.toml")
	if _, err := os.Stat(path); errors.Is(err, fs.ErrNotExist) {
		if err := atomicfile.Write(path, 0o644, func(w io.Writer) error { return writeDemoConfig(w, dir) }); err != nil {
			return nil, "", "", "", err
		}
	}
	if cfg, err = daemon.LoadConfig(path); err != nil {
		return nil, "", "", "", err
	}
	registrarToken, operatorToken = newToken(), newToken()
	cfg.Checks.Port, cfg.Checks.AllowPrivate = port, true
	cfg.Checks.Resolver, cfg.Checks.HintsFile = netip.AddrPortFrom(resolver, uint16(port)).String(), ""
	cfg.Operators = append(cfg.Operators, daemon.OperatorConfig{Name: "demo", TokenSHA256: hex.EncodeToString(store.HashToken(operatorToken))})
	return cfg, path, registrarToken, operatorToken, nil
}

// writeDemoConfig writes the demo's configuration file.
func writeDemoConfig(w io.Writer, dir string) error {
	var zones strings.Builder
	for _, z := range zonegen.DefaultZones() {
		fmt.Fprintf(&zones, "[zone.%q]\n", z)
	}
	_, err := fmt.Fprintf(w, `# The demo's configuration, written by the first run of ptzone demo: change
# it and run the demo again (deploy/ptzone.example.toml documents every
# setting; check it with: ptzone config check %[1]s). Each run sets
# the checks' port and resolver to its lab's, and makes new tokens.
data_dir = %[2]q
node = "demo"

[store]
dsn = %[3]q

[schedule]
publish = "@every 1m"
notify = "off"

[checks]
timeout = "400ms"

# The zones built and published, each with these defaults unless its
# section says otherwise: a lab's name servers, in documentation ranges.
[zone_defaults]
serial = "unixtime"
nameservers = [
  { name = "a.dns.pt", addrs = ["192.0.2.53", "2001:db8::53"] },
  { name = "b.dns.pt", addrs = ["198.51.100.53", "2001:db8:1::53"] },
  { name = "c.dns.pt", addrs = ["203.0.113.53", "2001:db8:2::53"] },
]
[zone_defaults.soa]
mname = "a.dns.pt"
rname = "hostmaster.dns.pt"
refresh = "30m"
retry = "15m"
expire = "14d"
minimum = "1h"
[zone_defaults.ttl]
delegation_ns = "1d"
ds = "1d"
[zone_defaults.signing]
validity = "14d"
refresh = "7d"
[zone_defaults.guard]
delegations_removed = { count = 10, percent = 1.0 }
window = "24h"

%[4]s`, filepath.Join(dir, "ptzone.toml"), dir, storedsn.Default(dir).String(), zones.String())
	return err
}

// demoSweep checks every active domain as the daily sweep does, with a
// progress line, and says what the broken ones got.
func demoSweep(ctx context.Context, e *env, r store.Registry, cfg *daemon.Config, log *zap.Logger) error {
	checker, err := cfg.Checker()
	if err != nil {
		return err
	}
	tty := isTerminal(e.stdout)
	shown := 0
	sw := &delegation.Sweeper{Checker: checker, Store: r, Lifecycle: cfg.Lifecycle(), Log: log.Named("sweep"),
		Progress: func(checked, total int) {
			// A terminal gets a line redrawn; a log, a line a quarter.
			switch {
			case tty:
				fmt.Fprintf(e.stdout, "\r  checked %d of %d", checked, total)
			case total > 0 && checked*4/total > shown:
				shown = checked * 4 / total
				fmt.Fprintf(e.stdout, "  checked %d of %d\n", checked, total)
			}
		}}
	fmt.Fprintln(e.stdout, "\nChecking every active delegation against its name servers (Art 4.2, 23.2):")
	st, err := sw.Run(ctx)
	if tty {
		fmt.Fprintln(e.stdout)
	}
	if err != nil {
		return fmt.Errorf("demo: the sweep: %w", err)
	}
	fmt.Fprintf(e.stdout, "  %d domains checked in %s (%d queries), %d failing.\n", st.Checked, st.Elapsed.Round(time.Millisecond), st.Queries, st.Failed)
	fmt.Fprintln(e.stdout, "What the broken ones got:")
	for _, f := range demo.Faults() {
		s, err := r.DelegationState(ctx, f.Domain)
		if err != nil {
			return fmt.Errorf("demo: the state of %s: %w", f.Domain, err)
		}
		worst := ""
		for _, sev := range []store.Severity{store.SeverityError, store.SeverityWarning} {
			for _, fd := range s.Findings {
				if fd.Severity == sev && worst == "" {
					worst = fmt.Sprintf("%s (%s)", fd.Code, fd.Article)
				}
			}
		}
		fmt.Fprintf(e.stdout, "  %-34s %-7s %s\n", f.Domain, s.LastVerdict, worst)
	}
	return nil
}

// isTerminal reports whether w is a terminal: a character device that
// answers a terminal's ioctl (/dev/null is a character device too).
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	_, err := unix.IoctlGetTermios(int(f.Fd()), unix.TCGETS)
	return err == nil
}

// printDemoTry says where everything is, and what to try.
func printDemoTry(w io.Writer, d *daemon.Daemon, dir, cfgPath, registry, registrarToken, operatorToken string) {
	dnsAddr := d.DNSAddrs()[0].String()
	host, port, _ := net.SplitHostPort(dnsAddr)
	web := "http://" + d.HTTPAddr().String()
	fmt.Fprintf(w, `
Serving the signed zones on %[1]s (UDP and TCP). Ask them:
  kdig @%[2]s -p %[3]s pt. SOA +dnssec
  kdig @%[2]s -p %[3]s adega-cooperativa-exemplo.pt. NS +dnssec   # a referral with its signed DS
  kdig @%[2]s -p %[3]s alojamento-local-exemplo.pt. NS +dnssec    # unsigned: the NSEC3 proof of no DS
  kdig @%[2]s -p %[3]s geladaria-fresca.pt. NS +dnssec   # broken: not delegated (Art 4.2)
  kdig @%[2]s -p %[3]s nao-existe.pt. A +dnssec         # NXDOMAIN with its NSEC3 proof
  dig @%[2]s -p %[3]s pt. DNSKEY +dnssec +multi

Web pages, API and metrics on %[4]s/
  Registrar REG-2's token (its broken domains, their findings and fixes):
    %[5]s
  Log in at %[4]s/registrar/ with it, or:
    curl -H 'Authorization: Bearer %[5]s' '%[4]s/api/v1/registrar/domains?state=refused'
  An operator's token:
    %[6]s
    curl -H 'Authorization: Bearer %[6]s' %[4]s/api/v1/operator/status
    curl -H 'Authorization: Bearer %[6]s' -d '{"dry_run":true}' %[4]s/api/v1/operator/publish
  curl -s %[4]s/metrics | grep '^ptzone_'

Also:
  go run ./cmd/ptzone config check %[10]s
  go run ./cmd/ptzone zone build --config %[10]s --zone pt --out /tmp/ptzone-build
  go run ./cmd/ptzone db export --db sqlite:%[7]s --zone pt --status active
  go run ./cmd/ptzone zone verify %[8]s/pt.zone
  kzonecheck -o pt. -d on %[8]s/pt.zone
  tail -f %[9]s/ptzone.log
Ctrl-C stops the demo.
`, dnsAddr, host, port, web, registrarToken, operatorToken, registry, filepath.Join(dir, "zones"), dir, cfgPath)
}
