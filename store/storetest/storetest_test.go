package storetest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"iter"
	"net/netip"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ptzone/ptzone/store"
)

// TestConformance runs the whole suite on every backend.
func TestConformance(t *testing.T) {
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) { run(t, b.open) })
	}
}

// run runs the whole suite on registries open returns: fresh, empty and
// migrated, one a case; the suite closes them.
func run(t *testing.T, open func(testing.TB) store.Registry) {
	tests := []struct {
		name string
		fn   func(*testing.T, store.Registry)
	}{
		{"Zones", testZones},
		{"PutAndGetDomain", testPutAndGetDomain},
		{"PutReplacesDomain", testPutReplacesDomain},
		{"PutRejectsInvalid", testPutRejectsInvalid},
		{"SetStatus", testSetStatus},
		{"ImportInsert", testImportInsert},
		{"ImportConflictWritesNothing", testImportConflict},
		{"ImportSourceErrorWritesNothing", testImportSourceError},
		{"ImportInvalidRecordWritesNothing", testImportInvalidRecord},
		{"ImportReplace", testImportReplace},
		{"SnapshotIsolation", testSnapshotIsolation},
		{"SnapshotFilterAndOrder", testSnapshotFilter},
		{"SnapshotEarlyBreak", testSnapshotEarlyBreak},
		{"SnapshotDelegationOnly", testSnapshotDelegationOnly},
		{"Counts", testCounts},
		{"Registrars", testRegistrars},
		{"Checks", testChecks},
		{"Publications", testPublications},
		{"PublishedSince", testPublishedSince},
		{"ChangeFeed", testChangeFeed},
		{"Sweeps", testSweeps},
		{"ConditionalState", testConditionalState},
		{"Outbox", testOutbox},
		{"OutboxByRole", testOutboxByRole},
		{"CheckQueue", testCheckQueue},
		{"Prune", testPrune},
		{"PrunePublications", testPrunePublications},
		{"PruneChangeFeed", testPruneChangeFeed},
		{"Operations", testOperations},
		{"Health", testHealth},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := open(t)
			t.Cleanup(func() {
				if err := r.Close(); err != nil {
					t.Errorf("Close: %v", err)
				}
			})
			tc.fn(t, r)
		})
	}
}

func ctx(t *testing.T) context.Context {
	c, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	t.Cleanup(cancel)
	return c
}

func date(y int, m time.Month, d int) time.Time { return time.Date(y, m, d, 0, 0, 0, 0, time.UTC) }

// sampleDomain returns a fully populated, valid domain.
func sampleDomain(name, zone string) store.Domain {
	return store.Domain{
		Name:      name,
		Zone:      zone,
		Status:    store.StatusActive,
		Registrar: "REG-1",
		Expires:   date(2027, 3, 1),
		TechEmail: "dns@" + name,
		Nameservers: []store.Nameserver{
			{Name: "ns1." + name, Addrs: []netip.Addr{netip.MustParseAddr("192.0.2.1"), netip.MustParseAddr("2001:db8::53")}},
			{Name: "ns.hosting.net"},
		},
		DS: []store.DS{
			{KeyTag: 12345, Algorithm: 13, DigestType: 2, Digest: "2BB183AF5F22588179A53B0A98631FAD1A292118E0D5F8E3E7B6D8B7A1E4C3F2"},
			{KeyTag: 0, Algorithm: 5, DigestType: 1, Digest: "A7B2C3D4E5F60718293A4B5C6D7E8F9012345678"},
		},
	}
}

// plainDomain returns a minimal valid domain.
func plainDomain(name, zone string, status store.Status) store.Domain {
	return store.Domain{
		Name: name, Zone: zone, Status: status, Registrar: "REG-2", Expires: date(2026, 12, 31),
		Nameservers: []store.Nameserver{{Name: "ns1.provider.pt"}, {Name: "ns2.provider.pt"}},
	}
}

func records(ds ...store.Domain) iter.Seq2[store.ImportRecord, error] {
	return func(yield func(store.ImportRecord, error) bool) {
		for i, d := range ds {
			if !yield(store.ImportRecord{Line: i + 1, Domain: d}, nil) {
				return
			}
		}
	}
}

// all reads every domain through a fresh snapshot.
func all(t *testing.T, r store.Registry, f store.Filter) []store.Candidate {
	t.Helper()
	snap, err := r.Snapshot(ctx(t))
	if err != nil {
		t.Fatalf("Snapshot: %v", err)
	}
	defer snap.Close()
	var out []store.Candidate
	for c, err := range snap.Domains(ctx(t), f) {
		if err != nil {
			t.Fatalf("Domains: %v", err)
		}
		out = append(out, c)
	}
	return out
}

func names(cs []store.Candidate) []string {
	out := make([]string, len(cs))
	for i, c := range cs {
		out[i] = c.Domain.Name
	}
	return out
}

