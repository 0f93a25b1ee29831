package publish

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"go.uber.org/zap"

	"github.com/ptzone/ptzone/datadir"
	"github.com/ptzone/ptzone/dnssec"
	"github.com/ptzone/ptzone/dnssec/keyfile"
	"github.com/ptzone/ptzone/internal/atomicfile"
	"github.com/ptzone/ptzone/policy"
	"github.com/ptzone/ptzone/store"
	"github.com/ptzone/ptzone/zone"
	"github.com/ptzone/ptzone/zonegen"
)

// Config configures publications.
type Config struct {
	Zones zonegen.Config
	// Sign holds the signing options; Now is set per publication.
	Sign  dnssec.SignOptions
	Guard Guard
	// PerZone replaces Sign and Guard for the zones it names.
	PerZone map[string]ZoneOptions
	// Unsigned publishes without DNSSEC (for tests and lab use only).
	Unsigned bool
	// KeysDir holds the zones' key files.
	KeysDir string
	// OutDir is the directory the zones are published into: datadir
	// owns its files.
	OutDir string
	// ParentDS are the DS RRsets the parents of our top zones publish
	// (pt's, from the root), by zone; our zones inside our zones are
	// checked against the DS we compute from their keys.
	ParentDS map[string][]dnssec.DS
	// Limits bound the zones' journals (FlushAfter, JournalKeep).
	datadir.Limits
	// Binary names the program publishing (its version and revision),
	// for the receipts.
	Binary string
}

// Digest identifies what a publication's output depends on in the
// configuration (the zones' parameters, signing, guard, the parents'
// DS), not where files go: two daemons with the same digest publish the
// same zones from the same registry and keys.
func (c *Config) Digest() string {
	b, _ := json.Marshal(struct {
		Zones    zonegen.Config
		Sign     dnssec.SignOptions
		Guard    Guard
		PerZone  map[string]ZoneOptions
		ParentDS map[string][]dnssec.DS
		Unsigned bool
	}{c.Zones, c.Sign, c.Guard, c.PerZone, c.ParentDS, c.Unsigned})
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:16])
}

// ZoneOptions are one zone's signing options and guard.
type ZoneOptions struct {
	Sign  dnssec.SignOptions
	Guard Guard
}

// signFor returns the signing options of zone name, Now unset.
func (c *Config) signFor(name string) dnssec.SignOptions {
	if o, ok := c.PerZone[name]; ok {
		return o.Sign
	}
	return c.Sign
}

// guardFor returns the guard of zone name.
func (c *Config) guardFor(name string) Guard {
	if o, ok := c.PerZone[name]; ok {
		return o.Guard
	}
	return c.Guard
}

// Registry is what a publication reads and writes.
type Registry interface {
	store.DomainReader
	store.PublicationLog
	// DelegationState tells, with Domain, why the registry no longer
	// delegates a name whose removal the guard refuses: read for the
	// offenders of a refusal only, at most 10.
	DelegationState(ctx context.Context, domain string) (store.DelegationState, error)
}

// Publisher runs publications.
type Publisher struct {
	cfg Config
	dir datadir.Dir
	reg Registry
	pol *policy.Policy
	log *zap.Logger
	// digest is the configuration's Digest, for the receipts.
	digest string

	mu   sync.Mutex
	held map[string]*held // by zone: see held
	// taken are the serials of the versions put in place by TakeBaseline,
	// by zone.
	taken map[string]uint32

	// waitPresigned makes signing wait until every DS RRset offered is
	// presigned, so that tests see what presigning does whatever the
	// scheduling.
	waitPresigned bool
	// damageSigned, a test's fault, damages in place what the signer
	// made, once it is complete and before the verifier sees it: a
	// signer that corrupts a signature, which the verifier must catch.
	damageSigned func(*zone.Zone)
	// beforeCommit, when set, is called with a zone's name once it is
	// judged, before the lock is checked and its files written: a test
	// takes the lock away there.
	beforeCommit func(zone string)
}

// New returns a publisher.
func New(cfg Config, reg Registry, pol *policy.Policy, log *zap.Logger) *Publisher {
	return &Publisher{cfg: cfg, dir: datadir.New(cfg.OutDir), reg: reg, pol: pol, log: log.Named("publish"), digest: cfg.Digest()}
}

// Request is one publication's circumstances.
type Request struct {
	Now         time.Time
	TriggeredBy string
	// Force publishes past forceable refusals.
	Force  *Force
	DryRun bool
	// Full builds every zone from the whole registry even when the last
	// publication left what an incremental build needs.
	Full bool
	// Frozen are the zones an operator froze, each with why: built, but
	// neither judged nor published (OutcomeFrozen), whatever the force.
	Frozen map[string]string
	// Lock, when set, is the publisher's lock the publication runs under
	// (the daemon's): a zone is written only while the lock is held and
	// nobody took it since, checked once the zone is judged, right
	// before its files are; and the publication log records it only
	// under the lock's generation (store.ErrFenced otherwise). Without
	// it (the command line) nothing is fenced.
	Lock store.Lock
	// note, when set, is the publication log's reason for a publication
	// that neither refusals nor a forcing explain (a rollback).
	note string
}

