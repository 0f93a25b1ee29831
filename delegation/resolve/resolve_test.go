package resolve

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/miekg/dns"

	"github.com/ptzone/ptzone/delegation/lab"
	"github.com/ptzone/ptzone/internal/tooltest"
)

// hierarchy is a small Internet on the lab's loopback servers: a root
// delegating test. (with glue), test. delegating provider.test. (with
// glue), other.test. (to a server in provider.test: no glue possible),
// lame.test. (to a server that does not serve it), dead.test. (to a
// server that never answers) and loop.test. (to a server that refers it
// to itself).
type hierarchy struct {
	root, tld, provider, dead, loop *lab.Server
	rootAddr                        netip.Addr
	port                            uint16
}

const v6 = "2001:db8::53" // served as data only: nothing is asked there

func newHierarchy(t *testing.T) *hierarchy {
	t.Helper()
	l, err := lab.New()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	rootA, tldA, providerA, otherA, deadA, loopA := lab.Addr(1), lab.Addr(2), lab.Addr(3), lab.Addr(4), lab.Addr(5), lab.Addr(6)
	zones := map[netip.Addr][]*lab.Zone{
		rootA: {{Name: ".", NS: []string{"a.root.test"}, Serial: 1,
			Addrs:       map[string][]netip.Addr{"a.root.test": {rootA}, "ns.nic.test": {tldA}},
			Delegations: map[string][]string{"test": {"ns.nic.test"}}}},
		tldA: {{Name: "test", NS: []string{"ns.nic.test"}, Serial: 1,
			Addrs: map[string][]netip.Addr{"ns.nic.test": {tldA}, "ns.provider.test": {providerA}, "ns.dead.test": {deadA},
				"ns.loop.test": {loopA}},
			Delegations: map[string][]string{"provider.test": {"ns.provider.test"}, "other.test": {"ns1.provider.test"},
				"sibling.test": {"ns.provider.test"},
				"lame.test":    {"ns.nic.test"}, "dead.test": {"ns.dead.test"}, "loop.test": {"ns.loop.test"}}}},
		providerA: {{Name: "sibling.test", NS: []string{"ns.provider.test"}, Serial: 1,
			Addrs: map[string][]netip.Addr{"ns.sibling.test": {otherA}}}, {Name: "provider.test", NS: []string{"ns.provider.test"}, Serial: 1,
			Addrs: map[string][]netip.Addr{"ns.provider.test": {providerA}, "ns1.provider.test": {otherA, netip.MustParseAddr(v6)}},
			CNAMEs: map[string]string{"alias.provider.test": "ns1.provider.test", "far.provider.test": "ns.other.test",
				"loop1.provider.test": "loop2.provider.test", "loop2.provider.test": "loop1.provider.test"}}},
		otherA: {{Name: "other.test", NS: []string{"ns1.provider.test"}, Serial: 1,
			Addrs: map[string][]netip.Addr{"ns.other.test": {otherA}}}},
		// A server that answers for loop.test. with a referral to loop.test.
		loopA: {{Name: "test", NS: []string{"ns.nic.test"}, Serial: 1, Addrs: map[string][]netip.Addr{"ns.loop.test": {loopA}},
			Delegations: map[string][]string{"loop.test": {"ns.loop.test"}}}},
	}
	h := &hierarchy{rootAddr: rootA, port: uint16(l.Port)}
	for a, zs := range zones {
		s, err := l.Serve(a, 0, 0, zs...)
		if err != nil {
			t.Fatal(err)
		}
		switch a {
		case rootA:
			h.root = s
		case tldA:
			h.tld = s
		case providerA:
			h.provider = s
		case loopA:
			h.loop = s
		}
	}
	if h.dead, err = l.Serve(deadA, lab.Timeout, 0); err != nil {
		t.Fatal(err)
	}
	return h
}

// exchange asks without pacing, briefly: every server is on loopback.
func exchange(ctx context.Context, q *dns.Msg, to netip.AddrPort, network string) (*dns.Msg, error) {
	m, _, err := (&dns.Client{Net: network, Timeout: 300 * time.Millisecond}).ExchangeContext(ctx, q, to.String())
	return m, err
}

func (h *hierarchy) iterative() *Iterative {
	return &Iterative{Hints: []netip.Addr{h.rootAddr}, Port: h.port, Exchange: exchange}
}

