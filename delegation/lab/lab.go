package lab

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/miekg/dns"
)

// Fault is a way a server misbehaves, whatever the zone.
type Fault uint32

// The faults; they combine.
const (
	Timeout          Fault = 1 << iota // answers nothing, over UDP or TCP
	Refused                            // REFUSED to every query
	ServFail                           // SERVFAIL to every query
	NotAuthoritative                   // answers with AA clear
	NoTCP                              // no TCP: connections are refused
	EDNSFormErr                        // FORMERR to queries with EDNS
	OpenRecursion                      // answers names outside its zones, with RA set
	SerialAhead                        // serves its zones' SOA serial plus one
)

// Lab is a set of simulated name servers, all on one port, each on its
// own loopback address.
type Lab struct {
	Port int

	// now and sleep are its servers' clock, which counts queries by the
	// second, and their wait of a latency; nil is the real clock. The
	// lab's own tests set them to count and delay without real time.
	now   func() time.Time
	sleep func(time.Duration)

	mu      sync.Mutex
	servers []*Server
}

// New returns a lab on a port free on 127.0.0.1 (for UDP and TCP), which
// its servers share.
func New() (*Lab, error) {
	for range 10 {
		pc, err := net.ListenPacket("udp", "127.0.0.1:0")
		if err != nil {
			return nil, err
		}
		port := pc.LocalAddr().(*net.UDPAddr).Port
		ln, err := net.Listen("tcp", pc.LocalAddr().String())
		pc.Close()
		if err == nil {
			ln.Close()
			return &Lab{Port: port}, nil
		}
	}
	return nil, errors.New("lab: no port free for both UDP and TCP")
}

// OnPort returns a lab whose servers listen on the port given: 53 for
// tools that ask no other (zonemaster-cli), which needs the privilege to
// bind it.
func OnPort(port int) *Lab { return &Lab{Port: port} }

// Addr returns the lab's n-th loopback address (n from 1): 127.0.x.y,
// never 127.0.0.1, which other servers of a test may use.
func Addr(n int) netip.Addr {
	n++
	return netip.AddrFrom4([4]byte{127, byte(n >> 16), byte(n >> 8), byte(n)})
}

// Server is one simulated name server.
type Server struct {
	Addr    netip.Addr
	faults  atomic.Uint32
	latency time.Duration
	zones   map[string]*Zone // by origin
	now     func() time.Time
	sleep   func(time.Duration)

	queries atomic.Uint64
	mu      sync.Mutex
	second  int64 // the Unix second being counted
	inIt    int   // queries in it
	peak    int   // the most in any second

	udp, tcp *dns.Server
}

// Serve starts a server on addr, the lab's port, answering for zones
// with the faults given, each answer after latency.
func (l *Lab) Serve(addr netip.Addr, faults Fault, latency time.Duration, zones ...*Zone) (*Server, error) {
	s := &Server{Addr: addr, latency: latency, zones: make(map[string]*Zone, len(zones)), now: l.now, sleep: l.sleep}
	if s.now == nil {
		s.now = time.Now
	}
	if s.sleep == nil {
		s.sleep = time.Sleep
	}
	s.faults.Store(uint32(faults))
	for _, z := range zones {
		s.zones[z.origin()] = z
	}
	hostport := netip.AddrPortFrom(addr, uint16(l.Port)).String()
	pc, err := net.ListenPacket("udp", hostport)
	if err != nil {
		return nil, fmt.Errorf("lab: %w", err)
	}
	s.udp = &dns.Server{PacketConn: pc, Handler: s}
	if faults&NoTCP == 0 {
		ln, err := net.Listen("tcp", hostport)
		if err != nil {
			pc.Close()
			return nil, fmt.Errorf("lab: %w", err)
		}
		s.tcp = &dns.Server{Listener: ln, Handler: s, ReadTimeout: 2 * time.Second,
			IdleTimeout: func() time.Duration { return 2 * time.Second }}
	}
	for _, srv := range []*dns.Server{s.udp, s.tcp} {
		if srv == nil {
			continue
		}
		started := make(chan struct{})
		srv.NotifyStartedFunc = func() { close(started) }
		go srv.ActivateAndServe()
		<-started
	}
	l.mu.Lock()
	l.servers = append(l.servers, s)
	l.mu.Unlock()
	return s, nil
}