// ZoneOutcome is what became of one zone.
type ZoneOutcome struct {
	Zone string
	// Mode is "full" or "incremental" (see BuildIncremental).
	Mode     string
	Serial   uint32
	Outcome  store.Outcome
	Refusals []Refusal // the standing ones
	Forced   []Refusal
	Delta    Delta
	Build    *zonegen.Result
	Final    *zone.Zone
	Report   *dnssec.Report
	Digest   string
	File     string
	// Times says where the publication's time went: Load and Generate
	// are shared by every zone of it, Sign, Verify and Write are this
	// zone's.
	Times Times
}

// Times are the durations of a publication's phases.
type Times struct {
	// Load reads the last publication's zones and states (incremental).
	Load time.Duration
	// Generate reads the registry and builds the unsigned zones or changes.
	Generate            time.Duration
	Sign, Verify, Write time.Duration
}

// Built is one zone built, signed and verified, not yet judged.
type Built struct {
	Result *zonegen.Result
	// Final is the zone to publish: signed, unless the build is unsigned.
	Final  *zone.Zone
	Report *dnssec.Report // nil when unsigned
	Keys   []*dnssec.Key
	Digest string
	Prev   *Previous
	// Err is set when the zone could not be signed.
	Err error
	// SignTime and VerifyTime are how long signing and verification took.
	SignTime, VerifyTime time.Duration
	// Presigned counts the DS RRsets whose signatures were made while the
	// registry was read (dnssec.Presigner) and taken by the signing.
	Presigned int
	// State is what the next build goes on from; stateWrite, when the
	// build is for publication, is its file being written.
	State      *zonegen.ZoneState
	stateWrite *datadir.StateWrite
	// An incremental build's patch from the previous zone, the unsigned
	// owners it changed, and its counts; nil Patch for a full build.
	Patch   *zone.Patch
	Changed []zone.Name
	Change  *zonegen.ZoneChange
	// Unchanged: nothing to publish (see OutcomeUnchanged); Final is the
	// zone as published.
	Unchanged bool
	// fillZONEMD, when not nil, writes Final's ZONEMD record in place once
	// its digest is known (dnssec.SignPending): a build without
	// verification writes the zone meanwhile (WriteZone).
	fillZONEMD func() error
}

// WriteZone writes Final as a master file. When its ZONEMD digest is still
// being computed (a build without verification), the zone is written
// meanwhile with placeholders, and its apex, the first lines, written
// again once the digest is known: the placeholders have the final
// records' lengths.
func (b *Built) WriteZone(w *atomicfile.Rewriter) error {
	if b.fillZONEMD == nil {
		_, err := b.Final.WriteTo(w)
		return err
	}
	pending, err := b.Final.AppendOwnerText(nil, 0)
	if err != nil {
		return err
	}
	if _, err := b.Final.WriteTo(w); err != nil {
		return err
	}
	if err := b.Complete(); err != nil {
		return err
	}
	apex, err := b.Final.AppendOwnerText(nil, 0)
	if err != nil {
		return err
	}
	if len(apex) != len(pending) {
		return fmt.Errorf("zone %s: the apex with its ZONEMD is %d octets, its placeholder %d", b.Result.Name, len(apex), len(pending))
	}
	return w.Rewrite(0, apex)
}

// Complete waits for Final's ZONEMD digest, if it is still being
// computed, and writes it in place.
func (b *Built) Complete() error {
	if b.fillZONEMD == nil {
		return nil
	}
	err := b.fillZONEMD()
	b.fillZONEMD = nil
	if err != nil {
		return err
	}
	b.Digest = zonemdDigest(b.Final)
	return nil
}

// OutcomeUnchanged is the outcome of a zone that an incremental
// publication left as it was: no delegation, glue or apex data changed
// and no signature was due, so it keeps its serial and nothing is written
// but its state. It is not an entry of the publication log, which records
// what was published or refused.
const OutcomeUnchanged store.Outcome = "unchanged"

// OutcomeFrozen is the outcome of a zone an operator froze
// (Request.Frozen): it stays as last published, at its serial, and its
// one refusal (RefuseFrozen) says who froze it and why. Like
// OutcomeUnchanged, it is not an entry of the publication log: nothing
// was attempted.
const OutcomeFrozen store.Outcome = "frozen"

// BuildRequest selects what Build does.
type BuildRequest struct {
	Now time.Time
	// Only limits the build to these zones, and the registry's reading to
	// their domains (zonegen.Input.Only): a zone comes out the same built
	// alone as with the others.
	Only []string
	// NoVerify skips verification: for measuring the signer alone. RunOnce
	// never sets it, and the guard refuses an unverified signed zone.
	NoVerify bool
	// Unsigned generates the zones without signing them, for a report
	// of what the registry would publish (a migration's, before the keys
	// are all there): the keys found are read only for the DS of our
	// zones inside ours, and a zone without keys has none there.
	Unsigned bool
	// forPublication starts writing each zone's state as soon as it is
	// generated (RunOnce): it is then ready when the zone is published.
	forPublication bool
}

