package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/ptzone/ptzone/interchange"
	"github.com/ptzone/ptzone/internal/atomicfile"
	"github.com/ptzone/ptzone/internal/storedsn"
	"github.com/ptzone/ptzone/policy"
	"github.com/ptzone/ptzone/store"
	"github.com/ptzone/ptzone/store/postgres"
	"github.com/ptzone/ptzone/store/synth"
)

func dbCommand() *command {
	return &command{
		name:    "db",
		summary: "Manage the registry database: migrate, import, export, generate, stats",
		subs: []*command{
			dbMigrateCommand(),
			dbImportCommand(),
			dbExportCommand(),
			dbGenerateCommand(),
			dbStatsCommand(),
		},
	}
}

func dbMigrateCommand() *command {
	var sf storeFlags
	return &command{
		name:     "migrate",
		synopsis: "[--db DSN]",
		summary:  "Create or upgrade the database schema",
		help: `Applies the schema migrations embedded in this binary that the database
does not have yet. Running it again changes nothing; several processes may
run it at once. The SQLite store migrates itself when opened.`,
		flags: sf.register,
		run: func(ctx context.Context, e *env, args []string) error {
			if len(args) > 0 {
				return usageErrorf("db migrate takes no arguments")
			}
			b, err := sf.backend(e)
			if err != nil {
				return err
			}
			if b.Kind == storedsn.Postgres {
				applied, err := postgres.Migrate(ctx, b.Target)
				if err != nil {
					return err
				}
				if len(applied) == 0 {
					fmt.Fprintf(e.stdout, "%s: schema already at version %d\n", b, postgres.SchemaVersion())
				} else {
					fmt.Fprintf(e.stdout, "%s: applied migrations %v; schema at version %d\n", b, applied, postgres.SchemaVersion())
				}
				return nil
			}
			r, _, err := sf.open(ctx, e)
			if err != nil {
				return err
			}
			fmt.Fprintf(e.stdout, "%s: schema current\n", b)
			return r.Close()
		},
	}
}

func dbImportCommand() *command {
	var (
		sf        storeFlags
		pf        policyFlags
		replace   bool
		strict    bool
		maxErrors int
	)
	return &command{
		name:     "import",
		synopsis: "[flags] FILE",
		summary:  "Import domains from a JSON Lines file, all or nothing",
		help: `Reads FILE (JSON Lines, one domain a line; "-" for standard input),
validates every line first (syntax, fields, addresses, DS records, names
against the Rules, duplicates) and reports each problem as FILE:LINE: FIELD:
MESSAGE. Only a file without a single problem is imported, in one
transaction: a failure leaves the registry as it was.

By default the import adds domains and refuses names already registered.
With --replace the registry becomes exactly the file: domains not in it are
deleted, the others updated in place (keeping their check history).

Names are checked as existing registrations (Art 8, 9.1.e, hierarchy):
prohibitions added by later Rules do not reach back (Art 41.2-41.4). With
--strict every registration rule applies.`,
		flags: func(fs *flag.FlagSet) {
			sf.register(fs)
			pf.register(fs)
			fs.BoolVar(&replace, "replace", false, "make the registry equal to the file (delete domains absent from it)")
			fs.BoolVar(&strict, "strict", false, "apply every registration rule to the names, not only the composition rules")
			fs.IntVar(&maxErrors, "max-errors", 50, "report at most `N` problems")
		},
		run: func(ctx context.Context, e *env, args []string) error {
			if len(args) != 1 {
				return usageErrorf("db import: give exactly one FILE")
			}
			pol, err := pf.policy()
			if err != nil {
				return err
			}
			v := interchange.Validator{Policy: pol, Mode: policy.Existing}
			if strict {
				v.Mode = policy.Registration
			}
			path, cleanup, err := importSource(e, args[0])
			if err != nil {
				return err
			}
			defer cleanup()
			name := args[0]
			if name == "-" {
				name = "stdin"
			}

			start := time.Now()
			prog := newProgress(e.stderr, "import "+name)
			defer prog.done()
			prog.phase("validating")
			rep, err := validateFile(path, name, v, max(maxErrors, 1))
			prog.done()
			if err != nil {
				return err
			}
			for _, le := range rep.Errors {
				fmt.Fprintln(e.stderr, le)
			}
			if rep.ErrorCount > 0 {
				if more := rep.ErrorCount - len(rep.Errors); more > 0 {
					fmt.Fprintf(e.stderr, "... and %d more problems\n", more)
				}
				return inputError(fmt.Errorf("%s: %s; nothing was imported", name, count(rep.ErrorCount, "problem", "problems")))
			}

			r, b, err := sf.open(ctx, e)
			if err != nil {
				return err
			}
			defer r.Close()
			f, err := os.Open(path)
			if err != nil {
				return err
			}
			defer f.Close()
			mode := store.ImportInsert
			if replace {
				mode = store.ImportReplace
			}
			read := 0
			records := func(yield func(store.ImportRecord, error) bool) {
				for rec, err := range interchange.Records(f, name, v) {
					read++
					prog.step(read, rep.Domains)
					if !yield(rec, err) {
						return
					}
				}
			}
			res, err := r.Import(ctx, records, mode)
			prog.done()
			var ce *store.ConflictError
			var le *interchange.LineError
			switch {
			case errors.As(err, &ce):
				for _, c := range ce.Conflicts {
					fmt.Fprintf(e.stderr, "%s:%d: name: %s is already registered\n", name, c.Line, c.Name)
				}
				return inputError(fmt.Errorf("%s: %s already registered (use --replace to replace the registry); nothing was imported",
					name, count(ce.Total, "name is", "names are")))
			case errors.As(err, &le):
				return inputError(fmt.Errorf("%w (the file changed while importing?); nothing was imported", le))
			case err != nil:
				return fmt.Errorf("importing %s into %s: %w; nothing was imported", name, b, err)
			}
			fmt.Fprintf(e.stdout, "imported %d domains from %s into %s in %s: %d inserted, %d updated, %d unchanged, %d deleted; %d registrars created\n",
				rep.Domains, name, b, time.Since(start).Round(time.Millisecond),
				res.Inserted, res.Updated, rep.Domains-res.Inserted-res.Updated, res.Deleted, res.RegistrarsCreated)
			return nil
		},
	}
}

