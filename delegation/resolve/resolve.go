package resolve

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
)

// Exchange sends one query to a server over network ("udp" or "tcp"),
// with the caller's pacing, timeout and retries.
type Exchange func(ctx context.Context, q *dns.Msg, server netip.AddrPort, network string) (*dns.Msg, error)

// Answer is a name's addresses, and what gave them.
type Answer struct {
	Addrs []netip.Addr
	// Alias is the canonical name when the name asked for is an alias
	// (CNAME): a name server's name must not be one (RFC 2181 §10.3).
	Alias string
	// From is the server that gave the addresses.
	From netip.AddrPort
}

// Failure says why a name has no address: Kind (with Zone or Detail
// where it needs them) for a registrar's message, Evidence for the
// operator: the last query and the server that answered it.
type Failure struct {
	Name     string
	Kind     Kind
	Zone     string // the zone whose servers failed, for NoServerAnswers, UnusableAnswers, ServersNotFound
	Detail   string // the resolver's RCODE, for ResolverFailed ("" when it did not answer)
	Evidence string
}

// Kind is a way resolution fails.
type Kind int

// The ways resolution fails.
const (
	NoSuchName       Kind = iota + 1 // NXDOMAIN
	NoAddressRecords                 // the name exists, without A or AAAA records
	NoServerAnswers                  // no server of Zone answers
	UnusableAnswers                  // the servers of Zone answer, but neither with the records nor with a referral below Zone
	ServersNotFound                  // the servers Zone is delegated to have no address
	TooManyReferrals
	AliasLoop // CNAMEs that go round, or on too long
	ResolverFailed
)

func (f *Failure) Error() string {
	var why string
	switch f.Kind {
	case NoSuchName:
		why = "the name does not exist (NXDOMAIN)"
	case NoAddressRecords:
		why = "it has no A or AAAA records"
	case NoServerAnswers:
		why = "no server of " + f.Zone + " answers"
	case UnusableAnswers:
		why = "the servers of " + f.Zone + " give no usable answer"
	case ServersNotFound:
		why = "the servers of " + f.Zone + " cannot be found"
	case TooManyReferrals:
		why = "too many referrals"
	case AliasLoop:
		why = "its aliases (CNAME) go round or on too long"
	case ResolverFailed:
		why = "the resolver answers " + f.Detail
		if f.Detail == "" {
			why = "the resolver does not answer"
		}
	}
	return f.Name + ": " + why + " (" + f.Evidence + ")"
}

// Lookup finds a name's addresses (A and AAAA). A name with none gets a
// *Failure, unless ctx ended.
type Lookup interface {
	Lookup(ctx context.Context, name string) (Answer, error)
}

// Recursive asks one recursive resolver, with recursion desired.
type Recursive struct {
	Server   netip.AddrPort
	Exchange Exchange
}

// Lookup asks the resolver for the name's A and AAAA records.
func (r *Recursive) Lookup(ctx context.Context, name string) (Answer, error) {
	name = strings.ToLower(dns.Fqdn(name))
	ans := Answer{From: r.Server}
	var fail *Failure
	for _, qtype := range []uint16{dns.TypeA, dns.TypeAAAA} {
		q := question(name, qtype, true)
		m, err := r.Exchange(ctx, q, r.Server, "udp")
		if err == nil && m.Truncated {
			m, err = r.Exchange(ctx, q, r.Server, "tcp")
		}
		if err != nil {
			if err := ended(ctx); err != nil {
				return Answer{}, err
			}
			fail = &Failure{Name: name, Kind: ResolverFailed, Evidence: evidence(q, r.Server, nil, err)}
			continue
		}
		if m.Rcode != dns.RcodeSuccess {
			fail = &Failure{Name: name, Kind: ResolverFailed, Detail: dns.RcodeToString[m.Rcode], Evidence: evidence(q, r.Server, m, nil)}
			if m.Rcode == dns.RcodeNameError {
				fail.Kind, fail.Detail = NoSuchName, ""
			}
			continue
		}
		found, alias := addresses(m.Answer, name, qtype)
		ans.Addrs = append(ans.Addrs, found...)
		if alias != "" {
			ans.Alias = alias
		}
		if fail == nil && len(found) == 0 {
			fail = &Failure{Name: name, Kind: NoAddressRecords, Evidence: evidence(q, r.Server, m, nil)}
		}
	}
	if len(ans.Addrs) == 0 {
		return Answer{}, fail
	}
	return ans, nil
}

