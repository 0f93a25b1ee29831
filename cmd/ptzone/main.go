package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"

	"github.com/ptzone/ptzone/internal/buildinfo"
	"github.com/ptzone/ptzone/internal/storedsn"
	"github.com/ptzone/ptzone/store"
	"github.com/ptzone/ptzone/store/postgres"
	"github.com/ptzone/ptzone/store/sqlite"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, defaultEnv(), os.Args[1:])
	stop()
	os.Exit(code)
}

// run executes one command line and returns the exit status.
func run(ctx context.Context, e *env, args []string) int {
	if len(args) > 0 && (args[0] == "--version" || args[0] == "-version") {
		args = append([]string{"version"}, args[1:]...)
	}
	return exitCode(rootCommand().execute(ctx, e, nil, args), e.stderr)
}

func rootCommand() *command {
	return &command{
		name: "ptzone",
		help: `ptzone is the hidden primary of the .pt country-code TLD: it reads the
registry's domains, checks their nameservers against the .PT Domain Name
Registration Rules, builds the .pt zones, signs them with DNSSEC and serves
them to the secondaries.

Start with 'ptzone demo'. The registry database is chosen with --db or
PTZONE_DB: a postgres:// URL, or sqlite:PATH; by default an SQLite file in
the data directory (--data-dir, PTZONE_DATA_DIR, else
$XDG_STATE_HOME/ptzone or ~/.local/state/ptzone).`,
		subs: []*command{
			demoCommand(),
			namesCommand(),
			dbCommand(),
			keysCommand(),
			zoneCommand(),
			serveCommand(),
			daemonCommand(),
			operatorCommand(),
			checkCommand(),
			configCommand(),
			registrarCommand(),
			versionCommand(),
			manCommand(),
		},
	}
}

func versionCommand() *command {
	return &command{
		name:     "version",
		synopsis: "",
		summary:  "Print the version, and the source revision it was built from",
		help: `Prints the version of this binary on one line: the module version, the
source revision it was built from (its first 12 hex digits), that commit's
time, "modified" when the tree built had uncommitted changes, and the Go
release, as in

  ptzone v0.0.0-20261203180000-1a2b3c4d5e6f (rev 1a2b3c4d5e6f, 2026-12-03T18:00:00Z) go1.26.8

'ptzone --version' prints the same.`,
		run: func(ctx context.Context, e *env, args []string) error {
			if len(args) > 0 {
				return usageErrorf("version takes no arguments")
			}
			fmt.Fprintln(e.stdout, buildinfo.String())
			return nil
		},
	}
}

// storeFlags are the flags of every command that opens the registry.
type storeFlags struct {
	dsn     string
	dataDir string
	// postgres bounds the statements of a PostgreSQL registry: the
	// configuration's, when the command reads one.
	postgres postgres.Options
}

func (s *storeFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&s.dsn, "db", "", "registry `DSN`: postgres://user@host/db or sqlite:PATH (default $PTZONE_DB, else sqlite in the data directory)")
	fs.StringVar(&s.dataDir, "data-dir", "", "data `DIR` (default $PTZONE_DATA_DIR, else $XDG_STATE_HOME/ptzone or ~/.local/state/ptzone)")
}

// dataDirectory resolves the data directory.
func (s *storeFlags) dataDirectory(e *env) string {
	if s.dataDir != "" {
		return s.dataDir
	}
	if d := e.getenv("PTZONE_DATA_DIR"); d != "" {
		return d
	}
	if d := e.getenv("XDG_STATE_HOME"); d != "" {
		return filepath.Join(d, "ptzone")
	}
	if h := e.getenv("HOME"); h != "" {
		return filepath.Join(h, ".local", "state", "ptzone")
	}
	return "ptzone-data"
}

// backend returns the registry the flags name: --db, else $PTZONE_DB,
// else SQLite in the data directory.
func (s *storeFlags) backend(e *env) (storedsn.DSN, error) {
	dsn := s.dsn
	if dsn == "" {
		dsn = e.getenv("PTZONE_DB")
	}
	if dsn == "" {
		return storedsn.Default(s.dataDirectory(e)), nil
	}
	b, err := storedsn.Parse(dsn)
	if err != nil {
		return b, usageErrorf("--db %v", err)
	}
	return b, nil
}

// open opens the registry the flags name.
func (s *storeFlags) open(ctx context.Context, e *env) (store.Registry, storedsn.DSN, error) {
	b, err := s.backend(e)
	if err != nil {
		return nil, b, err
	}
	var r store.Registry
	switch b.Kind {
	case storedsn.Postgres:
		r, err = postgres.OpenWith(ctx, b.Target, s.postgres)
	default:
		r, err = sqlite.Open(ctx, b.Target)
	}
	if err != nil {
		return nil, b, err
	}
	return r, b, nil
}
