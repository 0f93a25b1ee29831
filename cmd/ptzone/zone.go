package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"go.uber.org/zap"

	"github.com/ptzone/ptzone/daemon"
	"github.com/ptzone/ptzone/datadir"
	"github.com/ptzone/ptzone/dnssec"
	"github.com/ptzone/ptzone/internal/atomicfile"
	"github.com/ptzone/ptzone/policy"
	"github.com/ptzone/ptzone/publish"
	"github.com/ptzone/ptzone/store"
	"github.com/ptzone/ptzone/zone"
)

func zoneCommand() *command {
	return &command{
		name:    "zone",
		summary: "Build, verify, compare and publish the zones",
		subs:    []*command{zoneBuildCommand(), zoneVerifyCommand(), zoneDiffCommand(), zonePublishCommand(), zoneAdoptCommand()},
	}
}

// pipelineFlags are shared by build and publish.
type pipelineFlags struct {
	sf            storeFlags
	config        string
	keys          string
	unsigned      bool
	noZONEMD      bool
	assumeChecked bool
	now           string
	parentDS      string
}

func (p *pipelineFlags) register(fs *flag.FlagSet) {
	p.sf.register(fs)
	fs.StringVar(&p.config, "config", "", "configuration `FILE`: the zones, their parameters, store and keys (default: ptzone's defaults)")
	fs.StringVar(&p.keys, "keys", "", "key `DIR` (default: the configuration's publish.keys_dir, else DATA-DIR/keys)")
	fs.BoolVar(&p.unsigned, "unsigned", false, "build without DNSSEC")
	fs.BoolVar(&p.noZONEMD, "no-zonemd", false, "leave ZONEMD out (for tools that mishandle it, such as ldns-verify-zone before 1.9.0)")
	fs.BoolVar(&p.assumeChecked, "assume-checked", false, "treat every domain as having passed its delegation check (until the checker has run)")
	fs.StringVar(&p.now, "now", "", "pin the clock to `TIME` (RFC 3339), for reproducible builds")
	fs.StringVar(&p.parentDS, "parent-ds", "", "`FILE` with the DS RRset the parent (the root, for pt) publishes, checked against pt's keys")
}

func (p *pipelineFlags) clock() (time.Time, error) {
	if p.now == "" {
		return time.Now().UTC().Truncate(time.Second), nil
	}
	t, err := time.Parse(time.RFC3339, p.now)
	if err != nil {
		return time.Time{}, usageErrorf("--now %q is not an RFC 3339 time (2026-11-22T12:00:00Z)", p.now)
	}
	return t.UTC(), nil
}

// loadConfig reads the configuration file the flags name, if any: the
// zones built and their parameters; the store and the data directory
// when the flags do not give them.
func (p *pipelineFlags) loadConfig() (*daemon.Config, error) {
	cfg := &daemon.Config{}
	if p.config != "" {
		var err error
		if cfg, err = daemon.LoadConfig(p.config); err != nil {
			return nil, inputError(err)
		}
	}
	if p.sf.dataDir == "" {
		p.sf.dataDir = cfg.DataDir
	}
	if p.sf.dsn == "" {
		p.sf.dsn = cfg.Store.DSN
	}
	p.sf.postgres.StatementTimeout = cfg.Store.StatementTimeout.Duration
	return cfg, nil
}

// publisher wires a publisher from the configuration and the flags, which
// win over it; outDir receives the zones.
func (p *pipelineFlags) publisher(ctx context.Context, e *env, cfg *daemon.Config, outDir string, tweaks ...func(*publish.Config)) (*publish.Publisher, store.Registry, error) {
	pcfg, err := cfg.PublishConfig(p.sf.dataDirectory(e))
	if err != nil {
		return nil, nil, inputError(fmt.Errorf("%s: %w", p.config, err))
	}
	for _, tweak := range tweaks {
		tweak(&pcfg)
	}
	pcfg.OutDir, pcfg.Unsigned = outDir, p.unsigned
	if p.keys != "" {
		pcfg.KeysDir = p.keys
	}
	if p.assumeChecked {
		pcfg.Zones.AssumeChecked = true
	}
	if p.noZONEMD {
		pcfg.Sign.ZONEMD = false
		for z, o := range pcfg.PerZone {
			o.Sign.ZONEMD = false
			pcfg.PerZone[z] = o
		}
	}
	if p.parentDS != "" {
		ds, err := daemon.ReadParentDS(p.parentDS, pcfg.Zones.Zones)
		if err != nil {
			return nil, nil, inputError(err)
		}
		pcfg.ParentDS = ds
	}
	reg, _, err := p.sf.open(ctx, e)
	if err != nil {
		return nil, nil, err
	}
	return publish.New(pcfg, reg, policy.New(policy.Lists{}), zap.NewNop()), reg, nil
}

