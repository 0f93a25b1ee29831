package zonegen_test

import (
	"context"
	"errors"
	"iter"
	"maps"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/ptzone/ptzone/internal/testkit"
	"github.com/ptzone/ptzone/internal/testkit/testdb"
	"github.com/ptzone/ptzone/policy"
	"github.com/ptzone/ptzone/store"
	"github.com/ptzone/ptzone/zone"
	"github.com/ptzone/ptzone/zonegen"
)

var (
	now = testkit.FixedTime
	pol = policy.New(policy.Lists{})
)

func build(t *testing.T, db store.DomainReader, cfg zonegen.Config, in zonegen.Input) map[string]*zonegen.Result {
	t.Helper()
	snap, err := db.Snapshot(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	defer snap.Close()
	in.Source = snap
	if in.Policy == nil {
		in.Policy = pol
	}
	if in.Now.IsZero() {
		in.Now = now
	}
	results, err := zonegen.Build(context.Background(), cfg, in)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]*zonegen.Result{}
	for _, r := range results {
		out[r.Name] = r
	}
	return out
}

func checked() zonegen.Config {
	cfg := zonegen.DefaultConfig()
	cfg.AssumeChecked = true
	return cfg
}

func has(z *zone.Zone, owner string, typ uint16) bool {
	_, ok := z.Get(zone.MustParseName(owner), typ)
	return ok
}

func TestBuildSampleRegistry(t *testing.T) {
	db := testdb.Sample(t)
	cfg := checked()
	cfg.StaticDelegations = []zonegen.StaticDelegation{{Name: "gov.pt",
		Nameservers: []zonegen.Host{{Name: "ns1.gov.pt", Addrs: []netip.Addr{netip.MustParseAddr("192.0.2.80")}}, {Name: "ns2.ceger.example"}}}}
	childDS := map[string][]store.DS{"com.pt": {{KeyTag: 4242, Algorithm: 13, DigestType: 2, Digest: strings.Repeat("AB", 32)}}}
	res := build(t, db, cfg, zonegen.Input{ChildDS: childDS})

	if len(res) != 8 || res["gov.pt"] != nil {
		t.Fatalf("built %d zones (gov.pt: %v), want the 8 we serve", len(res), res["gov.pt"] != nil)
	}
	pt := res["pt"].Zone
	// Every domain decided: each active domain of pt with nameservers is
	// delegated; the rest are counted by reason.
	ctx := context.Background()
	snap, _ := db.Snapshot(ctx)
	defer snap.Close()
	active := 0
	for c, err := range snap.Domains(ctx, store.Filter{Zone: "pt"}) {
		if err != nil {
			t.Fatal(err)
		}
		delegated := has(pt, c.Domain.Name+".", zone.TypeNS)
		want := c.Domain.Status == store.StatusActive && len(c.Domain.Nameservers) > 0
		if delegated != want {
			t.Errorf("%s (%s, %d NS): delegated %v, want %v", c.Domain.Name, c.Domain.Status, len(c.Domain.Nameservers), delegated, want)
		}
		if want {
			active++
			if has(pt, c.Domain.Name+".", zone.TypeDS) != (len(c.Domain.DS) > 0) {
				t.Errorf("%s: DS published %v, registry has %d", c.Domain.Name, !(len(c.Domain.DS) > 0), len(c.Domain.DS))
			}
		}
	}
	// pt holds its domains, com.pt, org.pt, edu.pt and the legacy zones as
	// internal delegations, and gov.pt as a static one.
	if got := res["pt"].Delegations; got != active+8 {
		t.Errorf("pt: %d delegations, want %d domains + 8", got, active)
	}
	if !has(pt, "com.pt.", zone.TypeDS) || has(pt, "org.pt.", zone.TypeDS) {
		t.Error("internal delegations: com.pt should carry the given DS, org.pt none")
	}
	if !has(pt, "gov.pt.", zone.TypeNS) || !has(pt, "ns1.gov.pt.", zone.TypeA) {
		t.Error("gov.pt is not delegated with its glue")
	}
	for _, owner := range []string{"pt.", "com.pt.", "nome.pt."} {
		z := res[strings.TrimSuffix(owner, ".")].Zone
		if !has(z, owner, zone.TypeSOA) || !has(z, owner, zone.TypeNS) {
			t.Errorf("%s has no SOA or NS", owner)
		}
	}
	// Our own servers' addresses are in pt (where they live), not in com.pt.
	if !has(pt, "a.dns.pt.", zone.TypeA) || !has(pt, "a.dns.pt.", zone.TypeAAAA) || has(res["com.pt"].Zone, "a.dns.pt.", zone.TypeA) {
		t.Error("apex server addresses misplaced")
	}
	// Glue: a domain's own nameserver has it; hosts outside the zone don't.
	if !has(pt, "ns1.alojamento-lusitano.pt.", zone.TypeA) || !has(pt, "ns1.alojamento-lusitano.pt.", zone.TypeAAAA) {
		t.Error("no glue for ns1.alojamento-lusitano.pt")
	}
	for r := range pt.All() {
		if t := r.Type(); t == zone.TypeA || t == zone.TypeAAAA {
			if !strings.HasSuffix(r.Owner().String(), ".pt.") {
				panic("glue outside the zone")
			}
		}
	}
	// Only active domains are streamed: each is delegated or counted.
	excluded := 0
	for _, n := range res["pt"].Excluded {
		excluded += n
	}
	if res["pt"].Excluded[zonegen.ReasonStatus] != 0 || excluded != 0 {
		t.Errorf("excluded %v, want nothing with every active sample domain technically complete", res["pt"].Excluded)
	}
	var sb strings.Builder
	pt.WriteTo(&sb)
	if strings.Contains(sb.String(), "caduco.") {
		t.Error("a pending_delete domain was published")
	}
}

