package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/ptzone/ptzone/daemon"
	"github.com/ptzone/ptzone/datadir"
	"github.com/ptzone/ptzone/dnssec"
	"github.com/ptzone/ptzone/dnssec/keyfile"
	"github.com/ptzone/ptzone/zone"
	"github.com/ptzone/ptzone/zonegen"
)

func keysCommand() *command {
	return &command{
		name:    "keys",
		summary: "Manage the zones' DNSSEC keys",
		subs:    []*command{keysGenerateCommand(), keysListCommand(), keysDSCommand(), keysImportCommand()},
	}
}

// keyFlags name the keys directory and the zones a command acts on.
type keyFlags struct {
	config   string
	dir      string
	dataDir  string
	zoneName string
	all      bool
}

func (k *keyFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&k.config, "config", "", "configuration `FILE`: the zones (default: ptzone's)")
	fs.StringVar(&k.dir, "keys", "", "key `DIR` (default: DATA-DIR/keys)")
	fs.StringVar(&k.dataDir, "data-dir", "", "data `DIR` (default $PTZONE_DATA_DIR, else $XDG_STATE_HOME/ptzone or ~/.local/state/ptzone)")
	fs.StringVar(&k.zoneName, "zone", "", "the `ZONE` (pt, com.pt, ...)")
	fs.BoolVar(&k.all, "all", false, "every zone ptzone builds")
}

func (k *keyFlags) keysDir(e *env) string {
	if k.dir != "" {
		return k.dir
	}
	sf := storeFlags{dataDir: k.dataDir}
	return datadir.KeysDir(sf.dataDirectory(e))
}

// builtZones are the zones of the configuration --config names.
func (k *keyFlags) builtZones() ([]string, error) {
	if k.config == "" {
		return zonegen.DefaultZones(), nil
	}
	cfg, err := daemon.LoadConfig(k.config)
	if err != nil {
		return nil, inputError(err)
	}
	return cfg.BuiltZones(), nil
}

// selected returns the zones selected by --zone or --all among those
// configured.
func (k *keyFlags) selected(cmd string) ([]string, error) {
	built, err := k.builtZones()
	if err != nil {
		return nil, err
	}
	return k.zones(cmd, built)
}

// zones returns the zones selected by --zone or --all among served.
func (k *keyFlags) zones(cmd string, served []string) ([]string, error) {
	switch {
	case k.all && k.zoneName != "":
		return nil, usageErrorf("%s: give --zone or --all, not both", cmd)
	case k.all:
		return served, nil
	case k.zoneName == "":
		return nil, usageErrorf("%s: give --zone ZONE or --all", cmd)
	}
	for _, z := range served {
		if z == strings.TrimSuffix(k.zoneName, ".") {
			return []string{z}, nil
		}
	}
	return nil, usageErrorf("%s: --zone %q is not a zone ptzone serves (%s)", cmd, k.zoneName, strings.Join(served, ", "))
}

func apexOf(name string) zone.Name { return zone.MustParseName(name + ".") }

