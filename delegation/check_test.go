package delegation

import (
	"context"
	"net/netip"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/miekg/dns"

	"github.com/ptzone/ptzone/delegation/lab"
)

// setup serves a domain's zone from two lab servers (on 127.0.0.2 and
// 127.0.1.2: two networks) with the faults given for each, and returns
// the delegation as the registry would hold it.
func setup(t *testing.T, faults [2]lab.Fault, edit func(z *lab.Zone, d *Delegation)) (*Checker, Delegation) {
	t.Helper()
	l, err := lab.New()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	return setupOn(t, l, 0, faults, edit)
}

// setupOn is setup on a lab of the caller's, its addresses from the
// lab's base+1 on: cases run at once on one port use different bases.
func setupOn(t *testing.T, l *lab.Lab, base int, faults [2]lab.Fault, edit func(z *lab.Zone, d *Delegation)) (*Checker, Delegation) {
	t.Helper()
	a1, a2 := lab.Addr(base+1), lab.Addr(base+257)
	z := &lab.Zone{Name: "exemplo.pt", NS: []string{"ns1.exemplo.pt", "ns2.exemplo.pt"}, Serial: 2026112201,
		Addrs: map[string][]netip.Addr{"ns1.exemplo.pt": {a1}, "ns2.exemplo.pt": {a2}}}
	d := Delegation{Domain: "exemplo.pt", Nameservers: []Nameserver{{"ns1.exemplo.pt", []netip.Addr{a1}}, {"ns2.exemplo.pt", []netip.Addr{a2}}}}
	if edit != nil {
		edit(z, &d)
	}
	// The servers listen where the delegation says they are.
	for i, ns := range d.Nameservers[:min(2, len(d.Nameservers))] {
		if _, err := l.Serve(ns.Addrs[0], faults[i], 0, z); err != nil {
			t.Fatal(err)
		}
	}
	return &Checker{Port: l.Port, Timeout: 300 * time.Millisecond}, d
}

func codes(r Report) []string {
	var out []string
	for _, f := range r.Findings {
		out = append(out, f.Code)
	}
	slices.Sort(out)
	return out
}

// TestHealthyDomainPasses: two authoritative servers in two networks,
// consistent with the delegation and each other: nothing to report
// (Art 1.1, 1.2).
func TestHealthyDomainPasses(t *testing.T) {
	for _, signed := range []bool{false, true} {
		c, d := setup(t, [2]lab.Fault{}, func(z *lab.Zone, d *Delegation) {
			if signed {
				z.Signed = true
				d.DS = []*dns.DS{must(z.DS())}
			}
		})
		r := c.Check(context.Background(), d)
		if _, any := r.Verdict(); any {
			t.Errorf("findings for a healthy domain (signed %v): %v", signed, r.Findings)
		}
	}
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}

// fakeDS is a DS record no key matches.
func fakeDS(alg uint8) *dns.DS {
	return &dns.DS{Hdr: dns.RR_Header{Name: "exemplo.pt.", Rrtype: dns.TypeDS, Class: dns.ClassINET, Ttl: 3600},
		KeyTag: 12345, Algorithm: alg, DigestType: dns.SHA256, Digest: strings.Repeat("AB", 32)}
}

// findingCase is a lab case that must produce one finding.
type findingCase struct {
	code   string
	faults [2]lab.Fault
	edit   func(z *lab.Zone, d *Delegation)
	want   string // in the English message
}

