package zonegen_test

import (
	"context"
	"errors"
	"fmt"
	"iter"
	"math/rand/v2"
	"net/netip"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ptzone/ptzone/store"
	"github.com/ptzone/ptzone/zone"
	"github.com/ptzone/ptzone/zonegen"
)

// memRegistry is a registry held in a map: the store backends have their
// own conformance tests, and these tests need thousands of registries.
type memRegistry map[string]store.Candidate

func (m memRegistry) Domains(ctx context.Context, f store.Filter) iter.Seq2[store.Candidate, error] {
	return func(yield func(store.Candidate, error) bool) {
		names := make([]string, 0, len(m))
		for n := range m {
			names = append(names, n)
		}
		slices.Sort(names)
		for _, n := range names {
			c := m[n]
			if len(f.Statuses) > 0 && !slices.Contains(f.Statuses, c.Domain.Status) {
				continue
			}
			if !yield(c, nil) {
				return
			}
		}
	}
}

// randomDomain makes one domain of zone z: nameservers outside, inside
// other domains (sibling glue, addresses that may disagree) or inside
// itself; maybe DS; maybe not active; maybe never checked or withheld.
func randomDomain(rng *rand.Rand, z string, i int) store.Candidate {
	name := fmt.Sprintf("d%d.%s", i, z)
	addr := func() []netip.Addr {
		return []netip.Addr{netip.AddrFrom4([4]byte{192, 0, 2, byte(rng.IntN(4))})}
	}
	var ns []store.Nameserver
	for range 1 + rng.IntN(3) {
		switch rng.IntN(4) {
		case 0:
			ns = append(ns, store.Nameserver{Name: fmt.Sprintf("ns%d.hosting.net", rng.IntN(3))})
		case 1:
			ns = append(ns, store.Nameserver{Name: "ns1." + name, Addrs: addr()})
		default:
			other := fmt.Sprintf("ns%d.d%d.%s", rng.IntN(2), rng.IntN(40), []string{"pt", "com.pt"}[rng.IntN(2)])
			var a []netip.Addr
			if rng.IntN(3) > 0 {
				a = addr()
			}
			ns = append(ns, store.Nameserver{Name: other, Addrs: a})
		}
	}
	slices.SortFunc(ns, func(a, b store.Nameserver) int { return strings.Compare(a.Name, b.Name) })
	ns = slices.CompactFunc(ns, func(a, b store.Nameserver) bool { return a.Name == b.Name })
	d := store.Domain{Name: name, Zone: z, Status: store.StatusActive, Registrar: "R", Nameservers: ns}
	if rng.IntN(5) == 0 {
		d.Status = []store.Status{store.StatusSuspended, store.StatusReserved}[rng.IntN(2)]
	}
	if rng.IntN(3) == 0 {
		d.DS = []store.DS{{KeyTag: uint16(rng.IntN(65536)), Algorithm: 13, DigestType: 2, Digest: strings.Repeat("AB", 32)}}
	}
	c := store.Candidate{Domain: d, State: &store.DelegationState{Domain: name, LastPassed: now.Add(-time.Hour)}}
	switch rng.IntN(8) {
	case 0:
		c.State = nil
	case 1:
		c.State.Withheld = true
	}
	return c
}

func buildMem(t *testing.T, cfg zonegen.Config, reg memRegistry, at time.Time, serials map[string]uint32) map[string]*zonegen.Result {
	t.Helper()
	results, err := zonegen.Build(context.Background(), cfg, zonegen.Input{Source: reg, Policy: pol, Now: at, PrevSerials: serials})
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]*zonegen.Result{}
	for _, r := range results {
		out[r.Name] = r
	}
	return out
}