// count renders n with the singular or plural noun.
func count(n int, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return fmt.Sprintf("%d %s", n, many)
}

// importSource returns a path the import can read twice (validation, then
// import); standard input is spooled to a temporary file.
func importSource(e *env, arg string) (path string, cleanup func(), err error) {
	if arg != "-" {
		if _, err := os.Stat(arg); err != nil {
			return "", nil, inputError(err)
		}
		return arg, func() {}, nil
	}
	f, err := os.CreateTemp("", "ptzone-import-*.jsonl")
	if err != nil {
		return "", nil, err
	}
	cleanup = func() { os.Remove(f.Name()) }
	if _, err := io.Copy(f, e.stdin); err != nil {
		f.Close()
		cleanup()
		return "", nil, fmt.Errorf("reading standard input: %w", err)
	}
	if err := f.Close(); err != nil {
		cleanup()
		return "", nil, err
	}
	return f.Name(), cleanup, nil
}

func validateFile(path, name string, v interchange.Validator, maxErrors int) (interchange.Report, error) {
	f, err := os.Open(path)
	if err != nil {
		return interchange.Report{}, inputError(err)
	}
	defer f.Close()
	return interchange.Validate(f, name, v, maxErrors)
}

func dbExportCommand() *command {
	var (
		sf       storeFlags
		zone     string
		statuses string
		output   string
	)
	return &command{
		name:     "export",
		synopsis: "[flags]",
		summary:  "Export domains as JSON Lines",
		help: `Writes the registry's domains, in name order, in the interchange format
(JSON Lines) to standard output or to --output, which is replaced
atomically. The export reads one consistent snapshot; exporting and
importing the result into an empty registry reproduces it exactly.`,
		flags: func(fs *flag.FlagSet) {
			sf.register(fs)
			fs.StringVar(&zone, "zone", "", "export only the domains of `ZONE`")
			fs.StringVar(&statuses, "status", "", "export only these `STATUSES` (comma-separated)")
			fs.StringVar(&output, "output", "", "write to `FILE` instead of standard output")
		},
		run: func(ctx context.Context, e *env, args []string) error {
			if len(args) > 0 {
				return usageErrorf("db export takes no arguments")
			}
			filter := store.Filter{Zone: zone}
			if zone != "" {
				if _, ok := policy.HierarchyOf(zone); !ok {
					return usageErrorf("db export: --zone %q is not a .pt hierarchy", zone)
				}
			}
			if statuses != "" {
				for _, s := range strings.Split(statuses, ",") {
					st := store.Status(strings.TrimSpace(s))
					if !st.Valid() {
						return usageErrorf("db export: --status %q is not a status", s)
					}
					filter.Statuses = append(filter.Statuses, st)
				}
			}
			r, _, err := sf.open(ctx, e)
			if err != nil {
				return err
			}
			defer r.Close()
			n := 0
			err = writeOutput(e, output, func(w io.Writer) error {
				snap, err := r.Snapshot(ctx)
				if err != nil {
					return err
				}
				defer snap.Close()
				jw := interchange.NewWriter(w)
				for c, err := range snap.Domains(ctx, filter) {
					if err != nil {
						return err
					}
					if err := jw.Write(c.Domain); err != nil {
						return err
					}
					n++
				}
				return jw.Flush()
			})
			if err != nil {
				return fmt.Errorf("export: %w", err)
			}
			fmt.Fprintf(e.stderr, "exported %d domains\n", n)
			return nil
		},
	}
}