// BuildSet is the outcome of Build.
type BuildSet struct {
	Zones        []*Built
	SnapshotTime time.Time
	// Token is the snapshot's place in the registry's change feed.
	Token string
	// Incremental: built from the changes since the last publication.
	Incremental bool
	// Changes counts the domains looked at again (incremental builds).
	Changes int
	// GenerateTime is how long reading the snapshot and generating every
	// zone took; LoadTime how long reading the last publication took.
	GenerateTime, LoadTime time.Duration
}

// Build reads one registry snapshot and builds, signs and verifies the
// zones: the first half of a publication, and all of "zone build".
func (p *Publisher) Build(ctx context.Context, req BuildRequest) (*BuildSet, error) {
	if req.Now.IsZero() {
		return nil, errors.New("publish: no publication time")
	}
	names := p.cfg.Zones.Zones
	selected := func(name string) bool { return len(req.Only) == 0 || slices.Contains(req.Only, name) }
	for _, o := range req.Only {
		if !slices.Contains(names, o) {
			return nil, fmt.Errorf("publish: %s is not one of the zones served (%s)", o, strings.Join(names, ", "))
		}
	}
	var keys map[string][]*dnssec.Key
	var childDS map[string][]store.DS
	var err error
	if req.Unsigned {
		keys, childDS, err = p.keysFound(req.Now)
	} else {
		keys, childDS, err = p.allKeys(req.Now)
	}
	if err != nil {
		return nil, err
	}
	prev, prevSerials, err := p.previous(ctx, p.heldZones())
	if err != nil {
		return nil, err
	}

	presigners := map[string]*dnssec.Presigner{}
	if !req.Unsigned {
		presigners = p.presigners(req.Now, keys, prev, selected)
	}
	defer func() {
		for _, ps := range presigners {
			ps.Close()
		}
	}()
	snap, err := p.reg.Snapshot(ctx)
	if err != nil {
		return nil, fmt.Errorf("publish: %w", err)
	}
	set := &BuildSet{SnapshotTime: snap.Time(), Token: snap.ChangeToken()}
	genStart := time.Now()
	in := zonegen.Input{Source: snap, Policy: p.pol, Now: req.Now, PrevSerials: prevSerials, ChildDS: childDS, Only: req.Only}
	if len(presigners) > 0 {
		in.SecureDelegation = func(zoneName string, owner []byte, ttl uint32, ds [][]byte) {
			if ps := presigners[zoneName]; ps != nil {
				ps.Offer(owner, ttl, ds)
			}
		}
		in.RegistryRead = func() {
			for _, ps := range presigners {
				ps.Start()
			}
		}
	}
	results, err := zonegen.Build(ctx, p.cfg.Zones, in)
	snap.Close()
	if err != nil {
		return nil, fmt.Errorf("publish: %w", err)
	}
	set.GenerateTime = time.Since(genStart)
	for _, res := range results {
		if !selected(res.Name) {
			continue
		}
		b := &Built{Result: res, Final: res.Zone, Keys: keys[res.Name], Prev: prev[res.Name], State: res.State}
		if req.forPublication && b.State != nil {
			b.stateWrite = p.dir.StartState(res.Name, datadir.State{Token: set.Token, Zone: b.State})
		}
		if !p.cfg.Unsigned && !req.Unsigned {
			p.sign(b, req.Now, childDS, !req.NoVerify, presigners[res.Name])
		}
		set.Zones = append(set.Zones, b)
	}
	return set, nil
}

// allKeys reads every zone's keys and the DS its parent must publish.
func (p *Publisher) allKeys(now time.Time) (map[string][]*dnssec.Key, map[string][]store.DS, error) {
	keys := map[string][]*dnssec.Key{}
	childDS := map[string][]store.DS{}
	if p.cfg.Unsigned {
		return keys, childDS, nil
	}
	for _, name := range p.cfg.Zones.Zones {
		ks, ds, err := p.loadKeys(name, now, true)
		if err != nil {
			return nil, nil, err
		}
		keys[name], childDS[name] = ks, ds
	}
	return keys, childDS, nil
}

// keysFound is allKeys for an unsigned build: a zone without keys is
// passed over.
func (p *Publisher) keysFound(now time.Time) (map[string][]*dnssec.Key, map[string][]store.DS, error) {
	keys := map[string][]*dnssec.Key{}
	childDS := map[string][]store.DS{}
	for _, name := range p.cfg.Zones.Zones {
		ks, ds, err := p.loadKeys(name, now, false)
		if err != nil {
			return nil, nil, err
		}
		if len(ks) > 0 {
			keys[name], childDS[name] = ks, ds
		}
	}
	return keys, childDS, nil
}