// TestBuildChangesIsBuild: round after round of random registry changes,
// the previous zones changed by BuildChanges are the zones Build makes of
// the changed registry, with the same totals and the same glue index.
func TestBuildChangesIsBuild(t *testing.T) {
	rng := rand.New(rand.NewPCG(21, 22))
	cfg := zonegen.DefaultConfig()
	cfg.Zones = []string{"pt", "com.pt"}
	cfg.StaticDelegations = []zonegen.StaticDelegation{{Name: "gov.pt", Nameservers: []zonegen.Host{{Name: "ns.gov.pt", Addrs: []netip.Addr{netip.MustParseAddr("192.0.2.200")}}}}}
	reg := memRegistry{}
	for i := range 120 {
		for _, z := range cfg.Zones {
			if rng.IntN(3) > 0 {
				c := randomDomain(rng, z, i)
				reg[c.Domain.Name] = c
			}
		}
	}
	// A registered gov.pt: the static delegation is published, not it.
	govpt := randomDomain(rng, "pt", 0)
	govpt.Domain.Name = "gov.pt"
	reg["gov.pt"] = govpt
	at := now
	serials := map[string]uint32{}
	full := buildMem(t, cfg, reg, at, serials)
	prev, states := map[string]*zone.Zone{}, map[string]*zonegen.ZoneState{}
	for z, r := range full {
		prev[z], states[z], serials[z] = r.Zone, r.State, r.Serial
	}
	// Quiet is checked against Build: a zone is quiet when the only RRset
	// Build changed is the apex SOA (its serial).
	quiet := map[bool]int{}
	for round := range 60 {
		at = at.Add(time.Minute)
		var changes []store.DomainChange
		if rng.IntN(10) == 0 {
			changes = append(changes, store.DomainChange{Name: "gov.pt", Zone: "pt", Candidate: &govpt})
		}
		for range 1 + rng.IntN(8) {
			z := cfg.Zones[rng.IntN(2)]
			i := rng.IntN(130)
			name := fmt.Sprintf("d%d.%s", i, z)
			if _, ok := reg[name]; ok && rng.IntN(4) == 0 {
				delete(reg, name)
				changes = append(changes, store.DomainChange{Name: name, Zone: z})
				continue
			}
			c := randomDomain(rng, z, i)
			reg[name] = c
			changes = append(changes, store.DomainChange{Name: name, Zone: z, Candidate: &c})
		}
		got, err := zonegen.BuildChanges(context.Background(), cfg, zonegen.ChangeInput{Prev: prev, States: states,
			Changes: changes, Policy: pol, Now: at, PrevSerials: serials})
		if err != nil {
			t.Fatalf("round %d: %v", round, err)
		}
		want := buildMem(t, cfg, reg, at, serials)
		for _, zc := range got {
			w := want[zc.Name]
			z, err := zone.Replace(prev[zc.Name], zc.With, zc.Drop)
			if err != nil {
				t.Fatal(err)
			}
			var gs, ws strings.Builder
			z.WriteTo(&gs)
			w.Zone.WriteTo(&ws)
			if gs.String() != ws.String() {
				t.Fatalf("round %d, zone %s: BuildChanges gives\n%s\nBuild gives\n%s", round, zc.Name, gs.String(), ws.String())
			}
			same := true
			for ch := range zone.Diff(prev[zc.Name], w.Zone) {
				if ch.Owner != prev[zc.Name].Origin() || ch.Type != zone.TypeSOA {
					same = false
				}
			}
			if zc.Quiet(prev[zc.Name]) != same {
				t.Fatalf("round %d, zone %s: Quiet says %v, Build changed the data: %v", round, zc.Name, zc.Quiet(prev[zc.Name]), !same)
			}
			quiet[same]++
			st := zc.State
			if st.Delegations != w.Delegations || st.Secure != w.Secure || st.Glue != w.Glue || st.GlueConflicts != w.GlueConflicts || st.Serial != w.Serial {
				t.Fatalf("round %d, zone %s: totals %d/%d/%d/%d serial %d, Build's %d/%d/%d/%d serial %d", round, zc.Name,
					st.Delegations, st.Secure, st.Glue, st.GlueConflicts, st.Serial, w.Delegations, w.Secure, w.Glue, w.GlueConflicts, w.Serial)
			}
			gb, _ := st.MarshalBinary()
			wb, _ := w.State.MarshalBinary()
			if string(gb) != string(wb) {
				t.Fatalf("round %d, zone %s: the glue index differs from Build's", round, zc.Name)
			}
			back, err := zonegen.UnmarshalZoneState(gb)
			if err != nil {
				t.Fatal(err)
			}
			if bb, _ := back.MarshalBinary(); string(bb) != string(gb) {
				t.Fatalf("round %d: the state does not survive a round trip", round)
			}
			// A daemon goes on from the state in memory, a new process
			// from the file: every other round each.
			next := back
			if round%2 == 1 {
				next = st
			}
			prev[zc.Name], states[zc.Name], serials[zc.Name] = z, next, zc.Serial
		}
	}
	if quiet[true] == 0 || quiet[false] == 0 {
		t.Errorf("quiet changes %d, others %d: the rounds did not try both", quiet[true], quiet[false])
	}
}

