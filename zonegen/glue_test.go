package zonegen

import (
	"bytes"
	"fmt"
	"maps"
	"math/rand/v2"
	"net/netip"
	"reflect"
	"runtime"
	"slices"
	"strings"
	"testing"
)

// allocatedBy returns the bytes fn allocates.
func allocatedBy(fn func()) uint64 {
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	fn()
	runtime.ReadMemStats(&after)
	return after.TotalAlloc - before.TotalAlloc
}

// TestGlueIndexSharedHostIsLinear: a hosting provider's name server is
// listed, with its addresses, by tens of thousands of domains of pt. Adding
// them one by one must cost memory in proportion to their number: copying
// the host's listings on each add made a 1,000,000-delegation build take
// seven minutes instead of fifteen seconds.
func TestGlueIndexSharedHostIsLinear(t *testing.T) {
	addrs := []netip.Addr{netip.MustParseAddr("192.0.2.53")}
	fill := func(g *glueIndex, n int) {
		for i := range n {
			g.add("ns1.hosting.pt", fmt.Sprintf("client%07d.pt", i), addrs)
		}
	}
	const small = 5_000
	for _, c := range []struct {
		name  string
		index func() *glueIndex
	}{
		{"fresh", func() *glueIndex { return newGlueIndex("pt") }},
		{"clone", func() *glueIndex { return newGlueIndex("pt").clone() }},
	} {
		t.Run(c.name, func(t *testing.T) {
			a := allocatedBy(func() { fill(c.index(), small) })
			b := allocatedBy(func() { fill(c.index(), 4*small) })
			// Linear growth gives 4, quadratic 16.
			if ratio := float64(b) / float64(a); ratio > 8 {
				t.Errorf("4× the listings allocate %.1f× the memory (%d then %d bytes): not linear", ratio, a, b)
			}
		})
	}
}

// TestGlueIndexCloneIsolated: an incremental build changes a clone of the
// last build's index; the last build's index must stay as it was, since a
// refused publication goes on from it.
func TestGlueIndexCloneIsolated(t *testing.T) {
	a1 := []netip.Addr{netip.MustParseAddr("192.0.2.1")}
	a2 := []netip.Addr{netip.MustParseAddr("192.0.2.2")}
	g := newGlueIndex("pt")
	for _, d := range []string{"a.pt", "c.pt", "e.pt"} {
		g.add("ns.host.pt", d, a1)
	}
	g.add("ns.other.pt", "a.pt", a1)
	snapshot := dumpGlue
	before := snapshot(g)

	c := g.clone()
	c.add("ns.host.pt", "b.pt", a2)     // inserted in the middle
	c.add("ns.host.pt", "e.pt", a2)     // changed
	c.remove("ns.host.pt", "a.pt")      // removed
	c.remove("ns.other.pt", "a.pt")     // host gone
	c.add("ns.new.pt", "d.pt", a1)      // host new
	c.add("ns.host.pt", "f.pt", a1)     // a second change to the same copy
	c.remove("ns.host.pt", "nobody.pt") // absent: nothing
	if got := snapshot(g); got != before {
		t.Errorf("changing the clone changed the original:\nbefore %s\nafter  %s", before, got)
	}
	var domains []string
	for _, r := range c.listings("ns.host.pt") {
		domains = append(domains, r.domain)
	}
	if want := []string{"b.pt", "c.pt", "e.pt", "f.pt"}; !slices.Equal(domains, want) {
		t.Errorf("clone lists ns.host.pt for %v, want %v", domains, want)
	}
	if c.has("ns.other.pt") {
		t.Error("clone still lists ns.other.pt")
	}
	if addrs, conflict := c.resolve("ns.host.pt"); len(addrs) != 2 || !conflict {
		t.Errorf("clone resolves ns.host.pt to %v (conflict %v), want both addresses in conflict", addrs, conflict)
	}
	// A clone of the clone leaves the clone alone in turn.
	mid := snapshot(c)
	c.clone().add("ns.host.pt", "g.pt", a1)
	if snapshot(c) != mid {
		t.Error("changing a clone's clone changed the clone")
	}
}