// previous loads every zone as last published, with its serial: the
// image's, or the publication log's if that is later (files can be lost,
// serials must never go back).
func (p *Publisher) previous(ctx context.Context, held map[string]*held) (map[string]*Previous, map[string]uint32, error) {
	var unheld []string
	for _, name := range p.cfg.Zones.Zones {
		if held[name] == nil {
			unheld = append(unheld, name)
		}
	}
	loaded, err := p.dir.Load(unheld, datadir.Refuse)
	if err != nil {
		return nil, nil, fmt.Errorf("publish: %w", err)
	}
	prev := map[string]*Previous{}
	serials := map[string]uint32{}
	for _, name := range p.cfg.Zones.Zones {
		var z *zone.Zone
		var j *datadir.Journal
		if h := held[name]; h != nil {
			z, j = h.zone, h.journal
		} else {
			l := loaded.Zone(name)
			z, j = l.Zone, l.Journal
		}
		serial := z.Serial()
		logged, adopted, err := p.lastLogged(ctx, name)
		if err != nil {
			return nil, nil, err
		}
		if serial == 0 || zonegen.SerialGreater(logged, serial) {
			serial = logged
		}
		taken := z != nil && p.takenAt(name, z.Serial())
		prev[name] = &Previous{Zone: z, Serial: serial, journal: j, Adopted: (adopted || taken) && z != nil && z.Serial() == logged}
		serials[name] = serial
	}
	return prev, serials, nil
}

// Keys returns a zone's keys as the key directory holds them, whatever
// their state: for an operator's status.
func (p *Publisher) Keys(name string) ([]*dnssec.Key, error) {
	apex, err := zone.ParseName(name+".", zone.Root)
	if err != nil {
		return nil, fmt.Errorf("publish: zone %q: %w", name, err)
	}
	return keyfile.Load(p.cfg.KeysDir, apex)
}

// loadKeys reads a zone's keys and the DS its parent must publish for it;
// a zone without keys is an error when they are required.
func (p *Publisher) loadKeys(name string, now time.Time, required bool) ([]*dnssec.Key, []store.DS, error) {
	apex, err := zone.ParseName(name+".", zone.Root)
	if err != nil {
		return nil, nil, fmt.Errorf("publish: zone %q: %w", name, err)
	}
	ks, err := keyfile.Load(p.cfg.KeysDir, apex)
	if err != nil {
		return nil, nil, fmt.Errorf("publish: keys of %s: %w", name, err)
	}
	if len(ks) == 0 && required {
		return nil, nil, fmt.Errorf("publish: zone %s has no keys in %s (ptzone keys generate --zone %s)", name, p.cfg.KeysDir, name)
	}
	var dss []store.DS
	for _, k := range ks {
		if !k.SEP() || !k.Published(now) {
			continue
		}
		ds, err := k.DS(2)
		if err != nil {
			return nil, nil, err
		}
		dss = append(dss, store.DS{KeyTag: ds.KeyTag, Algorithm: ds.Algorithm,
			DigestType: ds.DigestType, Digest: strings.ToUpper(hex.EncodeToString(ds.Digest))})
	}
	return ks, dss, nil
}

// sign signs and verifies one built zone. Our zones inside our zones are
// verified against the DS their parent zone carries for them.
func (p *Publisher) sign(b *Built, now time.Time, childDS map[string][]store.DS, verify bool, presigner *dnssec.Presigner) {
	opt := p.signOptions(b.Result.Name, now, b.Prev)
	opt.Presigner = presigner
	if presigner != nil && p.waitPresigned {
		presigner.Wait()
	}
	start := time.Now()
	signed, fill, err := dnssec.SignPending(b.Result.Zone, b.Keys, opt)
	b.SignTime = time.Since(start)
	if presigner != nil {
		_, b.Presigned = presigner.Stats()
	}
	if err == nil {
		fill, err = p.damage(signed, fill)
	}
	if err != nil {
		b.Err = err
		return
	}
	b.Final, b.fillZONEMD = signed, fill
	if !verify {
		return // the digest is computed while the zone is written
	}
	var trusted *zone.Zone
	if b.Prev != nil && !b.Prev.Adopted {
		trusted = b.Prev.Zone
	}
	// The verifier's digest is taken beside the signer's.
	verified := dnssec.StartVerify(signed, dnssec.VerifyOptions{Now: now, ParentDS: p.parentDS(b.Result.Name, childDS), Keys: b.Keys, Trusted: trusted})
	start = time.Now()
	err = b.Complete() // the signer's digest, then its ZONEMD
	b.SignTime += time.Since(start)
	if err != nil {
		b.Err = err
		return
	}
	start = time.Now()
	b.Report = verified()
	b.VerifyTime = time.Since(start)
}

// damage applies the test's fault (damageSigned), if any, to a signing's
// output, completed first: nothing reads the zone meanwhile. It returns
// what is left of fill.
func (p *Publisher) damage(signed *zone.Zone, fill func() error) (func() error, error) {
	if p.damageSigned == nil {
		return fill, nil
	}
	if err := fill(); err != nil {
		return nil, err
	}
	p.damageSigned(signed)
	return func() error { return nil }, nil
}

// signOptions are the options of a signing of zone name at now after
// prev. An adopted zone's signatures are not kept: ptzone did not make
// them, and an adopted zone need not even verify.
func (p *Publisher) signOptions(name string, now time.Time, prev *Previous) dnssec.SignOptions {
	opt := p.cfg.signFor(name)
	opt.Now = now
	if prev != nil && !prev.Adopted {
		opt.Previous = prev.Zone
	}
	return opt
}