func mustPut(t *testing.T, r store.Registry, ds ...store.Domain) {
	t.Helper()
	for _, d := range ds {
		if err := r.PutDomain(ctx(t), d); err != nil {
			t.Fatalf("PutDomain(%s): %v", d.Name, err)
		}
	}
}

func equalDomain(t *testing.T, got, want store.Domain) {
	t.Helper()
	if !reflect.DeepEqual(got, want) {
		t.Errorf("domain %s differs:\n got  %+v\n want %+v", want.Name, got, want)
	}
}

func testZones(t *testing.T, r store.Registry) {
	got, err := r.Zones(ctx(t))
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"com.pt", "edu.pt", "gov.pt", "int.pt", "net.pt", "nome.pt", "org.pt", "pt", "publ.pt"}
	if !slices.Equal(got, want) {
		t.Errorf("Zones = %v, want %v", got, want)
	}
}

func testPutAndGetDomain(t *testing.T, r store.Registry) {
	want := sampleDomain("exemplo.pt", "pt")
	mustPut(t, r, want)
	got, err := r.Domain(ctx(t), "exemplo.pt")
	if err != nil {
		t.Fatal(err)
	}
	equalDomain(t, got, want)

	idn := plainDomain("xn--aores-caf-q3a4a.com.pt", "com.pt", store.StatusReserved)
	idn.GeoAuthority = true
	mustPut(t, r, idn)
	got, err = r.Domain(ctx(t), idn.Name)
	if err != nil {
		t.Fatal(err)
	}
	equalDomain(t, got, idn)

	if _, err := r.Domain(ctx(t), "nao-existe.pt"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("Domain(missing) error = %v, want ErrNotFound", err)
	}
	reg, err := r.Registrar(ctx(t), "REG-1")
	if err != nil {
		t.Fatalf("PutDomain did not create registrar REG-1: %v", err)
	}
	if reg.ID != "REG-1" || reg.TokenHash != nil {
		t.Errorf("created registrar = %+v", reg)
	}
}

func testPutReplacesDomain(t *testing.T, r store.Registry) {
	d := sampleDomain("exemplo.pt", "pt")
	mustPut(t, r, d)
	d.Status = store.StatusSuspended
	d.Nameservers = []store.Nameserver{{Name: "a.dns.pt"}, {Name: "b.dns.pt"}, {Name: "ns3.exemplo.pt", Addrs: []netip.Addr{netip.MustParseAddr("198.51.100.7")}}}
	d.DS = nil
	d.TechEmail = ""
	mustPut(t, r, d)
	got, err := r.Domain(ctx(t), d.Name)
	if err != nil {
		t.Fatal(err)
	}
	equalDomain(t, got, d)
	if n := len(all(t, r, store.Filter{})); n != 1 {
		t.Errorf("after replacing, the store holds %d domains, want 1", n)
	}
}

func testPutRejectsInvalid(t *testing.T, r store.Registry) {
	bad := []store.Domain{
		func() store.Domain { d := sampleDomain("exemplo.pt", "pt"); d.Status = "deleted"; return d }(),
		func() store.Domain { d := sampleDomain("exemplo.pt", "com.pt"); return d }(),
		func() store.Domain { d := sampleDomain("Exemplo.pt", "pt"); return d }(),
		func() store.Domain { d := sampleDomain("exemplo.pt", "pt"); d.DS[0].Digest = "XYZ"; return d }(),
		func() store.Domain {
			d := sampleDomain("exemplo.pt", "pt")
			d.DS[0].DigestType = 2
			d.DS[0].Digest = "ABCD"
			return d
		}(),
		func() store.Domain { d := sampleDomain("exemplo.pt", "pt"); d.Nameservers[0].Addrs = nil; return d }(),
		func() store.Domain {
			d := sampleDomain("exemplo.pt", "pt")
			d.Nameservers[1].Addrs = []netip.Addr{netip.MustParseAddr("0.0.0.0")}
			return d
		}(),
		func() store.Domain {
			d := sampleDomain("exemplo.pt", "pt")
			d.Nameservers[1].Name = d.Nameservers[0].Name
			return d
		}(),
		func() store.Domain { d := sampleDomain("exemplo.pt", "pt"); d.Expires = time.Time{}; return d }(),
	}
	for i, d := range bad {
		if err := r.PutDomain(ctx(t), d); err == nil {
			t.Errorf("case %d: PutDomain accepted an invalid domain %+v", i, d)
		}
	}
	if n := len(all(t, r, store.Filter{})); n != 0 {
		t.Errorf("invalid domains left %d rows", n)
	}
}