// findingCases are the lab cases of TestFindings, one per finding.
func findingCases() []findingCase {
	return []findingCase{
		{NoResponse, [2]lab.Fault{lab.Timeout, 0}, nil, "does not answer over UDP"},
		{NoTCP, [2]lab.Fault{lab.NoTCP, 0}, nil, "over TCP"},
		{Refused, [2]lab.Fault{lab.Refused, 0}, nil, "refuses"},
		{ServFail, [2]lab.Fault{lab.ServFail, 0}, nil, "SERVFAIL"},
		{NotAuthoritative, [2]lab.Fault{lab.NotAuthoritative, 0}, nil, "without authority"},
		{NoEDNS, [2]lab.Fault{lab.EDNSFormErr, 0}, nil, "EDNS"},
		{OpenRecursion, [2]lab.Fault{lab.OpenRecursion, 0}, nil, "open recursion"},
		{SerialMismatch, [2]lab.Fault{lab.SerialAhead, 0}, nil, "2026112201, 2026112202"},
		{NSMismatch, [2]lab.Fault{}, func(z *lab.Zone, d *Delegation) { z.NS = []string{"ns1.exemplo.pt", "ns3.exemplo.pt"} },
			"ns1.exemplo.pt. ns3.exemplo.pt."},
		{GlueMismatch, [2]lab.Fault{}, func(z *lab.Zone, d *Delegation) {
			d.Nameservers[0].Addrs = append(d.Nameservers[0].Addrs, netip.MustParseAddr("192.0.2.99"))
		}, "192.0.2.99"},
		{TooFewNS, [2]lab.Fault{}, func(z *lab.Zone, d *Delegation) {
			z.NS = z.NS[:1]
			d.Nameservers = d.Nameservers[:1]
		}, "at least two"},
		{OneNetwork, [2]lab.Fault{}, func(z *lab.Zone, d *Delegation) {
			next := d.Nameservers[0].Addrs[0].Next()
			d.Nameservers[1].Addrs = []netip.Addr{next}
			z.Addrs["ns2.exemplo.pt"] = []netip.Addr{next}
		}, "127.0.0.0/24"},
		{NoAddress, [2]lab.Fault{}, func(z *lab.Zone, d *Delegation) {
			d.Nameservers = append(d.Nameservers, Nameserver{Name: "ns.outro.net"})
			z.NS = append(z.NS, "ns.outro.net")
		}, "no address"},
		{NoSOA, [2]lab.Fault{}, func(z *lab.Zone, d *Delegation) { d.Domain = "sub.exemplo.pt" }, "no SOA"},
		{CNAMEAtNS, [2]lab.Fault{}, func(z *lab.Zone, d *Delegation) {
			z.CNAMEs = map[string]string{"ns1.exemplo.pt": "servidor.exemplo.pt"}
			z.Addrs["servidor.exemplo.pt"] = z.Addrs["ns1.exemplo.pt"]
			delete(z.Addrs, "ns1.exemplo.pt")
		}, "alias (CNAME)"},
		{DSWithoutDNSKEY, [2]lab.Fault{}, func(z *lab.Zone, d *Delegation) { d.DS = []*dns.DS{fakeDS(dns.ECDSAP256SHA256)} },
			"serves no DNSKEY"},
		{DSMismatch, [2]lab.Fault{}, func(z *lab.Zone, d *Delegation) {
			z.Signed = true
			d.DS = []*dns.DS{fakeDS(dns.ECDSAP256SHA256)}
		}, "12345 13 2"},
		{DNSKEYNotSigned, [2]lab.Fault{}, func(z *lab.Zone, d *Delegation) {
			z.Signed = true
			d.DS = []*dns.DS{must(z.ZSKDS())}
		}, "not validly signed"},
		{SignatureExpired, [2]lab.Fault{}, func(z *lab.Zone, d *Delegation) {
			z.Signed, z.Expired = true, true
			d.DS = []*dns.DS{must(z.DS())}
		}, "validity period"},
		{DSAlgorithm, [2]lab.Fault{}, func(z *lab.Zone, d *Delegation) { d.DS = []*dns.DS{fakeDS(dns.RSASHA1)} },
			"not recommended"},
		{BadRName, [2]lab.Fault{}, func(z *lab.Zone, d *Delegation) { z.RName = "exemplo.pt" }, `"exemplo.pt."`},
		{SOATimers, [2]lab.Fault{}, func(z *lab.Zone, d *Delegation) { z.Timers = [4]uint32{3600, 7200, 86400, 60} },
			"refresh 3600 below 14400"},
	}
}

// TestFindings: one lab case per finding; each is found, with its
// severity, the server concerned, evidence and messages in English and
// Portuguese citing what is wrong.
func TestFindings(t *testing.T) {
	for _, c := range findingCases() {
		t.Run(c.code, func(t *testing.T) {
			chk, d := setup(t, c.faults, c.edit)
			r := chk.Check(context.Background(), d)
			var f *Finding
			for i := range r.Findings {
				if r.Findings[i].Code == c.code {
					f = &r.Findings[i]
				}
			}
			if f == nil {
				t.Fatalf("not found; found %v", codes(r))
			}
			if f.Severity != catalogue[c.code].severity || !strings.Contains(f.Message("en"), c.want) || f.Message("pt") == "" ||
				f.Article() == "" || f.Hint("en") == "" || f.Hint("pt") == f.Hint("en") || f.Message("pt") == f.Message("en") {
				t.Errorf("%+v: %q / %q, %s", f, f.Message("en"), f.Message("pt"), f.Article())
			}
			if strings.Contains(f.Message("en"), "%!") || strings.Contains(f.Message("pt"), "%!") {
				t.Errorf("a message's arguments do not fit: %q / %q", f.Message("en"), f.Message("pt"))
			}
		})
	}
}