// Close stops every server of the lab.
func (l *Lab) Close() error {
	l.mu.Lock()
	servers := l.servers
	l.servers = nil
	l.mu.Unlock()
	var errs []error
	for _, s := range servers {
		for _, srv := range []*dns.Server{s.udp, s.tcp} {
			if srv != nil {
				if err := srv.Shutdown(); err != nil {
					errs = append(errs, err)
				}
			}
		}
	}
	return errors.Join(errs...)
}

// SetFaults changes how the server misbehaves from its next query on: a
// test breaks a server and mends it again. NoTCP is decided when the
// server starts and does not change.
func (s *Server) SetFaults(f Fault) { s.faults.Store(uint32(f)) }

// Queries returns how many queries the server received.
func (s *Server) Queries() uint64 { return s.queries.Load() }

// PeakPerSecond returns the most queries the server received within one
// second of the clock.
func (s *Server) PeakPerSecond() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return max(s.peak, s.inIt)
}

func (s *Server) count(now time.Time) {
	s.queries.Add(1)
	s.mu.Lock()
	defer s.mu.Unlock()
	if sec := now.Unix(); sec != s.second {
		s.peak = max(s.peak, s.inIt)
		s.second, s.inIt = sec, 0
	}
	s.inIt++
}

// ServeDNS answers one query as the server's faults and zones say.
func (s *Server) ServeDNS(w dns.ResponseWriter, req *dns.Msg) {
	s.count(s.now())
	faults := Fault(s.faults.Load())
	if faults&Timeout != 0 || req.Response || len(req.Question) != 1 {
		return
	}
	if s.latency > 0 {
		s.sleep(s.latency)
	}
	m := new(dns.Msg)
	m.SetReply(req)
	opt := req.IsEdns0()
	switch {
	case faults&Refused != 0:
		m.Rcode = dns.RcodeRefused
	case faults&ServFail != 0:
		m.Rcode = dns.RcodeServerFailure
	case faults&EDNSFormErr != 0 && opt != nil:
		m.Rcode = dns.RcodeFormatError
		opt = nil // an old server: no OPT back either
	case opt != nil && opt.Version() != 0:
		m.Rcode = dns.RcodeBadVers // RFC 6891 §6.1.3: the version we speak is 0
	default:
		s.answer(req.Question[0], opt != nil && opt.Do(), faults, m)
	}
	if opt != nil {
		m.SetEdns0(1232, opt.Do())
	}
	w.WriteMsg(m)
}