func testSetStatus(t *testing.T, r store.Registry) {
	mustPut(t, r, sampleDomain("exemplo.pt", "pt"))
	if err := r.SetStatus(ctx(t), "exemplo.pt", store.StatusPendingDelete); err != nil {
		t.Fatal(err)
	}
	got, err := r.Domain(ctx(t), "exemplo.pt")
	if err != nil {
		t.Fatal(err)
	}
	if got.Status != store.StatusPendingDelete {
		t.Errorf("status = %s, want pending_delete", got.Status)
	}
	if err := r.SetStatus(ctx(t), "outro.pt", store.StatusActive); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("SetStatus(missing) = %v, want ErrNotFound", err)
	}
	if err := r.SetStatus(ctx(t), "exemplo.pt", "bogus"); err == nil {
		t.Error("SetStatus accepted an invalid status")
	}
}

// importSet is a small registry across hierarchies and statuses.
func importSet() []store.Domain {
	return []store.Domain{
		sampleDomain("exemplo.pt", "pt"),
		plainDomain("loja.com.pt", "com.pt", store.StatusActive),
		plainDomain("associacao.org.pt", "org.pt", store.StatusReserved),
		plainDomain("escola.edu.pt", "edu.pt", store.StatusSuspended),
		plainDomain("antigo.net.pt", "net.pt", store.StatusActive),
		plainDomain("caduco.pt", "pt", store.StatusPendingDelete),
		plainDomain("zebra.pt", "pt", store.StatusActive),
		plainDomain("abelha.pt", "pt", store.StatusRemoved),
		// Byte order puts "-" (0x2d) before letters; a locale collation
		// that ignores punctuation sorts "ab-d" after "abc".
		plainDomain("abc.pt", "pt", store.StatusActive),
		plainDomain("ab-d.pt", "pt", store.StatusActive),
	}
}

func testImportInsert(t *testing.T, r store.Registry) {
	in := importSet()
	res, err := r.Import(ctx(t), records(in...), store.ImportInsert)
	if err != nil {
		t.Fatal(err)
	}
	if res.Inserted != len(in) || res.Updated != 0 || res.Deleted != 0 || res.RegistrarsCreated != 2 {
		t.Errorf("ImportResult = %+v, want %d inserted and 2 registrars created", res, len(in))
	}
	got := all(t, r, store.Filter{})
	want := slices.Clone(in)
	slices.SortFunc(want, func(a, b store.Domain) int { return cmpString(a.Name, b.Name) })
	if len(got) != len(want) {
		t.Fatalf("snapshot has %d domains, want %d", len(got), len(want))
	}
	for i := range want {
		equalDomain(t, got[i].Domain, want[i])
		if got[i].State != nil {
			t.Errorf("%s has a delegation state before any check", got[i].Domain.Name)
		}
	}
}

func cmpString(a, b string) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

func testImportConflict(t *testing.T, r store.Registry) {
	mustPut(t, r, plainDomain("loja.com.pt", "com.pt", store.StatusReserved), plainDomain("zebra.pt", "pt", store.StatusReserved))
	before := all(t, r, store.Filter{})
	_, err := r.Import(ctx(t), records(importSet()...), store.ImportInsert)
	var ce *store.ConflictError
	if !errors.As(err, &ce) {
		t.Fatalf("Import error = %v, want *store.ConflictError", err)
	}
	want := []store.Conflict{{Line: 2, Name: "loja.com.pt"}, {Line: 7, Name: "zebra.pt"}}
	if ce.Total != 2 || !slices.Equal(ce.Conflicts, want) {
		t.Errorf("conflicts = %+v (total %d), want %+v", ce.Conflicts, ce.Total, want)
	}
	if after := all(t, r, store.Filter{}); !reflect.DeepEqual(after, before) {
		t.Errorf("a failed import changed the store: %v -> %v", names(before), names(after))
	}
	if _, err := r.Registrar(ctx(t), "REG-1"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("a failed import created registrar REG-1 (err %v)", err)
	}
}

func testImportSourceError(t *testing.T, r store.Registry) {
	mustPut(t, r, plainDomain("ja-existe.pt", "pt", store.StatusActive))
	before := all(t, r, store.Filter{})
	in := importSet()
	bad := errors.New("line 5: broken")
	src := func(yield func(store.ImportRecord, error) bool) {
		for i, d := range in {
			if i == 4 {
				yield(store.ImportRecord{}, bad)
				return
			}
			if !yield(store.ImportRecord{Line: i + 1, Domain: d}, nil) {
				return
			}
		}
	}
	for _, mode := range []store.ImportMode{store.ImportInsert, store.ImportReplace} {
		if _, err := r.Import(ctx(t), src, mode); !errors.Is(err, bad) {
			t.Errorf("mode %d: Import error = %v, want the source's error", mode, err)
		}
		if after := all(t, r, store.Filter{}); !reflect.DeepEqual(after, before) {
			t.Errorf("mode %d: an aborted import changed the store: %v", mode, names(after))
		}
	}
}