func TestGate(t *testing.T) {
	db := testdb.Sample(t)
	ctx := context.Background()
	t0 := now.Add(-48 * time.Hour)
	record := func(name string, s store.DelegationState) {
		s.Domain, s.LastChecked, s.Updated = name, t0, t0
		if s.LastVerdict == "" {
			s.LastVerdict = store.VerdictPass
		}
		if _, err := db.RecordCheck(ctx, store.CheckResult{Domain: name, Time: t0, Verdict: s.LastVerdict}, s); err != nil {
			t.Fatal(err)
		}
	}
	// Five active domains of pt, in five gate states.
	var names []string
	snap, _ := db.Snapshot(ctx)
	for c, err := range snap.Domains(ctx, store.Filter{Zone: "pt", Statuses: []store.Status{store.StatusActive}}) {
		if err == nil && len(c.Domain.Nameservers) > 0 && len(names) < 5 {
			names = append(names, c.Domain.Name)
		}
	}
	snap.Close()
	record(names[0], store.DelegationState{LastPassed: t0})
	record(names[1], store.DelegationState{LastVerdict: store.VerdictFail, LastPassed: t0.Add(-time.Hour), FirstFailure: t0, ConsecutiveFailures: 2})
	record(names[2], store.DelegationState{LastVerdict: store.VerdictFail, LastPassed: t0, FirstFailure: t0, ConsecutiveFailures: 5, Withheld: true})
	record(names[3], store.DelegationState{LastVerdict: store.VerdictFail, FirstFailure: t0, ConsecutiveFailures: 1})

	res := build(t, db, zonegen.DefaultConfig(), zonegen.Input{})
	pt := res["pt"].Zone
	for i, want := range []bool{
		true,  // passed
		true,  // failing, within its grace period: not withheld
		false, // withheld (Art 23.2)
		false, // never passed (Art 4.2)
		false, // never checked (Art 4.2)
	} {
		if got := has(pt, names[i]+".", zone.TypeNS); got != want {
			t.Errorf("%s delegated %v, want %v", names[i], got, want)
		}
	}
	ex := res["pt"].Excluded
	if ex[zonegen.ReasonWithheld] != 1 || ex[zonegen.ReasonNeverChecked] == 0 {
		t.Errorf("excluded: %v", ex)
	}
}

// TestGlueRules: glue is published only below published delegations;
// sibling glue once; conflicting addresses counted.
func TestGlueRules(t *testing.T) {
	db := testdb.Open(t)
	exp := time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC)
	put := func(name string, status store.Status, ns ...store.Nameserver) {
		if err := db.PutDomain(context.Background(), store.Domain{Name: name, Zone: "pt", Status: status, Registrar: "R", Expires: exp, Nameservers: ns}); err != nil {
			t.Fatal(err)
		}
	}
	addr := func(s ...string) []netip.Addr {
		var out []netip.Addr
		for _, a := range s {
			out = append(out, netip.MustParseAddr(a))
		}
		return out
	}
	put("hosting.pt", store.StatusActive, store.Nameserver{Name: "ns1.hosting.pt", Addrs: addr("192.0.2.1")}, store.Nameserver{Name: "ns2.hosting.pt", Addrs: addr("192.0.2.2")})
	put("cliente-a.pt", store.StatusActive, store.Nameserver{Name: "ns1.hosting.pt", Addrs: addr("192.0.2.1")}, store.Nameserver{Name: "ns.outro.pt", Addrs: addr("198.51.100.9")})
	put("cliente-b.pt", store.StatusActive, store.Nameserver{Name: "ns1.hosting.pt", Addrs: addr("192.0.2.99")}, store.Nameserver{Name: "ns.fora.net", Addrs: addr("203.0.113.1")})
	put("outro.pt", store.StatusReserved) // not delegated: its host gets no glue
	cfg := zonegen.DefaultConfig()
	cfg.AssumeChecked = true
	res := build(t, db, cfg, zonegen.Input{})
	pt := res["pt"].Zone
	a, _ := pt.Get(zone.MustParseName("ns1.hosting.pt."), zone.TypeA)
	if a.Len() != 1 {
		t.Errorf("ns1.hosting.pt: %d addresses, want the hosting domain's one", a.Len())
	}
	if has(pt, "ns.outro.pt.", zone.TypeA) {
		t.Error("orphan glue for ns.outro.pt (outro.pt is not delegated)")
	}
	if has(pt, "ns.fora.net.", zone.TypeA) {
		t.Error("glue for a host outside the zone")
	}
	if res["pt"].Glue != 2 {
		t.Errorf("%d glue owners, want 2", res["pt"].Glue)
	}
}