// Iterative resolves from root hints: it asks the root's servers, follows
// their referrals down to the servers of the name's zone, and takes the
// answer only from a server that gives it with authority. It learns the
// zone cuts it is referred to, so names in one zone share the walk down;
// a value serves one sweep (it keeps what it learns, whatever the TTLs).
type Iterative struct {
	Hints    []netip.Addr
	Port     uint16
	Exchange Exchange
	// Refuse, when set, names addresses never to ask (a public check's
	// private and special-purpose networks): a referral there is treated
	// as one that leads nowhere.
	Refuse func(netip.Addr) bool

	mu   sync.Mutex
	cuts map[string][]netip.Addr // zone (absolute, lowercase) → its servers' addresses
}

// Bounds on one lookup: a resolver that follows whatever it is told
// would let one bad zone keep a sweep busy forever.
const (
	maxReferrals = 16 // zone cuts on the way to one name
	maxAliases   = 8  // CNAMEs followed
	maxDepth     = 3  // name servers without glue, resolved on the way
	maxServers   = 6  // of one zone, asked before giving up on it
)

// Lookup resolves the name's A and AAAA records from the hints.
func (r *Iterative) Lookup(ctx context.Context, name string) (Answer, error) {
	return r.lookup(ctx, strings.ToLower(dns.Fqdn(name)), 0)
}

func (r *Iterative) lookup(ctx context.Context, name string, depth int) (Answer, error) {
	var ans Answer
	var fail error
	for _, qtype := range []uint16{dns.TypeA, dns.TypeAAAA} {
		got, err := r.resolve(ctx, name, qtype, depth)
		if err != nil {
			if err := ended(ctx); err != nil {
				return Answer{}, err
			}
			// NXDOMAIN for A is the answer for AAAA too.
			if f := (*Failure)(nil); errors.As(err, &f) && f.Kind == NoSuchName {
				return Answer{}, err
			}
			if fail == nil { // the A query's failure says it first
				fail = err
			}
			continue
		}
		ans.Addrs = append(ans.Addrs, got.Addrs...)
		if got.Alias != "" {
			ans.Alias = got.Alias
		}
		if got.From.IsValid() {
			ans.From = got.From
		}
	}
	if len(ans.Addrs) == 0 {
		if fail == nil {
			fail = &Failure{Name: name, Kind: NoAddressRecords, Evidence: "A and AAAA " + name + " @" + ans.From.String() + ": NOERROR, no answer"}
		}
		return Answer{}, fail
	}
	return ans, nil
}

// resolve walks from the closest zone cut it knows down to the servers of
// name's zone and asks them for name's records of qtype.
func (r *Iterative) resolve(ctx context.Context, name string, qtype uint16, depth int) (Answer, error) {
	asked, chain := name, []string{name}
	zone, servers := r.closest(name)
	for range maxReferrals {
		q := question(name, qtype, false)
		m, from, err := r.ask(ctx, q, zone, servers)
		if err != nil {
			return Answer{}, err
		}
		switch kind, cut := classify(m, name, zone); kind {
		case answered:
			found, alias := addresses(m.Answer, name, qtype)
			if len(found) > 0 || alias == "" {
				a := Answer{Addrs: found, From: from, Alias: alias}
				if alias == "" && name != asked {
					a.Alias = name
				}
				return a, nil
			}
			// The alias's target lies elsewhere: start again from it.
			if chain = append(chain, alias); len(chain) > maxAliases {
				return Answer{}, &Failure{Name: asked, Kind: AliasLoop,
					Evidence: "CNAME " + strings.Join(chain, " → ") + " ..."}
			}
			name = alias
			zone, servers = r.closest(name)
		case nxdomain:
			return Answer{}, &Failure{Name: asked, Kind: NoSuchName, Evidence: evidence(q, from, m, nil)}
		case nodata:
			a := Answer{From: from}
			if name != asked {
				a.Alias = name
			}
			return a, nil
		case referral:
			next, err := r.follow(ctx, m, zone, cut, depth)
			if err != nil {
				return Answer{}, &Failure{Name: asked, Kind: ServersNotFound, Zone: cut, Evidence: err.Error()}
			}
			r.learn(cut, next)
			zone, servers = cut, next
		default:
			return Answer{}, &Failure{Name: asked, Kind: UnusableAnswers, Zone: zone, Evidence: evidence(q, from, m, nil)}
		}
	}
	return Answer{}, &Failure{Name: asked, Kind: TooManyReferrals, Evidence: fmt.Sprintf("more than %d zone cuts on the way", maxReferrals)}
}