// TestIterative: names are found from the root down, as a resolver on the
// Internet finds a delegation's name servers: through referrals with
// glue, through a zone whose servers have no glue (their names resolved
// on the way), through aliases, which are reported.
func TestIterative(t *testing.T) {
	h := newHierarchy(t)
	r := h.iterative()
	ctx := context.Background()
	for _, c := range []struct {
		name, alias string
		want        []string
	}{
		{"ns1.provider.test", "", []string{lab.Addr(4).String(), v6}},
		{"NS1.Provider.Test.", "", []string{lab.Addr(4).String(), v6}},
		{"ns.other.test", "", []string{lab.Addr(4).String()}}, // other.test's server has no glue
		{"alias.provider.test", "ns1.provider.test.", []string{lab.Addr(4).String(), v6}},
		{"far.provider.test", "ns.other.test.", []string{lab.Addr(4).String()}}, // the alias leads to another zone
	} {
		ans, err := r.Lookup(ctx, c.name)
		if err != nil {
			t.Errorf("%s: %v", c.name, err)
			continue
		}
		var got []string
		for _, a := range ans.Addrs {
			got = append(got, a.String())
		}
		slices.Sort(got)
		if !slices.Equal(got, c.want) || ans.Alias != c.alias || !ans.From.IsValid() {
			t.Errorf("%s: %v alias %q from %v, want %v alias %q", c.name, got, ans.Alias, ans.From, c.want, c.alias)
		}
	}

	// A referral's glue for a server in a sibling zone (within the
	// referring zone) is used: the server's name is not resolved apart.
	r2 := h.iterative()
	provider := h.provider.Queries()
	if ans, err := r2.Lookup(ctx, "ns.sibling.test"); err != nil || len(ans.Addrs) != 1 || ans.Addrs[0] != lab.Addr(4) {
		t.Errorf("ns.sibling.test: %+v, %v", ans, err)
	}
	if got := h.provider.Queries() - provider; got != 2 {
		t.Errorf("ns.sibling.test cost %d queries at its server, want 2 (A and AAAA)", got)
	}

	// The zone cuts learnt spare the root and test. the walk down again.
	root, tld := h.root.Queries(), h.tld.Queries()
	if _, err := r.Lookup(ctx, "ns.provider.test"); err != nil {
		t.Fatal(err)
	}
	if h.root.Queries() != root || h.tld.Queries() != tld {
		t.Errorf("a name in a known zone cost %d queries at the root and %d at test.", h.root.Queries()-root, h.tld.Queries()-tld)
	}
}

// TestIterativeFailures: each way a name can fail to resolve gives one
// *Failure whose reason a registrar can read and whose evidence names the
// query and the server; none runs unbounded.
func TestIterativeFailures(t *testing.T) {
	h := newHierarchy(t)
	ctx := context.Background()
	for _, c := range []struct {
		name     string
		kind     Kind
		zone     string
		evidence string
	}{
		{"nope.provider.test", NoSuchName, "", "@" + lab.Addr(3).String()},
		{"nope.test", NoSuchName, "", "@" + lab.Addr(2).String()},
		{"ns.provider.test.invalid", NoSuchName, "", "@" + lab.Addr(1).String()},
		{"ns.provider.test.lame.test", UnusableAnswers, "lame.test.", "@" + lab.Addr(2).String()},
		{"ns.dead.test", NoServerAnswers, "dead.test.", "timeout"},
		{"x.loop.test", UnusableAnswers, "loop.test.", "@" + lab.Addr(6).String()},
		{"loop1.provider.test", AliasLoop, "", "CNAME loop1.provider.test. → loop2.provider.test. → loop1.provider.test."},
		{"ns.provider.test.other.test", NoSuchName, "", "@" + lab.Addr(4).String()},
		{"provider.test", NoAddressRecords, "", "@" + lab.Addr(3).String()}, // the apex: SOA and NS only
	} {
		r := h.iterative()
		_, err := r.Lookup(ctx, c.name)
		var f *Failure
		if !errors.As(err, &f) {
			t.Errorf("%s: %v, want a *Failure", c.name, err)
			continue
		}
		if f.Kind != c.kind || f.Zone != c.zone || !strings.Contains(f.Evidence, c.evidence) || f.Name != strings.ToLower(dns.Fqdn(c.name)) {
			t.Errorf("%s: %v (%+v), want kind %d zone %q with evidence %q", c.name, err, f, c.kind, c.zone, c.evidence)
		}
	}
	if h.loop.Queries() > 10 {
		t.Errorf("a self-referring server got %d queries", h.loop.Queries())
	}
}