// TestResolvingNameServers: a name server outside the domain, given no
// address, is resolved through the configured resolver (never the
// system's) and checked like the others; one that does not resolve gets
// one finding, and the other servers are still checked.
func TestResolvingNameServers(t *testing.T) {
	l, err := lab.New()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	a1, a2, resolver := lab.Addr(1), lab.Addr(257), lab.Addr(600)
	z := &lab.Zone{Name: "exemplo.pt", NS: []string{"ns1.exemplo.pt", "ns.outro.net"}, Serial: 1,
		Addrs: map[string][]netip.Addr{"ns1.exemplo.pt": {a1}}}
	for _, a := range []netip.Addr{a1, a2} {
		if _, err := l.Serve(a, 0, 0, z); err != nil {
			t.Fatal(err)
		}
	}
	outro := &lab.Zone{Name: "outro.net", NS: []string{"ns.outro.net"}, Serial: 1,
		Addrs: map[string][]netip.Addr{"ns.outro.net": {a2}}}
	if _, err := l.Serve(resolver, 0, 0, outro); err != nil {
		t.Fatal(err)
	}
	c := &Checker{Port: l.Port, Timeout: 300 * time.Millisecond, Resolver: netip.AddrPortFrom(resolver, uint16(l.Port))}
	d := Delegation{Domain: "exemplo.pt", Nameservers: []Nameserver{{"ns1.exemplo.pt", []netip.Addr{a1}}, {Name: "ns.outro.net"}}}
	if r := c.Check(context.Background(), d); len(r.Findings) > 0 {
		t.Errorf("findings with ns.outro.net resolved: %v", r.Findings)
	}
	d.Nameservers[1].Name = "ns.nada.net"
	r := c.Check(context.Background(), d)
	got := codes(r)
	if !slices.Contains(got, Unresolvable) || slices.Contains(got, NoResponse) || !slices.Contains(got, TooFewAddresses) {
		t.Errorf("ns.nada.net unresolvable: %v", got)
	}
	for _, f := range r.Findings {
		if f.Code == Unresolvable && (f.NS != "ns.nada.net." || !strings.Contains(f.Message("pt"), "não se resolve")) {
			t.Errorf("%+v: %s", f, f.Message("pt"))
		}
	}
}