func zoneBuildCommand() *command {
	var (
		pf       pipelineFlags
		zoneName string
		all      bool
		out      string
		noVerify bool
	)
	return &command{
		name:     "build",
		synopsis: "[flags] (--zone ZONE | --all) --out DIR",
		summary:  "Build, sign and verify zones into a directory",
		help: `Reads one snapshot of the registry, builds the zones asked for (reading
only their domains: a zone comes out the same built alone as with the
others), signs and verifies them, and writes DIR/<zone>.zone for each
that verifies. A zone that
fails verification is not written: its problems are listed and the exit
status is 1. --now pins the clock: the same registry, keys and --now give
byte-identical files. Nothing is published and nothing is logged; see
'ptzone zone publish'.`,
		flags: func(fs *flag.FlagSet) {
			pf.register(fs)
			fs.StringVar(&zoneName, "zone", "", "build `ZONE`")
			fs.BoolVar(&all, "all", false, "build every zone")
			fs.StringVar(&out, "out", "", "write the zones into `DIR`")
			fs.BoolVar(&noVerify, "no-verify", false, "skip the independent verification (for measuring the signer alone; zone publish always verifies)")
		},
		run: func(ctx context.Context, e *env, args []string) error {
			if len(args) > 0 {
				return usageErrorf("zone build takes no arguments")
			}
			if out == "" {
				return usageErrorf("zone build: --out DIR is required")
			}
			cfg, err := pf.loadConfig()
			if err != nil {
				return err
			}
			kf := keyFlags{zoneName: zoneName, all: all}
			zones, err := kf.zones("zone build", cfg.BuiltZones())
			if err != nil {
				return err
			}
			now, err := pf.clock()
			if err != nil {
				return err
			}
			if err := os.MkdirAll(out, 0o755); err != nil {
				return err
			}
			pub, reg, err := pf.publisher(ctx, e, cfg, out)
			if err != nil {
				return err
			}
			defer reg.Close()
			start := time.Now()
			prog := newProgress(e.stderr, "zone build")
			prog.phase("reading the registry, building, signing and verifying " + strings.Join(zones, ", "))
			set, err := pub.Build(ctx, publish.BuildRequest{Now: now, Only: zones, NoVerify: noVerify})
			prog.done()
			if err != nil {
				return err
			}
			bad := false
			for _, b := range set.Zones {
				name := b.Result.Name
				if b.Err != nil {
					fmt.Fprintf(e.stderr, "%s: not signed: %v\n", name, b.Err)
					bad = true
					continue
				}
				if b.Report != nil && !b.Report.OK() {
					fmt.Fprintf(e.stderr, "%s: verification failed; not written:\n", name)
					for _, p := range b.Report.Problems {
						fmt.Fprintf(e.stderr, "  %s\n", p)
					}
					bad = true
					continue
				}
				path := datadir.New(out).ZoneFile(name)
				wstart := time.Now()
				if err := atomicfile.WriteRewriting(path, 0o644, b.WriteZone); err != nil {
					return err
				}
				st := b.Final.Stats()
				fmt.Fprintf(e.stdout, "%s: serial %d, %d delegations (%d signed), %d glue, %d records -> %s\n",
					name, b.Result.Serial, b.Result.Delegations, b.Result.Secure, b.Result.Glue, st.Records, path)
				ahead := ""
				if b.Presigned > 0 {
					ahead = fmt.Sprintf(" (%d DS RRsets signed ahead)", b.Presigned)
				}
				fmt.Fprintf(e.stderr, "%s: signed in %s%s, verified in %s, written in %s\n", name,
					b.SignTime.Round(time.Millisecond), ahead, b.VerifyTime.Round(time.Millisecond), time.Since(wstart).Round(time.Millisecond))
			}
			fmt.Fprintf(e.stderr, "built in %s (registry read and zones generated in %s)\n",
				time.Since(start).Round(time.Millisecond), set.GenerateTime.Round(time.Millisecond))
			if bad {
				return negative
			}
			return nil
		},
	}
}