func testImportInvalidRecord(t *testing.T, r store.Registry) {
	in := importSet()
	in[3].Nameservers = append(in[3].Nameservers, in[3].Nameservers[0]) // duplicate host
	_, err := r.Import(ctx(t), records(in...), store.ImportInsert)
	if err == nil {
		t.Fatal("Import accepted an invalid record")
	}
	if want := "line 4"; !strings.Contains(err.Error(), want) {
		t.Errorf("error %q does not name %q", err, want)
	}
	if n := len(all(t, r, store.Filter{})); n != 0 {
		t.Errorf("an invalid import left %d domains", n)
	}
}

func testImportReplace(t *testing.T, r store.Registry) {
	if _, err := r.Import(ctx(t), records(importSet()...), store.ImportInsert); err != nil {
		t.Fatal(err)
	}
	now := time.Date(2026, 11, 1, 10, 0, 0, 0, time.UTC)
	pass := store.CheckResult{Domain: "loja.com.pt", Time: now, Trigger: "sweep", Verdict: store.VerdictPass}
	if _, err := r.RecordCheck(ctx(t), pass, store.DelegationState{Domain: "loja.com.pt", LastVerdict: store.VerdictPass, LastChecked: now, LastPassed: now, Updated: now}); err != nil {
		t.Fatal(err)
	}
	if _, err := r.RecordCheck(ctx(t), store.CheckResult{Domain: "zebra.pt", Time: now, Trigger: "sweep", Verdict: store.VerdictPass},
		store.DelegationState{Domain: "zebra.pt", LastVerdict: store.VerdictPass, LastChecked: now, LastPassed: now, Updated: now}); err != nil {
		t.Fatal(err)
	}

	loja := plainDomain("loja.com.pt", "com.pt", store.StatusSuspended)
	loja.Nameservers = []store.Nameserver{{Name: "ns.loja.com.pt", Addrs: []netip.Addr{netip.MustParseAddr("203.0.113.9")}}}
	next := []store.Domain{sampleDomain("exemplo.pt", "pt"), loja, plainDomain("novo.org.pt", "org.pt", store.StatusActive)}
	res, err := r.Import(ctx(t), records(next...), store.ImportReplace)
	if err != nil {
		t.Fatal(err)
	}
	// exemplo.pt, the same as before, is not rewritten.
	want := store.ImportResult{Inserted: 1, Updated: 1, Deleted: len(importSet()) - 2}
	if res != want {
		t.Errorf("ImportResult = %+v, want %+v", res, want)
	}
	// The same file again changes nothing: no row counted, none in the
	// change feed (a publication would otherwise re-read them all).
	snap, err := r.Snapshot(ctx(t))
	if err != nil {
		t.Fatal(err)
	}
	pos := snap.ChangeToken()
	snap.Close()
	if res, err := r.Import(ctx(t), records(next...), store.ImportReplace); err != nil || res != (store.ImportResult{}) {
		t.Errorf("the same import again: %+v, %v; want nothing changed", res, err)
	}
	if snap, err = r.Snapshot(ctx(t)); err != nil {
		t.Fatal(err)
	}
	for ch, err := range snap.Changes(ctx(t), pos, store.Filter{}) {
		t.Errorf("the same import again changed %+v (%v)", ch, err)
	}
	snap.Close()
	got := all(t, r, store.Filter{})
	if !slices.Equal(names(got), []string{"exemplo.pt", "loja.com.pt", "novo.org.pt"}) {
		t.Fatalf("after replace: %v", names(got))
	}
	equalDomain(t, got[1].Domain, loja)
	if got[1].State == nil || !got[1].State.LastPassed.Equal(now) {
		t.Errorf("replace lost the delegation state of a kept domain: %+v", got[1].State)
	}
	if h, err := r.CheckHistory(ctx(t), "loja.com.pt", 10); err != nil || len(h) != 1 {
		t.Errorf("replace lost the check history of a kept domain: %v, %v", h, err)
	}
	if _, err := r.DelegationState(ctx(t), "zebra.pt"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("the state of a deleted domain survived: %v", err)
	}
}

func testSnapshotIsolation(t *testing.T, r store.Registry) {
	mustPut(t, r, plainDomain("antes.pt", "pt", store.StatusActive))
	snap, err := r.Snapshot(ctx(t))
	if err != nil {
		t.Fatal(err)
	}
	defer snap.Close()
	if snap.Time().IsZero() || snap.Time().Location() != time.UTC {
		t.Errorf("snapshot time %v is not a UTC time", snap.Time())
	}

	// Writes after the snapshot opened, committed before it is read.
	mustPut(t, r, plainDomain("depois.pt", "pt", store.StatusActive))
	if err := r.SetStatus(ctx(t), "antes.pt", store.StatusSuspended); err != nil {
		t.Fatal(err)
	}

	var seen []store.Candidate
	for c, err := range snap.Domains(ctx(t), store.Filter{Zone: "pt"}) {
		if err != nil {
			t.Fatal(err)
		}
		seen = append(seen, c)
	}
	if len(seen) != 1 || seen[0].Domain.Name != "antes.pt" || seen[0].Domain.Status != store.StatusActive {
		t.Errorf("snapshot saw later writes: %+v", seen)
	}
	// The same snapshot answers a second query identically.
	var again []string
	for c, err := range snap.Domains(ctx(t), store.Filter{}) {
		if err != nil {
			t.Fatal(err)
		}
		again = append(again, c.Domain.Name)
	}
	if !slices.Equal(again, []string{"antes.pt"}) {
		t.Errorf("second query in the snapshot = %v", again)
	}
	if err := snap.Close(); err != nil {
		t.Errorf("Close: %v", err)
	}
	if err := snap.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	if got := names(all(t, r, store.Filter{})); !slices.Equal(got, []string{"antes.pt", "depois.pt"}) {
		t.Errorf("new snapshot = %v", got)
	}
}

