package delegation

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/miekg/dns"

	"github.com/ptzone/ptzone/delegation/resolve"
	"github.com/ptzone/ptzone/store"
)

// Nameserver is one name server of a delegation, with the addresses the
// delegation gives it (glue) or that were resolved for it.
type Nameserver struct {
	Name  string
	Addrs []netip.Addr
}

// Delegation is what a domain is delegated to: as the registry holds it,
// or as given on the command line before registration.
type Delegation struct {
	Domain      string
	Nameservers []Nameserver
	DS          []*dns.DS
}

// Checker probes delegations. The zero value asks on port 53, waits two
// seconds for an answer, and asks twice before giving up.
type Checker struct {
	Port     int
	Timeout  time.Duration
	Attempts int
	// RatePerAddress is the most queries a second sent to one address, 0
	// for no limit. Sweeps default to 20 (see Sweeper).
	RatePerAddress float64
	// Resolver, a recursive resolver, finds the addresses of the name
	// servers the delegation gives none (those outside the domain).
	// Without it, Hints (the root servers' addresses) do, iteratively:
	// the hints' servers, and those they refer to, are asked on Port. With
	// neither, such a server is reported with no address to check. The
	// system's resolver is never asked.
	Resolver netip.AddrPort
	Hints    []netip.Addr
	// Public refuses to send queries to private and special-purpose
	// addresses (loopback, RFC 1918, link-local, documentation, ...): a
	// check a registrar triggers must not make ptzone probe its own
	// networks. The operator's tool and the lab leave it off.
	Public bool
}

// specialPurpose are the networks a public check does not query (IANA's
// special-purpose registries, RFC 6890 and successors).
var specialPurpose = []netip.Prefix{
	netip.MustParsePrefix("0.0.0.0/8"), netip.MustParsePrefix("10.0.0.0/8"), netip.MustParsePrefix("100.64.0.0/10"),
	netip.MustParsePrefix("127.0.0.0/8"), netip.MustParsePrefix("169.254.0.0/16"), netip.MustParsePrefix("172.16.0.0/12"),
	netip.MustParsePrefix("192.0.0.0/24"), netip.MustParsePrefix("192.0.2.0/24"), netip.MustParsePrefix("192.168.0.0/16"),
	netip.MustParsePrefix("198.18.0.0/15"), netip.MustParsePrefix("198.51.100.0/24"), netip.MustParsePrefix("203.0.113.0/24"),
	netip.MustParsePrefix("224.0.0.0/3"),
	netip.MustParsePrefix("::/127"), netip.MustParsePrefix("::ffff:0:0/96"), netip.MustParsePrefix("64:ff9b:1::/48"),
	netip.MustParsePrefix("100::/64"), netip.MustParsePrefix("2001::/23"), netip.MustParsePrefix("2001:db8::/32"),
	netip.MustParsePrefix("fc00::/7"), netip.MustParsePrefix("fe80::/10"), netip.MustParsePrefix("ff00::/8"),
}