// readZoneFile reads a master file; the apex is zoneName, or else the
// owner of the file's SOA record.
func readZoneFile(path, zoneName string) (*zone.Zone, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, inputError(err)
	}
	defer f.Close()
	origin := zone.Root
	if zoneName != "" {
		if origin, err = zone.ParseName(strings.TrimSuffix(zoneName, ".")+".", zone.Root); err != nil {
			return nil, usageErrorf("--zone %q: %v", zoneName, err)
		}
	}
	z, err := zone.Read(f, zone.ReadOptions{Origin: origin, File: path})
	if err != nil {
		return nil, inputError(err)
	}
	if zoneName != "" {
		return z, nil
	}
	apex, err := z.Apex()
	if err != nil {
		return nil, inputError(fmt.Errorf("%s: %v (or give --zone)", path, err))
	}
	z, err = z.WithOrigin(apex)
	if err != nil {
		return nil, inputError(fmt.Errorf("%s: %w", path, err))
	}
	return z, nil
}

func zoneVerifyCommand() *command {
	var zoneName, now, parentDS string
	return &command{
		name:     "verify",
		synopsis: "[--zone ZONE] [--parent-ds FILE] [--now TIME] FILE",
		summary:  "Verify a signed zone file independently",
		help: `Checks a signed master file as ptzone checks every zone before publishing
it: every RRSIG against the DNSKEYs at --now, every algorithm on every
authoritative RRset, no signatures over delegation NS or glue, key tags,
the DNSKEY RRset against the parent's DS (--parent-ds), the NSEC3 chain
(complete, ordered, closed, opt-out spans), and ZONEMD. Lists every
problem; exit status 0 when there is none, 1 otherwise.`,
		flags: func(fs *flag.FlagSet) {
			fs.StringVar(&zoneName, "zone", "", "the zone's `NAME` (default: the owner of its SOA)")
			fs.StringVar(&now, "now", "", "verify at `TIME` (RFC 3339; default now)")
			fs.StringVar(&parentDS, "parent-ds", "", "`FILE` with the parent's DS RRset")
		},
		run: func(ctx context.Context, e *env, args []string) error {
			if len(args) != 1 {
				return usageErrorf("zone verify: give exactly one FILE")
			}
			pf := pipelineFlags{now: now}
			at, err := pf.clock()
			if err != nil {
				return err
			}
			opt := dnssec.VerifyOptions{Now: at}
			if parentDS != "" {
				text, err := os.ReadFile(parentDS)
				if err != nil {
					return inputError(err)
				}
				if opt.ParentDS, err = dnssec.ParseDS(text, parentDS); err != nil {
					return inputError(err)
				}
			}
			z, err := readZoneFile(args[0], zoneName)
			if err != nil {
				return err
			}
			rep := dnssec.Verify(z, opt)
			st := z.Stats()
			fmt.Fprintf(e.stdout, "%s: %d records, %d delegations (%d signed), %d signatures checked",
				z.Origin(), st.Records, rep.Delegations, rep.SignedDelegations, rep.Signatures)
			if !rep.EarliestExpiration.IsZero() {
				fmt.Fprintf(e.stdout, ", first expiry %s", rep.EarliestExpiration.Format(time.RFC3339))
			}
			fmt.Fprintln(e.stdout)
			if rep.OK() {
				fmt.Fprintln(e.stdout, "valid")
				return nil
			}
			for _, p := range rep.Problems {
				fmt.Fprintln(e.stdout, p)
			}
			fmt.Fprintf(e.stdout, "invalid: %d problems\n", len(rep.Problems))
			return negative
		},
	}
}