func testSnapshotFilter(t *testing.T, r store.Registry) {
	if _, err := r.Import(ctx(t), records(importSet()...), store.ImportInsert); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		f    store.Filter
		want []string
	}{
		{store.Filter{Zone: "pt"}, []string{"ab-d.pt", "abc.pt", "abelha.pt", "caduco.pt", "exemplo.pt", "zebra.pt"}},
		{store.Filter{Zone: "pt", Statuses: []store.Status{store.StatusActive}}, []string{"ab-d.pt", "abc.pt", "exemplo.pt", "zebra.pt"}},
		{store.Filter{Statuses: []store.Status{store.StatusActive}}, []string{"ab-d.pt", "abc.pt", "antigo.net.pt", "exemplo.pt", "loja.com.pt", "zebra.pt"}},
		{store.Filter{Statuses: []store.Status{store.StatusReserved, store.StatusSuspended}}, []string{"associacao.org.pt", "escola.edu.pt"}},
		{store.Filter{Zone: "gov.pt"}, nil},
		{store.Filter{Registrar: "REG-1"}, []string{"exemplo.pt"}},
		{store.Filter{Registrar: "REG-2", Zone: "pt", Statuses: []store.Status{store.StatusActive}}, []string{"ab-d.pt", "abc.pt", "zebra.pt"}},
		{store.Filter{Registrar: "REG-9"}, nil},
	}
	for _, tc := range cases {
		if got := names(all(t, r, tc.f)); !slices.Equal(got, tc.want) && !(len(got) == 0 && len(tc.want) == 0) {
			t.Errorf("Domains(%+v) = %v, want %v", tc.f, got, tc.want)
		}
		// In any order, the same domains, each read whole.
		ordered := all(t, r, tc.f)
		tc.f.AnyOrder = true
		anyOrder := all(t, r, tc.f)
		slices.SortFunc(anyOrder, func(a, b store.Candidate) int { return strings.Compare(a.Domain.Name, b.Domain.Name) })
		if !reflect.DeepEqual(anyOrder, ordered) {
			t.Errorf("Domains(%+v) gave other domains than in name order:\n%+v\nwant\n%+v", tc.f, anyOrder, ordered)
		}
	}
}

func testSnapshotEarlyBreak(t *testing.T, r store.Registry) {
	if _, err := r.Import(ctx(t), records(importSet()...), store.ImportInsert); err != nil {
		t.Fatal(err)
	}
	snap, err := r.Snapshot(ctx(t))
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, err := range snap.Domains(ctx(t), store.Filter{}) {
		if err != nil {
			t.Fatal(err)
		}
		if n++; n == 2 {
			break
		}
	}
	// Breaking out must leave the snapshot usable and closable.
	count := 0
	for _, err := range snap.Domains(ctx(t), store.Filter{}) {
		if err != nil {
			t.Fatal(err)
		}
		count++
	}
	if count != len(importSet()) {
		t.Errorf("after an early break the snapshot streamed %d domains, want %d", count, len(importSet()))
	}
	if err := snap.Close(); err != nil {
		t.Fatal(err)
	}
	// And the connection must have gone back: writes still work.
	mustPut(t, r, plainDomain("seguinte.pt", "pt", store.StatusActive))
}

