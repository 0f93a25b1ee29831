package publish_test

import (
	"bytes"
	"context"
	"errors"
	"testing"
	"time"

	"go.uber.org/zap"

	"github.com/ptzone/ptzone/datadir"
	"github.com/ptzone/ptzone/dnssec"
	"github.com/ptzone/ptzone/dnssec/keyfile"
	"github.com/ptzone/ptzone/internal/testkit"
	"github.com/ptzone/ptzone/publish"
	"github.com/ptzone/ptzone/store"
	"github.com/ptzone/ptzone/zone"
	"github.com/ptzone/ptzone/zonegen"
)

// adoptedSerial is a serial of the YYYYMMDDnn kind a previous signer
// leaves, ahead of unixtime serials in RFC 1982 terms until 2034.
const adoptedSerial = 2026120301

// adoptPT puts a pt zone signed by the fixture's keys, as another signer
// would have, with serial adoptedSerial and damaged, in the fixture's
// directory as the adopted zone, and logs the adoption.
func adoptPT(t *testing.T, f *fixture) *zone.Zone {
	t.Helper()
	ctx := context.Background()
	p := publish.New(f.cfg, f.db, pol, zap.NewNop())
	set, err := p.Build(ctx, publish.BuildRequest{Now: t0, Only: []string{"pt"}, Unsigned: true})
	if err != nil {
		t.Fatal(err)
	}
	unsigned := testkit.ReplaceRRset(t, set.Zones[0].Final, "pt.", zone.TypeSOA, 0, func(rds [][]byte) [][]byte {
		soa, err := zone.ParseSOA(rds[0])
		if err != nil {
			t.Fatal(err)
		}
		soa.Serial = adoptedSerial
		return [][]byte{soa.Rdata()}
	})
	keys, err := keyfile.Load(f.keys, zone.MustParseName("pt."))
	if err != nil {
		t.Fatal(err)
	}
	adopted := testkit.DamageSignatures(t, testkit.Sign(t, unsigned, keys, t0), "com.pt.", zone.TypeDS)
	if err := datadir.New(f.out).Adopt("pt", adopted); err != nil {
		t.Fatal(err)
	}
	if _, err := f.db.RecordPublication(ctx, store.Publication{Zone: "pt", Serial: adoptedSerial, Time: t0, Outcome: store.OutcomeAdopted,
		TriggeredBy: "test", Records: adopted.Stats().Records}); err != nil {
		t.Fatal(err)
	}
	return adopted
}

// TestPublishAfterAdoption: the first publication after an adoption
// follows the adopted serial (unixtime, years behind a YYYYMMDDnn serial,
// is refused; increment goes on from it), is judged against the adopted
// zone, and signs everything anew: a signature of the adopted zone is
// neither kept nor trusted, so that one that does not verify is not
// carried into ptzone's zone (the same keys sign both, and the RRset did
// not change: a zone ptzone had published would keep it).
func TestPublishAfterAdoption(t *testing.T) {
	f := newFixture(t)
	adopted := adoptPT(t, f)
	if r := dnssec.Verify(adopted, dnssec.VerifyOptions{Now: t0}); r.OK() {
		t.Fatal("the adopted zone verifies: the test needs one that does not")
	}
	now := t0.Add(time.Minute)
	if zonegen.SerialGreater(uint32(now.Unix()), adoptedSerial) {
		t.Fatalf("unixtime %d is ahead of %d: the test needs it behind", now.Unix(), adoptedSerial)
	}
	// Under unixtime, years behind the adopted date serial: refused, with
	// the way on; under increment, the adopted serial plus one.
	if _, err := publish.New(f.cfg, f.db, pol, zap.NewNop()).RunOnce(context.Background(), publish.Request{Now: now, TriggeredBy: "test"}); !errors.Is(err, zonegen.ErrSerialBehind) {
		t.Fatalf("publishing under unixtime after %d: %v, want ErrSerialBehind", adoptedSerial, err)
	}
	f.cfg.Zones.Serial = zonegen.SerialIncrement
	out := f.run(t, publish.Request{Now: now})
	pt := out["pt"]
	if pt.Outcome != store.OutcomePublished || pt.Serial != adoptedSerial+1 {
		t.Fatalf("pt after the adoption: %s serial %d %v, want published at %d", pt.Outcome, pt.Serial, pt.Refusals, adoptedSerial+1)
	}
	if pt.Mode != "full" {
		t.Errorf("the first publication after an adoption: mode %s, want full", pt.Mode)
	}
	if d := pt.Delta; d.Delegations == 0 || d.Added+d.Removed+d.NSChanged+d.DSChanged+d.GlueChanged != 0 {
		t.Errorf("delta from the adopted zone: %+v, want its delegations and no change", d)
	}
	if pt.Report == nil || !pt.Report.OK() || pt.Report.Trusted != 0 {
		t.Errorf("verification of the first publication: %+v, want OK with nothing trusted", pt.Report)
	}
	damaged := testkit.Rdatas(t, adopted, "com.pt.", zone.TypeRRSIG, zone.TypeDS)
	for _, sig := range testkit.Rdatas(t, pt.Final, "com.pt.", zone.TypeRRSIG, zone.TypeDS) {
		for _, bad := range damaged {
			if bytes.Equal(sig, bad) {
				t.Error("the adopted zone's damaged signature over com.pt DS was published")
			}
		}
	}
	if r := dnssec.Verify(pt.Final, dnssec.VerifyOptions{Now: now}); !r.OK() {
		t.Errorf("the published zone: %v", r.Problems)
	}

	// The next one is ptzone's own: it goes on incrementally.
	f.change(t)
	again := f.run(t, publish.Request{Now: now.Add(time.Minute)})
	if again["pt"].Outcome != store.OutcomePublished || again["pt"].Serial != adoptedSerial+2 || again["pt"].Mode != "incremental" {
		t.Errorf("the second publication: %s serial %d mode %s", again["pt"].Outcome, again["pt"].Serial, again["pt"].Mode)
	}
}

// TestBuildUnsigned: an unsigned build signs nothing, and computes the DS
// of our zones inside ours from the keys there are; a zone without keys
// is no error.
func TestBuildUnsigned(t *testing.T) {
	f := newFixture(t)
	build := func(cfg publish.Config) *zone.Zone {
		t.Helper()
		set, err := publish.New(cfg, f.db, pol, zap.NewNop()).Build(context.Background(), publish.BuildRequest{Now: t0, Only: []string{"pt"}, Unsigned: true})
		if err != nil {
			t.Fatal(err)
		}
		return set.Zones[0].Final
	}
	z := build(f.cfg)
	for r := range z.All() {
		if r.Type() == zone.TypeRRSIG || r.Type() == zone.TypeDNSKEY || r.Type() == zone.TypeNSEC3 {
			t.Fatalf("an unsigned build has %s %s", r.Owner(), zone.TypeString(r.Type()))
		}
	}
	if _, ok := z.Get(zone.MustParseName("com.pt."), zone.TypeDS); !ok {
		t.Error("no DS for com.pt from its keys")
	}
	noKeys := f.cfg
	noKeys.KeysDir = t.TempDir()
	if _, ok := build(noKeys).Get(zone.MustParseName("com.pt."), zone.TypeDS); ok {
		t.Error("a DS for com.pt without its keys")
	}
}