func zoneDiffCommand() *command {
	var zoneName string
	var records bool
	return &command{
		name:     "diff",
		synopsis: "[--zone ZONE] [--records] OLD NEW",
		summary:  "Compare two versions of a zone",
		help: `Compares two master files of one zone: delegations added and removed, NS
targets, DS and glue changed (what the publish guard limits), then with
--records every RRset that differs. Exit status 0 when the zones are the
same, 1 when they differ.`,
		flags: func(fs *flag.FlagSet) {
			fs.StringVar(&zoneName, "zone", "", "the zone's `NAME` (default: the owner of its SOA)")
			fs.BoolVar(&records, "records", false, "list every RRset that differs")
		},
		run: func(ctx context.Context, e *env, args []string) error {
			if len(args) != 2 {
				return usageErrorf("zone diff: give OLD and NEW")
			}
			old, err := readZoneFile(args[0], zoneName)
			if err != nil {
				return err
			}
			nu, err := readZoneFile(args[1], old.Origin().String())
			if err != nil {
				return err
			}
			d := publish.Compare(old, nu)
			fmt.Fprintf(e.stdout, "%s: %d delegations before; %d added, %d removed, %d with NS changed, %d DS changed, %d glue changed\n",
				old.Origin(), d.Delegations, d.Added, d.Removed, d.NSChanged, d.DSChanged, d.GlueChanged)
			changed := 0
			for ch := range zone.Diff(old, nu) {
				changed++
				if !records {
					continue
				}
				if ch.HasOld {
					printRRset(e.stdout, "-", ch.Old)
				}
				if ch.HasNew {
					printRRset(e.stdout, "+", ch.New)
				}
			}
			if changed == 0 {
				fmt.Fprintln(e.stdout, "identical")
				return nil
			}
			fmt.Fprintf(e.stdout, "%d RRsets differ\n", changed)
			return negative
		},
	}
}

func printRRset(w io.Writer, sign string, r zone.RRset) {
	for rd := range r.Rdata() {
		text, err := zone.AppendRdataText(nil, r.Type(), rd)
		if err != nil {
			text = []byte(fmt.Sprintf("(unprintable: %v)", err))
		}
		fmt.Fprintf(w, "%s %s\t%d\tIN\t%s\t%s\n", sign, r.Owner(), r.TTL(), zone.TypeString(r.Type()), text)
	}
}

