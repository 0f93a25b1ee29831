package publish_test

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"go.uber.org/zap"

	"github.com/ptzone/ptzone/datadir"
	"github.com/ptzone/ptzone/dnssec"
	"github.com/ptzone/ptzone/dnssec/keyfile"
	"github.com/ptzone/ptzone/internal/testkit"
	"github.com/ptzone/ptzone/internal/testkit/testdb"
	"github.com/ptzone/ptzone/policy"
	"github.com/ptzone/ptzone/publish"
	"github.com/ptzone/ptzone/store"
	"github.com/ptzone/ptzone/zone"
	"github.com/ptzone/ptzone/zonegen"
)

var (
	t0  = testkit.FixedTime
	pol = policy.New(policy.Lists{})
)

type fixture struct {
	db   store.Registry
	keys string
	out  string
	cfg  publish.Config
	// changes counts the changes made by change.
	changes int
}

// newFixture: the sample registry in the embedded store, keys for pt and
// com.pt, a publisher configured to build only those two zones.
func newFixture(t *testing.T) *fixture {
	t.Helper()
	return newFixtureOn(t, testdb.Sample(t))
}

// newFixtureOn is newFixture on the registry db, which holds the sample.
func newFixtureOn(t *testing.T, db store.Registry) *fixture {
	t.Helper()
	dir := t.TempDir()
	f := &fixture{db: db, keys: filepath.Join(dir, "keys"), out: filepath.Join(dir, "zones")}
	os.MkdirAll(f.keys, 0o700)
	testkit.GenerateKeyFiles(t, f.keys, t0.Add(-time.Hour), "pt.", "com.pt.")
	zc := zonegen.DefaultConfig()
	zc.Zones = []string{"pt", "com.pt"}
	zc.AssumeChecked = true
	f.cfg = publish.Config{Zones: zc, Sign: dnssec.DefaultSignOptions(t0), Guard: publish.Guard{Thresholds: publish.DefaultThresholds(), Refresh: 7 * 24 * time.Hour},
		KeysDir: f.keys, OutDir: f.out}
	return f
}

func (f *fixture) run(t *testing.T, req publish.Request) map[string]publish.ZoneOutcome {
	t.Helper()
	return f.runWith(t, publish.New(f.cfg, f.db, pol, zap.NewNop()), req)
}

// runWith runs one publication with the publisher p.
func (f *fixture) runWith(t *testing.T, p *publish.Publisher, req publish.Request) map[string]publish.ZoneOutcome {
	t.Helper()
	if req.TriggeredBy == "" {
		req.TriggeredBy = "test"
	}
	outs, err := p.RunOnce(context.Background(), req)
	if err != nil {
		t.Fatal(err)
	}
	m := map[string]publish.ZoneOutcome{}
	for _, o := range outs {
		m[o.Zone] = o
	}
	return m
}

// change moves one active pt domain to other nameservers, so that the
// next publication has something to publish in pt (an unchanged zone
// keeps its serial and is not published again).
func (f *fixture) change(t *testing.T) {
	t.Helper()
	f.changeIn(t, "pt")
}