// TestIterativeRefuses: a public check asks no private or special-purpose
// address, not even when the hints or a referral lead there.
func TestIterativeRefuses(t *testing.T) {
	h := newHierarchy(t)
	r := h.iterative()
	r.Refuse = func(a netip.Addr) bool { return a == lab.Addr(3) } // provider.test's server
	_, err := r.Lookup(context.Background(), "ns1.provider.test")
	var f *Failure
	if !errors.As(err, &f) || f.Kind != NoServerAnswers || f.Zone != "provider.test." || !strings.Contains(f.Evidence, "private or reserved") {
		t.Errorf("refused address: %v", err)
	}
	if h.provider.Queries() != 0 {
		t.Errorf("the refused server got %d queries", h.provider.Queries())
	}
}

// TestIterativeStopsWithContext: a lookup ends when its context does, with
// the context's error (not a finding about the name), and asks nothing
// more once it has ended.
func TestIterativeStopsWithContext(t *testing.T) {
	h := newHierarchy(t)
	// A deadline passing while the dead server is asked: its query's own
	// timeout may fire first, and still the deadline is what is said.
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	if _, err := h.iterative().Lookup(ctx, "ns.dead.test"); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("got %v, want the context's deadline", err)
	}

	// Cancelled while the dead server is asked, through an exchange with
	// no timeout of its own: only the context can end the lookup.
	ctx, cancel = context.WithCancel(context.Background())
	defer cancel()
	var ended atomic.Bool
	var askedAfter atomic.Int32
	atDead := make(chan struct{})
	r := h.iterative()
	r.Exchange = func(ctx context.Context, q *dns.Msg, to netip.AddrPort, network string) (*dns.Msg, error) {
		if ended.Load() {
			askedAfter.Add(1)
		}
		if to.Addr() == h.dead.Addr {
			select {
			case atDead <- struct{}{}:
			default:
			}
			<-ctx.Done()
			return nil, ctx.Err()
		}
		return exchange(ctx, q, to, network)
	}
	done := make(chan error, 1)
	go func() {
		_, err := r.Lookup(ctx, "ns.dead.test")
		done <- err
	}()
	select {
	case <-atDead:
	case err := <-done:
		t.Fatalf("the lookup ended (%v) before asking the dead server", err)
	case <-time.After(10 * time.Second):
		t.Fatal("the lookup never asked the dead server")
	}
	ended.Store(true)
	cancel()
	select {
	case err := <-done:
		if !errors.Is(err, context.Canceled) {
			t.Errorf("got %v, want the context's cancellation", err)
		}
	case <-time.After(10 * time.Second): // a bound only: nothing else ends it
		t.Fatal("the lookup did not end with its context")
	}
	if n := askedAfter.Load(); n != 0 {
		t.Errorf("the lookup sent %d queries after its context ended", n)
	}
}