// TestGlueIndexListIsAdd: a full build lists in registry order, which is
// no order at all (the registry streams its table as it lies), into
// packed blocks, sorted only when decoded; the index must be the one
// adding one by one gives, and resolve, which a full build asks of the
// packed blocks, must answer as it does for listings added one by one,
// and as it does once they are decoded.
func TestGlueIndexListIsAdd(t *testing.T) {
	a := []netip.Addr{netip.MustParseAddr("192.0.2.1")}
	b := []netip.Addr{netip.MustParseAddr("2001:db8::1"), netip.MustParseAddr("192.0.2.2"), netip.MustParseAddr("192.0.2.2")}
	type listing struct {
		host, domain string
		addrs        []netip.Addr
	}
	in := []listing{
		{"ns.hosting.pt", "z.pt", a}, {"ns.hosting.pt", "a-b.pt", b},
		{"ns.a.pt", "a.pt", b}, {"ns.hosting.pt", "a.pt", a},
		{"ns.hosting.pt", "a.pt", b}, // a.pt lists it twice: the last listing counts
		{"ns.hosting.pt", "a0.pt", a}, {"ns.other.net", "x.pt", a},
		{"ns.none.pt", "n.pt", nil},
		{"ns.a.pt", "b.pt", a}, {"ns.a.pt", "0.pt", a},
		{"ns.dup.pt", "c.pt", a}, {"ns.dup.pt", "c.pt", b}, // one domain's listings only: no conflict
	}
	added, listed := newGlueIndex("pt"), newGlueIndex("pt")
	for _, l := range in {
		added.add(l.host, l.domain, l.addrs)
		listed.list(l.host, l.domain, l.addrs)
	}
	type answer struct {
		addrs    []netip.Addr
		conflict bool
	}
	resolveAll := func(g *glueIndex) map[string]answer {
		out := map[string]answer{}
		for _, h := range g.sortedHosts() {
			addrs, conflict := g.resolve(h)
			out[h] = answer{addrs, conflict}
		}
		return out
	}
	before := resolveAll(listed)
	for h, e := range listed.hosts {
		if e.packed == nil {
			t.Fatalf("%s was listed, and is not packed", h)
		}
	}
	if got := before["ns.hosting.pt"]; !got.conflict || len(got.addrs) != 3 {
		t.Errorf("ns.hosting.pt resolves to %v, want the union of both listings in conflict", got)
	}
	if got := before["ns.a.pt"]; got.conflict || len(got.addrs) != 2 {
		t.Errorf("ns.a.pt resolves to %v: a.pt speaks for its own host, whatever came after it", got)
	}
	if got := before["ns.dup.pt"]; got.conflict || len(got.addrs) != 2 {
		t.Errorf("ns.dup.pt resolves to %v, want c.pt's last listing alone", got)
	}
	if got, want := dumpGlue(listed), dumpGlue(added); got != want {
		t.Errorf("listed:\n%s\nadded one by one:\n%s", got, want)
	}
	if want := resolveAll(added); !reflect.DeepEqual(before, want) {
		t.Errorf("listed, hosts resolve to\n%v\nadded one by one, to\n%v", before, want)
	}
	for h := range listed.hosts {
		listed.listings(h) // decoded
	}
	if after := resolveAll(listed); !reflect.DeepEqual(after, before) {
		t.Errorf("decoding changed what hosts resolve to:\nbefore %v\nafter  %v", before, after)
	}
}

// dumpGlue renders every host's listings, in order, leaving packed ones
// packed.
func dumpGlue(g *glueIndex) string {
	var b strings.Builder
	for _, h := range g.sortedHosts() {
		refs := g.hosts[h].refs
		if p := g.hosts[h].packed; p != nil {
			refs, _ = decodeListings(p)
		}
		fmt.Fprintf(&b, "%s %v\n", h, refs)
	}
	return b.String()
}