// answer fills m from the server's zones.
func (s *Server) answer(q dns.Question, do bool, faults Fault, m *dns.Msg) {
	name := strings.ToLower(dns.Fqdn(q.Name))
	var z *Zone
	// The closest enclosing zone: the name itself, then each parent.
	for suffix := name; ; {
		if z = s.zones[suffix]; z != nil {
			break
		}
		next, end := dns.NextLabel(suffix, 0)
		if end {
			break
		}
		suffix = suffix[next:]
	}
	if z == nil {
		z = s.zones["."]
	}
	if z == nil {
		if faults&OpenRecursion != 0 {
			// A resolver's answer: anything, with RA.
			m.RecursionAvailable = true
			if q.Qtype == dns.TypeA {
				m.Answer = append(m.Answer, &dns.A{Hdr: dns.RR_Header{Name: q.Name, Rrtype: dns.TypeA, Class: dns.ClassINET, Ttl: 300},
					A: net.IPv4(192, 0, 2, 1)})
			}
			return
		}
		m.Rcode = dns.RcodeRefused
		return
	}
	m.Authoritative = faults&NotAuthoritative == 0
	if faults&OpenRecursion != 0 {
		m.RecursionAvailable = true
	}
	d := z.data()
	serial := func(rrs []dns.RR) []dns.RR {
		if faults&SerialAhead == 0 {
			return rrs
		}
		out := make([]dns.RR, len(rrs))
		for i, rr := range rrs {
			rr = dns.Copy(rr)
			if soa, ok := rr.(*dns.SOA); ok {
				soa.Serial++
			}
			out[i] = rr
		}
		return out
	}
	set := func(owner string, typ uint16) []dns.RR {
		rrs := slices.Clone(d.sets[owner][typ]) // the zone's own slices are shared
		if do {
			rrs = append(rrs, d.sigs[owner][typ]...)
		}
		return serial(rrs)
	}
	soa := set(z.origin(), dns.TypeSOA)
	if cut := z.cut(name); cut != "" && !(q.Qtype == dns.TypeDS && cut == name) {
		// A referral: the child's NS, their glue, no authority.
		m.Authoritative = false
		m.Ns = set(cut, dns.TypeNS)
		for _, rr := range m.Ns {
			target := strings.ToLower(rr.(*dns.NS).Ns)
			m.Extra = append(m.Extra, d.sets[target][dns.TypeA]...)
			m.Extra = append(m.Extra, d.sets[target][dns.TypeAAAA]...)
		}
		for i, rr := range m.Extra {
			m.Extra[i] = dns.Copy(rr)
		}
		for i, rr := range m.Ns {
			m.Ns[i] = dns.Copy(rr)
		}
		return
	}
	switch owned, exists := d.sets[name], d.exists(name); {
	case owned[q.Qtype] != nil:
		m.Answer = set(name, q.Qtype)
	case owned[dns.TypeCNAME] != nil:
		m.Answer = set(name, dns.TypeCNAME)
	case exists:
		m.Ns = soa
		if do {
			m.Ns = append(m.Ns, set(name, dns.TypeNSEC)...)
		}
	default:
		m.Rcode = dns.RcodeNameError
		m.Ns = soa
		if do && len(d.owners) > 0 {
			// The NSEC covering the name, and the apex's, covering the
			// wildcard that could have matched it.
			cover := d.owners[len(d.owners)-1]
			for _, owner := range d.owners {
				if canonicalCompare(owner, name) < 0 {
					cover = owner
				}
			}
			m.Ns = append(m.Ns, set(cover, dns.TypeNSEC)...)
			if apex := z.origin(); cover != apex {
				m.Ns = append(m.Ns, set(apex, dns.TypeNSEC)...)
			}
		}
	}
	// Copies go out: packing a record writes its length into it, and
	// servers sharing a zone answer at once.
	for i, rr := range m.Answer {
		rr = dns.Copy(rr)
		if strings.EqualFold(rr.Header().Name, q.Name) {
			rr.Header().Name = q.Name // the owner as asked
		}
		m.Answer[i] = rr
	}
	for i, rr := range m.Ns {
		m.Ns[i] = dns.Copy(rr)
	}
}

// Zone is a child zone as the lab's servers serve it.
type Zone struct {
	Name   string   // "exemplo.pt"
	NS     []string // the NS RRset the child serves
	Serial uint32
	// Addrs are the addresses the child serves for names in it (its
	// in-bailiwick name servers, say).
	Addrs map[string][]netip.Addr
	// CNAMEs are aliases in the child: owner to target.
	CNAMEs map[string]string
	// Delegations are the zone's children, each with its name servers
	// (their glue in Addrs): names below them are referred there. A test
	// root and a test pt make the hierarchy tools that resolve from the
	// root need (zonemaster-cli).
	Delegations map[string][]string
	// RName is the SOA's mailbox (default hostmaster.<zone>).
	RName string
	// Timers are the SOA's refresh, retry, expire and minimum (default
	// 14400, 3600, 1209600, 3600).
	Timers [4]uint32
	// Signed signs the zone (ECDSA P-256, a KSK and a ZSK, NSEC-less:
	// the checker asks for DNSKEY and SOA); Expired signs it with
	// signatures that ended a day ago.
	Signed, Expired bool
	// KeySeed, when set, derives the zone's keys from it rather than from
	// the system's randomness: the same keys, so the same DS, every time
	// (the demo's registry stays the same run to run). For the lab only:
	// a key anyone can derive protects nothing.
	KeySeed string

	once     sync.Once
	d        *zoneData
	err      error
	ksk, zsk *dns.DNSKEY
}

type zoneData struct {
	sets   map[string]map[uint16][]dns.RR
	sigs   map[string]map[uint16][]dns.RR
	owners []string // of a signed zone, in canonical order: its NSEC chain
}

func (d *zoneData) exists(name string) bool {
	for owner := range d.sets {
		if dns.IsSubDomain(name, owner) {
			return true
		}
	}
	return false
}