// TestResolvingFromHints: with root hints instead of a resolver, a name
// server outside the domain is found from the root down (a test root
// delegating test.), as resolvers on the Internet find it. A name that is
// an alias is an error (RFC 2181 §10.3) and is still checked; one that
// does not exist is one finding that says so and where; a public check
// asks no private hint.
func TestResolvingFromHints(t *testing.T) {
	l, err := lab.New()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	a1, a2, root, tld := lab.Addr(1), lab.Addr(257), lab.Addr(513), lab.Addr(514)
	// A domain for each second name server, its zone agreeing with its
	// delegation: only the name's resolution is at stake.
	var zones []*lab.Zone
	for _, ns := range []string{"ns.outro.test", "ns.alias.test", "ns.nada.test"} {
		domain := strings.Split(ns, ".")[1] + ".pt"
		zones = append(zones, &lab.Zone{Name: domain, NS: []string{"ns1." + domain, ns}, Serial: 1,
			Addrs: map[string][]netip.Addr{"ns1." + domain: {a1}}})
	}
	for _, a := range []netip.Addr{a1, a2} {
		if _, err := l.Serve(a, 0, 0, zones...); err != nil {
			t.Fatal(err)
		}
	}
	rootServer, err := l.Serve(root, 0, 0, &lab.Zone{Name: ".", NS: []string{"a.root.test"}, Serial: 1,
		Addrs:       map[string][]netip.Addr{"a.root.test": {root}, "ns.nic.test": {tld}},
		Delegations: map[string][]string{"test": {"ns.nic.test"}}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := l.Serve(tld, 0, 0, &lab.Zone{Name: "test", NS: []string{"ns.nic.test"}, Serial: 1,
		Addrs:  map[string][]netip.Addr{"ns.nic.test": {tld}, "ns.outro.test": {a2}},
		CNAMEs: map[string]string{"ns.alias.test": "ns.outro.test"}}); err != nil {
		t.Fatal(err)
	}
	c := &Checker{Port: l.Port, Timeout: 300 * time.Millisecond, Hints: []netip.Addr{root}}
	check := func(name string) Report {
		domain := strings.Split(name, ".")[1] + ".pt"
		return c.Check(context.Background(), Delegation{Domain: domain,
			Nameservers: []Nameserver{{"ns1." + domain, []netip.Addr{a1}}, {Name: name}}})
	}
	if r := check("ns.outro.test"); len(r.Findings) > 0 {
		t.Errorf("findings with ns.outro.test found from the root: %v", r.Findings)
	}

	r := check("ns.alias.test")
	if got := codes(r); !slices.Equal(got, []string{CNAMEAtNS}) {
		t.Errorf("ns.alias.test: %v, want CNAME_AT_NS alone (its target's server answers)", got)
	}
	for _, f := range r.Findings {
		if f.NS != "ns.alias.test." || !strings.Contains(f.Evidence, "CNAME ns.outro.test.") {
			t.Errorf("%+v", f)
		}
	}

	r = check("ns.nada.test")
	if got := codes(r); !slices.Equal(got, []string{TooFewAddresses, Unresolvable}) {
		t.Errorf("ns.nada.test: %v, want UNRESOLVABLE and TOO_FEW_ADDRESSES only", got)
	}
	for _, f := range r.Findings {
		if f.Code == Unresolvable && (!strings.Contains(f.Message("en"), "does not exist (NXDOMAIN)") ||
			!strings.Contains(f.Message("pt"), "o nome não existe (NXDOMAIN)") ||
			!strings.Contains(f.Evidence, "@"+tld.String())) {
			t.Errorf("%+v: %s", f, f.Message("en"))
		}
	}

	// A name inside the domain without glue has no address to find:
	// its zone's servers are found through that glue.
	r = c.Check(context.Background(), Delegation{Domain: "outro.pt",
		Nameservers: []Nameserver{{"ns1.outro.pt", []netip.Addr{a1}}, {Name: "ns2.outro.pt"}}})
	if got := codes(r); !slices.Contains(got, NoAddress) || slices.Contains(got, Unresolvable) {
		t.Errorf("ns2.outro.pt without glue: %v, want NO_ADDRESS", got)
	}

	c.Public = true
	queried := rootServer.Queries()
	r = check("ns.outro.test")
	if !slices.Contains(codes(r), Unresolvable) || rootServer.Queries() != queried {
		t.Errorf("a public check with loopback hints: %v, %d queries at the root", codes(r), rootServer.Queries()-queried)
	}
}

// TestPublicChecksRefuseSpecialAddresses: a check a registrar triggers
// sends nothing to private or special-purpose addresses (the lab's
// loopback servers are never asked), and says so, one finding each.
func TestPublicChecksRefuseSpecialAddresses(t *testing.T) {
	c, d := setup(t, [2]lab.Fault{}, nil)
	c.Public = true
	d.Nameservers[1].Addrs = append(d.Nameservers[1].Addrs, netip.MustParseAddr("10.1.2.3"), netip.MustParseAddr("fe80::1"),
		netip.MustParseAddr("::ffff:192.168.1.1"))
	r := c.Check(context.Background(), d)
	special := 0
	for _, f := range r.Findings {
		switch f.Code {
		case SpecialAddress:
			special++
		case NoResponse, Refused, NotAuthoritative:
			t.Errorf("a special-purpose address was queried: %+v", f)
		}
	}
	if special != 5 || !slices.Contains(codes(r), TooFewAddresses) {
		t.Errorf("findings %v", codes(r))
	}
	for _, a := range []string{"8.8.8.8", "2a00:1450::1", "193.136.0.1"} {
		if isSpecialPurpose(netip.MustParseAddr(a)) {
			t.Errorf("%s is public", a)
		}
	}
}