// presigners prepare signing ahead the DS RRsets of the zones a build
// signs (dnssec.Presigner): offered while the registry is read, signed
// once it is. A zone that cannot be signed gets none: its signing reports
// why.
func (p *Publisher) presigners(now time.Time, keys map[string][]*dnssec.Key, prev map[string]*Previous, selected func(string) bool) map[string]*dnssec.Presigner {
	out := map[string]*dnssec.Presigner{}
	if p.cfg.Unsigned {
		return out
	}
	for _, name := range p.cfg.Zones.Zones {
		if !selected(name) {
			continue
		}
		apex, err := zone.ParseName(name+".", zone.Root)
		if err != nil {
			continue
		}
		if ps, err := dnssec.NewPresigner(apex, keys[name], p.signOptions(name, now, prev[name])); err == nil {
			out[name] = ps
		}
	}
	return out
}

// parentDS returns the DS RRset a zone's parent publishes for it: ours,
// from the zone's keys, for our zones inside our zones; configured for
// the others.
func (p *Publisher) parentDS(name string, childDS map[string][]store.DS) []dnssec.DS {
	if !isChildOfOurs(name, p.cfg.Zones.Zones) {
		return p.cfg.ParentDS[name]
	}
	var out []dnssec.DS
	for _, d := range childDS[name] {
		digest, _ := hex.DecodeString(d.Digest)
		out = append(out, dnssec.DS{KeyTag: d.KeyTag, Algorithm: d.Algorithm, DigestType: d.DigestType, Digest: digest})
	}
	return out
}

// RunOnce runs one publication of every configured zone: build, then per
// zone the guard, the write and the record. Each zone is judged on its
// own; the error is for what stops the whole run (the registry unreachable,
// keys missing). Refusals are outcomes, not errors.
func (p *Publisher) RunOnce(ctx context.Context, req Request) ([]ZoneOutcome, error) {
	start := time.Now()
	if err := p.dir.Prepare(); err != nil {
		return nil, fmt.Errorf("publish: %w", err)
	}
	var set *BuildSet
	var err error
	if !req.Full {
		set, err = p.BuildIncremental(ctx, BuildRequest{Now: req.Now, forPublication: true})
		if errors.Is(err, ErrFullBuild) {
			p.log.Info("full build", zap.String("why", err.Error()))
			set, err = nil, nil
		}
		if err != nil {
			return nil, err
		}
	}
	if set == nil {
		if set, err = p.Build(ctx, BuildRequest{Now: req.Now, forPublication: true}); err != nil {
			return nil, err
		}
	}
	var outcomes []ZoneOutcome
	for _, b := range set.Zones {
		outcomes = append(outcomes, p.publishZone(ctx, req, b, set))
		b.stateWrite.Discard() // a state not published
	}
	p.log.Info("publication finished", zap.Duration("took", time.Since(start)), zap.Int("zones", len(outcomes)))
	return outcomes, nil
}

// lastLoggedSerial is the serial of the zone's last published or
// adopted entry in the log, so that serials never go back even if the
// files were lost.
func (p *Publisher) lastLoggedSerial(ctx context.Context, name string) (uint32, error) {
	serial, _, err := p.lastLogged(ctx, name)
	return serial, err
}

// lastLogged is lastLoggedSerial, and whether that entry is an adoption
// (store.OutcomeAdopted): the zone served is then the previous signer's.
func (p *Publisher) lastLogged(ctx context.Context, name string) (serial uint32, adopted bool, err error) {
	pubs, err := p.reg.Publications(ctx, name, 100)
	if err != nil {
		return 0, false, fmt.Errorf("publish: reading the publication log: %w", err)
	}
	for _, pub := range pubs {
		if pub.Outcome == store.OutcomePublished || pub.Outcome == store.OutcomeAdopted {
			return pub.Serial, pub.Outcome == store.OutcomeAdopted, nil
		}
	}
	return 0, false, nil
}

