package main

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/ptzone/ptzone/adopt"
	"github.com/ptzone/ptzone/authserver"
	"github.com/ptzone/ptzone/datadir"
	"github.com/ptzone/ptzone/dnssec"
	"github.com/ptzone/ptzone/publish"
	"github.com/ptzone/ptzone/store"
	"github.com/ptzone/ptzone/zone"
	"github.com/ptzone/ptzone/zonegen"
)

func zoneAdoptCommand() *command {
	var (
		pf                        pipelineFlags
		zoneName, axfr, tsig      string
		force, reportOnly, asJSON bool
	)
	return &command{
		name:     "adopt",
		synopsis: "--zone ZONE (FILE | --axfr HOST[:PORT] [--tsig NAME:FILE]) [--force] [--report-only] [--json]",
		summary:  "Take a zone over from the signer that publishes it today",
		help: `Reads the zone the current signer publishes, from a master file (BIND,
Knot or OpenDNSSEC output, signed or not) or by AXFR from the server that
serves it (TSIG-signed with --tsig NAME:FILE, the file holding the
base64 secret; NAME may be ALGORITHM:NAME, hmac-sha256 by default), and
checks it: its SOA at the apex of ZONE, an apex NS RRset; a signed zone
is verified independently, and adopted with a warning if it does not
verify.

The zone becomes the baseline ptzone goes on from: it is written into
DATA-DIR/zones as the zone's published version, served unchanged until
ptzone's first publication (the secondaries see no change), and recorded
in the publication log as "adopted". The first publication's serial
follows its serial (RFC 1982), and the guard judges the first
publication against it. A zone published or adopted already is refused
unless --force.

Then it prints the migration report: every difference between the
adopted zone and what the registry would publish now (delegations only
in one of them, NS, DS and glue per name) and whether the guard's change
limits would let the first publication through; --json prints the
adoption and the report as JSON. --report-only adopts nothing: it
checks FILE (or the zone transferred) and reports, or without one
reports on the zone the data directory serves.

Carry the old signer's keys over next: 'ptzone keys import'.

Exit status 0 when the zone was adopted (or, with --report-only, when
the registry would publish the same delegations, NS, DS and glue); 1
when it was refused (published already, the publisher's lock held), the
transfer failed, or with --report-only the zones differ; 2 when the zone
is not one to adopt (unreadable, another zone's, no SOA or NS).`,
		flags: func(fs *flag.FlagSet) {
			pf.sf.register(fs)
			fs.StringVar(&pf.config, "config", "", "configuration `FILE`: the zones, their parameters (serial policy, guard), store and keys")
			fs.StringVar(&pf.keys, "keys", "", "key `DIR` (default: DATA-DIR/keys), for the DS of our zones inside ours in the report")
			fs.BoolVar(&pf.assumeChecked, "assume-checked", false, "report against the registry as published with assume_checked (a registry imported in bulk)")
			fs.StringVar(&pf.now, "now", "", "verify and report at `TIME` (RFC 3339; default now)")
			fs.StringVar(&pf.parentDS, "parent-ds", "", "`FILE` with the DS RRset the parent publishes, checked against the adopted zone's keys")
			fs.StringVar(&zoneName, "zone", "", "the `ZONE` adopted (pt, com.pt, ...)")
			fs.StringVar(&axfr, "axfr", "", "transfer the zone from `HOST[:PORT]` (port 53 by default)")
			fs.StringVar(&tsig, "tsig", "", "sign the transfer with the TSIG key `NAME:FILE` ([ALGORITHM:]NAME, FILE holding the base64 secret)")
			fs.BoolVar(&force, "force", false, "adopt over an existing publication or adoption of the zone")
			fs.BoolVar(&reportOnly, "report-only", false, "adopt nothing: check and report only")
			fs.BoolVar(&asJSON, "json", false, "print the adoption and its report as JSON")
		},
		run: func(ctx context.Context, e *env, args []string) error {
			cfg, err := pf.loadConfig()
			if err != nil {
				return err
			}
			kf := keyFlags{zoneName: zoneName}
			zones, err := kf.zones("zone adopt", cfg.BuiltZones())
			if err != nil {
				return err
			}
			name := zones[0]
			switch {
			case len(args) > 1:
				return usageErrorf("zone adopt: give one FILE")
			case len(args) == 1 && axfr != "":
				return usageErrorf("zone adopt: give FILE or --axfr, not both")
			case len(args) == 0 && axfr == "" && !reportOnly:
				return usageErrorf("zone adopt: give the zone's FILE or --axfr HOST[:PORT]")
			case tsig != "" && axfr == "":
				return usageErrorf("zone adopt: --tsig signs an --axfr transfer")
			}
			now, err := pf.clock()
			if err != nil {
				return err
			}
			zonesDir := datadir.ZonesDir(pf.sf.dataDirectory(e))
			var z *zone.Zone
			var source string
			switch {
			case len(args) == 1:
				if z, err = readZoneFile(args[0], name); err != nil {
					return err
				}
				abs, _ := filepath.Abs(args[0])
				source = "file " + abs
			case axfr != "":
				if z, source, err = transferIn(ctx, name, axfr, tsig); err != nil {
					return err
				}
			default:
				loaded, err := datadir.New(zonesDir).Load([]string{name}, datadir.PassOver)
				if err != nil {
					return err
				}
				if z = loaded.Zone(name).Zone; z == nil {
					return fmt.Errorf("zone adopt: %s is neither adopted nor published in %s: give its FILE or --axfr", name, zonesDir)
				}
				source = "the data directory " + zonesDir
			}
			opt := dnssec.VerifyOptions{Now: now}
			if pf.parentDS != "" {
				text, err := os.ReadFile(pf.parentDS)
				if err != nil {
					return inputError(err)
				}
				if opt.ParentDS, err = dnssec.ParseDS(text, pf.parentDS); err != nil {
					return inputError(err)
				}
			}
			in, err := adopt.Inspect(z, name, opt)
			if err != nil {
				return inputError(fmt.Errorf("zone adopt: %s: %w", source, err))
			}
			out := adoptOutput{Zone: name, Source: source, Serial: in.Serial, Records: in.Records, Delegations: in.Delegations,
				Signed: in.Signed, Verified: in.Verifies(), Problems: []string{}, Keys: in.Keys}
			if out.Keys == nil {
				out.Keys = []adopt.Key{}
			}
			if in.Verification != nil {
				for _, p := range in.Verification.Problems {
					out.Problems = append(out.Problems, p.String())
				}
			}
			if !asJSON {
				printInspection(e, in, source)
			}

			// The report compares delegations: a serial policy behind the
			// adopted serial (said below) must not stop it.
			reportSerial := func(pc *publish.Config) {
				p := pc.Zones.Params(name)
				p.Serial = zonegen.SerialIncrement
				if pc.Zones.PerZone == nil {
					pc.Zones.PerZone = map[string]zonegen.ZoneParams{}
				}
				pc.Zones.PerZone[name] = p
			}
			pub, reg, err := pf.publisher(ctx, e, cfg, zonesDir, reportSerial)
			if err != nil {
				return err
			}
			defer reg.Close()
			if !reportOnly {
				if locker, ok := reg.(store.Locker); ok {
					lock, held, err := locker.TryLock(ctx, "publisher")
					if err != nil {
						return fmt.Errorf("zone adopt: taking the publisher's lock: %w", err)
					}
					if !held {
						return fmt.Errorf("zone adopt: another process holds the publisher's lock (a daemon publishing?): stop it before adopting")
					}
					defer lock.Release(context.WithoutCancel(ctx))
				}
				existing, err := adopt.Record(ctx, datadir.New(zonesDir), reg, adopt.Adoption{Inspection: in, Source: source, By: "cli", Now: now, Force: force})
				if errors.Is(err, adopt.ErrPublished) {
					return fmt.Errorf("zone adopt: %w (--force)", err)
				}
				if err != nil {
					return fmt.Errorf("zone adopt: %w", err)
				}
				out.Adopted = true
				if existing != nil {
					out.Replaced = existing.String()
				}
				if !asJSON {
					fmt.Fprintf(e.stdout, "%s: adopted at serial %d: served as it is until ptzone's first publication, whose serial follows it\n", name, in.Serial)
					if existing != nil {
						fmt.Fprintf(e.stdout, "%s: forced over what was %s\n", name, existing)
					}
				}
			}

			set, err := pub.Build(ctx, publish.BuildRequest{Now: now, Only: []string{name}, Unsigned: true})
			if err != nil {
				if out.Adopted {
					return fmt.Errorf("zone adopt: %s is adopted, but the report could not be made ('ptzone zone adopt --report-only --zone %s' tries again): %w", name, name, err)
				}
				return err
			}
			zc, zoneOpts := cfg.ZoneBuild()
			next, err := zonegen.NextSerial(zc.Params(name).Serial, in.Serial, now)
			if err != nil {
				// Adopted all the same: the operator changes the serial
				// policy before the first publication, which would be
				// refused for it.
				fmt.Fprintf(e.stderr, "zone adopt: %s: the first publication would be refused: %v\n", name, err)
				next = in.Serial + 1
			}
			out.Report = adopt.Compare(in.Zone, set.Zones[0].Final, adopt.ReportOptions{NextSerial: next, Now: now,
				Guard: zoneOpts[name].Guard})
			if asJSON {
				enc := json.NewEncoder(e.stdout)
				enc.SetIndent("", "  ")
				if err := enc.Encode(out); err != nil {
					return err
				}
			} else {
				if err := out.Report.WriteText(e.stdout); err != nil {
					return err
				}
				if out.Adopted && in.Signed {
					fmt.Fprintf(e.stdout, "next: carry the old signer's keys over: ptzone keys import --zone %s K%s.+*.key\n", name, name)
				}
			}
			if reportOnly && !out.Report.Same() {
				return negative
			}
			return nil
		},
	}
}