// changeIn moves the first active domain of zone z to other nameservers
// and returns it as it now is.
func (f *fixture) changeIn(t *testing.T, z string) store.Domain {
	t.Helper()
	ctx := context.Background()
	snap, err := f.db.Snapshot(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var d store.Domain
	for c, err := range snap.Domains(ctx, store.Filter{Zone: z, Statuses: []store.Status{store.StatusActive}}) {
		if err != nil {
			t.Fatal(err)
		}
		d = c.Domain
		break
	}
	snap.Close()
	f.changes++
	d.Nameservers = []store.Nameserver{{Name: fmt.Sprintf("ns1.mudanca%d.net", f.changes)}, {Name: fmt.Sprintf("ns2.mudanca%d.net", f.changes)}}
	if err := f.db.PutDomain(ctx, d); err != nil {
		t.Fatal(err)
	}
	return d
}

// lastPublished reads zone z as last published into the fixture's
// directory, as a publication goes on from it (datadir.Refuse); nil if
// it was never published.
func (f *fixture) lastPublished(z string) (*zone.Zone, error) {
	p, err := datadir.New(f.out).Load([]string{z}, datadir.Refuse)
	if err != nil {
		return nil, err
	}
	return p.Zone(z).Zone, nil
}

func refusalCodes(o publish.ZoneOutcome) []string {
	var c []string
	for _, r := range o.Refusals {
		c = append(c, r.Code)
	}
	return c
}

func TestPublishAndReceipt(t *testing.T) {
	f := newFixture(t)
	out := f.run(t, publish.Request{Now: t0})
	pt := out["pt"]
	if pt.Outcome != store.OutcomePublished || pt.Serial != uint32(t0.Unix()) {
		t.Fatalf("pt: %s serial %d refusals %v", pt.Outcome, pt.Serial, pt.Refusals)
	}
	// Both files are there and the image is the zone.
	img, err := f.lastPublished("pt")
	if err != nil || img == nil || img.Serial() != pt.Serial {
		t.Fatalf("image: %v, serial %d", err, img.Serial())
	}
	text, err := os.ReadFile(filepath.Join(f.out, "pt.zone"))
	if err != nil || !bytes.Contains(text, []byte("\tIN\tZONEMD\t")) {
		t.Errorf("master file: %v", err)
	}
	// The receipt: serial, counts, ZONEMD digest, keys, snapshot time, policy version.
	pubs, _ := f.db.Publications(context.Background(), "pt", 1)
	p := pubs[0]
	if p.Serial != pt.Serial || p.Outcome != store.OutcomePublished || p.Records != pt.Final.Stats().Records || p.Digest == "" || p.Digest != pt.Digest {
		t.Errorf("log entry %+v", p)
	}
	var r struct {
		Keys          []string  `json:"keys"`
		SnapshotTime  time.Time `json:"snapshot_time"`
		PolicyVersion string    `json:"policy_version"`
		Signed        int       `json:"signed_delegations"`
		ConfigDigest  string    `json:"config_digest"`
	}
	if err := json.Unmarshal(p.Details, &r); err != nil || len(r.Keys) != 2 || r.SnapshotTime.IsZero() || r.PolicyVersion != pol.Version() || r.Signed == 0 {
		t.Errorf("receipt %s (%v)", p.Details, err)
	}
	// The configuration's digest: another zone parameter, another digest.
	other := f.cfg
	other.Zones.Expire++
	if r.ConfigDigest != f.cfg.Digest() || r.ConfigDigest == other.Digest() || len(r.ConfigDigest) != 32 {
		t.Errorf("receipt's config digest %q; the configuration's %q, another's %q", r.ConfigDigest, f.cfg.Digest(), other.Digest())
	}
	// com.pt's DS in pt matches com.pt's KSK: com.pt verified against it.
	if _, ok := pt.Final.Get(zone.MustParseName("com.pt."), zone.TypeDS); !ok {
		t.Error("pt has no DS for com.pt")
	}
	if out["com.pt"].Outcome != store.OutcomePublished {
		t.Errorf("com.pt: %v", out["com.pt"].Refusals)
	}

	// A second publication a minute later goes on from the first: a new
	// serial, a patch in the journal, the zone as published that patch
	// applied to the image.
	f.change(t)
	again := f.run(t, publish.Request{Now: t0.Add(time.Minute)})
	if again["pt"].Outcome != store.OutcomePublished || again["pt"].Serial <= pt.Serial {
		t.Errorf("second publication: %s %d", again["pt"].Outcome, again["pt"].Serial)
	}
	if mode := receiptMode(t, f, "pt"); mode != "incremental" {
		t.Errorf("second publication: mode %q, want incremental", mode)
	}
	if img, err := f.lastPublished("pt"); err != nil || img.Serial() != again["pt"].Serial {
		t.Errorf("published after the second publication: %v, serial %d", err, img.Serial())
	}
	if fi, err := os.Stat(filepath.Join(f.out, "pt.journal")); err != nil || fi.Size() == 0 {
		t.Errorf("journal after the second publication: %v", err)
	}
	// A full publication rewrites the image and keeps the previous one.
	full := f.run(t, publish.Request{Now: t0.Add(2 * time.Minute), Full: true})
	if full["pt"].Outcome != store.OutcomePublished || receiptMode(t, f, "pt") != "full" {
		t.Errorf("full publication: %s, mode %s", full["pt"].Outcome, receiptMode(t, f, "pt"))
	}
	if _, err := os.Stat(filepath.Join(f.out, "pt.prev.bin")); err != nil {
		t.Errorf("previous image not kept: %v", err)
	}
}

// TestLostStateMeansFull: state files are written without syncing, so a
// crash can leave one empty, torn or old. Each way the next publication
// must notice, build in full, and publish; the one after goes on again.
func TestLostStateMeansFull(t *testing.T) {
	f := newFixture(t)
	at := t0
	publishAt := func() {
		t.Helper()
		at = at.Add(time.Minute)
		f.change(t)
		out := f.run(t, publish.Request{Now: at})
		if out["pt"].Outcome != store.OutcomePublished {
			t.Fatalf("pt: %s %v", out["pt"].Outcome, out["pt"].Refusals)
		}
	}
	publishAt()
	state := filepath.Join(f.out, "pt.state")
	good, err := os.ReadFile(state)
	if err != nil {
		t.Fatal(err)
	}
	publishAt()
	for _, c := range []struct {
		name   string
		damage func() error
	}{
		{"empty", func() error { return os.WriteFile(state, nil, 0o644) }},
		{"torn", func() error {
			b, _ := os.ReadFile(state)
			return os.WriteFile(state, b[:len(b)/2], 0o644)
		}},
		{"a flipped byte", func() error {
			b, _ := os.ReadFile(state)
			b[len(b)/2] ^= 1
			return os.WriteFile(state, b, 0o644)
		}},
		{"an older state", func() error { return os.WriteFile(state, good, 0o644) }},
		{"missing", func() error { return os.Remove(state) }},
	} {
		if err := c.damage(); err != nil {
			t.Fatal(err)
		}
		publishAt()
		if mode := receiptMode(t, f, "pt"); mode != "full" {
			t.Errorf("state %s: publication mode %q, want full", c.name, mode)
		}
		publishAt()
		if mode := receiptMode(t, f, "pt"); mode != "incremental" {
			t.Errorf("after the state was %s and rebuilt: publication mode %q, want incremental", c.name, mode)
		}
	}
}

// A publication leaves no temporary files behind, and sweeps those a
// crash left (a state written beside its target, never committed).
func TestNoTemporariesLeft(t *testing.T) {
	f := newFixture(t)
	stale := filepath.Join(f.out, ".pt.state.tmp-1234")
	for i, at := range []time.Time{t0.Add(time.Minute), t0.Add(2 * time.Minute)} {
		if i == 1 {
			if err := os.WriteFile(stale, []byte("cut short"), 0o644); err != nil {
				t.Fatal(err)
			}
		}
		f.change(t)
		if out := f.run(t, publish.Request{Now: at}); out["pt"].Outcome != store.OutcomePublished {
			t.Fatalf("pt: %s %v", out["pt"].Outcome, out["pt"].Refusals)
		}
		entries, err := os.ReadDir(f.out)
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range entries {
			if strings.Contains(e.Name(), ".tmp-") {
				t.Errorf("publication %d left %s", i+1, e.Name())
			}
		}
	}
}

func receiptMode(t *testing.T, f *fixture, z string) string {
	t.Helper()
	pubs, err := f.db.Publications(context.Background(), z, 1)
	if err != nil || len(pubs) == 0 {
		t.Fatalf("publications of %s: %v", z, err)
	}
	var r struct {
		Mode string `json:"mode"`
	}
	json.Unmarshal(pubs[0].Details, &r)
	return r.Mode
}

// copyDir copies the files of a data directory.
func copyDir(t *testing.T, from, to string) {
	t.Helper()
	os.MkdirAll(to, 0o755)
	entries, err := os.ReadDir(from)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		b, err := os.ReadFile(filepath.Join(from, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(to, e.Name()), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// logAsOf is a registry whose publication log stays as it was.
type logAsOf struct {
	store.Registry
	log map[string][]store.Publication
}

func (l logAsOf) Publications(_ context.Context, z string, limit int) ([]store.Publication, error) {
	return l.log[z], nil
}

func (l logAsOf) RecordPublication(context.Context, store.Publication) (int64, error) { return 0, nil }

// TestIncrementalPublishIsFull: after changes of every kind in the
// registry (nameservers, DS, status, the gate, deletion, a new domain),
// a publication that reads only the changes publishes, byte for byte, the
// zones a full publication from the same last publication publishes; and
// the next publication goes on from it.
func TestIncrementalPublishIsFull(t *testing.T) {
	f := newFixture(t)
	f.cfg.Zones.AssumeChecked = false
	ctx := context.Background()
	// Open the gate for every sample domain.
	snap, _ := f.db.Snapshot(ctx)
	var names []string
	for c, err := range snap.Domains(ctx, store.Filter{}) {
		if err != nil {
			t.Fatal(err)
		}
		names = append(names, c.Domain.Name)
	}
	snap.Close()
	pass := func(name string, at time.Time) {
		t.Helper()
		if _, err := f.db.RecordCheck(ctx, store.CheckResult{Domain: name, Time: at, Trigger: "test", Verdict: store.VerdictPass},
			store.DelegationState{Domain: name, LastVerdict: store.VerdictPass, LastChecked: at, LastPassed: at, Updated: at}); err != nil {
			t.Fatal(err)
		}
	}
	for _, n := range names {
		pass(n, t0.Add(-time.Hour))
	}
	first := f.run(t, publish.Request{Now: t0})
	if first["pt"].Outcome != store.OutcomePublished {
		t.Fatalf("first: %v", first["pt"].Refusals)
	}

	// Changes of every kind.
	d, err := f.db.Domain(ctx, names[3])
	if err != nil {
		t.Fatal(err)
	}
	d.Nameservers = []store.Nameserver{{Name: "ns1.outro-fornecedor.net"}, {Name: "ns2.outro-fornecedor.net"}}
	d.DS = nil
	if err := f.db.PutDomain(ctx, d); err != nil {
		t.Fatal(err)
	}
	if err := f.db.SetStatus(ctx, names[7], store.StatusSuspended); err != nil {
		t.Fatal(err)
	}
	novo := store.Domain{Name: "acabado-de-registar.pt", Zone: "pt", Status: store.StatusActive, Registrar: d.Registrar, Expires: d.Expires,
		Nameservers: []store.Nameserver{{Name: "ns1.acabado-de-registar.pt", Addrs: []netip.Addr{netip.MustParseAddr("192.0.2.77")}}, {Name: "ns.hosting.net"}},
		DS:          []store.DS{{KeyTag: 4242, Algorithm: 13, DigestType: 2, Digest: strings.Repeat("AB", 32)}}}
	if err := f.db.PutDomain(ctx, novo); err != nil {
		t.Fatal(err)
	}
	pass(novo.Name, t0)
	at := t0.Add(5 * time.Minute)
	if _, err := f.db.RecordCheck(ctx, store.CheckResult{Domain: names[9], Time: at, Trigger: "test", Verdict: store.VerdictFail},
		store.DelegationState{Domain: names[9], LastVerdict: store.VerdictFail, LastChecked: at, LastPassed: t0.Add(-time.Hour), FirstFailure: at, Withheld: true, Updated: at}); err != nil {
		t.Fatal(err)
	}

	// The same publication, full, from a copy of the data directory.
	fullDir := filepath.Join(t.TempDir(), "zones")
	copyDir(t, f.out, fullDir)
	logged := map[string][]store.Publication{}
	for _, z := range f.cfg.Zones.Zones {
		logged[z], _ = f.db.Publications(ctx, z, 100)
	}
	now := t0.Add(10 * time.Minute)
	inc := f.run(t, publish.Request{Now: now})
	if receiptMode(t, f, "pt") != "incremental" {
		t.Fatal("the second publication was not incremental")
	}
	fullCfg := f.cfg
	fullCfg.OutDir = fullDir
	// Its publication log is the one the incremental publication saw.
	outs, err := publish.New(fullCfg, logAsOf{f.db, logged}, pol, zap.NewNop()).RunOnce(ctx, publish.Request{Now: now, Full: true, TriggeredBy: "test"})
	if err != nil {
		t.Fatal(err)
	}
	for _, o := range outs {
		got := inc[o.Zone]
		if got.Outcome != store.OutcomePublished || o.Outcome != store.OutcomePublished {
			t.Fatalf("%s: incremental %s %v, full %s %v", o.Zone, got.Outcome, got.Refusals, o.Outcome, o.Refusals)
		}
		var a, b bytes.Buffer
		got.Final.WriteTo(&a)
		o.Final.WriteTo(&b)
		if a.String() != b.String() {
			for ch := range zone.Diff(o.Final, got.Final) {
				t.Errorf("%s: %s %s/%s differs (full %v, incremental %v)", o.Zone, ch.Owner, zone.TypeString(ch.Type), zone.TypeString(ch.Covered), ch.HasOld, ch.HasNew)
			}
			t.Fatalf("%s: the incremental and the full publication differ", o.Zone)
		}
		if got.Build.Delegations != o.Build.Delegations || got.Build.Glue != o.Build.Glue || got.Build.Secure != o.Build.Secure {
			t.Errorf("%s: totals %d/%d/%d, full %d/%d/%d", o.Zone, got.Build.Delegations, got.Build.Glue, got.Build.Secure,
				o.Build.Delegations, o.Build.Glue, o.Build.Secure)
		}
	}
	pt := inc["pt"].Final
	for _, want := range []struct {
		owner string
		typ   uint16
		has   bool
	}{
		{"acabado-de-registar.pt.", zone.TypeDS, true},
		{"ns1.acabado-de-registar.pt.", zone.TypeA, true},
		{names[7] + ".", zone.TypeNS, false},
		{names[9] + ".", zone.TypeNS, false},
	} {
		if _, ok := pt.Get(zone.MustParseName(want.owner), want.typ); ok != want.has {
			t.Errorf("%s %s present: %v, want %v", want.owner, zone.TypeString(want.typ), ok, want.has)
		}
	}
	// And the next one goes on from the journal.
	f.change(t)
	next := f.run(t, publish.Request{Now: now.Add(time.Minute)})
	if next["pt"].Outcome != store.OutcomePublished || receiptMode(t, f, "pt") != "incremental" {
		t.Errorf("third publication: %s, %s", next["pt"].Outcome, receiptMode(t, f, "pt"))
	}
}

// TestGuardRefusesMassChanges: NS targets rewritten en masse, a truncated
// candidate; the last good zone stays; a force records who and why.
func TestGuardRefusesMassChanges(t *testing.T) {
	f := newFixture(t)
	first := f.run(t, publish.Request{Now: t0})["pt"]
	ctx := context.Background()
	snap, _ := f.db.Snapshot(ctx)
	var actives []store.Domain
	for c, err := range snap.Domains(ctx, store.Filter{Zone: "pt", Statuses: []store.Status{store.StatusActive}}) {
		if err == nil {
			actives = append(actives, c.Domain)
		}
	}
	snap.Close()

	// Rewrite the NS of 20 domains (.se, 2009: every target lost its dot).
	for _, d := range actives[:20] {
		d.Nameservers = []store.Nameserver{{Name: "ns1.broken.example"}, {Name: "ns2.broken.example"}}
		if err := f.db.PutDomain(ctx, d); err != nil {
			t.Fatal(err)
		}
	}
	before, _ := os.ReadFile(filepath.Join(f.out, "pt.zone.bin"))
	o := f.run(t, publish.Request{Now: t0.Add(time.Minute)})["pt"]
	if o.Outcome != store.OutcomeRefused || !slices.Contains(refusalCodes(o), publish.RefuseNSChanged) {
		t.Fatalf("mass NS rewrite: %s %v", o.Outcome, o.Refusals)
	}
	msg := o.Refusals[0].String()
	if !strings.Contains(msg, "20 delegations would change their NS targets") || !strings.Contains(msg, actives[0].Name) {
		t.Errorf("refusal message: %s", msg)
	}
	// Each offender with its NS RRset before and after.
	if d := o.Refusals[0].Details; len(d) != 10 || !slices.Contains(d[0].Old, "NS "+actives[0].Nameservers[0].Name+".") ||
		!slices.Equal(d[0].New, []string{"NS ns1.broken.example.", "NS ns2.broken.example."}) {
		t.Errorf("offenders %+v", d)
	}
	after, _ := os.ReadFile(filepath.Join(f.out, "pt.zone.bin"))
	if !bytes.Equal(before, after) {
		t.Error("a refused publication replaced the last good zone")
	}

	// Remove 30 domains' delegations (.de, 2010: a truncated zone).
	for _, d := range actives[20:50] {
		f.db.SetStatus(ctx, d.Name, store.StatusSuspended)
	}
	o = f.run(t, publish.Request{Now: t0.Add(2 * time.Minute)})["pt"]
	if !slices.Contains(refusalCodes(o), publish.RefuseRemoved) {
		t.Fatalf("truncated candidate: %v", o.Refusals)
	}

	// An operator forces it, with a reason; the log says who and why.
	force := &publish.Force{By: "ana", Reason: "registrar migration REG-7, ticket 4711"}
	o = f.run(t, publish.Request{Now: t0.Add(3 * time.Minute), Force: force})["pt"]
	var forcedCodes []string
	for _, r := range o.Forced {
		forcedCodes = append(forcedCodes, r.Code)
	}
	if o.Outcome != store.OutcomePublished || !slices.Contains(forcedCodes, publish.RefuseRemoved) || !slices.Contains(forcedCodes, publish.RefuseNSChanged) {
		t.Fatalf("forced: %s, forced %v, standing %v", o.Outcome, o.Forced, o.Refusals)
	}
	pubs, _ := f.db.Publications(ctx, "pt", 1)
	if !strings.Contains(pubs[0].Reason, "forced by ana: registrar migration REG-7") || !bytes.Contains(pubs[0].Details, []byte(`"by":"ana"`)) {
		t.Errorf("forced publication recorded as %q %s", pubs[0].Reason, pubs[0].Details)
	}
	if o.Serial <= first.Serial {
		t.Errorf("serial %d after %d", o.Serial, first.Serial)
	}
}

// guardCase builds a signed pt zone and lets a test break it.
func signedPT(t *testing.T) (*zone.Zone, []*dnssec.Key) {
	t.Helper()
	f := newFixture(t)
	o := f.run(t, publish.Request{Now: t0, DryRun: true})["pt"]
	keys, _ := keyfile.Load(f.keys, zone.MustParseName("pt."))
	return o.Final, keys
}

// TestGuardRefusesBrokenDNSSEC: one test each; none can be forced.
func TestGuardRefusesBrokenDNSSEC(t *testing.T) {
	good, keys := signedPT(t)
	guard := publish.Guard{Thresholds: publish.DefaultThresholds(), Refresh: 7 * 24 * time.Hour}
	serial := good.Serial()
	cases := []struct {
		name  string
		zone  func() *zone.Zone
		prev  *publish.Previous
		want  string
		says  string
		extra []*dnssec.Key
	}{
		{"unsigned DNSKEY RRset (e164.arpa, 2011)", func() *zone.Zone {
			return testkit.ReplaceRRset(t, good, "pt.", zone.TypeRRSIG, zone.TypeDNSKEY, func([][]byte) [][]byte { return nil })
		}, nil, publish.RefuseVerification, dnssec.ProblemUnsigned, nil},
		{"missing algorithm (.gov, 2013)", func() *zone.Zone {
			// A published Ed25519 key that signs nothing.
			extra, _ := dnssec.Generate(zone.MustParseName("pt."), dnssec.GenerateOptions{Algorithm: dnssec.ED25519}, t0, keys)
			rd, _ := extra.Rdata()
			return testkit.ReplaceRRset(t, good, "pt.", zone.TypeDNSKEY, 0, func(dnskeys [][]byte) [][]byte { return append(dnskeys, rd) })
		}, nil, publish.RefuseVerification, dnssec.ProblemMissingAlg, nil},
		{"bad signatures (.se, 2022)", func() *zone.Zone {
			return testkit.ReplaceRRset(t, good, "pt.", zone.TypeRRSIG, zone.TypeSOA, func(sigs [][]byte) [][]byte {
				sigs[0][len(sigs[0])-5] ^= 0xff
				return sigs
			})
		}, nil, publish.RefuseVerification, dnssec.ProblemBadSignature, nil},
		{"key-tag collision (.ru, 2024)", func() *zone.Zone {
			return testkit.ReplaceRRset(t, good, "pt.", zone.TypeDNSKEY, 0, func(dnskeys [][]byte) [][]byte {
				c := bytes.Clone(dnskeys[0])
				for i := 4; i+2 < len(c); i += 2 {
					if c[i] < 0xff && c[i+2] > 0 {
						c[i]++
						c[i+2]--
						break
					}
				}
				return append(dnskeys, c)
			})
		}, nil, publish.RefuseVerification, dnssec.ProblemTagCollision, nil},
		{"serial that does not increase", func() *zone.Zone { return good },
			&publish.Previous{Zone: good, Serial: serial}, publish.RefuseSerial, "does not increase", nil},
		{"private key not matching the published DNSKEY (.de, 2026)", func() *zone.Zone { return good },
			nil, publish.RefuseVerification, dnssec.ProblemKeyMismatch, func() []*dnssec.Key {
				impostor := *keys[0]
				other, _ := dnssec.Generate(zone.MustParseName("pt."), dnssec.GenerateOptions{}, t0, nil)
				impostor.Signer = other.Signer
				return []*dnssec.Key{&impostor}
			}()},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			z := c.zone()
			rep := dnssec.Verify(z, dnssec.VerifyOptions{Now: t0, Keys: c.extra})
			refusals, _ := guard.Check(publish.Candidate{Zone: z, Serial: z.Serial(), Report: rep, Signed: true}, c.prev, t0)
			var hit *publish.Refusal
			for i, r := range refusals {
				if r.Code == c.want {
					hit = &refusals[i]
				}
			}
			if hit == nil || !strings.Contains(hit.String(), c.says) {
				t.Fatalf("refusals %v, want %s mentioning %q", refusals, c.want, c.says)
			}
			standing, _ := publish.Decide(refusals, &publish.Force{By: "ana", Reason: "trust me"})
			if len(standing) == 0 {
				t.Error("an operator could force a broken zone out")
			}
		})
	}
	// Signatures expiring within the refresh window.
	rep := dnssec.Verify(good, dnssec.VerifyOptions{Now: t0})
	refusals, _ := guard.Check(publish.Candidate{Zone: good, Serial: serial, Report: rep, Signed: true}, nil, t0.Add(8*24*time.Hour))
	if !slices.ContainsFunc(refusals, func(r publish.Refusal) bool { return r.Code == publish.RefuseExpiry }) {
		t.Errorf("expiring signatures: %v", refusals)
	}
	// A zone without apex NS.
	noNS := testkit.ReplaceRRset(t, good, "pt.", zone.TypeNS, 0, func([][]byte) [][]byte { return nil })
	refusals, _ = guard.Check(publish.Candidate{Zone: noNS, Serial: serial, Report: dnssec.Verify(noNS, dnssec.VerifyOptions{Now: t0}), Signed: true}, nil, t0)
	if !slices.ContainsFunc(refusals, func(r publish.Refusal) bool { return r.Code == publish.RefuseApex }) {
		t.Errorf("no apex NS: %v", refusals)
	}
	_ = binary.BigEndian
}

func TestLimits(t *testing.T) {
	th := publish.DefaultThresholds()
	z := func(n int) *zone.Zone {
		b := zone.NewBuilder(zone.MustParseName("pt."), 0)
		for i := range n {
			b.Add(zone.MustParseName("d"+strings.Repeat("x", i%7)+string(rune('a'+i%26))+"-"+itoa(i)+".pt."), zone.TypeNS, 60, zone.MustParseName("ns.h.net.").Wire())
		}
		out, _ := b.Zone()
		return out
	}
	g := publish.Guard{Thresholds: th}
	deltaOnly := func(rs []publish.Refusal) []publish.Refusal {
		var out []publish.Refusal
		for _, r := range rs {
			if r.Forceable {
				out = append(out, r)
			}
		}
		return out
	}
	big := z(5000)
	// 40 removals of 5000 (0.8%) pass; 60 (1.2%) do not.
	for _, c := range []struct {
		keep    int
		refused bool
	}{{4960, false}, {4940, true}} {
		smaller := z(c.keep)
		refusals, d := g.Check(publish.Candidate{Zone: smaller, Serial: 2}, &publish.Previous{Zone: big}, t0)
		refusals = deltaOnly(refusals)
		if (len(refusals) > 0) != c.refused || d.Removed != 5000-c.keep {
			t.Errorf("keeping %d of 5000: refusals %v, removed %d", c.keep, refusals, d.Removed)
		}
	}
	// In a small zone the count floor (10) applies, not the 1%.
	refusals, _ := g.Check(publish.Candidate{Zone: z(95), Serial: 2}, &publish.Previous{Zone: z(100)}, t0)
	if refusals = deltaOnly(refusals); len(refusals) != 0 {
		t.Errorf("5 removals of 100 refused: %v", refusals)
	}
}

func itoa(i int) string {
	var b []byte
	for {
		b = append([]byte{byte('0' + i%10)}, b...)
		if i /= 10; i == 0 {
			return string(b)
		}
	}
}

// TestFlush: once the journal passes FlushAfter, a publication rewrites
// the image and the master file, which then hold the zone as published.
func TestFlush(t *testing.T) {
	f := newFixture(t)
	f.cfg.FlushAfter = 1
	f.run(t, publish.Request{Now: t0})
	f.change(t)
	out := f.run(t, publish.Request{Now: t0.Add(time.Minute)})
	if receiptMode(t, f, "pt") != "incremental" {
		t.Fatal("not incremental")
	}
	file, err := os.Open(filepath.Join(f.out, "pt.zone.bin"))
	if err != nil {
		t.Fatal(err)
	}
	defer file.Close()
	img, err := zone.ReadBinary(file)
	if err != nil || img.Serial() != out["pt"].Serial {
		t.Fatalf("the image after a flush: %v, serial %d, published %d", err, img.Serial(), out["pt"].Serial)
	}
	text, _ := os.ReadFile(filepath.Join(f.out, "pt.zone"))
	if !bytes.Contains(text, []byte(fmt.Sprintf("\tSOA\ta.dns.pt. hostmaster.dns.pt. %d ", out["pt"].Serial))) {
		t.Error("the master file after a flush is not the published zone")
	}
}

// TestUnchangedZonesStay: a zone whose data did not change and whose
// signatures are not due keeps its serial and its files, and is not in
// the publication log again; it is published again once its signatures
// are due, or once its data changes.
func TestUnchangedZonesStay(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	first := f.run(t, publish.Request{Now: t0})
	image := func(z string) []byte {
		b, err := os.ReadFile(filepath.Join(f.out, z+".zone.bin"))
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	logged := func(z string) int {
		pubs, err := f.db.Publications(ctx, z, 100)
		if err != nil {
			t.Fatal(err)
		}
		return len(pubs)
	}
	journal := func(z string) int64 {
		fi, err := os.Stat(filepath.Join(f.out, z+".journal"))
		if err != nil {
			return -1
		}
		return fi.Size()
	}
	comImage, comLogged, comJournal := image("com.pt"), logged("com.pt"), journal("com.pt")

	f.change(t) // in pt only
	out := f.run(t, publish.Request{Now: t0.Add(time.Minute)})
	if o := out["pt"]; o.Outcome != store.OutcomePublished || o.Serial <= first["pt"].Serial {
		t.Errorf("pt changed: %s serial %d", o.Outcome, o.Serial)
	}
	if o := out["com.pt"]; o.Outcome != publish.OutcomeUnchanged || o.Serial != first["com.pt"].Serial {
		t.Errorf("com.pt unchanged: %s serial %d, want %s %d", o.Outcome, o.Serial, publish.OutcomeUnchanged, first["com.pt"].Serial)
	}
	if !bytes.Equal(image("com.pt"), comImage) || logged("com.pt") != comLogged || journal("com.pt") != comJournal {
		t.Error("com.pt unchanged, yet its image, journal or publication log changed")
	}
	ptSerial := out["pt"].Serial

	// Nothing changed at all: nothing is published.
	out = f.run(t, publish.Request{Now: t0.Add(2 * time.Minute)})
	for z, o := range out {
		if o.Outcome != publish.OutcomeUnchanged {
			t.Errorf("%s, nothing changed: %s serial %d", z, o.Outcome, o.Serial)
		}
	}
	if out["pt"].Serial != ptSerial {
		t.Errorf("pt unchanged at serial %d, want %d", out["pt"].Serial, ptSerial)
	}

	// A change in com.pt after it stayed: published from where it stayed.
	d := f.changeIn(t, "com.pt")
	out = f.run(t, publish.Request{Now: t0.Add(3 * time.Minute)})
	if o := out["com.pt"]; o.Outcome != store.OutcomePublished || receiptMode(t, f, "com.pt") != "incremental" {
		t.Errorf("com.pt changed after staying: %s, mode %s", o.Outcome, receiptMode(t, f, "com.pt"))
	}
	// Its state moved on while it stayed: only the one change since is
	// read again, not pt's of the publication it stayed through.
	pubs, _ := f.db.Publications(ctx, "com.pt", 1)
	var r struct {
		Changes struct {
			Looked int `json:"domains_looked_at"`
		} `json:"changes"`
	}
	if err := json.Unmarshal(pubs[0].Details, &r); err != nil || r.Changes.Looked != 1 {
		t.Errorf("com.pt's receipt: %d domains looked at (%v), want 1", r.Changes.Looked, err)
	}
	if got, _ := out["com.pt"].Final.Get(zone.MustParseName(d.Name+"."), zone.TypeNS); got.Len() != 2 {
		t.Errorf("com.pt: %s has %d NS records, want the two new ones", d.Name, got.Len())
	}
	if out["pt"].Outcome != publish.OutcomeUnchanged {
		t.Errorf("pt, nothing changed: %s", out["pt"].Outcome)
	}

	// Eight days on, signatures are due (7-day refresh): every zone is
	// signed and published again, with nothing changed in the registry.
	later := t0.Add(8 * 24 * time.Hour)
	out = f.run(t, publish.Request{Now: later})
	for z, o := range out {
		if o.Outcome != store.OutcomePublished || o.Serial != uint32(later.Unix()) {
			t.Errorf("%s, signatures due: %s serial %d %v", z, o.Outcome, o.Serial, o.Refusals)
		}
	}
}

// TestHeldZones: a Publisher goes on from the zones and states it
// published, held in memory, without reading them back; a file changed
// behind its back (another publisher) sends it back to the disk.
func TestHeldZones(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	p := publish.New(f.cfg, f.db, pol, zap.NewNop())
	f.runWith(t, p, publish.Request{Now: t0})

	// Another publisher publishes, in full: p's held pt no longer matches
	// the disk (a new image, the journal trimmed).
	f.change(t)
	other := f.run(t, publish.Request{Now: t0.Add(time.Minute), Full: true})
	f.change(t)
	out := f.runWith(t, p, publish.Request{Now: t0.Add(2 * time.Minute)})["pt"]
	if out.Outcome != store.OutcomePublished || out.Serial <= other["pt"].Serial {
		t.Fatalf("after another publisher's serial %d: %s serial %d", other["pt"].Serial, out.Outcome, out.Serial)
	}
	onDisk, err := f.lastPublished("pt")
	if err != nil {
		t.Fatal(err)
	}
	for ch := range zone.Diff(onDisk, out.Final) {
		t.Fatalf("the published pt (image and journal) differs from the one built at %s %s", ch.Owner, zone.TypeString(ch.Type))
	}

	// Now p holds what is on disk. Damage pt's image in place, size and
	// time kept, as nothing but a reader of the file would notice: p goes
	// on from memory, a new publisher cannot read it.
	image := filepath.Join(f.out, "pt.zone.bin")
	fi, err := os.Stat(image)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(image, make([]byte, fi.Size()), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Chtimes(image, fi.ModTime(), fi.ModTime()); err != nil {
		t.Fatal(err)
	}
	f.change(t)
	if o := f.runWith(t, p, publish.Request{Now: t0.Add(3 * time.Minute)})["pt"]; o.Outcome != store.OutcomePublished || receiptMode(t, f, "pt") != "incremental" {
		t.Errorf("from memory: %s, mode %s", o.Outcome, receiptMode(t, f, "pt"))
	}
	if _, err := publish.New(f.cfg, f.db, pol, zap.NewNop()).RunOnce(ctx, publish.Request{Now: t0.Add(4 * time.Minute)}); err == nil {
		t.Error("a new publisher read the damaged image without error: the held zone was not what was tested")
	}
}

// TestBuildPresignsDS: a build signs its delegations' DS RRsets while it
// reads the registry (dnssec.Presigner), and the signing takes every one
// of them: all but com.pt's, whose DS comes from com.pt's keys after the
// registry is read. The zone is byte for byte the one signing alone
// makes, and it verifies.
func TestBuildPresignsDS(t *testing.T) {
	f := newFixture(t)
	p := publish.New(f.cfg, f.db, pol, zap.NewNop())
	publish.WaitPresigned(p) // how much is signed ahead otherwise depends on the scheduler
	set, err := p.Build(context.Background(), publish.BuildRequest{Now: t0})
	if err != nil {
		t.Fatal(err)
	}
	for _, b := range set.Zones {
		if b.Err != nil || !b.Report.OK() {
			t.Fatalf("%s: %v %v", b.Result.Name, b.Err, b.Report.Problems)
		}
		want := b.Result.Secure
		if b.Result.Name == "pt" {
			want-- // com.pt
		}
		if b.Presigned != want || want == 0 && b.Result.Name == "pt" {
			t.Errorf("%s: %d DS RRsets signed ahead, want %d", b.Result.Name, b.Presigned, want)
		}
		opt := f.cfg.Sign
		opt.Now = t0
		alone, err := dnssec.Sign(b.Result.Zone, b.Keys, opt)
		if err != nil {
			t.Fatal(err)
		}
		var got, wantText bytes.Buffer
		b.Final.WriteTo(&got)
		alone.WriteTo(&wantText)
		if got.String() != wantText.String() {
			t.Errorf("%s: the zone signed with DS signed ahead differs from the zone signed alone", b.Result.Name)
		}
	}
}
