package adopt_test

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ptzone/ptzone/adopt"
	"github.com/ptzone/ptzone/datadir"
	"github.com/ptzone/ptzone/dnssec"
	"github.com/ptzone/ptzone/dnssec/keyfile"
	"github.com/ptzone/ptzone/internal/testkit"
	"github.com/ptzone/ptzone/internal/testkit/testdb"
	"github.com/ptzone/ptzone/publish"
	"github.com/ptzone/ptzone/store"
	"github.com/ptzone/ptzone/zone"
)

var (
	pt  = zone.MustParseName("pt.")
	now = testkit.FixedTime
)

// oldZone is a pt zone as a previous signer serves it: three delegations,
// one secure, one with glue.
const oldZone = `$ORIGIN pt.
$TTL 86400
@        IN SOA a.dns.pt. hostmaster.dns.pt. 2026120301 1800 900 604800 600
@        IN NS  a.dns.pt.
@        IN NS  b.dns.pt.
dns      IN NS  a.dns.pt.
a.dns    IN A   192.0.2.1
b.dns    IN A   192.0.2.2
exemplo  IN NS  ns1.exemplo.pt.
exemplo  IN NS  ns.hosting.net.
ns1.exemplo IN A 192.0.2.10
seguro   IN NS  ns.hosting.net.
seguro   IN DS  12345 13 2 AB12AB12AB12AB12AB12AB12AB12AB12AB12AB12AB12AB12AB12AB12AB12AB12
`

// TestInspect: a zone to adopt is refused when it is another zone's, or
// lacks its apex SOA or NS; a signed one is verified, its keys listed,
// and one that does not verify is inspected all the same, its problems
// reported.
func TestInspect(t *testing.T) {
	z := testkit.ReadZone(t, pt, oldZone)
	in, err := adopt.Inspect(z, "pt", dnssec.VerifyOptions{Now: now})
	if err != nil {
		t.Fatal(err)
	}
	if in.Name != "pt" || in.Serial != 2026120301 || in.Delegations != 3 || in.Signed || in.Verification != nil || in.Verifies() {
		t.Errorf("unsigned zone: %+v", in)
	}

	refusals := []struct {
		name, text, as string
		want           error
	}{
		{"another zone's file", strings.Replace(oldZone, "$ORIGIN pt.", "$ORIGIN com.pt.", 1), "com.pt", adopt.ErrWrongApex},
		{"no SOA", strings.Replace(oldZone, "@        IN SOA a.dns.pt. hostmaster.dns.pt. 2026120301 1800 900 604800 600\n", "", 1), "pt", adopt.ErrNoSOA},
		{"no NS", strings.ReplaceAll(oldZone, "@        IN NS ", "dns2     IN NS "), "pt", adopt.ErrNoNS},
	}
	for _, r := range refusals {
		origin := zone.MustParseName(r.as + ".")
		z := testkit.ReadZone(t, origin, r.text)
		if _, err := adopt.Inspect(z, "pt", dnssec.VerifyOptions{Now: now}); !errors.Is(err, r.want) {
			t.Errorf("%s: %v, want %v", r.name, err, r.want)
		}
	}
	// A com.pt zone read below pt: its SOA is not at pt's apex.
	com := testkit.ReadZone(t, pt, strings.Replace(strings.Replace(oldZone, "$ORIGIN pt.", "$ORIGIN com.pt.", 1), "@        IN SOA", "com.pt. IN SOA", 1))
	if _, err := adopt.Inspect(com, "pt", dnssec.VerifyOptions{Now: now}); !errors.Is(err, adopt.ErrWrongApex) || !strings.Contains(err.Error(), "com.pt.") {
		t.Errorf("a com.pt zone as pt: %v, want ErrWrongApex naming com.pt.", err)
	}

	keys := testkit.GenerateKeys(t, pt, now.Add(-time.Hour))
	signed := testkit.Sign(t, z, keys, now)
	in, err = adopt.Inspect(signed, "pt", dnssec.VerifyOptions{Now: now})
	if err != nil || !in.Signed || !in.Verifies() {
		t.Fatalf("signed zone: %+v %v", in, err)
	}
	var tags []uint16
	for _, k := range in.Keys {
		tags = append(tags, k.Tag)
		if k.SEP != keys[slices.IndexFunc(keys, func(g *dnssec.Key) bool { return g.Tag == k.Tag })].SEP() {
			t.Errorf("key %d: SEP %v", k.Tag, k.SEP)
		}
	}
	slices.Sort(tags)
	want := []uint16{keys[0].Tag, keys[1].Tag}
	slices.Sort(want)
	if !slices.Equal(tags, want) {
		t.Errorf("keys %v, want the signer's %v", tags, want)
	}
	damaged := testkit.DamageSignatures(t, signed, "seguro.pt.", zone.TypeDS)
	in, err = adopt.Inspect(damaged, "pt", dnssec.VerifyOptions{Now: now})
	if err != nil || !in.Signed || in.Verifies() || len(in.Verification.Problems) == 0 {
		t.Errorf("a zone that does not verify: %+v %v; want it inspected, its problems reported", in, err)
	}
}