// closest returns the closest enclosing zone whose servers are known: the
// root's, from the hints, at least.
func (r *Iterative) closest(name string) (string, []netip.Addr) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for suffix := name; ; {
		if addrs, ok := r.cuts[suffix]; ok {
			return suffix, addrs
		}
		next, end := dns.NextLabel(suffix, 0)
		if end {
			return ".", r.Hints
		}
		suffix = suffix[next:]
	}
}

func (r *Iterative) learn(zone string, addrs []netip.Addr) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.cuts == nil {
		r.cuts = map[string][]netip.Addr{}
	}
	r.cuts[zone] = addrs
}

// ask sends q to the zone's servers in turn until one gives an answer it
// can use; a server that fails, refuses or answers with a stranger's
// question is passed over.
func (r *Iterative) ask(ctx context.Context, q *dns.Msg, zone string, servers []netip.Addr) (*dns.Msg, netip.AddrPort, error) {
	var last string
	tried := 0
	for _, a := range servers {
		if r.Refuse != nil && r.Refuse(a) {
			last = a.String() + " is private or reserved: not asked"
			continue
		}
		if tried++; tried > maxServers {
			break
		}
		to := netip.AddrPortFrom(a, r.Port)
		m, err := r.Exchange(ctx, q, to, "udp")
		if err == nil && m.Rcode == dns.RcodeFormatError {
			// A server from before EDNS: ask it plainly.
			plain := q.Copy()
			plain.Extra = nil
			m, err = r.Exchange(ctx, plain, to, "udp")
		}
		if err == nil && m.Truncated {
			m, err = r.Exchange(ctx, q, to, "tcp")
		}
		if err := ended(ctx); err != nil {
			return nil, to, err
		}
		switch {
		case err != nil:
			last = evidence(q, to, nil, err)
		case len(m.Question) != 1 || !strings.EqualFold(m.Question[0].Name, q.Question[0].Name) || m.Question[0].Qtype != q.Question[0].Qtype:
			last = evidence(q, to, m, nil) + ", for another question"
		case m.Rcode != dns.RcodeSuccess && m.Rcode != dns.RcodeNameError:
			last = evidence(q, to, m, nil)
		default:
			return m, to, nil
		}
	}
	if last == "" {
		last = "no address for them"
	}
	return nil, netip.AddrPort{}, &Failure{Name: q.Question[0].Name, Kind: NoServerAnswers, Zone: zone, Evidence: last}
}

// follow returns the addresses of the servers a referral from zone to
// cut names: the glue it carries, or, for servers without glue, their own
// resolution (bounded in depth).
func (r *Iterative) follow(ctx context.Context, m *dns.Msg, zone, cut string, depth int) ([]netip.Addr, error) {
	var targets []string
	for _, rr := range m.Ns {
		if ns, ok := rr.(*dns.NS); ok && strings.EqualFold(ns.Hdr.Name, cut) {
			targets = append(targets, strings.ToLower(ns.Ns))
		}
	}
	var addrs []netip.Addr
	for _, rr := range m.Extra {
		owner := strings.ToLower(rr.Header().Name)
		// Glue is taken for the servers named, and only within the
		// referring zone (its bailiwick): a server may not vouch for
		// addresses in zones it does not serve.
		if !slices.Contains(targets, owner) || !dns.IsSubDomain(zone, owner) {
			continue
		}
		if a, ok := addressOf(rr); ok {
			addrs = append(addrs, a)
		}
	}
	if len(addrs) > 0 {
		return addrs, nil
	}
	if depth >= maxDepth {
		return nil, fmt.Errorf("the servers of %s have no glue, %d levels down", cut, depth)
	}
	var errs []error
	for _, target := range targets {
		if dns.IsSubDomain(cut, target) {
			errs = append(errs, fmt.Errorf("%s: inside %s, and the referral carries no glue for it", target, cut))
			continue
		}
		ans, err := r.lookup(ctx, target, depth+1)
		if err != nil {
			if err := ended(ctx); err != nil {
				return nil, err
			}
			errs = append(errs, err)
			continue
		}
		return ans.Addrs, nil
	}
	if len(errs) == 0 {
		return nil, fmt.Errorf("the referral to %s names no server", cut)
	}
	return nil, errors.Join(errs...)
}