func (p *Publisher) publishZone(ctx context.Context, req Request, b *Built, set *BuildSet) ZoneOutcome {
	res := b.Result
	log := p.log.With(zap.String("zone", res.Name), zap.Uint32("serial", res.Serial))
	o := ZoneOutcome{Zone: res.Name, Mode: "full", Serial: res.Serial, Build: res, Final: b.Final, Report: b.Report, Digest: b.Digest,
		Times: Times{Load: set.LoadTime, Generate: set.GenerateTime, Sign: b.SignTime, Verify: b.VerifyTime}}
	if b.Change != nil {
		o.Mode = "incremental"
	}
	fail := func(err error) ZoneOutcome {
		o.Outcome = store.OutcomeFailed
		o.Refusals = []Refusal{{Code: failureCode(err), Message: err.Error()}}
		if o.Refusals[0].Code != RefuseFenced { // the log would refuse it
			p.record(ctx, req, o, b, set, log)
		}
		return o
	}
	if why, frozen := req.Frozen[res.Name]; frozen {
		// What was built is dropped: the outcome is the zone as published.
		o.Outcome, o.Build, o.Final, o.Report, o.Digest, o.Serial = OutcomeFrozen, nil, nil, nil, "", 0
		if b.Prev != nil {
			o.Final, o.Serial = b.Prev.Zone, b.Prev.Serial
			if o.Final != nil {
				o.Digest = zonemdDigest(o.Final)
			}
		}
		o.Refusals = []Refusal{{Code: RefuseFrozen, Message: why}}
		log.Info("zone frozen: not published", zap.String("why", why))
		return o
	}
	if b.Err != nil {
		return fail(b.Err)
	}
	if b.Unchanged {
		o.Outcome = OutcomeUnchanged
		if !req.DryRun && b.stateWrite != nil {
			if err := p.fence(ctx, req, res.Name); err != nil {
				// Nothing to publish, and nothing written: the state
				// stays as the files it goes with.
				log.Error("zone unchanged; its state not written", zap.Error(err))
				return o
			}
			if err := b.stateWrite.Commit(); err != nil {
				p.forget(res.Name)
				return fail(fmt.Errorf("writing the state of %s: %w", res.Name, err))
			}
			p.hold(res.Name, b.Final, b.Prev.journal, &datadir.State{Token: set.Token, Zone: b.State})
		}
		log.Info("zone unchanged")
		return o
	}
	cand := Candidate{Zone: o.Final, Serial: res.Serial, Report: o.Report, Signed: !p.cfg.Unsigned}
	if b.Patch != nil {
		cand.Changed, cand.PrevDelegations = b.Changed, b.Prev.delegations
	}
	guard := p.guardFor(res.Name)
	if guard.Window > 0 && b.Prev != nil && b.Prev.Zone != nil {
		past, err := p.pastPublications(ctx, res.Name, req.Now.Add(-guard.Window))
		if err != nil {
			return fail(err)
		}
		b.Prev.Window = past
	}
	refusals, delta := guard.Check(cand, b.Prev, req.Now)
	p.explain(ctx, res.Name, refusals, log)
	o.Delta = delta
	o.Refusals, o.Forced = Decide(refusals, req.Force)
	switch {
	case len(o.Refusals) > 0:
		o.Outcome = store.OutcomeRefused
		for _, r := range o.Refusals {
			log.Warn("publication refused", zap.String("code", r.Code), zap.String("why", r.Message), zap.Strings("offenders", r.Offenders))
		}
	case req.DryRun:
		o.Outcome = store.OutcomeDryRun
	default:
		if err := p.fence(ctx, req, res.Name); err != nil {
			log.Error("publication fenced: nothing written", zap.Error(err))
			return fail(err)
		}
		start := time.Now()
		file, err := p.persist(res.Name, b, set.Token)
		o.Times.Write = time.Since(start)
		if err != nil {
			p.forget(res.Name)
			return fail(err)
		}
		if b.State != nil {
			p.hold(res.Name, b.Final, b.Prev.journal, &datadir.State{Token: set.Token, Zone: b.State})
		} else {
			p.forget(res.Name)
		}
		o.File = file
		o.Outcome = store.OutcomePublished
		if len(o.Forced) > 0 {
			log.Warn("publication forced", zap.String("by", req.Force.By), zap.String("reason", req.Force.Reason))
		}
	}
	if err := p.record(ctx, req, o, b, set, log); errors.Is(err, store.ErrFenced) && o.Outcome == store.OutcomePublished {
		// Taken between the check and the record: the files are written,
		// but the publication is not the publisher's.
		o.Outcome = store.OutcomeFailed
		o.Refusals = []Refusal{{Code: RefuseFenced, Message: fmt.Sprintf("%s serial %d was written into %s, but not recorded: %v",
			res.Name, o.Serial, p.cfg.OutDir, err)}}
	}
	return o
}

// RefuseFenced is the code of a zone not published because the
// publication's lock was lost or taken by another daemon meanwhile
// (Request.Lock): its outcome is failed.
const RefuseFenced = "fenced"

// failureCode is the refusal code of a failed zone.
func failureCode(err error) string {
	if errors.Is(err, store.ErrFenced) {
		return RefuseFenced
	}
	return "error"
}

// fence checks, right before a zone's files are written, that the
// publication's lock (if any) is held still and nobody took it since.
func (p *Publisher) fence(ctx context.Context, req Request, name string) error {
	if p.beforeCommit != nil {
		p.beforeCommit(name)
	}
	if req.Lock == nil || req.Lock.Held(ctx) {
		return nil
	}
	return fmt.Errorf("the publisher's lock (generation %d) was lost, or another daemon took it, before %s was written: %w",
		req.Lock.Generation(), name, store.ErrFenced)
}

// guardFor returns the guard that judges the zone's publications.
func (p *Publisher) guardFor(zoneName string) Guard {
	return p.cfg.guardFor(zoneName)
}