func TestDeterministicBuild(t *testing.T) {
	db := testdb.Sample(t)
	text := func() string {
		var sb strings.Builder
		res := build(t, db, checked(), zonegen.Input{})
		res["pt"].Zone.WriteTo(&sb)
		res["com.pt"].Zone.WriteTo(&sb)
		return sb.String()
	}
	if text() != text() {
		t.Error("two builds of the same registry differ")
	}
}

func TestNextSerial(t *testing.T) {
	unix := uint32(now.Unix())
	cases := []struct {
		policy zonegen.SerialPolicy
		prev   uint32
		want   uint32
	}{
		{zonegen.SerialUnixTime, 0, unix},
		{zonegen.SerialUnixTime, unix - 900, unix},
		{zonegen.SerialUnixTime, unix, unix + 1},           // two publications in one second
		{zonegen.SerialUnixTime, unix + 5000, unix + 5001}, // the clock went back
		{zonegen.SerialUnixTime, 4294967290, unix},         // RFC 1982: unix is ahead of 4294967290
		{zonegen.SerialUnixTime, 4294967295, unix},
		{zonegen.SerialDate, 0, 2026112200},
		{zonegen.SerialDate, 2026112200, 2026112201},
		{zonegen.SerialDate, 2026112299, 2026112300}, // a hundredth publication borrows from tomorrow
		{zonegen.SerialDate, 2026112100, 2026112200},
	}
	for _, c := range cases {
		got, err := zonegen.NextSerial(c.policy, c.prev, now)
		if err != nil || got != c.want {
			t.Errorf("NextSerial(%s, %d) = %d, %v; want %d", c.policy, c.prev, got, err, c.want)
		}
		if c.prev != 0 && !zonegen.SerialGreater(got, c.prev) {
			t.Errorf("NextSerial(%s, %d) = %d is not greater in RFC 1982 terms", c.policy, c.prev, got)
		}
	}
	if zonegen.SerialGreater(5, 5) || !zonegen.SerialGreater(0, 4294967295) || zonegen.SerialGreater(1<<31+5, 5) {
		t.Error("SerialGreater")
	}
	// Where RFC 1982 leaves the comparison undefined (prev exactly 2^31
	// behind), or the policy lies far behind the last serial (a zone
	// adopted with date serials, now under unixtime), going on would
	// leave the policy for good: refused, with the way out.
	for _, c := range []struct {
		policy zonegen.SerialPolicy
		prev   uint32
		want   string
	}{
		{zonegen.SerialUnixTime, unix - 1<<31, `set serial = "increment"`},
		{zonegen.SerialUnixTime, 2026120301, "once the clock passes 2034-03-16"},
		{zonegen.SerialDate, 2027010100, "after 2027-01-01"},
		{zonegen.SerialDate, 4000000000, "go on from 4000000000"},
	} {
		got, err := zonegen.NextSerial(c.policy, c.prev, now)
		if !errors.Is(err, zonegen.ErrSerialBehind) || !strings.Contains(err.Error(), c.want) {
			t.Errorf("NextSerial(%s, %d) = %d, %v; want ErrSerialBehind saying %q", c.policy, c.prev, got, err, c.want)
		}
	}
	// increment never refuses, and skips 0 at the wrap.
	for prev, want := range map[uint32]uint32{0: 1, 41: 42, 2026120301: 2026120302, 4294967295: 1} {
		if got, err := zonegen.NextSerial(zonegen.SerialIncrement, prev, now); err != nil || got != want {
			t.Errorf("NextSerial(increment, %d) = %d, %v; want %d", prev, got, err, want)
		}
	}
}

