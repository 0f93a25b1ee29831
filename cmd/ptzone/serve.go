package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"go.uber.org/zap"

	"github.com/ptzone/ptzone/authserver"
	"github.com/ptzone/ptzone/daemon"
	"github.com/ptzone/ptzone/datadir"
	"github.com/ptzone/ptzone/zone"
)

// stringList is a repeatable string flag.
type stringList []string

func (l *stringList) String() string     { return strings.Join(*l, ",") }
func (l *stringList) Set(s string) error { *l = append(*l, s); return nil }

// logger returns a structured log as text, for the demo's log file.
func logger(w io.Writer) *zap.Logger {
	log, _ := daemon.LogConfig{Format: "console"}.NewLogger(w, false)
	return log
}

// commandLogger returns the log a long-running command writes to
// standard error, as the configuration's [log] section says, and its
// level, which a reload may change.
func commandLogger(e *env, cfg daemon.LogConfig) (*zap.Logger, zap.AtomicLevel) {
	return cfg.NewLogger(e.stderr, isTerminal(e.stderr))
}

func serveCommand() *command {
	var (
		sf         storeFlags
		configFile string
		listen     stringList
		zoneFiles  stringList
	)
	return &command{
		name:     "serve",
		synopsis: "[flags]",
		summary:  "Serve the zones as an authoritative server, and transfer them to secondaries",
		help: `Serves the zones over UDP and TCP until interrupted (SIGINT, SIGTERM).

By default the zones are the last ones published into DATA-DIR/zones, read
before anything else is consulted (no database): each zone's image with its
journal applied. A damaged image is refused with a message naming it, and
the previous image is served; a journal that does not apply is passed over,
and the image served as it is. Publications that land in the directory
afterwards (ptzone zone publish, run apart) are served within the
configuration's follow_interval (5 s), and announced to the secondaries;
SIGHUP looks at once.

With --zone NAME=FILE (repeatable) the server serves those master files as
they are, signed or not, like any authoritative server, and nothing else.

--config FILE reads the server's settings (listen addresses, limits, rate
limiting, TSIG keys, who may transfer each zone and whom to notify): see
deploy/ptzone.example.toml. Transfers are refused unless the configuration
allows them.`,
		flags: func(fs *flag.FlagSet) {
			sf.register(fs)
			fs.StringVar(&configFile, "config", "", "configuration `FILE` (TOML)")
			fs.Var(&listen, "listen", "serve on `ADDR` (host:port; repeatable; default the configuration's, else 127.0.0.1:53)")
			fs.Var(&zoneFiles, "zone", "serve the master file FILE as zone NAME (`NAME=FILE`; repeatable)")
		},
		run: func(ctx context.Context, e *env, args []string) error {
			if len(args) > 0 {
				return usageErrorf("serve takes no arguments")
			}
			cfg := &daemon.Config{}
			if configFile != "" {
				var err error
				if cfg, err = daemon.LoadConfig(configFile); err != nil {
					return inputError(err)
				}
			}
			log, _ := commandLogger(e, cfg.Log)
			snap, follower, err := servedSnapshot(e, &sf, cfg, zoneFiles, log)
			if err != nil {
				return err
			}
			acfg, err := cfg.AuthServer()
			if err != nil {
				return inputError(err)
			}
			srv := authserver.New(acfg, log)
			srv.Swap(snap)
			addrs := []string(listen)
			if len(addrs) == 0 {
				addrs = cfg.Listen()
			}
			defer func() {
				stop, cancel := context.WithTimeout(context.Background(), 5*time.Second)
				defer cancel()
				srv.Shutdown(stop)
			}()
			for _, a := range addrs {
				bound, err := srv.Listen(a)
				if err != nil {
					return err
				}
				fmt.Fprintf(e.stdout, "serving %s on %s\n", strings.Join(zoneNames(snap), " "), bound)
			}
			if follower != nil {
				// New publications are served as they land; SIGHUP
				// looks at once.
				hup := make(chan os.Signal, 1)
				signal.Notify(hup, syscall.SIGHUP)
				defer signal.Stop(hup)
				reload := make(chan chan struct{}, 1)
				go func() {
					for range hup {
						select {
						case reload <- nil:
						default:
						}
					}
				}()
				follower.Run(ctx, srv, cfg.FollowInterval(), reload)
				return nil
			}
			<-ctx.Done()
			return nil
		},
	}
}