func dbGenerateCommand() *command {
	var (
		domains int
		seed    uint64
		output  string
	)
	return &command{
		name:     "generate",
		synopsis: "--domains N [--seed S] [--output FILE]",
		summary:  "Write a synthetic registry shaped like .pt",
		help: `Writes N synthetic domains in the interchange format: .pt's spread over
hierarchies and statuses, about 8% with DS records (legacy algorithms
included), about 10% with their own glue, the rest on a few hundred shared
hosting providers. The same seed always gives the same file. Glue uses the
documentation prefixes (192.0.2.0/24, 198.51.100.0/24, 203.0.113.0/24,
2001:db8::/32).`,
		flags: func(fs *flag.FlagSet) {
			fs.IntVar(&domains, "domains", 0, "number of `N` domains to generate")
			fs.Uint64Var(&seed, "seed", 1, "random `SEED`")
			fs.StringVar(&output, "output", "", "write to `FILE` instead of standard output")
		},
		run: func(ctx context.Context, e *env, args []string) error {
			if len(args) > 0 {
				return usageErrorf("db generate takes no arguments")
			}
			if domains <= 0 {
				return usageErrorf("db generate: --domains must be a positive number")
			}
			return writeOutput(e, output, func(w io.Writer) error {
				jw := interchange.NewWriter(w)
				for d := range synth.Generate(synth.Options{Domains: domains, Seed: seed}) {
					if err := ctx.Err(); err != nil {
						return err
					}
					if err := jw.Write(d); err != nil {
						return err
					}
				}
				return jw.Flush()
			})
		},
	}
}

func dbStatsCommand() *command {
	var sf storeFlags
	return &command{
		name:     "stats",
		synopsis: "[--db DSN]",
		summary:  "Count domains per zone and status",
		flags:    sf.register,
		run: func(ctx context.Context, e *env, args []string) error {
			if len(args) > 0 {
				return usageErrorf("db stats takes no arguments")
			}
			r, b, err := sf.open(ctx, e)
			if err != nil {
				return err
			}
			defer r.Close()
			counts, err := r.Counts(ctx)
			if err != nil {
				return err
			}
			fmt.Fprintf(e.stdout, "%s\n\n", b)
			printCounts(e.stdout, counts)
			return nil
		},
	}
}

// printCounts prints a zone × status table with totals.
func printCounts(w io.Writer, counts []store.ZoneCount) {
	byZone := map[string]map[store.Status]int{}
	for _, c := range counts {
		if byZone[c.Zone] == nil {
			byZone[c.Zone] = map[store.Status]int{}
		}
		byZone[c.Zone][c.Status] += c.Count
	}
	header := []string{"zone"}
	for _, s := range store.Statuses {
		header = append(header, string(s))
	}
	rows := [][]string{append(header, "total")}
	colTotal := make([]int, len(store.Statuses)+1)
	addRow := func(label string, values []int) {
		row := []string{label}
		for _, v := range values {
			row = append(row, strconv.Itoa(v))
		}
		rows = append(rows, row)
	}
	for _, h := range policy.Hierarchies() {
		byStatus, ok := byZone[h.Zone]
		if !ok {
			continue
		}
		label := h.Zone
		if h.Legacy {
			label += " (legacy)"
		}
		values := make([]int, len(store.Statuses)+1)
		for i, s := range store.Statuses {
			values[i] = byStatus[s]
			values[len(values)-1] += byStatus[s]
		}
		for i, v := range values {
			colTotal[i] += v
		}
		addRow(label, values)
	}
	addRow("all", colTotal)
	widths := make([]int, len(header)+1)
	for _, row := range rows {
		for i, cell := range row {
			widths[i] = max(widths[i], len(cell))
		}
	}
	for _, row := range rows {
		fmt.Fprintf(w, "%-*s", widths[0], row[0])
		for i, cell := range row[1:] {
			fmt.Fprintf(w, "  %*s", widths[i+1], cell)
		}
		fmt.Fprintln(w)
	}
}

// writeOutput runs write against standard output, or against path
// replaced atomically: a failure leaves any previous file untouched.
func writeOutput(e *env, path string, write func(io.Writer) error) error {
	if path == "" {
		return write(e.stdout)
	}
	return atomicfile.Write(path, 0o644, write)
}