// TestRecord: an adoption puts the zone in the data directory and logs
// it; a second adoption, or one over ptzone's own publication, is
// refused unless forced.
func TestRecord(t *testing.T) {
	ctx := context.Background()
	db := testdb.Open(t)
	dir := datadir.New(filepath.Join(t.TempDir(), "zones"))
	z := testkit.ReadZone(t, pt, oldZone)
	in, err := adopt.Inspect(z, "pt", dnssec.VerifyOptions{Now: now})
	if err != nil {
		t.Fatal(err)
	}
	a := adopt.Adoption{Inspection: in, Source: "file pt.zone", By: "test", Now: now}
	if existing, err := adopt.Record(ctx, dir, db, a); err != nil || existing != nil {
		t.Fatalf("adopting into an empty directory: %v %v", existing, err)
	}
	loaded, err := dir.Load([]string{"pt"}, datadir.Refuse)
	if err != nil || loaded.Zone("pt").Zone == nil || loaded.Zone("pt").Zone.Serial() != 2026120301 {
		t.Fatalf("served after the adoption: %v", err)
	}
	pubs, err := db.Publications(ctx, "pt", 10)
	if err != nil || len(pubs) != 1 || pubs[0].Outcome != store.OutcomeAdopted || pubs[0].Serial != 2026120301 ||
		pubs[0].Delegations != 3 || !strings.Contains(pubs[0].Reason, "file pt.zone") {
		t.Fatalf("the log after the adoption: %+v %v", pubs, err)
	}

	again := a
	again.Inspection = &adopt.Inspection{}
	*again.Inspection = *in
	again.Serial = 2026120302
	if _, err := adopt.Record(ctx, dir, db, again); !errors.Is(err, adopt.ErrPublished) || !strings.Contains(err.Error(), "adopted at serial 2026120301") {
		t.Errorf("adopting twice: %v, want ErrPublished naming the adoption", err)
	}
	// ptzone's own publication, logged, with its files lost.
	if _, err := db.RecordPublication(ctx, store.Publication{Zone: "pt", Serial: 2026120305, Time: now, Outcome: store.OutcomePublished, TriggeredBy: "cron"}); err != nil {
		t.Fatal(err)
	}
	if err := os.RemoveAll(dir.Path()); err != nil {
		t.Fatal(err)
	}
	if _, err := adopt.Record(ctx, dir, db, again); !errors.Is(err, adopt.ErrPublished) || !strings.Contains(err.Error(), "published at serial 2026120305") {
		t.Errorf("adopting over a logged publication: %v, want ErrPublished", err)
	}
	again.Force = true
	existing, err := adopt.Record(ctx, dir, db, again)
	if err != nil || existing == nil || existing.Logged.Serial != 2026120305 {
		t.Fatalf("a forced adoption: %+v %v", existing, err)
	}
	pubs, _ = db.Publications(ctx, "pt", 1)
	var details struct {
		Replaced string `json:"replaced"`
		Source   string `json:"source"`
	}
	if err := json.Unmarshal(pubs[0].Details, &details); err != nil || !strings.Contains(details.Replaced, "2026120305") || details.Source != "file pt.zone" {
		t.Errorf("the forced adoption's details: %s (%v)", pubs[0].Details, err)
	}
}