func (z *Zone) origin() string { return strings.ToLower(dns.Fqdn(z.Name)) }

// cut returns the delegation at or above name, "" if none.
func (z *Zone) cut(name string) string {
	for child := range z.Delegations {
		if c := strings.ToLower(dns.Fqdn(child)); dns.IsSubDomain(c, name) {
			return c
		}
	}
	return ""
}

// data builds the zone's records the first time they are asked for.
func (z *Zone) data() *zoneData {
	z.once.Do(func() { z.d, z.err = z.build() })
	if z.err != nil {
		panic(fmt.Sprintf("lab: zone %s: %v", z.Name, z.err)) // a test's mistake
	}
	return z.d
}

// Check builds the zone's data, reporting what is wrong with the spec.
func (z *Zone) Check() error {
	z.once.Do(func() { z.d, z.err = z.build() })
	return z.err
}

func (z *Zone) build() (*zoneData, error) {
	o := z.origin()
	d := &zoneData{sets: map[string]map[uint16][]dns.RR{}, sigs: map[string]map[uint16][]dns.RR{}}
	add := func(text string) error {
		rr, err := dns.NewRR(text)
		if err != nil {
			return err
		}
		h := rr.Header()
		h.Name = strings.ToLower(h.Name)
		if d.sets[h.Name] == nil {
			d.sets[h.Name] = map[uint16][]dns.RR{}
		}
		d.sets[h.Name][h.Rrtype] = append(d.sets[h.Name][h.Rrtype], rr)
		return nil
	}
	rname := z.RName
	if rname == "" {
		rname = "hostmaster." + strings.TrimPrefix(o, ".")
	}
	timers := z.Timers
	if timers == [4]uint32{} {
		timers = [4]uint32{14400, 3600, 1209600, 3600} // as Zonemaster likes them
	}
	records := []string{fmt.Sprintf("%s 3600 IN SOA %s %s %d %d %d %d %d", o, dns.Fqdn(firstOr(z.NS, "ns."+o)), dns.Fqdn(rname), z.Serial,
		timers[0], timers[1], timers[2], timers[3])}
	for _, ns := range z.NS {
		records = append(records, fmt.Sprintf("%s 3600 IN NS %s", o, dns.Fqdn(ns)))
	}
	for name, addrs := range z.Addrs {
		for _, a := range addrs {
			typ := "A"
			if a.Is6() {
				typ = "AAAA"
			}
			records = append(records, fmt.Sprintf("%s 3600 IN %s %s", dns.Fqdn(name), typ, a))
		}
	}
	for child, servers := range z.Delegations {
		for _, ns := range servers {
			records = append(records, fmt.Sprintf("%s 3600 IN NS %s", dns.Fqdn(child), dns.Fqdn(ns)))
		}
	}
	for owner, target := range z.CNAMEs {
		records = append(records, fmt.Sprintf("%s 3600 IN CNAME %s", dns.Fqdn(owner), dns.Fqdn(target)))
	}
	for _, r := range records {
		if err := add(r); err != nil {
			return nil, err
		}
	}
	if !z.Signed {
		return d, nil
	}
	ksk := &dns.DNSKEY{Hdr: dns.RR_Header{Name: o, Rrtype: dns.TypeDNSKEY, Class: dns.ClassINET, Ttl: 3600},
		Flags: 257, Protocol: 3, Algorithm: dns.ECDSAP256SHA256}
	zsk := &dns.DNSKEY{Hdr: ksk.Hdr, Flags: 256, Protocol: 3, Algorithm: dns.ECDSAP256SHA256}
	kskPriv, err := z.key(ksk, "ksk")
	if err != nil {
		return nil, err
	}
	zskPriv, err := z.key(zsk, "zsk")
	if err != nil {
		return nil, err
	}
	z.ksk, z.zsk = ksk, zsk
	d.sets[o][dns.TypeDNSKEY] = []dns.RR{ksk, zsk}
	// An NSEC chain over the owner names (RFC 4034 §4): validators and
	// Zonemaster (DNSSEC10) look for denial of existence.
	owners := make([]string, 0, len(d.sets))
	for owner := range d.sets {
		owners = append(owners, owner)
	}
	slices.SortFunc(owners, canonicalCompare)
	d.owners = owners
	for i, owner := range owners {
		types := []uint16{dns.TypeNSEC, dns.TypeRRSIG}
		for typ := range d.sets[owner] {
			types = append(types, typ)
		}
		slices.Sort(types)
		d.sets[owner][dns.TypeNSEC] = []dns.RR{&dns.NSEC{Hdr: dns.RR_Header{Name: owner, Rrtype: dns.TypeNSEC, Class: dns.ClassINET, Ttl: 3600},
			NextDomain: owners[(i+1)%len(owners)], TypeBitMap: types}}
	}
	inception, expiration := time.Now().Add(-time.Hour), time.Now().Add(14*24*time.Hour)
	if z.Expired {
		inception, expiration = time.Now().Add(-15*24*time.Hour), time.Now().Add(-24*time.Hour)
	}
	for owner, byType := range d.sets {
		for typ, rrs := range byType {
			key, priv := zsk, zskPriv
			if typ == dns.TypeDNSKEY {
				key, priv = ksk, kskPriv
			}
			sig := &dns.RRSIG{Hdr: dns.RR_Header{Name: owner, Rrtype: dns.TypeRRSIG, Class: dns.ClassINET, Ttl: rrs[0].Header().Ttl},
				Algorithm: key.Algorithm, SignerName: o, KeyTag: key.KeyTag(),
				Inception: uint32(inception.Unix()), Expiration: uint32(expiration.Unix())}
			if err := sig.Sign(priv.(crypto.Signer), rrs); err != nil {
				return nil, err
			}
			if d.sigs[owner] == nil {
				d.sigs[owner] = map[uint16][]dns.RR{}
			}
			d.sigs[owner][typ] = []dns.RR{sig}
		}
	}
	return d, nil
}