// TestBuildChangesNeedsState: without a state, or with one from another
// configuration, BuildChanges asks for a full build.
func TestBuildChangesNeedsState(t *testing.T) {
	cfg := zonegen.DefaultConfig()
	cfg.AssumeChecked = true
	full := buildMem(t, cfg, memRegistry{}, now, nil)
	prev, states := map[string]*zone.Zone{}, map[string]*zonegen.ZoneState{}
	for z, r := range full {
		prev[z], states[z] = r.Zone, r.State
	}
	other := cfg
	other.TTL.NS = 3600
	for name, c := range map[string]zonegen.Config{"another configuration": other} {
		if _, err := zonegen.BuildChanges(context.Background(), c, zonegen.ChangeInput{Prev: prev, States: states, Policy: pol, Now: now}); !errorsIs(err, zonegen.ErrFullBuild) {
			t.Errorf("%s: %v", name, err)
		}
	}
	delete(states, "pt")
	if _, err := zonegen.BuildChanges(context.Background(), cfg, zonegen.ChangeInput{Prev: prev, States: states, Policy: pol, Now: now}); !errorsIs(err, zonegen.ErrFullBuild) {
		t.Errorf("no state for pt: %v", err)
	}
}

// TestBuildChangesRefusesDamagedListings: listings that do not decode,
// reached by a change, ask for a full build instead of glue made from
// what could be read.
func TestBuildChangesRefusesDamagedListings(t *testing.T) {
	cfg := zonegen.DefaultConfig()
	cfg.AssumeChecked = true
	self := store.Candidate{Domain: store.Domain{Name: "self.pt", Zone: "pt", Status: store.StatusActive, Registrar: "R",
		Nameservers: []store.Nameserver{
			{Name: "ns1.self.pt", Addrs: []netip.Addr{netip.MustParseAddr("192.0.2.1")}},
			{Name: "ns.hosting.net"},
		}}}
	full := buildMem(t, cfg, memRegistry{"self.pt": self}, now, nil)
	prev, states := map[string]*zone.Zone{}, map[string]*zonegen.ZoneState{}
	for z, r := range full {
		prev[z], states[z] = r.Zone, r.State
	}
	zonegen.DamageListings(states["pt"], "ns1.self.pt")
	moved := self
	moved.Domain.Nameservers = []store.Nameserver{{Name: "ns1.elsewhere.net"}, {Name: "ns2.elsewhere.net"}}
	_, err := zonegen.BuildChanges(context.Background(), cfg, zonegen.ChangeInput{Prev: prev, States: states, Policy: pol,
		Now: now.Add(time.Minute), Changes: []store.DomainChange{{Name: "self.pt", Zone: "pt", Candidate: &moved}}})
	if !errorsIs(err, zonegen.ErrFullBuild) || !errorsIs(err, zonegen.ErrCorruptState) || !strings.Contains(err.Error(), "ns1.self.pt") {
		t.Errorf("BuildChanges over damaged listings: %v, want a full build asked for, naming ns1.self.pt", err)
	}
}

func errorsIs(err, target error) bool { return errors.Is(err, target) }