func testSnapshotDelegationOnly(t *testing.T, r store.Registry) {
	c := ctx(t)
	if _, err := r.Import(c, records(importSet()...), store.ImportInsert); err != nil {
		t.Fatal(err)
	}
	t0 := time.Date(2026, 11, 1, 10, 0, 0, 0, time.UTC)
	if _, err := r.RecordCheck(c, store.CheckResult{Domain: "exemplo.pt", Time: t0, Verdict: store.VerdictFail},
		store.DelegationState{Domain: "exemplo.pt", LastVerdict: store.VerdictFail, LastChecked: t0, LastPassed: t0.Add(-time.Hour),
			FirstFailure: t0, Withheld: true, Reason: "grace over", Updated: t0}); err != nil {
		t.Fatal(err)
	}
	// Checked and never passed: a state whose LastPassed is NULL.
	if _, err := r.RecordCheck(c, store.CheckResult{Domain: "zebra.pt", Time: t0, Verdict: store.VerdictFail},
		store.DelegationState{Domain: "zebra.pt", LastVerdict: store.VerdictFail, LastChecked: t0,
			FirstFailure: t0, Updated: t0}); err != nil {
		t.Fatal(err)
	}
	full := all(t, r, store.Filter{Zone: "pt"})
	lean := all(t, r, store.Filter{Zone: "pt", DelegationOnly: true})
	if len(lean) != len(full) {
		t.Fatalf("%d lean rows, %d full", len(lean), len(full))
	}
	for i := range full {
		f, l := full[i].Domain, lean[i].Domain
		want := store.Domain{Name: f.Name, Zone: f.Zone, Status: f.Status, Nameservers: f.Nameservers, DS: f.DS}
		if !reflect.DeepEqual(l, want) {
			t.Errorf("lean %+v, want %+v", l, want)
		}
		switch {
		case full[i].State == nil && lean[i].State != nil:
			t.Errorf("%s: a lean state without a check", f.Name)
		case full[i].State != nil:
			ls := lean[i].State
			if ls == nil || !ls.LastPassed.Equal(full[i].State.LastPassed) || ls.Withheld != full[i].State.Withheld {
				t.Errorf("%s: lean state %+v, full %+v", f.Name, ls, full[i].State)
			}
		}
	}
	states := 0
	for _, l := range lean {
		if l.State != nil {
			states++
		}
	}
	if states != 2 {
		t.Errorf("%d lean rows with a state, want exemplo.pt's and zebra.pt's", states)
	}
}

func testCounts(t *testing.T, r store.Registry) {
	in := importSet()
	in = append(in, plainDomain("outra.com.pt", "com.pt", store.StatusActive))
	if _, err := r.Import(ctx(t), records(in...), store.ImportInsert); err != nil {
		t.Fatal(err)
	}
	got, err := r.Counts(ctx(t))
	if err != nil {
		t.Fatal(err)
	}
	want := map[store.ZoneCount]bool{}
	tally := map[[2]string]int{}
	for _, d := range in {
		tally[[2]string{d.Zone, string(d.Status)}]++
	}
	for k, n := range tally {
		want[store.ZoneCount{Zone: k[0], Status: store.Status(k[1]), Count: n}] = true
	}
	if len(got) != len(want) {
		t.Fatalf("Counts = %v, want %d rows", got, len(want))
	}
	for _, c := range got {
		if !want[c] {
			t.Errorf("unexpected count %+v", c)
		}
	}
}

func testRegistrars(t *testing.T, r store.Registry) {
	c := ctx(t)
	if err := r.PutRegistrar(c, store.Registrar{ID: "REG-9", Name: "Registos Lda", Email: "ops@registos.pt"}); err != nil {
		t.Fatal(err)
	}
	if err := r.PutRegistrar(c, store.Registrar{ID: "REG-3", Name: "Outro"}); err != nil {
		t.Fatal(err)
	}
	hash := store.HashToken("ptz_secret-token")
	if err := r.SetRegistrarToken(c, "REG-9", hash); err != nil {
		t.Fatal(err)
	}
	// Updating name and e-mail keeps the token.
	if err := r.PutRegistrar(c, store.Registrar{ID: "REG-9", Name: "Registos SA", Email: "dns@registos.pt"}); err != nil {
		t.Fatal(err)
	}
	got, err := r.RegistrarByTokenHash(c, store.HashToken("ptz_secret-token"))
	if err != nil {
		t.Fatal(err)
	}
	if got.ID != "REG-9" || got.Name != "Registos SA" || got.Email != "dns@registos.pt" || !slices.Equal(got.TokenHash, hash) {
		t.Errorf("RegistrarByTokenHash = %+v", got)
	}
	if got.Created.IsZero() {
		t.Error("registrar has no creation time")
	}
	if _, err := r.RegistrarByTokenHash(c, store.HashToken("wrong")); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("wrong token: %v, want ErrNotFound", err)
	}
	if err := r.SetRegistrarToken(c, "REG-404", hash); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("SetRegistrarToken(missing) = %v", err)
	}
	if err := r.SetRegistrarToken(c, "REG-3", hash); err == nil {
		t.Error("two registrars were given the same token hash")
	}
	if _, err := r.Registrar(c, "REG-404"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("Registrar(missing) = %v", err)
	}
	list, err := r.Registrars(c)
	if err != nil {
		t.Fatal(err)
	}
	if len(list) != 2 || list[0].ID != "REG-3" || list[1].ID != "REG-9" {
		t.Errorf("Registrars = %+v", list)
	}
	if err := r.PutRegistrar(c, store.Registrar{ID: "bad id"}); err == nil {
		t.Error("a registrar id with a space was accepted")
	}
}