// key gives k a new key pair, derived from the zone's KeySeed and role
// when it has one.
func (z *Zone) key(k *dns.DNSKEY, role string) (crypto.PrivateKey, error) {
	if z.KeySeed == "" {
		return k.Generate(256)
	}
	for i := 0; i < 8; i++ { // a digest at or above the curve's order is tried again
		d := sha256.Sum256(fmt.Appendf(nil, "ptzone lab key\x00%s\x00%s\x00%d", z.KeySeed, role, i))
		priv, err := ecdsa.ParseRawPrivateKey(elliptic.P256(), d[:])
		if err != nil {
			continue
		}
		pub, err := priv.PublicKey.Bytes()
		if err != nil {
			return nil, err
		}
		k.PublicKey = base64.StdEncoding.EncodeToString(pub[1:]) // RFC 6605: X and Y, without SEC 1's 0x04
		return priv, nil
	}
	return nil, fmt.Errorf("lab: zone %s: no key from its seed", z.Name)
}

// DS returns the DS record (SHA-256) of a signed zone's KSK, as the
// parent publishes it.
func (z *Zone) DS() (*dns.DS, error) { return z.dsOf(func() *dns.DNSKEY { return z.ksk }) }

// ZSKDS returns a DS record of the zone's ZSK, which signs no DNSKEY
// RRset: a parent publishing it names a key that vouches for nothing.
func (z *Zone) ZSKDS() (*dns.DS, error) { return z.dsOf(func() *dns.DNSKEY { return z.zsk }) }

func (z *Zone) dsOf(key func() *dns.DNSKEY) (*dns.DS, error) {
	if err := z.Check(); err != nil {
		return nil, err
	}
	if key() == nil {
		return nil, fmt.Errorf("lab: zone %s is not signed", z.Name)
	}
	return key().ToDS(dns.SHA256), nil
}

func firstOr(s []string, def string) string {
	if len(s) > 0 {
		return s[0]
	}
	return def
}

// canonicalCompare orders names as DNSSEC does (RFC 4034 §6.1): label by
// label from the right, each compared as lowercase octets. The lab's
// names are plain: no escaped dots.
func canonicalCompare(a, b string) int {
	la, lb := dns.SplitDomainName(strings.ToLower(a)), dns.SplitDomainName(strings.ToLower(b))
	for i := 1; i <= min(len(la), len(lb)); i++ {
		if c := strings.Compare(la[len(la)-i], lb[len(lb)-i]); c != 0 {
			return c
		}
	}
	return len(la) - len(lb)
}
