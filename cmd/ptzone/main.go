// Command ptzone is the hidden primary of the .pt TLD: it reads the
// registry, checks delegations, builds, signs and serves the zones. This
// package is wiring only: flags, configuration and the subcommands that
// call into the packages that do the work.
package main

import (
	"context"
	"flag"
	"fmt"
	"net/url"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"

	"github.com/ptzone/ptzone/store"
	"github.com/ptzone/ptzone/store/postgres"
	"github.com/ptzone/ptzone/store/sqlite"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "dev"

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, defaultEnv(), os.Args[1:])
	stop()
	os.Exit(code)
}

// run executes one command line and returns the exit status.
func run(ctx context.Context, e *env, args []string) int {
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
		},
	}
}

func versionCommand() *command {
	return &command{
		name:     "version",
		synopsis: "",
		summary:  "Print the version",
		run: func(ctx context.Context, e *env, args []string) error {
			if len(args) > 0 {
				return usageErrorf("version takes no arguments")
			}
			fmt.Fprintf(e.stdout, "ptzone %s\n", version)
			return nil
		},
	}
}

// storeFlags are the flags of every command that opens the registry.
type storeFlags struct {
	dsn     string
	dataDir string
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

// backend is a parsed DSN.
type backend struct {
	kind string // "postgres" or "sqlite"
	dsn  string // postgres URL, or SQLite file path
}

func (b backend) String() string {
	if b.kind == "sqlite" {
		return "sqlite:" + b.dsn
	}
	if u, err := url.Parse(b.dsn); err == nil {
		return u.Redacted()
	}
	return "postgres database"
}

func (s *storeFlags) backend(e *env) (backend, error) {
	dsn := s.dsn
	if dsn == "" {
		dsn = e.getenv("PTZONE_DB")
	}
	switch {
	case dsn == "":
		return backend{kind: "sqlite", dsn: filepath.Join(s.dataDirectory(e), "registry.db")}, nil
	case strings.HasPrefix(dsn, "postgres://"), strings.HasPrefix(dsn, "postgresql://"):
		return backend{kind: "postgres", dsn: dsn}, nil
	case strings.HasPrefix(dsn, "sqlite:"):
		path := strings.TrimPrefix(dsn, "sqlite:")
		if path == "" {
			return backend{}, usageErrorf("--db sqlite: needs a file path, as in sqlite:/var/lib/ptzone/registry.db")
		}
		return backend{kind: "sqlite", dsn: path}, nil
	}
	return backend{}, usageErrorf("--db %q: want postgres://… or sqlite:PATH", dsn)
}

// open opens the registry the flags name.
func (s *storeFlags) open(ctx context.Context, e *env) (store.Registry, backend, error) {
	b, err := s.backend(e)
	if err != nil {
		return nil, b, err
	}
	var r store.Registry
	switch b.kind {
	case "postgres":
		r, err = postgres.Open(ctx, b.dsn)
	default:
		r, err = sqlite.Open(ctx, b.dsn)
	}
	if err != nil {
		return nil, b, err
	}
	return r, b, nil
}