func testChecks(t *testing.T, r store.Registry) {
	c := ctx(t)
	mustPut(t, r, sampleDomain("exemplo.pt", "pt"), plainDomain("outro.pt", "pt", store.StatusActive))
	if _, err := r.DelegationState(c, "exemplo.pt"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("state before any check: %v, want ErrNotFound", err)
	}
	t0 := time.Date(2026, 11, 20, 8, 30, 0, 123456000, time.UTC)
	finding := store.Finding{
		Code: "NS_NO_RESPONSE", Severity: store.SeverityError, Nameserver: "ns1.exemplo.pt", Address: "192.0.2.1",
		Article: "Art 23.2", Message: "no answer over UDP", MessagePT: "sem resposta por UDP", Hint: "check the firewall",
		Evidence: "exemplo.pt. SOA over UDP: timeout after 3 tries",
	}
	fail := store.CheckResult{Domain: "exemplo.pt", Time: t0, Duration: 1500 * time.Millisecond, Trigger: "sweep", Verdict: store.VerdictFail, Findings: []store.Finding{finding}}
	state := store.DelegationState{Domain: "exemplo.pt", LastVerdict: store.VerdictFail, LastChecked: t0, FirstFailure: t0,
		ConsecutiveFailures: 1, Reason: "grace period started", Findings: []store.Finding{finding}, Updated: t0}
	id1, err := r.RecordCheck(c, fail, state)
	if err != nil {
		t.Fatal(err)
	}
	t1 := t0.Add(time.Hour)
	pass := store.CheckResult{Domain: "exemplo.pt", Time: t1, Duration: 200 * time.Millisecond, Trigger: "registrar", Verdict: store.VerdictPass}
	state2 := store.DelegationState{Domain: "exemplo.pt", LastVerdict: store.VerdictPass, LastChecked: t1, LastPassed: t1, Updated: t1}
	id2, err := r.RecordCheck(c, pass, state2)
	if err != nil {
		t.Fatal(err)
	}
	if id2 <= id1 {
		t.Errorf("result ids %d then %d are not increasing", id1, id2)
	}
	got, err := r.DelegationState(c, "exemplo.pt")
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, state2) {
		t.Errorf("DelegationState =\n %+v\nwant\n %+v", got, state2)
	}
	hist, err := r.CheckHistory(c, "exemplo.pt", 10)
	if err != nil {
		t.Fatal(err)
	}
	fail.ID, pass.ID = id1, id2
	if !reflect.DeepEqual(hist, []store.CheckResult{pass, fail}) {
		t.Errorf("CheckHistory =\n %+v\nwant\n %+v", hist, []store.CheckResult{pass, fail})
	}
	if hist, err := r.CheckHistory(c, "exemplo.pt", 1); err != nil || len(hist) != 1 || hist[0].ID != id2 {
		t.Errorf("CheckHistory(limit 1) = %+v, %v", hist, err)
	}
	if hist, err := r.CheckHistory(c, "outro.pt", 10); err != nil || len(hist) != 0 {
		t.Errorf("CheckHistory(unchecked) = %+v, %v", hist, err)
	}
	if _, err := r.RecordCheck(c, store.CheckResult{Domain: "nao-existe.pt", Time: t0, Verdict: store.VerdictPass},
		store.DelegationState{Domain: "nao-existe.pt", LastVerdict: store.VerdictPass, LastChecked: t0, Updated: t0}); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("RecordCheck(missing domain) = %v, want ErrNotFound", err)
	}
	if _, err := r.RecordCheck(c, store.CheckResult{Domain: "outro.pt", Time: t0, Verdict: "maybe"},
		store.DelegationState{Domain: "outro.pt", LastVerdict: "maybe", LastChecked: t0, Updated: t0}); err == nil {
		t.Error("RecordCheck accepted an unknown verdict")
	}
	// The snapshot carries the state with the candidate (without findings).
	for _, cand := range all(t, r, store.Filter{Zone: "pt"}) {
		switch cand.Domain.Name {
		case "exemplo.pt":
			want := state2
			want.Findings = nil
			if cand.State == nil || !reflect.DeepEqual(*cand.State, want) {
				t.Errorf("candidate state = %+v, want %+v", cand.State, want)
			}
		case "outro.pt":
			if cand.State != nil {
				t.Errorf("unchecked candidate has state %+v", cand.State)
			}
		}
	}
}