func zoneNames(s *authserver.Snapshot) []string {
	var out []string
	for _, z := range s.Zones() {
		out = append(out, strings.TrimSuffix(z.String(), "."))
	}
	return out
}

// servedSnapshot reads the zones to serve: the files given, or the last
// published zones in the data directory (and then also its follower).
func servedSnapshot(e *env, sf *storeFlags, cfg *daemon.Config, zoneFiles []string, log *zap.Logger) (*authserver.Snapshot, *datadir.Follower, error) {
	if len(zoneFiles) > 0 {
		var zones []*zone.Zone
		for _, spec := range zoneFiles {
			name, file, ok := strings.Cut(spec, "=")
			if !ok || name == "" || file == "" {
				return nil, nil, usageErrorf("serve: --zone %q: want NAME=FILE", spec)
			}
			origin, err := zone.ParseName(strings.TrimSuffix(name, ".")+".", zone.Root)
			if err != nil {
				return nil, nil, usageErrorf("serve: --zone %q: %v", spec, err)
			}
			f, err := os.Open(file)
			if err != nil {
				return nil, nil, inputError(err)
			}
			z, err := zone.Read(f, zone.ReadOptions{Origin: origin, File: file})
			f.Close()
			if err != nil {
				return nil, nil, inputError(err)
			}
			zones = append(zones, z)
		}
		snap, err := authserver.NewSnapshot(zones...)
		if err != nil {
			return nil, nil, inputError(err)
		}
		return snap, nil, nil
	}
	dataDir := sf.dataDir
	if dataDir == "" && cfg.DataDir != "" {
		dataDir = cfg.DataDir
	}
	if dataDir == "" {
		dataDir = sf.dataDirectory(e)
	}
	follower := datadir.NewFollower(datadir.New(datadir.ZonesDir(dataDir)), cfg.ServedZones(), log)
	snap, err := follower.Snapshot()
	if errors.Is(err, datadir.ErrNothingPublished) {
		return nil, nil, fmt.Errorf("serve: %w (publish first, or give --zone NAME=FILE)", err)
	}
	if err != nil {
		return nil, nil, fmt.Errorf("serve: %w", err)
	}
	return snap, follower, nil
}

func configCommand() *command {
	return &command{
		name:    "config",
		summary: "Check a configuration file",
		subs: []*command{{
			name:     "check",
			synopsis: "FILE",
			summary:  "Check a configuration file: syntax, unknown settings, values",
			help: `Reads FILE as ptzone's configuration (TOML, see deploy/ptzone.example.toml)
and reports every problem found, with its line where there is one: a syntax
error, an unknown setting, a value that cannot work (an address, a prefix,
a TSIG key that is not base64 or not defined, a zone name), and a zone
setting outside what the Rules and the RFCs allow (NSEC3 iterations above
0, a signature refresh not shorter than the validity, an SOA expire shorter
than its refresh, a zone with one name server, ...).

A file that works but should not reach production is good with warnings:
a PostgreSQL registry (production) whose zones still list documentation-
range, private or loopback addresses for their name servers (the defaults).

Exit status 0 when the file is good (warnings are printed to stderr), 2
when it is not.`,
			run: func(ctx context.Context, e *env, args []string) error {
				if len(args) != 1 {
					return usageErrorf("config check takes one FILE")
				}
				cfg, err := daemon.LoadConfig(args[0])
				if err != nil {
					return inputError(err)
				}
				if _, err := cfg.AuthServer(); err != nil {
					return inputError(fmt.Errorf("%s: %w", args[0], err))
				}
				for _, w := range cfg.Warnings() {
					fmt.Fprintf(e.stderr, "warning: %s\n", w)
				}
				fmt.Fprintf(e.stdout, "%s: good: %d zones built (%s), %d served, %d listen addresses, %d TSIG keys, %d zones with transfers\n",
					args[0], len(cfg.BuiltZones()), strings.Join(cfg.BuiltZones(), ", "), len(cfg.ServedZones()), len(cfg.Listen()), len(cfg.TSIG), len(cfg.Transfer))
				return nil
			},
		}},
	}
}