// ended returns the context's error, or DeadlineExceeded once its deadline
// has passed: a query's timeout can fire a moment before the context's,
// and a lookup cut short by its caller must not read as a finding.
func ended(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if dl, ok := ctx.Deadline(); ok && !time.Now().Before(dl) {
		return context.DeadlineExceeded
	}
	return nil
}

type kind int

const (
	lame kind = iota
	answered
	nxdomain
	nodata
	referral
)

// classify tells what a response from zone's server is; for a referral,
// the zone cut it refers to, which must lie between zone and name.
func classify(m *dns.Msg, name, zone string) (kind, string) {
	if m.Rcode == dns.RcodeNameError {
		return nxdomain, ""
	}
	for _, rr := range m.Answer {
		if strings.EqualFold(rr.Header().Name, name) {
			return answered, ""
		}
	}
	if !m.Authoritative {
		for _, rr := range m.Ns {
			if ns, ok := rr.(*dns.NS); ok {
				cut := strings.ToLower(ns.Hdr.Name)
				if cut != zone && dns.IsSubDomain(zone, cut) && dns.IsSubDomain(cut, name) {
					return referral, cut
				}
				return lame, ""
			}
		}
		return lame, ""
	}
	return nodata, ""
}

// addresses returns the records of qtype at name in an answer, following
// the CNAMEs it holds; alias is where the chain ends when it leads
// elsewhere.
func addresses(rrs []dns.RR, name string, qtype uint16) (found []netip.Addr, alias string) {
	owner := name
	for range maxAliases + 1 {
		next := ""
		for _, rr := range rrs {
			if !strings.EqualFold(rr.Header().Name, owner) {
				continue
			}
			if c, ok := rr.(*dns.CNAME); ok {
				next = strings.ToLower(dns.Fqdn(c.Target))
			} else if a, ok := addressOf(rr); ok && rr.Header().Rrtype == qtype {
				found = append(found, a)
			}
		}
		if len(found) > 0 || next == "" {
			break
		}
		owner = next
	}
	if owner != name {
		alias = owner
	}
	return found, alias
}

func addressOf(rr dns.RR) (netip.Addr, bool) {
	switch v := rr.(type) {
	case *dns.A:
		return netip.AddrFromSlice(v.A.To4())
	case *dns.AAAA:
		return netip.AddrFromSlice(v.AAAA.To16())
	}
	return netip.Addr{}, false
}

func question(name string, qtype uint16, rd bool) *dns.Msg {
	q := new(dns.Msg)
	q.SetQuestion(name, qtype)
	q.RecursionDesired = rd
	// Referrals with all their glue outgrow 512 bytes.
	q.SetEdns0(1232, false)
	return q
}

// evidence is a query and what came of it, in a line.
func evidence(q *dns.Msg, server netip.AddrPort, m *dns.Msg, err error) string {
	s := dns.TypeToString[q.Question[0].Qtype] + " " + q.Question[0].Name + " @" + server.String()
	switch {
	case err != nil:
		return s + ": " + err.Error()
	case m == nil:
		return s
	}
	s += ": " + dns.RcodeToString[m.Rcode]
	if m.Authoritative {
		s += " aa"
	}
	return fmt.Sprintf("%s, %d answer, %d authority", s, len(m.Answer), len(m.Ns))
}