// adoptOutput is what zone adopt --json prints; its field names are
// stable.
type adoptOutput struct {
	Zone        string        `json:"zone"`
	Source      string        `json:"source"`
	Serial      uint32        `json:"serial"`
	Records     int           `json:"records"`
	Delegations int           `json:"delegations"`
	Signed      bool          `json:"signed"`
	Verified    bool          `json:"verified"`
	Problems    []string      `json:"problems"`
	Keys        []adopt.Key   `json:"keys"`
	Adopted     bool          `json:"adopted"`
	Replaced    string        `json:"replaced,omitempty"`
	Report      *adopt.Report `json:"report"`
}

// printInspection says what the zone to adopt is, and warns when it is
// signed and does not verify.
func printInspection(e *env, in *adopt.Inspection, source string) {
	state := "unsigned"
	if in.Signed {
		var keys []string
		for _, k := range in.Keys {
			keys = append(keys, k.String())
		}
		state = "signed with " + strings.Join(keys, ", ")
		if in.Verifies() {
			state += "; verifies"
		} else {
			state += fmt.Sprintf("; does not verify (%d problems)", len(in.Verification.Problems))
		}
	}
	fmt.Fprintf(e.stdout, "%s: serial %d from %s: %d records, %d delegations, %s\n", in.Name, in.Serial, source, in.Records, in.Delegations, state)
	if in.Signed && !in.Verifies() {
		fmt.Fprintf(e.stderr, "warning: %s as the old signer publishes it does not verify; it is adopted all the same (ptzone's first publication signs it anew):\n", in.Name)
		for i, p := range in.Verification.Problems {
			if i == 10 {
				fmt.Fprintf(e.stderr, "  ... and %d more ('ptzone zone verify' lists them)\n", len(in.Verification.Problems)-i)
				break
			}
			fmt.Fprintf(e.stderr, "  %s\n", p)
		}
	}
}