func isSpecialPurpose(a netip.Addr) bool {
	a = a.Unmap()
	for _, p := range specialPurpose {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// Report is what a check of one delegation found.
type Report struct {
	Domain   string
	Findings []Finding
	// silent: addresses were asked and none answered at all. When most
	// domains of a sweep are silent, the silence is more likely the
	// checker's own network than theirs.
	silent bool
}

// Verdict is the report's worst severity, and false when nothing was
// found at all.
func (r Report) Verdict() (store.Severity, bool) {
	if len(r.Findings) == 0 {
		return "", false
	}
	worst := store.SeverityNotice
	for _, f := range r.Findings {
		if f.Severity.Rank() > worst.Rank() {
			worst = f.Severity
		}
	}
	return worst, true
}

// probe is the checks of one address of one name server.
type probe struct {
	s      *session
	domain string // absolute, lowercase
	ns     string
	addr   netip.Addr
	soa    *dns.SOA
	ok     bool // it answered the SOA with authority
	heard  bool // it answered the SOA at all
}

func (c *Checker) timeout() time.Duration {
	if c.Timeout == 0 {
		return 2 * time.Second
	}
	return c.Timeout
}

func (c *Checker) port() int {
	if c.Port == 0 {
		return 53
	}
	return c.Port
}

func (c *Checker) attempts() int {
	if c.Attempts == 0 {
		return 2
	}
	return c.Attempts
}

func query(name string, qtype uint16, edns, rd bool) *dns.Msg {
	q := new(dns.Msg)
	q.SetQuestion(name, qtype)
	q.RecursionDesired = rd
	if edns {
		q.SetEdns0(1232, false)
	}
	return q
}

// Check probes every address of every name server of the delegation and
// returns what it found. An address that does not answer is not probed
// further: one finding, not a cascade.
func (c *Checker) Check(ctx context.Context, d Delegation) Report {
	return c.check(ctx, d, newSession(c, c.RatePerAddress))
}

func (c *Checker) check(ctx context.Context, d Delegation, s *session) Report {
	domain := strings.ToLower(dns.Fqdn(d.Domain))
	rep := Report{Domain: strings.TrimSuffix(domain, ".")}
	add := func(f Finding) { rep.Findings = append(rep.Findings, f) }

	// Each name server's addresses: the delegation's, or resolved.
	names := map[string]bool{}
	servers := make([]Nameserver, 0, len(d.Nameservers))
	for _, ns := range d.Nameservers {
		name := strings.ToLower(dns.Fqdn(ns.Name))
		names[name] = true
		addrs := ns.Addrs
		// A name inside the domain has no address but its glue: resolving
		// it would ask the domain's own servers, found through that glue.
		if len(addrs) == 0 && s.lookup != nil && !dns.IsSubDomain(domain, name) {
			ans, err := s.resolve(ctx, name)
			if err != nil {
				why, evidence := text{err.Error(), err.Error()}, "A/AAAA "+name
				if f := (*resolve.Failure)(nil); errors.As(err, &f) {
					why, evidence = unresolvedText(f), f.Evidence
				}
				add(Finding{Code: Unresolvable, Severity: store.SeverityError, NS: name, Evidence: evidence, args: []any{name, why}})
				continue
			}
			if ans.Alias != "" {
				add(Finding{Code: CNAMEAtNS, Severity: store.SeverityError, NS: name, Addr: ans.From.Addr().String(),
					Evidence: fmt.Sprintf("A/AAAA %s @%s: CNAME %s", name, ans.From, ans.Alias), args: []any{name, ans.From.Addr().String()}})
			}
			addrs = ans.Addrs
		}
		if c.Public {
			var public []netip.Addr
			for _, a := range addrs {
				if isSpecialPurpose(a) {
					add(Finding{Code: SpecialAddress, Severity: store.SeverityError, NS: name, Addr: a.String(), args: []any{name, a.String()}})
				} else {
					public = append(public, a)
				}
			}
			if len(public) == 0 {
				continue
			}
			addrs = public
		}
		if len(addrs) == 0 {
			add(Finding{Code: NoAddress, Severity: store.SeverityError, NS: name, args: []any{name}})
			continue
		}
		servers = append(servers, Nameserver{Name: name, Addrs: addrs})
	}

	// Redundancy (Art 1.2).
	var addrs []netip.Addr
	for _, ns := range servers {
		for _, a := range ns.Addrs {
			if !slices.Contains(addrs, a.Unmap()) {
				addrs = append(addrs, a.Unmap())
			}
		}
	}
	if len(names) < 2 {
		add(Finding{Code: TooFewNS, Severity: store.SeverityError, args: []any{len(names)}})
	}
	if len(addrs) < 2 {
		add(Finding{Code: TooFewAddresses, Severity: store.SeverityError, args: []any{len(addrs)}})
	} else if network, shared := oneNetwork(addrs); shared {
		add(Finding{Code: OneNetwork, Severity: store.SeverityWarning, args: []any{network}})
	}

	// Every address at once: a domain's servers answer slowly alone, not
	// each other; the findings keep the delegation's order.
	var probes []*probe
	for _, ns := range servers {
		for _, a := range ns.Addrs {
			probes = append(probes, &probe{s: s, domain: domain, ns: ns.Name, addr: a.Unmap()})
		}
	}
	found := make([][]Finding, len(probes))
	var wg sync.WaitGroup
	for i, p := range probes {
		wg.Go(func() { found[i] = p.run(ctx, d, names) })
	}
	wg.Wait()
	for _, fs := range found {
		rep.Findings = append(rep.Findings, fs...)
	}
	rep.silent = len(probes) > 0 && !slices.ContainsFunc(probes, func(p *probe) bool { return p.heard })

	// The servers that answered serve one version of the zone.
	serials := map[uint32]bool{}
	var soa *dns.SOA
	for _, p := range probes {
		if p.ok {
			serials[p.soa.Serial] = true
			if soa == nil {
				soa = p.soa
			}
		}
	}
	if soa != nil {
		if !usableMailbox(soa.Mbox) {
			add(Finding{Code: BadRName, Severity: store.SeverityWarning, Evidence: soa.String(), args: []any{rep.Domain, soa.Mbox}})
		}
		if problems := timerProblems(soa); problems.en != "" {
			add(Finding{Code: SOATimers, Severity: store.SeverityWarning, Evidence: soa.String(), args: []any{rep.Domain, problems}})
		}
	}
	for _, ds := range d.DS {
		if why := dsAlgorithmProblem(ds); why.en != "" {
			add(Finding{Code: DSAlgorithm, Severity: store.SeverityWarning, Evidence: ds.String(),
				args: []any{fmt.Sprintf("%d %d %d", ds.KeyTag, ds.Algorithm, ds.DigestType), why}})
		}
	}
	if len(serials) > 1 {
		var list []string
		for s := range serials {
			list = append(list, fmt.Sprint(s))
		}
		slices.Sort(list)
		add(Finding{Code: SerialMismatch, Severity: store.SeverityWarning, args: []any{rep.Domain, strings.Join(list, ", ")}})
	}
	return rep
}

// addressesIn returns the addresses of the A and AAAA records among rrs,
// and whether a CNAME is among them.
func addressesIn(rrs []dns.RR) (addrs []netip.Addr, alias bool) {
	for _, rr := range rrs {
		switch v := rr.(type) {
		case *dns.A:
			a, _ := netip.AddrFromSlice(v.A.To4())
			addrs = append(addrs, a)
		case *dns.AAAA:
			a, _ := netip.AddrFromSlice(v.AAAA)
			addrs = append(addrs, a)
		case *dns.CNAME:
			alias = true
		}
	}
	return addrs, alias
}

// finding makes a finding about the probe's server.
func (p *probe) finding(code, evidence string, args ...any) Finding {
	return Finding{Code: code, Severity: catalogue[code].severity, NS: p.ns, Addr: p.addr.String(), Evidence: evidence,
		args: append([]any{p.ns, p.addr.String()}, args...)}
}

// run probes one address.
func (p *probe) run(ctx context.Context, d Delegation, names map[string]bool) []Finding {
	var out []Finding
	ev := p.evidence
	soaQ := "SOA " + p.domain
	r, err := p.s.exchange(ctx, query(p.domain, dns.TypeSOA, false, false), p.addr, "udp")
	p.heard = err == nil
	switch {
	case err != nil:
		return []Finding{p.finding(NoResponse, ev(soaQ, "UDP", r, err))}
	case r.Rcode == dns.RcodeRefused:
		return []Finding{p.finding(Refused, ev(soaQ, "UDP", r, err), p.domain)}
	case r.Rcode == dns.RcodeServerFailure:
		return []Finding{p.finding(ServFail, ev(soaQ, "UDP", r, err), p.domain)}
	case r.Rcode != dns.RcodeSuccess:
		return []Finding{p.finding(NoSOA, ev(soaQ, "UDP", r, err), p.domain)}
	case !r.Authoritative:
		return []Finding{p.finding(NotAuthoritative, ev(soaQ, "UDP", r, err), p.domain)}
	}
	soa := soaOf(r, p.domain)
	if soa == nil {
		return []Finding{p.finding(NoSOA, ev(soaQ, "UDP", r, err), p.domain)}
	}
	p.soa, p.ok = soa, true

	if a := p.s.perAddress(ctx, p); a.noTCP != "" {
		out = append(out, p.finding(NoTCP, a.noTCP))
	}
	if a := p.s.perAddress(ctx, p); a.noEDNS != "" {
		out = append(out, p.finding(NoEDNS, a.noEDNS))
	}

	// The NS RRset the server serves is the delegation's.
	if r, err := p.s.exchange(ctx, query(p.domain, dns.TypeNS, false, false), p.addr, "udp"); err == nil {
		served := map[string]bool{}
		for _, rr := range r.Answer {
			if ns, ok := rr.(*dns.NS); ok && strings.EqualFold(rr.Header().Name, p.domain) {
				served[strings.ToLower(ns.Ns)] = true
			}
		}
		if !sameSet(served, names) {
			out = append(out, p.finding(NSMismatch, ev("NS "+p.domain, "UDP", r, err), setText(served), setText(names)))
		}
	}

	// The addresses of the name servers inside the domain are the glue.
	for _, ns := range d.Nameservers {
		name := strings.ToLower(dns.Fqdn(ns.Name))
		if !dns.IsSubDomain(p.domain, name) {
			continue
		}
		var served []netip.Addr
		alias := false
		for _, qtype := range []uint16{dns.TypeA, dns.TypeAAAA} {
			r, err := p.s.exchange(ctx, query(name, qtype, false, false), p.addr, "udp")
			if err != nil {
				continue
			}
			found, cname := addressesIn(r.Answer)
			served, alias = append(served, found...), alias || cname
		}
		if alias {
			out = append(out, Finding{Code: CNAMEAtNS, Severity: store.SeverityError, NS: p.ns, Addr: p.addr.String(),
				Evidence: fmt.Sprintf("A %s @%s UDP: CNAME", name, p.addr), args: []any{name, p.ns + " (" + p.addr.String() + ")"}})
			continue
		}
		if !sameAddrs(served, ns.Addrs) {
			out = append(out, Finding{Code: GlueMismatch, Severity: store.SeverityError, NS: p.ns, Addr: p.addr.String(),
				Evidence: fmt.Sprintf("A/AAAA %s @%s UDP", name, p.addr),
				args:     []any{name, addrsText(served), p.ns + " (" + p.addr.String() + ")", addrsText(ns.Addrs)}})
		}
	}

	if len(d.DS) > 0 {
		out = append(out, p.dnssec(ctx, d.DS)...)
	}

	if a := p.s.perAddress(ctx, p); a.openRecursion != "" {
		out = append(out, p.finding(OpenRecursion, a.openRecursion))
	}
	return out
}

// addressProbes runs the probes that depend on the server's address only:
// TCP and EDNS (asking for the probe's domain, which it serves) and
// recursion.
func (p *probe) addressProbes(ctx context.Context, a *addressProbes) {
	soaQ := "SOA " + p.domain
	if r, err := p.s.exchange(ctx, query(p.domain, dns.TypeSOA, false, false), p.addr, "tcp"); err != nil || soaOf(r, p.domain) == nil {
		a.noTCP = p.evidence(soaQ, "TCP", r, err)
	}
	if r, err := p.s.exchange(ctx, query(p.domain, dns.TypeSOA, true, false), p.addr, "udp"); err != nil ||
		r.Rcode != dns.RcodeSuccess || r.IsEdns0() == nil {
		a.noEDNS = p.evidence(soaQ+" +edns", "UDP", r, err)
	}
	// A name outside the server's zones, with recursion desired: an
	// authoritative server refuses it or refers it, and offers no
	// recursion.
	if r, err := p.s.exchange(ctx, query("www.example.com.", dns.TypeA, false, true), p.addr, "udp"); err == nil &&
		r.RecursionAvailable && r.Rcode == dns.RcodeSuccess && len(r.Answer) > 0 {
		a.openRecursion = p.evidence("A www.example.com. +rd", "UDP", r, err)
	}
}

// evidence summarises a query and what came of it.
func (p *probe) evidence(q string, network string, r *dns.Msg, err error) string {
	if err != nil {
		return fmt.Sprintf("%s @%s %s: %v", q, p.addr, network, err)
	}
	return fmt.Sprintf("%s @%s %s: %s, AA %v, %d answers", q, p.addr, network, dns.RcodeToString[r.Rcode], r.Authoritative, len(r.Answer))
}

// dnssec checks the zone's keys against the delegation's DS records: a
// key the DS names, signing the DNSKEY RRset, within the signature's
// validity (RFC 4035 §5).
func (p *probe) dnssec(ctx context.Context, dsSet []*dns.DS) []Finding {
	q := query(p.domain, dns.TypeDNSKEY, true, false)
	q.IsEdns0().SetDo()
	r, err := p.s.exchange(ctx, q, p.addr, "udp")
	if err == nil && r.Truncated {
		r, err = p.s.exchange(ctx, q, p.addr, "tcp")
	}
	evidence := fmt.Sprintf("DNSKEY %s +dnssec @%s", p.domain, p.addr)
	if err != nil {
		return nil // the server's other findings say why
	}
	var keys []*dns.DNSKEY
	var set []dns.RR
	var sigs []*dns.RRSIG
	for _, rr := range r.Answer {
		switch v := rr.(type) {
		case *dns.DNSKEY:
			keys = append(keys, v)
			set = append(set, v)
		case *dns.RRSIG:
			if v.TypeCovered == dns.TypeDNSKEY {
				sigs = append(sigs, v)
			}
		}
	}
	if len(keys) == 0 {
		return []Finding{p.finding(DSWithoutDNSKEY, evidence)}
	}
	var matched []*dns.DNSKEY
	var dsText []string
	for _, ds := range dsSet {
		dsText = append(dsText, fmt.Sprintf("%d %d %d", ds.KeyTag, ds.Algorithm, ds.DigestType))
		for _, k := range keys {
			if k.KeyTag() == ds.KeyTag && k.Algorithm == ds.Algorithm {
				if kd := k.ToDS(ds.DigestType); kd != nil && strings.EqualFold(kd.Digest, ds.Digest) {
					matched = append(matched, k)
				}
			}
		}
	}
	if len(matched) == 0 {
		return []Finding{p.finding(DSMismatch, evidence, strings.Join(dsText, ", "))}
	}
	now := time.Now()
	var expired text
	for _, sig := range sigs {
		for _, k := range matched {
			if sig.KeyTag != k.KeyTag() || sig.Verify(k, set) != nil {
				continue
			}
			if sig.ValidityPeriod(now) {
				return nil
			}
			from, to := dns.TimeToString(sig.Inception), dns.TimeToString(sig.Expiration)
			expired = text{from + " to " + to, from + " a " + to}
		}
	}
	if expired.en != "" {
		return []Finding{p.finding(SignatureExpired, evidence, expired)}
	}
	return []Finding{p.finding(DNSKEYNotSigned, evidence)}
}

// usableMailbox reports whether an SOA RNAME can be written as an e-mail
// address: a local part, then a domain of two labels or more.
func usableMailbox(rname string) bool {
	labels := dns.SplitDomainName(rname)
	return len(labels) >= 3 && labels[0] != ""
}

// timerProblems says which SOA timers lie outside the ranges RFC 1912 and
// RIPE-203 recommend, as Zonemaster's Zone02-Zone05 test them.
func timerProblems(soa *dns.SOA) text {
	var en, pt []string
	problem := func(e, p string, n uint32) {
		en, pt = append(en, fmt.Sprintf(e, n)), append(pt, fmt.Sprintf(p, n))
	}
	if soa.Refresh < 14400 {
		problem("refresh %d below 14400", "refresh %d abaixo de 14400", soa.Refresh)
	}
	if soa.Retry < 3600 || soa.Retry >= soa.Refresh {
		problem("retry %d (at least 3600, below refresh)", "retry %d (pelo menos 3600, abaixo do refresh)", soa.Retry)
	}
	if soa.Expire < 604800 || soa.Expire < 7*soa.Refresh {
		problem("expire %d (at least 604800 and seven refreshes)", "expire %d (pelo menos 604800 e sete refreshes)", soa.Expire)
	}
	if soa.Minttl < 300 || soa.Minttl > 86400 {
		problem("minimum %d (300-86400)", "minimum %d (300-86400)", soa.Minttl)
	}
	return text{strings.Join(en, ", "), strings.Join(pt, ", ")}
}

// dsAlgorithmProblem says why a DS record's algorithm or digest is one
// RFC 8624 says not to use; empty when it is not.
func dsAlgorithmProblem(ds *dns.DS) text {
	name := dns.AlgorithmToString[ds.Algorithm]
	switch ds.Algorithm {
	case dns.RSAMD5, dns.DSA, dns.DSANSEC3SHA1, dns.ECCGOST:
		return text{fmt.Sprintf("algorithm %d (%s: must not be used)", ds.Algorithm, name),
			fmt.Sprintf("o algoritmo %d (%s: não pode ser usado)", ds.Algorithm, name)}
	case dns.RSASHA1, dns.RSASHA1NSEC3SHA1:
		return text{fmt.Sprintf("algorithm %d (%s: not recommended)", ds.Algorithm, name),
			fmt.Sprintf("o algoritmo %d (%s: não recomendado)", ds.Algorithm, name)}
	}
	switch ds.DigestType {
	case dns.SHA1:
		return text{"digest type 1 (SHA-1: must not be used for new DS records)", "o tipo de resumo 1 (SHA-1: não pode ser usado em novos registos DS)"}
	case dns.GOST94:
		return text{"digest type 3 (GOST R 34.11-94: must not be used)", "o tipo de resumo 3 (GOST R 34.11-94: não pode ser usado)"}
	}
	return text{}
}

func soaOf(r *dns.Msg, domain string) *dns.SOA {
	if r == nil {
		return nil
	}
	for _, rr := range r.Answer {
		if soa, ok := rr.(*dns.SOA); ok && strings.EqualFold(rr.Header().Name, domain) {
			return soa
		}
	}
	return nil
}

// oneNetwork reports whether every address is in one IPv4 /24 or one
// IPv6 /48, and which (anycast-friendly: a mix of both is two networks).
func oneNetwork(addrs []netip.Addr) (string, bool) {
	var first netip.Prefix
	for i, a := range addrs {
		bits := 48
		if a.Is4() {
			bits = 24
		}
		p, _ := a.Prefix(bits)
		if i == 0 {
			first = p
		} else if p != first {
			return "", false
		}
	}
	return first.String(), true
}

func sameSet(a, b map[string]bool) bool {
	if len(a) != len(b) {
		return false
	}
	for k := range a {
		if !b[k] {
			return false
		}
	}
	return true
}

func setText(s map[string]bool) string {
	var list []string
	for k := range s {
		list = append(list, k)
	}
	slices.Sort(list)
	return strings.Join(list, " ")
}

func sameAddrs(a, b []netip.Addr) bool {
	norm := func(x []netip.Addr) []netip.Addr {
		out := make([]netip.Addr, len(x))
		for i, v := range x {
			out[i] = v.Unmap()
		}
		slices.SortFunc(out, netip.Addr.Compare)
		return slices.Compact(out)
	}
	return slices.Equal(norm(a), norm(b))
}

func addrsText(x []netip.Addr) string {
	if len(x) == 0 {
		return "none"
	}
	var s []string
	for _, a := range x {
		s = append(s, a.String())
	}
	slices.Sort(s)
	return strings.Join(s, " ")
}

// FromDomain returns a registered domain's delegation.
func FromDomain(d store.Domain) Delegation {
	out := Delegation{Domain: d.Name}
	for _, n := range d.Nameservers {
		out.Nameservers = append(out.Nameservers, Nameserver{Name: n.Name, Addrs: n.Addrs})
	}
	for _, s := range d.DS {
		out.DS = append(out.DS, &dns.DS{Hdr: dns.RR_Header{Name: dns.Fqdn(d.Name), Rrtype: dns.TypeDS, Class: dns.ClassINET},
			KeyTag: s.KeyTag, Algorithm: s.Algorithm, DigestType: s.DigestType, Digest: s.Digest})
	}
	return out
}