// TestAgreesWithUnbound: unbound (Debian's), resolving in the same
// hierarchy, finds the same addresses and aliases as the iterative lookup,
// and fails where it fails; asked as the configured resolver (Recursive),
// its answers come out in the same terms.
func TestAgreesWithUnbound(t *testing.T) {
	unbound := tooltest.Require(t, "unbound")
	h := newHierarchy(t)
	dir := t.TempDir()
	port := tooltest.FreePort(t)
	stub := func(zone string, n int) string {
		return fmt.Sprintf("stub-zone:\n    name: %q\n    stub-addr: %s@%d\n", zone, lab.Addr(n), h.port)
	}
	conf := fmt.Sprintf(`server:
    interface: 127.0.0.1@%[2]d
    port: %[2]d
    do-not-query-localhost: no
    username: ""
    chroot: ""
    directory: "%[1]s"
    pidfile: ""
    use-syslog: no
    do-ip6: no
    qname-minimisation: no
    module-config: "iterator"
    outbound-msg-retry: 1
    local-zone: "test." nodefault
remote-control:
    control-enable: no
`, dir, port) + stub(".", 1) + stub("test.", 2) + stub("provider.test.", 3) + stub("other.test.", 4) + stub("dead.test.", 5) +
		stub("loop.test.", 6)
	confPath := filepath.Join(dir, "unbound.conf")
	if err := os.WriteFile(confPath, []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	log := tooltest.Start(t, unbound, "-d", "-c", confPath)
	rec := &Recursive{Server: netip.AddrPortFrom(netip.MustParseAddr("127.0.0.1"), uint16(port)), Exchange: exchange}
	ctx := context.Background()
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		if _, err := rec.Lookup(ctx, "ns.provider.test"); err == nil {
			break
		} else if time.Now().After(deadline) {
			t.Fatalf("unbound does not resolve ns.provider.test: %v\n%s", err, log())
		}
	}
	text := func(ans Answer) string {
		var addrs []string
		for _, a := range ans.Addrs {
			addrs = append(addrs, a.String())
		}
		slices.Sort(addrs)
		return strings.Join(addrs, " ") + " alias " + ans.Alias
	}
	it := h.iterative()
	for _, name := range []string{"ns1.provider.test", "ns.other.test", "alias.provider.test", "far.provider.test",
		"nope.provider.test", "nope.test", "ns.provider.test.lame.test", "ns.dead.test", "x.loop.test", "loop1.provider.test"} {
		mine, myErr := it.Lookup(ctx, name)
		theirs, theirErr := rec.Lookup(ctx, name)
		switch {
		case (myErr == nil) != (theirErr == nil):
			t.Errorf("%s: iterative %v (%v), unbound %v (%v)", name, text(mine), myErr, text(theirs), theirErr)
		case myErr == nil && text(mine) != text(theirs):
			t.Errorf("%s: iterative %s, unbound %s", name, text(mine), text(theirs))
		case myErr != nil && strings.Contains(myErr.Error(), "NXDOMAIN") != strings.Contains(theirErr.Error(), "NXDOMAIN"):
			t.Errorf("%s: iterative %v, unbound %v", name, myErr, theirErr)
		}
	}
}

// TestReadHints: root hints in named.root's form; what is wrong with a
// file is said with its name (and line).
func TestReadHints(t *testing.T) {
	got, err := ReadHints(strings.NewReader(". 3600000 NS a.root.test.\n. 3600000 NS b.root.test.\n"+
		"a.root.test. 3600000 A 127.0.0.1\nb.root.test. 3600000 AAAA ::1\nother.test. 60 A 127.0.0.9\n"), "hints")
	if err != nil || len(got) != 2 || got[0] != netip.MustParseAddr("127.0.0.1") || got[1] != netip.MustParseAddr("::1") {
		t.Errorf("hints: %v %v", got, err)
	}
	for _, c := range []struct{ text, want string }{
		{"a.root.test. 60 A 127.0.0.1\n", "root.hints: no NS records for the root"},
		{". 60 NS a.root.test.\n", "root.hints: no A or AAAA records for the root's servers (a.root.test.)"},
		{"test. 60 NS a.root.test.\n", "root.hints: NS records for test."},
		{". 60 NS a.root.test.\na.root.test. 60 A 300.0.0.1\n", "root.hints"},
	} {
		if _, err := ReadHints(strings.NewReader(c.text), "root.hints"); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%q: %v, want %q", c.text, err, c.want)
		}
	}
	if _, err := ReadHints(strings.NewReader(". 60 NS a.root.test.\na.root.test. 60 A 300.0.0.1\n"), "root.hints"); err == nil ||
		!strings.Contains(err.Error(), "line: 2") {
		t.Errorf("a bad address: %v, want its line", err)
	}
}

// TestRootHints: the built-in hints are the 13 root servers, over IPv4
// and IPv6 (nothing is sent to them here).
func TestRootHints(t *testing.T) {
	addrs := RootHints()
	var v4, v6 int
	for _, a := range addrs {
		if a.Is4() {
			v4++
		} else {
			v6++
		}
	}
	if v4 != 13 || v6 != 13 || addrs[0] != netip.MustParseAddr("198.41.0.4") {
		t.Errorf("root hints: %d IPv4, %d IPv6, first %v", v4, v6, addrs[0])
	}
}