// transferIn transfers zone name in from server, signed with the key
// tsig names, and says where it came from.
func transferIn(ctx context.Context, name, server, tsig string) (*zone.Zone, string, error) {
	if _, _, err := net.SplitHostPort(server); err != nil {
		server = net.JoinHostPort(strings.Trim(server, "[]"), "53")
	}
	source := "AXFR from " + server
	var key *authserver.TSIGKey
	if tsig != "" {
		var err error
		if key, err = readTSIG(tsig); err != nil {
			return nil, "", err
		}
		source += " (TSIG key " + key.Name + ")"
	}
	z, err := authserver.FetchZone(ctx, server, zone.MustParseName(name+"."), key)
	if err != nil {
		return nil, "", fmt.Errorf("zone adopt: %w", err)
	}
	return z, source, nil
}

// readTSIG reads --tsig [ALGORITHM:]NAME:FILE.
func readTSIG(arg string) (*authserver.TSIGKey, error) {
	parts := strings.SplitN(arg, ":", 3)
	var alg, name, file string
	switch {
	case len(parts) == 3 && strings.HasPrefix(strings.ToLower(parts[0]), "hmac-"):
		alg, name, file = strings.ToLower(parts[0]), parts[1], parts[2]
	case len(parts) >= 2:
		alg, name, file = "hmac-sha256", parts[0], strings.Join(parts[1:], ":")
	default:
		return nil, usageErrorf("zone adopt: --tsig %q: want [ALGORITHM:]NAME:FILE", arg)
	}
	switch alg {
	case "hmac-sha256", "hmac-sha384", "hmac-sha512":
	default:
		return nil, usageErrorf("zone adopt: --tsig %q: algorithm %s: want hmac-sha256, hmac-sha384 or hmac-sha512", arg, alg)
	}
	if name == "" || file == "" {
		return nil, usageErrorf("zone adopt: --tsig %q: want [ALGORITHM:]NAME:FILE", arg)
	}
	raw, err := os.ReadFile(file)
	if err != nil {
		return nil, inputError(fmt.Errorf("zone adopt: --tsig: %w", err))
	}
	secret := strings.TrimSpace(string(raw))
	if _, err := base64.StdEncoding.DecodeString(secret); err != nil || secret == "" {
		return nil, inputError(fmt.Errorf("zone adopt: --tsig: %s does not hold a base64 secret", file))
	}
	return &authserver.TSIGKey{Name: strings.TrimSuffix(name, ".") + ".", Algorithm: alg, Secret: secret}, nil
}

