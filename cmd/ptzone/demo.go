package main

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"io"
	"net"
	"path/filepath"
	"time"

	"github.com/ptzone/ptzone"
	"github.com/ptzone/ptzone/authserver"
	"github.com/ptzone/ptzone/daemon"
	"github.com/ptzone/ptzone/interchange"
	"github.com/ptzone/ptzone/policy"
	"github.com/ptzone/ptzone/store"
	"github.com/ptzone/ptzone/store/sqlite"
)

func demoCommand() *command {
	var (
		sf     storeFlags
		listen string
	)
	return &command{
		name:     "demo",
		synopsis: "[--data-dir DIR] [--listen ADDR]",
		summary:  "Run ptzone on a sample registry, with nothing to install",
		help: `Loads the bundled sample registry (a few hundred .pt domains across
every hierarchy and status) into an embedded SQLite store of its own,
DIR/demo/registry.db, and prints what it holds, zone by zone. Then it
publishes the .pt zones as 'ptzone zone publish' does: keys generated into
DIR/demo/keys (the first time), every zone built, signed with NSEC3
opt-out and ZONEMD, verified independently, judged by the guard and written
into DIR/demo/zones. Running it again starts from the same sample and
goes on from the last publication: the sample unchanged, each zone stays
as it is ("unchanged") until its signatures are due for refresh. Last, it
serves the signed zones on 127.0.0.1 (--listen, default 127.0.0.1:5353) as
'ptzone serve' does, until interrupted (Ctrl-C). No PostgreSQL and no root
are needed.

Until the delegation checker exists every active domain counts as checked
(--assume-checked). Later stages grow the demo into the whole pipeline:
checks against simulated nameservers, web pages and metrics.`,
		flags: func(fs *flag.FlagSet) {
			fs.StringVar(&sf.dataDir, "data-dir", "", "data `DIR`; the demo uses DIR/demo (default $PTZONE_DATA_DIR, else $XDG_STATE_HOME/ptzone or ~/.local/state/ptzone)")
			fs.StringVar(&listen, "listen", "127.0.0.1:5353", "serve the zones on `ADDR` (host:port, loopback)")
		},
		run: func(ctx context.Context, e *env, args []string) error {
			if len(args) > 0 {
				return usageErrorf("demo takes no arguments")
			}
			dir := filepath.Join(sf.dataDirectory(e), "demo")
			if err := runDemo(ctx, e, dir); err != nil {
				return err
			}
			return demoServe(ctx, e, dir, listen)
		},
	}
}

// demoServe serves the demo's published zones until ctx ends, and says
// what to ask them.
func demoServe(ctx context.Context, e *env, dir, listen string) error {
	log := logger(io.Discard)
	zones := filepath.Join(dir, "zones")
	p, err := daemon.LoadPublished(zones, daemon.DefaultZones, log)
	if err != nil {
		return err
	}
	srv := authserver.New(authserver.Config{Identity: "ptzone-demo"}, log)
	srv.Swap(p.Snapshot)
	addr, err := srv.Listen(listen)
	if err != nil {
		return fmt.Errorf("demo: serving the zones: %w (another --listen address?)", err)
	}
	defer func() {
		stop, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		srv.Shutdown(stop)
	}()
	host, port, _ := net.SplitHostPort(addr.String())
	fmt.Fprintf(e.stdout, `
Serving the signed zones on %[1]s (UDP and TCP). Ask them:
  kdig @%[2]s -p %[3]s pt. SOA +dnssec
  kdig @%[2]s -p %[3]s adega-cooperativa-exemplo.pt. NS +dnssec   # a referral with its signed DS
  kdig @%[2]s -p %[3]s alojamento-local-exemplo.pt. NS +dnssec    # unsigned: the NSEC3 proof of no DS
  kdig @%[2]s -p %[3]s nao-existe.pt. A +dnssec    # NXDOMAIN with its NSEC3 proof
  dig @%[2]s -p %[3]s pt. DNSKEY +dnssec +multi
Ctrl-C stops the demo.
`, addr, host, port)
	<-ctx.Done()
	fmt.Fprintln(e.stdout, "\nStopped.")
	return nil
}

func runDemo(ctx context.Context, e *env, dir string) error {
	start := time.Now()
	path := filepath.Join(dir, "registry.db")
	fmt.Fprintf(e.stdout, "ptzone demo\n\nRegistry: sqlite:%s\n", path)
	r, err := sqlite.Open(ctx, path)
	if err != nil {
		return err
	}
	defer r.Close()

	pol := policy.New(policy.Lists{})
	v := interchange.Validator{Policy: pol, Mode: policy.Existing}
	const name = "testdata/registry/sample.jsonl (embedded)"
	rep, err := interchange.Validate(bytes.NewReader(ptzone.SampleRegistry), name, v, 10)
	if err != nil {
		return err
	}
	if rep.ErrorCount > 0 {
		return fmt.Errorf("the embedded sample registry is invalid: %v", rep.Errors[0])
	}
	res, err := r.Import(ctx, interchange.Records(bytes.NewReader(ptzone.SampleRegistry), name, v), store.ImportReplace)
	if err != nil {
		return fmt.Errorf("loading the sample registry: %w", err)
	}
	fmt.Fprintf(e.stdout, "Loaded %d sample domains (%d new, %d updated, %d removed) in %s.\n\n",
		rep.Domains, res.Inserted, res.Updated, res.Deleted, time.Since(start).Round(time.Millisecond))

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

	if err := demoPublish(ctx, e, dir); err != nil {
		return err
	}
	zones := filepath.Join(dir, "zones")
	fmt.Fprintf(e.stdout, `
Try:
  go run ./cmd/ptzone names check açores-café.com.pt lisboa.pt xn--caf-dma.pt ab--cd.pt
  go run ./cmd/ptzone db export --db sqlite:%[1]s --zone pt --status active
  go run ./cmd/ptzone zone verify %[2]s/pt.zone
  go run ./cmd/ptzone keys ds --data-dir %[3]s --zone pt
  kzonecheck -o pt. -d on %[2]s/pt.zone
  go run ./cmd/ptzone demo     # again: goes on from the last publication
`, path, zones, dir)
	return nil
}

// demoPublish generates the demo's keys if it has none, then publishes
// the zones through the same commands an operator runs.
func demoPublish(ctx context.Context, e *env, dir string) error {
	keys, _ := filepath.Glob(filepath.Join(dir, "keys", "K*.key"))
	if len(keys) == 0 {
		fmt.Fprintf(e.stdout, "\nGenerating the zones' DNSSEC keys (a KSK and a ZSK each, ECDSA P-256) into %s:\n", filepath.Join(dir, "keys"))
		if code := run(ctx, e, []string{"keys", "generate", "--all", "--data-dir", dir}); code != exitOK {
			return fmt.Errorf("generating the demo's keys failed (exit %d)", code)
		}
	}
	fmt.Fprintf(e.stdout, "\nPublishing the zones into %s (built, signed, verified, guarded):\n", filepath.Join(dir, "zones"))
	if code := run(ctx, e, []string{"zone", "publish", "--assume-checked", "--data-dir", dir}); code != exitOK {
		return fmt.Errorf("publishing the demo's zones failed (exit %d)", code)
	}
	return nil
}