func TestConfigValidate(t *testing.T) {
	good := zonegen.DefaultConfig()
	if err := good.Validate(); err != nil {
		t.Fatal(err)
	}
	cases := map[string]func(*zonegen.Config){
		"no zones":         func(c *zonegen.Config) { c.Zones = nil },
		"duplicate zone":   func(c *zonegen.Config) { c.Zones = append(c.Zones, "pt") },
		"bad serial":       func(c *zonegen.Config) { c.Serial = "monotonic" },
		"one nameserver":   func(c *zonegen.Config) { c.Nameservers = c.Nameservers[:1] },
		"bad rname":        func(c *zonegen.Config) { c.RName = "hostmaster@dns.pt" },
		"huge minimum":     func(c *zonegen.Config) { c.Minimum = 7 * 86400 },
		"static no server": func(c *zonegen.Config) { c.StaticDelegations = []zonegen.StaticDelegation{{Name: "gov.pt"}} },
		"static grandchild": func(c *zonegen.Config) {
			c.StaticDelegations = []zonegen.StaticDelegation{{Name: "a.b.pt", Nameservers: c.Nameservers}}
		},
		"static is ours": func(c *zonegen.Config) {
			c.StaticDelegations = []zonegen.StaticDelegation{{Name: "com.pt", Nameservers: c.Nameservers}}
		},
		"in-zone server without glue": func(c *zonegen.Config) { c.Nameservers[0].Addrs = nil },
		"params of a zone not built":  func(c *zonegen.Config) { c.PerZone = map[string]zonegen.ZoneParams{"gov.pt": c.ZoneParams} },
		"bad per-zone serial": func(c *zonegen.Config) {
			p := c.ZoneParams
			p.Serial = "monotonic"
			c.PerZone = map[string]zonegen.ZoneParams{"com.pt": p}
		},
	}
	for name, mod := range cases {
		c := zonegen.DefaultConfig()
		mod(&c)
		if err := c.Validate(); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

// filterLog is a Source that notes the filters it is read with.
type filterLog struct {
	zonegen.Source
	filters []store.Filter
}

func (f *filterLog) Domains(ctx context.Context, flt store.Filter) iter.Seq2[store.Candidate, error] {
	f.filters = append(f.filters, flt)
	return f.Source.Domains(ctx, flt)
}

// A zone built alone reads only its own domains and comes out as it does
// built with every other zone: "zone build --zone pt" is pt as published.
func TestBuildOnlySomeZones(t *testing.T) {
	db := testdb.Sample(t)
	cfg := checked()
	cfg.StaticDelegations = []zonegen.StaticDelegation{{Name: "gov.pt",
		Nameservers: []zonegen.Host{{Name: "ns1.gov.pt", Addrs: []netip.Addr{netip.MustParseAddr("192.0.2.80")}}}}}
	childDS := map[string][]store.DS{"com.pt": {{KeyTag: 4242, Algorithm: 13, DigestType: 2, Digest: strings.Repeat("AB", 32)}}}
	all := build(t, db, cfg, zonegen.Input{ChildDS: childDS})
	text := func(r *zonegen.Result) string {
		var sb strings.Builder
		if _, err := r.Zone.WriteTo(&sb); err != nil {
			t.Fatal(err)
		}
		return sb.String()
	}
	snap, err := db.Snapshot(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	defer snap.Close()
	for _, name := range []string{"pt", "com.pt"} {
		src := &filterLog{Source: snap}
		results, err := zonegen.Build(context.Background(), cfg, zonegen.Input{Source: src, Policy: pol, Now: now, ChildDS: childDS, Only: []string{name}})
		if err != nil {
			t.Fatal(err)
		}
		if len(results) != 1 || results[0].Name != name {
			t.Fatalf("built %d zones, want %s alone", len(results), name)
		}
		if len(src.filters) != 1 || src.filters[0].Zone != name {
			t.Errorf("building %s read the registry with %+v, want its domains only", name, src.filters)
		}
		got, want := results[0], all[name]
		if text(got) != text(want) {
			t.Errorf("%s built alone differs from %s built with the others", name, name)
		}
		if got.Delegations != want.Delegations || got.Glue != want.Glue || !maps.Equal(got.Excluded, want.Excluded) {
			t.Errorf("%s alone: %d delegations, %d glue, %v left out; with the others %d, %d, %v", name,
				got.Delegations, got.Glue, got.Excluded, want.Delegations, want.Glue, want.Excluded)
		}
	}
	if _, err := zonegen.Build(context.Background(), cfg, zonegen.Input{Source: snap, Policy: pol, Now: now, Only: []string{"gov.pt"}}); err == nil || !strings.Contains(err.Error(), "gov.pt") {
		t.Errorf("building gov.pt, delegated and not served: %v", err)
	}
}