// A state read back keeps each host's listings packed until a change
// reaches the host; the state written after the change is the one an
// index built listing by listing gives, and the state read stays as it was.
func TestStateKeepsListingsPacked(t *testing.T) {
	a1 := []netip.Addr{netip.MustParseAddr("192.0.2.1")}
	a2 := []netip.Addr{netip.MustParseAddr("192.0.2.2"), netip.MustParseAddr("2001:db8::2")}
	build := func(extra bool) *glueIndex {
		g := newGlueIndex("pt")
		for i := range 50 {
			g.add(fmt.Sprintf("ns%d.hosting.pt", i%7), fmt.Sprintf("d%02d.pt", i), a1)
		}
		g.add("ns.self.pt", "self.pt", a2)
		if extra {
			g.remove("ns3.hosting.pt", "d10.pt")
			g.add("ns3.hosting.pt", "d99.pt", a2)
			g.remove("ns.self.pt", "self.pt")
		}
		return g
	}
	encode := func(g *glueIndex) []byte {
		b, err := (&ZoneState{Fingerprint: "f", Serial: 7, glue: g}).MarshalBinary()
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	read, err := UnmarshalZoneState(encode(build(false)))
	if err != nil {
		t.Fatal(err)
	}
	for h, e := range read.glue.hosts {
		if e.packed == nil {
			t.Errorf("%s was decoded on reading", h)
		}
	}
	before := dumpGlue(read.glue)
	if want := dumpGlue(build(false)); before != want {
		t.Fatalf("read back:\n%s\nwritten:\n%s", before, want)
	}
	next := read.glue.clone()
	next.remove("ns3.hosting.pt", "d10.pt")
	next.add("ns3.hosting.pt", "d99.pt", a2)
	next.remove("ns.self.pt", "self.pt")
	if next.hosts["ns1.hosting.pt"].packed == nil {
		t.Error("a host the change does not reach was decoded")
	}
	if got, want := encode(next), encode(build(true)); !bytes.Equal(got, want) {
		t.Error("the state after the change differs from the one built listing by listing")
	}
	if got := dumpGlue(read.glue); got != before {
		t.Errorf("changing the clone changed the state read:\n%s\nwas\n%s", got, before)
	}
}

// A packed block that does not decode (only a writer's bug can make one:
// the state's checksum covers it) fails the build that reaches it, asking
// for a full build, instead of publishing glue from half a listing.
func TestCorruptListingsAskForAFullBuild(t *testing.T) {
	g := newGlueIndex("pt")
	g.add("ns.host.pt", "a.pt", []netip.Addr{netip.MustParseAddr("192.0.2.1")})
	g.hosts["ns.host.pt"] = hostListings{packed: []byte{1, 0, 0, 0, 9, 0, 'a'}} // one listing, domain cut short
	if refs := g.listings("ns.host.pt"); len(refs) != 0 || g.corrupt != "ns.host.pt" {
		t.Errorf("listings %v, corrupt %q", refs, g.corrupt)
	}
}

// TestSortedHostsFollowChanges: the host order an index keeps between
// builds follows every host added, removed and added again, in the index
// and in its clones, and a clone's changes leave its original's alone.
func TestSortedHostsFollowChanges(t *testing.T) {
	addrs := []netip.Addr{netip.MustParseAddr("192.0.2.53")}
	rng := rand.New(rand.NewPCG(1, 2))
	host := func() string { return fmt.Sprintf("ns%d.d%d.pt", rng.IntN(3), rng.IntN(300)) }
	domain := func(h string) string { return h[strings.IndexByte(h, '.')+1:] }
	want := func(g *glueIndex) []string { return slices.Sorted(maps.Keys(g.hosts)) }

	g := newGlueIndex("pt")
	for range 400 {
		h := host()
		g.list(h, domain(h), addrs)
	}
	g.sortedHosts() // as a full build's finish does
	for round := range 30 {
		before := slices.Clone(g.sortedHosts())
		next := g.clone()
		for range 1 + rng.IntN(40) {
			h := host()
			if rng.IntN(2) == 0 {
				next.add(h, domain(h), addrs)
			} else {
				next.remove(h, domain(h))
			}
		}
		if got := next.sortedHosts(); !slices.Equal(got, want(next)) {
			t.Fatalf("round %d: sortedHosts = %v,\nwant %v", round, got, want(next))
		}
		if got := g.sortedHosts(); !slices.Equal(got, before) {
			t.Fatalf("round %d: the clone's changes changed its original's hosts", round)
		}
		g = next
	}
	// A state read back keeps the order it was written in.
	s := &ZoneState{glue: g}
	b, err := s.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	back, err := UnmarshalZoneState(b)
	if err != nil {
		t.Fatal(err)
	}
	if back.glue.order == nil || !slices.Equal(back.glue.sortedHosts(), want(g)) {
		t.Errorf("read back: order %v, want %v", back.glue.order, want(g))
	}
}

// TestAppendAddrIsAsSlice: a state file's addresses are the octets
// netip.Addr.AsSlice gives, length first, for every kind of address.
func TestAppendAddrIsAsSlice(t *testing.T) {
	for _, a := range []netip.Addr{
		{}, netip.MustParseAddr("192.0.2.1"), netip.MustParseAddr("2001:db8::1"),
		netip.MustParseAddr("::ffff:192.0.2.1"), netip.MustParseAddr("fe80::1%eth0"),
	} {
		raw := a.AsSlice()
		if got, want := appendAddr([]byte{9}, a), append([]byte{9, byte(len(raw))}, raw...); !bytes.Equal(got, want) {
			t.Errorf("%v: %x, want %x", a, got, want)
		}
	}
}

// TestGlueIndexListIsAddLongDomains: domains streamed in no order, whose
// names share their first eight octets or more, or end inside them, each
// listing a few hosts (one of them twice, say), make the index adding one
// by one makes.
func TestGlueIndexListIsAddLongDomains(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	stems := []string{"", "a", "abcdefg", "abcdefgh", "abcdefghi", "hosting-provider-", "hosting-provider-x"}
	addrs := [][]netip.Addr{{netip.MustParseAddr("192.0.2.1")}, {netip.MustParseAddr("192.0.2.2")}}
	var domains []string
	for _, stem := range stems {
		for i := range 100 {
			domains = append(domains, fmt.Sprintf("%s%d.pt", stem, i))
		}
	}
	for round := range 20 {
		added, listed := newGlueIndex("pt"), newGlueIndex("pt")
		rng.Shuffle(len(domains), func(i, j int) { domains[i], domains[j] = domains[j], domains[i] })
		for _, domain := range domains {
			for range 1 + rng.IntN(3) {
				host := fmt.Sprintf("ns%d.hosting.pt", rng.IntN(3))
				a := addrs[rng.IntN(len(addrs))]
				added.add(host, domain, a)
				listed.list(host, domain, a)
			}
		}
		if got, want := dumpGlue(listed), dumpGlue(added); got != want {
			t.Fatalf("round %d: listed:\n%s\nadded one by one:\n%s", round, got, want)
		}
		for _, h := range added.sortedHosts() {
			wantAddrs, wantConflict := added.resolve(h)
			gotAddrs, gotConflict := listed.resolve(h)
			if !slices.Equal(gotAddrs, wantAddrs) || gotConflict != wantConflict {
				t.Fatalf("round %d: %s resolves to %v %v listed, %v %v added", round, h, gotAddrs, gotConflict, wantAddrs, wantConflict)
			}
		}
		// The state written is the same, its blocks sorted, and so is
		// the index in memory, which the daemon goes on from.
		encode := func(g *glueIndex) []byte {
			b, err := (&ZoneState{Fingerprint: "f", Serial: 7, glue: g}).MarshalBinary()
			if err != nil {
				t.Fatal(err)
			}
			return b
		}
		if !bytes.Equal(encode(listed), encode(added)) {
			t.Fatalf("round %d: the state of the index listed differs from the one added one by one", round)
		}
		for h, e := range listed.hosts {
			refs, _ := decodeListings(e.packed)
			if !slices.IsSortedFunc(refs, func(a, b glueRef) int { return strings.Compare(a.domain, b.domain) }) {
				t.Fatalf("round %d: %s's listings are not in order after the state was written", round, h)
			}
		}
	}
}

// TestGlueIndexListAfterStateRead: list on a host whose listings a state
// file packed (in order, and not list's) adds to them as add does,
// instead of reading the block's count as a listing.
func TestGlueIndexListAfterStateRead(t *testing.T) {
	a := []netip.Addr{netip.MustParseAddr("192.0.2.1")}
	g := newGlueIndex("pt")
	g.add("ns.hosting.pt", "b.pt", a)
	g.add("ns.hosting.pt", "c.pt", a)
	b, err := (&ZoneState{Fingerprint: "f", Serial: 1, glue: g}).MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	read, err := UnmarshalZoneState(b)
	if err != nil {
		t.Fatal(err)
	}
	read.glue.list("ns.hosting.pt", "a.pt", a)
	g.add("ns.hosting.pt", "a.pt", a)
	if got, want := dumpGlue(read.glue), dumpGlue(g); got != want {
		t.Errorf("listed after reading:\n%s\nadded:\n%s", got, want)
	}
}

// TestGlueEditsAreOneByOne: edits gathered and applied together (as an
// incremental build applies a thousand changed domains' listings) leave
// the index each edit applied on its own would, whether the hosts'
// listings are decoded, packed in order (a state file's) or packed out of
// order (a full build's, before its state is written); a domain edited
// twice gets its last edit; the index cloned from stays as it was.
func TestGlueEditsAreOneByOne(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	addrs := [][]netip.Addr{
		{netip.MustParseAddr("192.0.2.1")},
		{netip.MustParseAddr("2001:db8::1"), netip.MustParseAddr("192.0.2.2")},
		{netip.MustParseAddr("192.0.2.3"), netip.MustParseAddr("192.0.2.3")}, // repeated: one address
	}
	hosts := []string{"ns1.big.pt", "ns2.big.pt", "ns.small.pt", "ns.other.example"}
	domain := func() string { return fmt.Sprintf("d%03d.pt", rng.IntN(400)) }
	type edit struct {
		host, domain string
		addrs        []netip.Addr // nil: remove
	}
	for round := range 40 {
		var listed []edit
		// A registry streams each domain once: a host's listings are of
		// distinct domains (as list requires).
		seen := map[[2]string]bool{}
		for range 300 {
			e := edit{hosts[rng.IntN(2)], domain(), addrs[rng.IntN(3)]}
			if !seen[[2]string{e.host, e.domain}] {
				seen[[2]string{e.host, e.domain}] = true
				listed = append(listed, e)
			}
		}
		listed = append(listed, edit{"ns.small.pt", "d000.pt", addrs[0]})
		var edits []edit
		for range 1 + rng.IntN(120) {
			e := edit{hosts[rng.IntN(len(hosts))], domain(), nil}
			if rng.IntN(2) == 0 {
				e.addrs = addrs[rng.IntN(3)]
			}
			edits = append(edits, e)
		}
		if round%2 == 0 { // every listing of a host goes
			edits = append(edits, edit{"ns.small.pt", "d000.pt", nil})
		}
		base := func(form int) *glueIndex {
			g := newGlueIndex("pt")
			for _, l := range listed {
				if form == 0 {
					g.add(l.host, l.domain, l.addrs)
				} else {
					g.list(l.host, l.domain, l.addrs)
				}
			}
			if form == 2 {
				g.sortPacked()
			}
			return g
		}
		want := base(0)
		for _, e := range edits {
			if e.addrs == nil {
				want.remove(e.host, e.domain)
			} else {
				want.add(e.host, e.domain, e.addrs)
			}
		}
		for form, name := range []string{"decoded", "packed out of order", "packed in order"} {
			orig := base(form)
			before := dumpGlue(orig)
			g := orig.clone()
			batch := g.edits()
			for _, e := range edits {
				if e.addrs == nil {
					batch.remove(e.host, e.domain)
				} else {
					batch.add(e.host, e.domain, e.addrs)
				}
			}
			g.apply(batch)
			if got, w := dumpGlue(g), dumpGlue(want); got != w {
				gl, wl := strings.Split(got, "\n"), strings.Split(w, "\n")
				i := 0
				for i < min(len(gl), len(wl))-1 && gl[i] == wl[i] {
					i++
				}
				t.Fatalf("round %d, %s: applied together\n%.400s\none by one\n%.400s", round, name, gl[i], wl[i])
			}
			for _, h := range hosts {
				a, c := g.resolve(h)
				wa, wc := want.resolve(h)
				if !slices.Equal(a, wa) || c != wc {
					t.Fatalf("round %d, %s: %s resolves to %v (conflict %v), one by one to %v (%v)", round, name, h, a, c, wa, wc)
				}
			}
			if g.corrupt != "" {
				t.Fatalf("round %d, %s: %s found corrupt", round, name, g.corrupt)
			}
			if got := dumpGlue(orig); got != before {
				t.Fatalf("round %d, %s: the edits changed the index cloned from", round, name)
			}
		}
	}
}

// BenchmarkGlueEdits: a thousand domains leave a hosting provider's name
// server listed by 100,000, and a thousand others come to it, in one
// incremental build, from a state read back (packed in order) and from
// decoded listings.
func BenchmarkGlueEdits(b *testing.B) {
	addrs := []netip.Addr{netip.MustParseAddr("192.0.2.53")}
	state := newGlueIndex("pt")
	for i := range 100_000 {
		state.list("ns1.hosting.pt", fmt.Sprintf("client%07d.pt", i*2), addrs)
	}
	state.sortPacked()
	decoded := state.clone()
	decoded.listings("ns1.hosting.pt")
	for _, bc := range []struct {
		name string
		g    *glueIndex
	}{{"packed", state}, {"decoded", decoded}} {
		b.Run(bc.name, func(b *testing.B) {
			for b.Loop() {
				g := bc.g.clone()
				e := g.edits()
				for i := range 1000 {
					e.remove("ns1.hosting.pt", fmt.Sprintf("client%07d.pt", i*200))
					e.add("ns1.hosting.pt", fmt.Sprintf("client%07d.pt", i*200+1), addrs)
				}
				g.apply(e)
			}
		})
	}
}