func keysImportCommand() *command {
	var kf keyFlags
	return &command{
		name:     "import",
		synopsis: "--zone ZONE [--keys DIR] FILE...",
		summary:  "Carry the previous signer's keys over to ptzone",
		help: `Copies the keys of the signer that published the zone before ptzone into
the keys directory, so that they sign ptzone's first publication and the
DS the parent publishes keeps matching. Each FILE is a key in BIND
key-file format, named by its .key or .private file (both must be
there); each must parse, be one pair, and be in the DNSKEY RRset of the
zone adopted ('ptzone zone adopt'), as the data directory serves it. A
key that is not is refused, and nothing is imported. Warnings name a KSK
of the adopted zone left out (the parent's DS would not match it), a ZSK
left out (resolvers may hold signatures by it), keys of the directory
the adopted zone does not publish, and keys that would not sign now.

Exit status 0 when the keys were imported (warnings or not); 1 when
nothing is adopted for the zone; 2 when a key is refused.`,
		flags: func(fs *flag.FlagSet) {
			fs.StringVar(&kf.config, "config", "", "configuration `FILE`: the zones (default: ptzone's)")
			fs.StringVar(&kf.dir, "keys", "", "key `DIR` (default: DATA-DIR/keys)")
			fs.StringVar(&kf.dataDir, "data-dir", "", "data `DIR` (default $PTZONE_DATA_DIR, else $XDG_STATE_HOME/ptzone or ~/.local/state/ptzone)")
			fs.StringVar(&kf.zoneName, "zone", "", "the `ZONE` adopted")
		},
		run: func(ctx context.Context, e *env, args []string) error {
			zones, err := kf.selected("keys import")
			if err != nil {
				return err
			}
			if len(args) == 0 {
				return usageErrorf("keys import: give the key FILEs")
			}
			name := zones[0]
			sf := storeFlags{dataDir: kf.dataDir}
			zonesDir := datadir.ZonesDir(sf.dataDirectory(e))
			loaded, err := datadir.New(zonesDir).Load([]string{name}, datadir.PassOver)
			if err != nil {
				return err
			}
			adopted := loaded.Zone(name).Zone
			if adopted == nil {
				return fmt.Errorf("keys import: %s is not served from %s: adopt it first (ptzone zone adopt)", name, zonesDir)
			}
			now := time.Now()
			imp, err := adopt.ImportKeys(kf.keysDir(e), adopted, args, now)
			if err != nil {
				return inputError(fmt.Errorf("keys import: %w", err))
			}
			for _, k := range imp.Imported {
				fmt.Fprintf(e.stdout, "%s %d (algorithm %d) imported -> %s\n", keyRole(k), k.Tag, k.Algorithm(), k.File)
			}
			if len(imp.Imported) == 0 {
				fmt.Fprintf(e.stdout, "%s: the keys given are in %s already\n", name, kf.keysDir(e))
			}
			for _, w := range imp.Warnings {
				fmt.Fprintf(e.stderr, "warning: %s\n", w)
			}
			return nil
		},
	}
}

// keyRole names a key by its flags alone: KSK with the SEP flag, else
// ZSK.
func keyRole(k *dnssec.Key) string {
	if k.SEP() {
		return "KSK"
	}
	return "ZSK"
}