// TestReport: every difference of substance is reported, by name and
// kind, with both sides' records; the counts are the guard's; a TTL
// alone is no difference; the JSON field names are the documented ones.
func TestReport(t *testing.T) {
	adopted := testkit.ReadZone(t, pt, oldZone)
	registryText := strings.NewReplacer(
		"exemplo  IN NS  ns.hosting.net.", "exemplo  IN NS  ns.outro.net.", // NS target changed
		"ns1.exemplo IN A 192.0.2.10", "ns1.exemplo IN A 192.0.2.11", // glue changed
		"AB12AB12AB12AB12AB12AB12AB12AB12AB12AB12AB12AB12AB12AB12AB12AB12", "CD34CD34CD34CD34CD34CD34CD34CD34CD34CD34CD34CD34CD34CD34CD34CD34", // DS changed
		"dns      IN NS  a.dns.pt.", "dns 3600 IN NS  a.dns.pt.", // the TTL alone
		"2026120301", "1796000000",
	).Replace(oldZone) + "novo IN NS ns.hosting.net.\n"
	registryText = strings.Replace(registryText, "seguro   IN NS  ns.hosting.net.\n", "", 1)
	registryText = strings.Replace(registryText, "seguro   IN DS", "; gone", 1)
	registry := testkit.ReadZone(t, pt, registryText)
	loose := publish.Limit{Percent: 100, Count: 100}

	r := adopt.Compare(adopted, registry, adopt.ReportOptions{NextSerial: 2026120302, Now: now,
		Guard: publish.Guard{Thresholds: publish.Thresholds{DelegationsRemoved: publish.Limit{Percent: 1, Count: 0},
			NSChanged: loose, GlueChanged: loose, DSChanged: loose}}})
	if r.Zone != "pt" || r.AdoptedSerial != 2026120301 || r.NextSerial != 2026120302 || r.AdoptedDelegations != 3 || r.RegistryDelegations != 3 {
		t.Errorf("report header: %+v", r)
	}
	if !slices.Equal(r.OnlyAdopted, []string{"seguro.pt"}) || !slices.Equal(r.OnlyRegistry, []string{"novo.pt"}) {
		t.Errorf("only adopted %v, only registry %v", r.OnlyAdopted, r.OnlyRegistry)
	}
	want := []adopt.Difference{
		{Name: "exemplo.pt", Kind: adopt.KindNS, Type: "NS", Adopted: []string{"ns.hosting.net.", "ns1.exemplo.pt."}, Registry: []string{"ns.outro.net.", "ns1.exemplo.pt."}},
		{Name: "ns1.exemplo.pt", Kind: adopt.KindGlue, Type: "A", Adopted: []string{"192.0.2.10"}, Registry: []string{"192.0.2.11"}},
		{Name: "seguro.pt", Kind: adopt.KindDS, Type: "DS", Adopted: []string{"12345 13 2 AB12AB12AB12AB12AB12AB12AB12AB12AB12AB12AB12AB12AB12AB12AB12AB12"}, Registry: []string{}},
	}
	if len(r.Differences) != len(want) {
		t.Fatalf("differences: %+v\nwant %+v", r.Differences, want)
	}
	for i, d := range r.Differences {
		w := want[i]
		if d.Name != w.Name || d.Kind != w.Kind || d.Type != w.Type || !slices.Equal(d.Adopted, w.Adopted) || !slices.Equal(d.Registry, w.Registry) {
			t.Errorf("difference %d: %+v, want %+v", i, d, w)
		}
	}
	// The DS change of a delegation in both zones.
	dsOnly := testkit.ReadZone(t, pt, strings.Replace(oldZone, "AB12AB12AB12AB12AB12AB12AB12AB12AB12AB12AB12AB12AB12AB12AB12AB12", "CD34CD34CD34CD34CD34CD34CD34CD34CD34CD34CD34CD34CD34CD34CD34CD34", 1))
	if ds := adopt.Compare(adopted, dsOnly, adopt.ReportOptions{}); len(ds.Differences) != 1 || ds.Differences[0].Kind != adopt.KindDS ||
		len(ds.Differences[0].Registry) != 1 || !strings.HasPrefix(ds.Differences[0].Registry[0], "12345 13 2 CD34") {
		t.Errorf("a changed DS: %+v", ds.Differences)
	}
	// The counts are the guard's.
	count := func(kind string) int {
		n := 0
		for _, d := range r.Differences {
			if d.Kind == kind {
				n++
			}
		}
		return n
	}
	d := r.Delta
	if d.Removed != len(r.OnlyAdopted) || d.Added != len(r.OnlyRegistry) || d.NSChanged != count(adopt.KindNS) ||
		d.DSChanged != count(adopt.KindDS) || d.GlueChanged != count(adopt.KindGlue) || d.Delegations != 3 {
		t.Errorf("delta %+v disagrees with the report", d)
	}
	if len(r.GuardRefusals) != 1 || r.GuardRefusals[0].Code != publish.RefuseRemoved || !slices.Equal(r.GuardRefusals[0].Offenders, []string{"seguro.pt"}) {
		t.Errorf("guard refusals %+v, want delegations-removed for seguro.pt", r.GuardRefusals)
	}
	if r.Same() || !adopt.Compare(adopted, adopted, adopt.ReportOptions{}).Same() {
		t.Error("Same() is wrong")
	}

	var text strings.Builder
	if err := r.WriteText(&text); err != nil {
		t.Fatal(err)
	}
	for _, line := range []string{
		"pt: adopted serial 2026120301, 3 delegations; the registry would publish 3, at serial 2026120302\n",
		"1 delegations only in the adopted zone (the first publication would remove them)\n  seguro.pt\n",
		"1 delegations only in the registry (the first publication would add them)\n  novo.pt\n",
		"1 NS, 1 DS and 1 glue RRsets differ\n",
		"  exemplo.pt NS\n    - ns.hosting.net.\n    + ns.outro.net.\n",
		"  ns1.exemplo.pt A\n    - 192.0.2.10\n    + 192.0.2.11\n",
		"the guard would refuse the first publication:\n  delegations-removed: ",
	} {
		if !strings.Contains(text.String(), line) {
			t.Errorf("the text report lacks %q:\n%s", line, text.String())
		}
	}

	raw, err := json.Marshal(r)
	if err != nil {
		t.Fatal(err)
	}
	var fields map[string]json.RawMessage
	json.Unmarshal(raw, &fields)
	var keys []string
	for k := range fields {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	if want := []string{"adopted_delegations", "adopted_serial", "delta", "differences", "guard_refusals", "next_serial",
		"only_adopted", "only_registry", "registry_delegations", "zone"}; !slices.Equal(keys, want) {
		t.Errorf("the report's JSON fields: %v, want %v", keys, want)
	}
	if !strings.Contains(string(raw), `{"name":"exemplo.pt","kind":"ns","type":"NS","adopted":["ns.hosting.net.","ns1.exemplo.pt."],"registry":["ns.outro.net.","ns1.exemplo.pt."]}`) {
		t.Errorf("a difference in JSON: %s", raw)
	}
	empty, _ := json.Marshal(adopt.Compare(adopted, adopted, adopt.ReportOptions{}))
	if !strings.Contains(string(empty), `"only_adopted":[],"only_registry":[],"differences":[]`) {
		t.Errorf("an empty report's lists are not empty arrays: %s", empty)
	}
}

// oldKeys makes a KSK and a ZSK of pt as the previous signer's key files
// in a directory of their own, and the zone they sign.
func oldKeys(t *testing.T) (dir string, keys []*dnssec.Key, signed *zone.Zone) {
	t.Helper()
	dir = t.TempDir()
	keys = testkit.GenerateKeys(t, pt, now.Add(-time.Hour))
	for _, k := range keys {
		if err := keyfile.Save(k, dir); err != nil {
			t.Fatal(err)
		}
	}
	return dir, keys, testkit.Sign(t, testkit.ReadZone(t, pt, oldZone), keys, now)
}

// TestImportKeys: the adopted zone's keys are copied into the keys
// directory; a key the adopted zone does not publish is refused with the
// zone's keys named, and nothing is imported; a KSK or ZSK left out, or
// a key of ptzone's own the adopted zone lacks, is a warning.
func TestImportKeys(t *testing.T) {
	dir, keys, signed := oldKeys(t)
	ksk, zsk := keys[0], keys[1]
	keysDir := filepath.Join(t.TempDir(), "keys")

	stranger := testkit.GenerateKeys(t, pt, now.Add(-time.Hour), dnssec.GenerateOptions{SEP: true})[0]
	strangerDir := t.TempDir()
	keyfile.Save(stranger, strangerDir)
	_, err := adopt.ImportKeys(keysDir, signed, []string{ksk.File + ".key", zsk.File + ".private", stranger.File}, now)
	if !errors.Is(err, adopt.ErrKeyNotInZone) || !strings.Contains(err.Error(), stranger.File) || !strings.Contains(err.Error(), "no key imported") {
		t.Errorf("importing a key not in the zone: %v, want ErrKeyNotInZone naming its file", err)
	}
	if entries, _ := os.ReadDir(keysDir); len(entries) != 0 {
		t.Errorf("a refused import left %d files", len(entries))
	}
	com := testkit.GenerateKeys(t, zone.MustParseName("com.pt."), now.Add(-time.Hour))[0]
	keyfile.Save(com, strangerDir)
	if _, err := adopt.ImportKeys(keysDir, signed, []string{com.File}, now); err == nil || !strings.Contains(err.Error(), "the key is for com.pt.") {
		t.Errorf("importing another zone's key: %v", err)
	}
	if _, err := adopt.ImportKeys(keysDir, testkit.ReadZone(t, pt, oldZone), []string{ksk.File}, now); err == nil || !strings.Contains(err.Error(), "not signed") {
		t.Errorf("importing into an unsigned adoption: %v", err)
	}

	// The ZSK alone: the KSK the parent's DS is for is missing.
	imp, err := adopt.ImportKeys(keysDir, signed, []string{zsk.File + ".key"}, now)
	if err != nil || len(imp.Imported) != 1 || len(imp.Warnings) != 1 || !strings.Contains(imp.Warnings[0], "KSK") || !strings.Contains(imp.Warnings[0], "DS") {
		t.Fatalf("importing the ZSK alone: %+v %v; want one warning about the KSK", imp, err)
	}
	// Then both (the ZSK already there is left as it is): no warning.
	imp, err = adopt.ImportKeys(keysDir, signed, []string{filepath.Join(dir, filepath.Base(ksk.File)), zsk.File}, now)
	if err != nil || len(imp.Imported) != 1 || imp.Imported[0].Tag != ksk.Tag || len(imp.Warnings) != 0 {
		t.Fatalf("importing both: %+v %v", imp, err)
	}
	loaded, err := keyfile.Load(keysDir, pt)
	if err != nil || len(loaded) != 2 {
		t.Fatalf("the keys directory after the import: %d keys, %v", len(loaded), err)
	}
	for _, k := range loaded {
		if fi, err := os.Stat(k.File + ".private"); err != nil || fi.Mode().Perm() != 0o600 {
			t.Errorf("%s.private: %v %v", k.File, fi.Mode(), err)
		}
		orig, _ := os.ReadFile(filepath.Join(dir, filepath.Base(k.File)+".private"))
		copied, _ := os.ReadFile(k.File + ".private")
		if string(orig) != string(copied) {
			t.Errorf("%s.private is not the old signer's file as it was", k.File)
		}
	}
	// A key of ptzone's own there, which the adopted zone does not publish.
	keyfile.Save(testkit.GenerateKeys(t, pt, now.Add(-time.Hour), dnssec.GenerateOptions{})[0], keysDir)
	imp, err = adopt.ImportKeys(keysDir, signed, []string{ksk.File}, now)
	if err != nil || len(imp.Warnings) != 1 || !strings.Contains(imp.Warnings[0], "not in pt as adopted") {
		t.Errorf("importing beside a key the zone lacks: %+v %v", imp, err)
	}
}