// pastPublications reads the zone's publications since the window began
// from their receipts in the publication log.
func (p *Publisher) pastPublications(ctx context.Context, name string, since time.Time) ([]Past, error) {
	pubs, err := p.reg.PublishedSince(ctx, name, since)
	if err != nil {
		return nil, fmt.Errorf("publish: reading the publications of %s since %s for the guard's window: %w", name, since.Format(time.RFC3339), err)
	}
	out := make([]Past, 0, len(pubs))
	for _, pub := range pubs {
		var r receipt
		if err := json.Unmarshal(pub.Details, &r); err != nil {
			return nil, fmt.Errorf("publish: the receipt of publication %d (%s serial %d) in the publication log: %w", pub.ID, name, pub.Serial, err)
		}
		d := Delta{Added: r.Delta["added"], Removed: r.Delta["removed"], NSChanged: r.Delta["ns_changed"],
			DSChanged: r.Delta["ds_changed"], GlueChanged: r.Delta["glue_changed"], offenders: map[string][]Offender{}}
		if prev, ok := r.Delta["previous_delegations"]; ok {
			d.Delegations = prev
		} else {
			// A receipt from before the figure was kept: its zone's
			// delegations undone of its changes.
			d.Delegations = max(0, pub.Delegations-d.Added+d.Removed)
		}
		for code, names := range r.Changed {
			for _, n := range names {
				d.offenders[code] = append(d.offenders[code], Offender{Name: n})
			}
		}
		out = append(out, Past{Serial: pub.Serial, Time: pub.Time, Forced: r.Forced != nil, Delta: d})
	}
	return out, nil
}

// explain reads from the registry why it no longer delegates the
// removed delegations refusals name: a few lookups for the offenders of
// a refusal, rather than a reason kept for every domain a build leaves
// out. A lookup that fails leaves the offenders unexplained: the
// refusal stands without it.
func (p *Publisher) explain(ctx context.Context, zoneName string, refusals []Refusal, log *zap.Logger) {
	fixed := func(name string) bool {
		if slices.Contains(p.cfg.Zones.Zones, name) {
			return true
		}
		return slices.ContainsFunc(p.cfg.Zones.StaticDelegations, func(s zonegen.StaticDelegation) bool { return s.Name == name })
	}
	for i := range refusals {
		if refusals[i].Code != RefuseRemoved {
			continue
		}
		for j := range refusals[i].Details {
			o := &refusals[i].Details[j]
			if fixed(o.Name) {
				o.Registry = string(zonegen.ReasonFixed)
				continue
			}
			d, err := p.reg.Domain(ctx, o.Name)
			if errors.Is(err, store.ErrNotFound) {
				o.Registry = RegistryAbsent
				continue
			}
			if err != nil {
				log.Warn("reading a removed delegation's domain", zap.String("domain", o.Name), zap.Error(err))
				return
			}
			var state *store.DelegationState
			if st, err := p.reg.DelegationState(ctx, o.Name); err == nil {
				state = &st
			} else if !errors.Is(err, store.ErrNotFound) {
				log.Warn("reading a removed delegation's state", zap.String("domain", o.Name), zap.Error(err))
				return
			}
			o.Status = string(d.Status)
			switch {
			case d.Zone != zoneName:
				o.Registry = string(zonegen.ReasonNotServed)
			default:
				o.Registry = string(zonegen.Include(store.Candidate{Domain: d, State: state}, p.pol, p.cfg.Zones.AssumeChecked))
				if o.Registry == string(zonegen.ReasonIn) {
					o.Registry = RegistryDelegates
				}
			}
		}
	}
}

func isChildOfOurs(name string, zones []string) bool {
	for _, z := range zones {
		if z != name && store.IsSubdomain(name, z) {
			return true
		}
	}
	return false
}

// persist publishes a built zone into the data directory.
func (p *Publisher) persist(name string, b *Built, token string) (string, error) {
	v := datadir.Version{Zone: b.Final, Patch: b.Patch, Prev: b.Prev.Zone}
	if b.State != nil {
		if b.stateWrite == nil {
			b.stateWrite = p.dir.StartState(name, datadir.State{Token: token, Zone: b.State})
		}
		v.State = b.stateWrite
	}
	return p.dir.Write(name, b.Prev.journal, v, p.cfg.Limits)
}

// zonemdDigest returns the zone's ZONEMD digest in hex, or "".
func zonemdDigest(z *zone.Zone) string {
	set, ok := z.Get(z.Origin(), zone.TypeZONEMD)
	if !ok {
		return ""
	}
	for rd := range set.Rdata() {
		if len(rd) > 6 && binary.BigEndian.Uint32(rd) != 0 {
			return hex.EncodeToString(rd[6:])
		}
	}
	return ""
}