// testPublishedSince: the window the publish guard sums reads only the
// zone's published entries from its start on, oldest first, whatever
// order they were recorded in.
func testPublishedSince(t *testing.T, r store.Registry) {
	c := ctx(t)
	t0 := time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC)
	entries := []struct {
		zone    string
		at      time.Duration
		outcome store.Outcome
	}{
		{"pt", -25 * time.Hour, store.OutcomePublished}, // 0: before the window
		{"pt", -24 * time.Hour, store.OutcomePublished}, // 1: at its start
		{"pt", -time.Hour, store.OutcomeRefused},        // 2: nothing published
		{"com.pt", -time.Hour, store.OutcomePublished},  // 3: another zone
		{"pt", -time.Minute, store.OutcomeDryRun},       // 4: nothing published
		{"pt", -2 * time.Hour, store.OutcomePublished},  // 5: recorded late
		{"pt", 0, store.OutcomePublished},               // 6
	}
	ids := make([]int64, len(entries))
	for i, e := range entries {
		id, err := r.RecordPublication(c, store.Publication{Zone: e.zone, Serial: uint32(i + 1), Time: t0.Add(e.at), Outcome: e.outcome,
			TriggeredBy: "cron", Delegations: 100 + i, Details: []byte(fmt.Sprintf(`{"delta":{"removed":%d}}`, i))})
		if err != nil {
			t.Fatal(err)
		}
		ids[i] = id
	}
	got, err := r.PublishedSince(c, "pt", t0.Add(-24*time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	var gotIDs []int64
	for _, p := range got {
		gotIDs = append(gotIDs, p.ID)
	}
	if want := []int64{ids[1], ids[5], ids[6]}; !slices.Equal(gotIDs, want) {
		t.Fatalf("PublishedSince(pt, t0-24h) = ids %v, want %v (entries 1, 5, 6)", gotIDs, want)
	}
	var d struct{ Delta map[string]int }
	if err := json.Unmarshal(got[1].Details, &d); err != nil || d.Delta["removed"] != 5 || got[1].Delegations != 105 || !got[1].Time.Equal(t0.Add(-2*time.Hour)) {
		t.Errorf("entry 5 read back as %+v (details %s, %v)", got[1], got[1].Details, err)
	}
	if none, err := r.PublishedSince(c, "pt", t0.Add(time.Second)); err != nil || len(none) != 0 {
		t.Errorf("PublishedSince after the last entry = %+v, %v", none, err)
	}
}

func testPublications(t *testing.T, r store.Registry) {
	c := ctx(t)
	t0 := time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC)
	in := []store.Publication{
		{Zone: "pt", Serial: 1763812800, Time: t0, Outcome: store.OutcomePublished, TriggeredBy: "cron", Records: 1200, Delegations: 400, Digest: "ab12", Details: []byte(`{"keys": ["pt+013+12345"], "policy": "v1"}`)},
		{Zone: "com.pt", Serial: 4294967295, Time: t0.Add(time.Minute), Outcome: store.OutcomeRefused, TriggeredBy: "operator:ana", Reason: "delegations dropped 5%", Records: 10, Delegations: 3},
		{Zone: "pt", Serial: 1763813700, Time: t0.Add(15 * time.Minute), Outcome: store.OutcomeDryRun, TriggeredBy: "cron"},
	}
	var ids []int64
	for _, p := range in {
		id, err := r.RecordPublication(c, p)
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, id)
	}
	got, err := r.Publications(c, "", 10)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 3 || got[0].ID != ids[2] || got[2].ID != ids[0] {
		t.Fatalf("Publications = %+v, want newest first", got)
	}
	first := got[2]
	var details map[string]any
	if err := json.Unmarshal(first.Details, &details); err != nil || fmt.Sprint(details["policy"]) != "v1" {
		t.Errorf("details = %s (%v)", first.Details, err)
	}
	first.Details, in[0].Details = nil, nil
	in[0].ID = ids[0]
	if !reflect.DeepEqual(first, in[0]) {
		t.Errorf("publication =\n %+v\nwant\n %+v", first, in[0])
	}
	if got[1].Serial != 4294967295 {
		t.Errorf("serial 2^32-1 read back as %d", got[1].Serial)
	}
	pt, err := r.Publications(c, "pt", 1)
	if err != nil || len(pt) != 1 || pt[0].ID != ids[2] {
		t.Errorf("Publications(pt, 1) = %+v, %v", pt, err)
	}
	if _, err := r.RecordPublication(c, store.Publication{Zone: "example", Serial: 1, Time: t0, Outcome: store.OutcomePublished}); err == nil {
		t.Error("a publication for a zone the store does not know was accepted")
	}
	if _, err := r.RecordPublication(c, store.Publication{Zone: "pt", Serial: 1, Time: t0, Outcome: "maybe"}); err == nil {
		t.Error("an unknown outcome was accepted")
	}
	// A zone adopted from the previous signer is an entry of its own.
	adopted := store.Publication{Zone: "com.pt", Serial: 2026120301, Time: t0.Add(time.Hour), Outcome: store.OutcomeAdopted,
		TriggeredBy: "adopt:cli", Reason: "adopted from com.pt.signed", Records: 30, Delegations: 9}
	id, err := r.RecordPublication(c, adopted)
	if err != nil {
		t.Fatalf("recording an adoption: %v", err)
	}
	com, err := r.Publications(c, "com.pt", 1)
	if err != nil || len(com) != 1 || com[0].ID != id || com[0].Outcome != store.OutcomeAdopted || com[0].Serial != 2026120301 {
		t.Errorf("Publications(com.pt, 1) = %+v, %v; want the adoption", com, err)
	}
}
