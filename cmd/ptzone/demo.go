package main

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"path/filepath"
	"time"

	"github.com/ptzone/ptzone"
	"github.com/ptzone/ptzone/interchange"
	"github.com/ptzone/ptzone/policy"
	"github.com/ptzone/ptzone/store"
	"github.com/ptzone/ptzone/store/sqlite"
)

func demoCommand() *command {
	var sf storeFlags
	return &command{
		name:     "demo",
		synopsis: "[--data-dir DIR]",
		summary:  "Run ptzone on a sample registry, with nothing to install",
		help: `Loads the bundled sample registry (a few hundred .pt domains across
every hierarchy and status) into an embedded SQLite store of its own,
DIR/demo/registry.db, and prints what it holds, zone by zone. Running it
again starts from the same sample. No PostgreSQL and no root are needed.

Later stages of ptzone grow this into the whole pipeline: checks against
simulated nameservers, a signed zone served on 127.0.0.1, web pages and
metrics.`,
		flags: func(fs *flag.FlagSet) {
			fs.StringVar(&sf.dataDir, "data-dir", "", "data `DIR`; the demo uses DIR/demo (default $PTZONE_DATA_DIR, else $XDG_STATE_HOME/ptzone or ~/.local/state/ptzone)")
		},
		run: func(ctx context.Context, e *env, args []string) error {
			if len(args) > 0 {
				return usageErrorf("demo takes no arguments")
			}
			return runDemo(ctx, e, filepath.Join(sf.dataDirectory(e), "demo"))
		},
	}
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
	fmt.Fprintf(e.stdout, `
Try:
  go run ./cmd/ptzone names check açores-café.com.pt lisboa.pt xn--caf-dma.pt ab--cd.pt
  go run ./cmd/ptzone db export --db sqlite:%[1]s --zone pt --status active
  go run ./cmd/ptzone db stats --db sqlite:%[1]s
`, path)
	return nil
}