func zonePublishCommand() *command {
	var (
		pf              pipelineFlags
		dryRun, full    bool
		forceBy, reason string
	)
	return &command{
		name:     "publish",
		synopsis: "[flags]",
		summary:  "Publish the zones: build, sign, verify, guard, write, log",
		help: `Runs one publication: one registry snapshot, every zone built, signed and
verified independently, then judged by the guard against the last published
version, written into DATA-DIR/zones and recorded in the publication log with
its receipt. A refused zone keeps its last good version.

A publication goes on from the last one when it can: it reads only the
domains changed since (the registry's change feed), builds and signs only
what they change, verifies with the last zone's unchanged signatures
trusted, and appends the change to <zone>.journal. Otherwise, or with
--full, it reads the whole registry. Either way the zones are the same, byte
for byte. A zone whose data did not change and whose signatures are not
due for refresh is left as it is, serial included ("unchanged"), so that
its secondaries have nothing to transfer. The master file <zone>.zone and the image <zone>.zone.bin are
rewritten by full publications and whenever the journal passes 64 MiB; the
zone as published is the image with the journal applied.

The guard never lets through a zone that fails verification, a serial that
does not increase, or signatures about to expire. Changes beyond the limits
(delegations removed, NS targets, glue, DS: more than 1% and 10) are refused
unless an operator forces them with --force-by NAME --reason TEXT, which
the log records; with a guard window, the same limits hold the sum of the
zone's publications within it. A refusal lists the first offenders: what
changed, and why the registry no longer delegates a removed delegation. --dry-run judges without writing.

An operator's freeze holds as in the daemon: with every zone frozen
nothing is published; a zone frozen alone stays as published while the
others are.

Exit status 0 when every zone was published or unchanged (or passed, with --dry-run),
1 when a zone was refused or failed.`,
		flags: func(fs *flag.FlagSet) {
			pf.register(fs)
			fs.BoolVar(&dryRun, "dry-run", false, "judge the zones, write nothing")
			fs.StringVar(&forceBy, "force-by", "", "operator `NAME` forcing past the change limits")
			fs.StringVar(&reason, "reason", "", "why the change is forced (`TEXT`), recorded in the log")
			fs.BoolVar(&full, "full", false, "read the whole registry, even if the last publication can be gone on from")
		},
		run: func(ctx context.Context, e *env, args []string) error {
			if len(args) > 0 {
				return usageErrorf("zone publish takes no arguments")
			}
			var force *publish.Force
			if forceBy != "" || reason != "" {
				if forceBy == "" || strings.TrimSpace(reason) == "" {
					return usageErrorf("zone publish: forcing needs both --force-by NAME and --reason TEXT")
				}
				force = &publish.Force{By: forceBy, Reason: reason}
			}
			now, err := pf.clock()
			if err != nil {
				return err
			}
			cfg, err := pf.loadConfig()
			if err != nil {
				return err
			}
			pub, reg, err := pf.publisher(ctx, e, cfg, datadir.ZonesDir(pf.sf.dataDirectory(e)))
			if err != nil {
				return err
			}
			defer reg.Close()
			req := publish.Request{Now: now, TriggeredBy: "cli", Force: force, DryRun: dryRun, Full: full}
			if !dryRun {
				// An operator's freeze holds here as in the daemon: every
				// zone's stops the publication, a zone's leaves it as it is.
				fs, err := reg.Freezes(ctx)
				if err != nil {
					return err
				}
				if f, frozen := store.FreezeOf(fs, ""); frozen {
					return &exitError{code: exitNegative, err: fmt.Errorf("zone publish: publishing is frozen (%s); thaw it first (ptzone operator thaw), or judge with --dry-run", f)}
				}
				for _, f := range fs {
					if req.Frozen == nil {
						req.Frozen = map[string]string{}
					}
					req.Frozen[f.Zone] = f.String()
				}
			}
			start := time.Now()
			prog := newProgress(e.stderr, "zone publish")
			prog.phase("reading the registry, building, signing, verifying and guarding")
			outs, err := pub.RunOnce(ctx, req)
			prog.done()
			if err != nil {
				return err
			}
			ok := printOutcomes(e.stdout, outs)
			var t publish.Times
			for _, o := range outs {
				t.Load, t.Generate = o.Times.Load, o.Times.Generate
				t.Sign += o.Times.Sign
				t.Verify += o.Times.Verify
				t.Write += o.Times.Write
			}
			ms := func(d time.Duration) time.Duration { return d.Round(time.Millisecond) }
			fmt.Fprintf(e.stderr, "published in %s (load %s, generate %s, sign %s, verify %s, write %s)\n", ms(time.Since(start)),
				ms(t.Load), ms(t.Generate), ms(t.Sign), ms(t.Verify), ms(t.Write))
			if !ok {
				return negative
			}
			return nil
		},
	}
}

// printOutcomes says what a publication did, zone by zone; ok is false
// when a zone was refused or failed.
func printOutcomes(w io.Writer, outs []publish.ZoneOutcome) (ok bool) {
	ok = true
	for _, o := range outs {
		switch o.Outcome {
		case publish.OutcomeUnchanged:
			fmt.Fprintf(w, "%s: unchanged at serial %d (no data changed, no signature due)\n", o.Zone, o.Serial)
			continue
		case publish.OutcomeFrozen:
			fmt.Fprintf(w, "%s: frozen, left as published\n", o.Zone)
			for _, r := range o.Refusals {
				printRefusal(w, "frozen", r)
			}
			ok = false
			continue
		}
		fmt.Fprintf(w, "%s: %s serial %d, %s (%d delegations; +%d -%d, NS %d, DS %d, glue %d)\n", o.Zone, o.Outcome, o.Serial, o.Mode,
			o.Build.Delegations, o.Delta.Added, o.Delta.Removed, o.Delta.NSChanged, o.Delta.DSChanged, o.Delta.GlueChanged)
		for _, r := range o.Forced {
			printRefusal(w, "forced", r)
		}
		for _, r := range o.Refusals {
			printRefusal(w, "refused", r)
		}
		if o.Outcome != store.OutcomePublished && o.Outcome != store.OutcomeDryRun && o.Outcome != publish.OutcomeUnchanged {
			ok = false
		}
	}
	return ok
}

// printRefusal writes a refusal, forced or standing, with its offenders
// one a line below it.
func printRefusal(w io.Writer, what string, r publish.Refusal) {
	lines := r.Lines()
	fmt.Fprintf(w, "  %s: %s\n", what, lines[0])
	for _, l := range lines[1:] {
		fmt.Fprintf(w, "      %s\n", l)
	}
}