func keysGenerateCommand() *command {
	var (
		kf        keyFlags
		algorithm int
		kind      string
		bits      int
	)
	return &command{
		name:     "generate",
		synopsis: "[flags] --zone ZONE | --all",
		summary:  "Generate keys for zones",
		help: `Generates DNSSEC keys in BIND key-file format (K<zone>+<alg>+<tag>.key
and .private, the private file readable by its owner only). By default a
KSK and a ZSK of algorithm 13 (ECDSA P-256); --type csk makes one combined
key. A new key whose tag collides with a key the zone already has is
refused and another drawn: validators pick keys by tag.

Print the DS to give the parent with 'ptzone keys ds'.`,
		flags: func(fs *flag.FlagSet) {
			kf.register(fs)
			fs.IntVar(&algorithm, "algorithm", 13, "DNSSEC `ALGORITHM`: 13 (ECDSAP256SHA256), 8 (RSASHA256) or 15 (ED25519)")
			fs.StringVar(&kind, "type", "pair", "`TYPE` of keys: pair (a KSK and a ZSK), ksk, zsk or csk")
			fs.IntVar(&bits, "bits", 2048, "RSA key size in `BITS`")
		},
		run: func(ctx context.Context, e *env, args []string) error {
			if len(args) > 0 {
				return usageErrorf("keys generate takes no arguments")
			}
			zones, err := kf.selected("keys generate")
			if err != nil {
				return err
			}
			var seps []bool
			switch kind {
			case "pair":
				seps = []bool{true, false}
			case "ksk", "csk":
				seps = []bool{true}
			case "zsk":
				seps = []bool{false}
			default:
				return usageErrorf("keys generate: --type %q: want pair, ksk, zsk or csk", kind)
			}
			if algorithm < 0 || algorithm > 255 {
				return usageErrorf("keys generate: --algorithm %d", algorithm)
			}
			dir := kf.keysDir(e)
			if err := os.MkdirAll(dir, 0o700); err != nil {
				return err
			}
			now := time.Now()
			for _, z := range zones {
				existing, err := keyfile.Load(dir, apexOf(z))
				if err != nil {
					return err
				}
				var made []*dnssec.Key
				for _, sep := range seps {
					k, err := dnssec.Generate(apexOf(z), dnssec.GenerateOptions{Algorithm: uint8(algorithm), SEP: sep, Bits: bits}, now, existing)
					if err != nil {
						return usageErrorf("keys generate: %v", err)
					}
					if err := keyfile.Save(k, dir); err != nil {
						return err
					}
					existing = append(existing, k)
					made = append(made, k)
				}
				for _, k := range made {
					fmt.Fprintf(e.stdout, "%s %s\n", dnssec.Role(k, existing), k.File)
				}
			}
			return nil
		},
	}
}

func keysListCommand() *command {
	var kf keyFlags
	return &command{
		name:     "list",
		synopsis: "[flags] [--zone ZONE]",
		summary:  "List the keys of the zones and their states",
		flags:    kf.register,
		run: func(ctx context.Context, e *env, args []string) error {
			if len(args) > 0 {
				return usageErrorf("keys list takes no arguments")
			}
			zones, err := kf.builtZones()
			if err != nil {
				return err
			}
			if kf.zoneName != "" {
				if zones, err = kf.selected("keys list"); err != nil {
					return err
				}
			}
			dir := kf.keysDir(e)
			now := time.Now()
			tw := tabwriter.NewWriter(e.stdout, 0, 0, 2, ' ', 0)
			fmt.Fprintln(tw, "ZONE\tTAG\tALGORITHM\tROLE\tSTATE\tCREATED\tFILE")
			for _, z := range zones {
				keys, err := keyfile.Load(dir, apexOf(z))
				if err != nil {
					return err
				}
				for _, k := range keys {
					fmt.Fprintf(tw, "%s\t%d\t%d\t%s\t%s\t%s\t%s\n", z, k.Tag, k.Algorithm(), dnssec.Role(k, keys), k.State(now),
						k.Timing.Created.Format(time.DateOnly), filepath.Base(k.File))
				}
			}
			return tw.Flush()
		},
	}
}

func keysDSCommand() *command {
	var (
		kf     keyFlags
		digest int
	)
	return &command{
		name:     "ds",
		synopsis: "[flags] --zone ZONE | --all",
		summary:  "Print the DS records the parent must publish",
		flags: func(fs *flag.FlagSet) {
			kf.register(fs)
			fs.IntVar(&digest, "digest", 2, "digest `TYPE`: 2 (SHA-256) or 4 (SHA-384)")
		},
		run: func(ctx context.Context, e *env, args []string) error {
			if len(args) > 0 {
				return usageErrorf("keys ds takes no arguments")
			}
			if digest != 2 && digest != 4 {
				return usageErrorf("keys ds: --digest %d: want 2 or 4", digest)
			}
			zones, err := kf.selected("keys ds")
			if err != nil {
				return err
			}
			now := time.Now()
			for _, z := range zones {
				keys, err := keyfile.Load(kf.keysDir(e), apexOf(z))
				if err != nil {
					return err
				}
				n := 0
				for _, k := range keys {
					if !k.SEP() || !k.Published(now) {
						continue
					}
					ds, err := k.DS(uint8(digest))
					if err != nil {
						return err
					}
					fmt.Fprintf(e.stdout, "%s.\tIN\tDS\t%s\n", z, ds)
					n++
				}
				if n == 0 {
					return fmt.Errorf("zone %s has no published key-signing key in %s", z, kf.keysDir(e))
				}
			}
			return nil
		},
	}
}