// receipt is the build receipt recorded with each publication attempt.
type receipt struct {
	SnapshotTime time.Time `json:"snapshot_time"`
	// Mode is "full" (the whole registry read) or "incremental" (its
	// changes since the last publication; excluded counts are then not
	// known, the last full build's stand).
	Mode               string         `json:"mode"`
	Changes            *changeReceipt `json:"changes,omitempty"`
	PolicyVersion      string         `json:"policy_version"`
	Binary             string         `json:"binary,omitempty"`
	ConfigDigest       string         `json:"config_digest"`
	Keys               []string       `json:"keys,omitempty"`
	Delegations        int            `json:"delegations"`
	SignedDelegations  int            `json:"signed_delegations"`
	Glue               int            `json:"glue"`
	GlueConflicts      int            `json:"glue_conflicts,omitempty"`
	Excluded           map[string]int `json:"excluded,omitempty"`
	Signatures         int            `json:"signatures,omitempty"`
	EarliestExpiration *time.Time     `json:"earliest_expiration,omitempty"`
	// Delta counts the changes since the previous publication, and the
	// delegations the previous zone had (previous_delegations); Changed
	// names the first 10 of each category by refusal code: the guard sums
	// them over its window (Guard.Window).
	Delta    map[string]int      `json:"delta,omitempty"`
	Changed  map[string][]string `json:"changed,omitempty"`
	Refusals []Refusal           `json:"refusals,omitempty"`
	Forced   *forcedReceipt      `json:"forced,omitempty"`
	File     string              `json:"file,omitempty"`
}

type changeReceipt struct {
	Looked   int `json:"domains_looked_at"`
	Added    int `json:"delegations_added"`
	Removed  int `json:"delegations_removed"`
	Modified int `json:"delegations_modified"`
}

type forcedReceipt struct {
	By       string    `json:"by"`
	Reason   string    `json:"reason"`
	Refusals []Refusal `json:"refusals"`
}

// record writes the zone's entry in the publication log, under the
// lock's generation when there is a lock; it logs what fails, and
// returns it.
func (p *Publisher) record(ctx context.Context, req Request, o ZoneOutcome, b *Built, set *BuildSet, log *zap.Logger) error {
	res, keys := b.Result, b.Keys
	r := receipt{SnapshotTime: set.SnapshotTime, Mode: "full", PolicyVersion: p.pol.Version(), Binary: p.cfg.Binary, ConfigDigest: p.digest,
		Delegations:       res.Delegations,
		SignedDelegations: res.Secure, Glue: res.Glue, GlueConflicts: res.GlueConflicts, Refusals: o.Refusals, File: o.File,
		Delta: map[string]int{"added": o.Delta.Added, "removed": o.Delta.Removed, "ns_changed": o.Delta.NSChanged,
			"ds_changed": o.Delta.DSChanged, "glue_changed": o.Delta.GlueChanged, "previous_delegations": o.Delta.Delegations}}
	for _, code := range []string{RefuseRemoved, RefuseNSChanged, RefuseGlueChanged, RefuseDSChanged} {
		if names := o.Delta.Names(code); len(names) > 0 {
			if r.Changed == nil {
				r.Changed = map[string][]string{}
			}
			r.Changed[code] = names
		}
	}
	if b.Change != nil {
		r.Mode = "incremental"
		r.Changes = &changeReceipt{Looked: set.Changes, Added: b.Change.Added, Removed: b.Change.Removed, Modified: b.Change.Modified}
	}
	if len(res.Excluded) > 0 {
		r.Excluded = map[string]int{}
		for k, v := range res.Excluded {
			r.Excluded[string(k)] = v
		}
	}
	for _, k := range keys {
		if k.Published(req.Now) {
			r.Keys = append(r.Keys, k.String())
		}
	}
	if o.Report != nil {
		r.Signatures = o.Report.Signatures
		if !o.Report.EarliestExpiration.IsZero() {
			e := o.Report.EarliestExpiration
			r.EarliestExpiration = &e
		}
	}
	if len(o.Forced) > 0 {
		r.Forced = &forcedReceipt{By: req.Force.By, Reason: req.Force.Reason, Refusals: o.Forced}
	}
	details, err := json.Marshal(r)
	if err != nil {
		log.Error("encoding the receipt", zap.Error(err))
		return err
	}
	reason := ""
	if len(o.Refusals) > 0 {
		var parts []string
		for _, ref := range o.Refusals {
			parts = append(parts, ref.String())
		}
		reason = strings.Join(parts, "; ")
	} else if req.note != "" {
		reason = req.note
	} else if r.Forced != nil {
		reason = "forced by " + req.Force.By + ": " + req.Force.Reason
	}
	stats := o.Final.Stats()
	pub := store.Publication{Zone: o.Zone, Serial: o.Serial, Time: req.Now, Outcome: o.Outcome,
		TriggeredBy: req.TriggeredBy, Reason: reason, Records: stats.Records, Delegations: res.Delegations,
		Digest: o.Digest, Details: details}
	if req.Lock != nil {
		pub.Generation = req.Lock.Generation()
	}
	if _, err := p.reg.RecordPublication(ctx, pub); err != nil {
		if errors.Is(err, store.ErrFenced) {
			log.Error("not recorded: another daemon took the publisher's lock", zap.String("outcome", string(o.Outcome)), zap.Error(err))
		} else {
			log.Error("recording the publication", zap.Error(err))
		}
		return err
	}
	log.Info("zone "+string(o.Outcome), zap.Int("records", stats.Records), zap.Int("delegations", res.Delegations))
	return nil
}
