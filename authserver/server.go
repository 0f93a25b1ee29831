package authserver

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"reflect"
	"slices"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/miekg/dns"
	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap"

	"github.com/ptzone/ptzone/zone"
)

// Config is how a Server answers and what it accepts. The zero value is
// usable: every field has a default.
type Config struct {
	// EDNSSize is the UDP payload size the server advertises and the
	// largest UDP response it sends (RFC 6891 §6.2.5); default 1232,
	// which fits the minimum IPv6 MTU without fragmentation.
	EDNSSize uint16
	// Identity answers CHAOS TXT queries for id.server and hostname.bind
	// (RFC 4892); empty refuses them.
	Identity string
	// Version answers CHAOS TXT queries for version.bind and
	// version.server; empty (the default) refuses them.
	Version string
	// NSID is returned to queries that ask for it (RFC 5001); empty sends
	// none.
	NSID string
	// TCPIdleTimeout closes a TCP connection idle this long (RFC 7766
	// §6.2.3); default 10 s.
	TCPIdleTimeout time.Duration
	// MaxTCPConnections bounds the open TCP connections (default 1000),
	// MaxTCPPerClient those from one address (default 20): connections
	// past either are closed at once.
	MaxTCPConnections, MaxTCPPerClient int
	// TSIG lists the keys requests, transfers and notifications may be
	// signed with. A response to a signed request is signed with the
	// request's key; a request whose signature does not verify gets
	// NOTAUTH (RFC 8945).
	TSIG []TSIGKey
	// Transfer says, by zone ("pt."), who may transfer it and whom to
	// notify; a zone not listed is never transferred.
	Transfer map[string]Transfer
	// MaxTransfers bounds the transfers sent at once (default 10); a
	// request past it is refused, and the secondary retries.
	MaxTransfers int
	// RateLimit limits UDP responses per client network (on by default).
	RateLimit RateLimit
	// MaxQuerySize refuses (FORMERR) a query larger than this many
	// octets (default 4096): a query is a name and a few options.
	MaxQuerySize int
	// SecondaryPoll is how often each secondary a zone notifies is asked
	// for its SOA serial (default a minute).
	SecondaryPoll time.Duration
	// Registerer receives the server's metrics (ptzone_dns_*,
	// ptzone_zone_transfers_total, ptzone_served_serial,
	// ptzone_secondary_serial); nil keeps them unregistered.
	Registerer prometheus.Registerer
}

func (c Config) withDefaults() Config {
	if c.EDNSSize == 0 {
		c.EDNSSize = 1232
	}
	if c.TCPIdleTimeout == 0 {
		c.TCPIdleTimeout = 10 * time.Second
	}
	if c.MaxTCPConnections == 0 {
		c.MaxTCPConnections = 1000
	}
	if c.MaxTCPPerClient == 0 {
		c.MaxTCPPerClient = 20
	}
	if c.MaxTransfers == 0 {
		c.MaxTransfers = 10
	}
	if c.SecondaryPoll == 0 {
		c.SecondaryPoll = time.Minute
	}
	if c.MaxQuerySize == 0 {
		c.MaxQuerySize = 4096
	}
	return c
}

// Server answers queries from the snapshot in place. Swap replaces the
// snapshot; a query answered meanwhile sees the old one or the new one,
// never a mix.
type Server struct {
	// cfg is the configuration in force: Reconfigure replaces it whole.
	cfg       atomic.Pointer[Config]
	log       *zap.Logger
	snap      atomic.Pointer[Snapshot]
	transfers chan struct{} // a slot per transfer under way
	rrl       atomic.Pointer[limiter]
	dropped   atomic.Uint64 // responses the rate limit dropped
	slipped   atomic.Uint64 // and those it sent truncated
	metrics   *metrics
	polling   sync.Once
	keys      *liveKeyring

	// now is the clock the rate limit counts by and TSIG signs with:
	// time.Now, which a test replaces with a fixed instant before the
	// server listens. (miekg/dns checks a request's time on the real
	// clock.)
	now func() time.Time

	// The notifications under way, cancelled by Shutdown and, for a zone
	// and secondary, by the next serial's.
	ctx      context.Context
	stop     context.CancelFunc
	notifies sync.WaitGroup

	mu          sync.Mutex
	servers     []*dns.Server
	notifyTo    map[[2]string]context.CancelFunc
	secondaries map[[2]string]SecondaryState // by zone and secondary
	// servedAt holds, by zone, its last serials and when each began to
	// be served: how long a secondary has lacked one (lag.go).
	servedAt map[string][]servedFrom
	// answered is the last serial each secondary answered, by zone.
	answered map[[2]string]uint32
}

// New returns a server with no zones: it refuses every query until a
// snapshot is swapped in.
func New(cfg Config, log *zap.Logger) *Server {
	if log == nil {
		log = zap.NewNop()
	}
	cfg = cfg.withDefaults()
	ctx, stop := context.WithCancel(context.Background())
	s := &Server{log: log, transfers: make(chan struct{}, cfg.MaxTransfers), now: time.Now,
		metrics: newMetrics(cfg.Registerer), keys: &liveKeyring{}, ctx: ctx, stop: stop, notifyTo: map[[2]string]context.CancelFunc{}}
	s.put(cfg)
	return s
}

// conf is the configuration in force.
func (s *Server) conf() *Config { return s.cfg.Load() }

// put puts cfg in force with its keys and its rate limit.
func (s *Server) put(cfg Config) {
	keys := newKeyring(cfg.TSIG)
	s.keys.Store(&keys)
	if old := s.cfg.Load(); old == nil || !reflect.DeepEqual(old.RateLimit, cfg.RateLimit) {
		s.rrl.Store(newLimiter(cfg.RateLimit, s.metrics.rrlEvictions.Inc))
	}
	s.cfg.Store(&cfg)
}

// Reconfigure puts a new configuration in force while the server runs:
// TSIG keys, who may transfer each zone and whom to notify, the EDNS
// size, the largest query, the CHAOS and NSID answers and the rate limit
// (whose counts start again) apply to the next query. It returns the
// settings that only a restart applies: the listeners' TCP limits and
// idle time, the number of transfers at once, the secondaries' polling.
func (s *Server) Reconfigure(cfg Config) (needRestart []string) {
	cfg = cfg.withDefaults()
	old := s.conf()
	for _, d := range []struct {
		name    string
		changed bool
	}{
		{"tcp_idle_timeout", old.TCPIdleTimeout != cfg.TCPIdleTimeout},
		{"max_tcp_connections", old.MaxTCPConnections != cfg.MaxTCPConnections},
		{"max_tcp_per_client", old.MaxTCPPerClient != cfg.MaxTCPPerClient},
		{"max_transfers", old.MaxTransfers != cfg.MaxTransfers},
		{"secondary_poll", old.SecondaryPoll != cfg.SecondaryPoll},
	} {
		if d.changed {
			needRestart = append(needRestart, d.name)
		}
	}
	cfg.Registerer = old.Registerer
	s.put(cfg)
	return needRestart
}

// Swap makes snap the snapshot answered from, and notifies the
// secondaries of every zone whose serial it changes.
func (s *Server) Swap(snap *Snapshot) {
	s.noteServed(snap, s.now())
	old := s.snap.Swap(snap)
	if snap != nil {
		for _, sv := range snap.zones {
			s.metrics.servedSerial.WithLabelValues(sv.origin.String()).Set(float64(sv.soa.SOASerial()))
		}
	}
	s.notifyChanged(old, snap)
}

// Current returns the snapshot answered from (nil before the first Swap).
func (s *Server) Current() *Snapshot { return s.snap.Load() }

// Respond returns the response to a query received over UDP (udp true)
// or TCP, or nil when a message gets none (a response, say).
func (s *Server) Respond(req *dns.Msg, udp bool) *dns.Msg {
	return s.respond(s.snap.Load(), req, udp)
}

// respond is Respond from a given snapshot.
func (s *Server) respond(snap *Snapshot, req *dns.Msg, udp bool) *dns.Msg {
	if req.Response {
		return nil
	}
	m := new(dns.Msg)
	m.SetReply(req)
	m.Compress = true
	m.RecursionAvailable = false
	opt := req.IsEdns0()
	required := 0
	switch {
	case req.Opcode != dns.OpcodeQuery:
		m.Rcode = dns.RcodeNotImplemented
	case len(req.Question) != 1:
		m.Rcode = dns.RcodeFormatError
	case opt != nil && opt.Version() != 0:
		m.Rcode = dns.RcodeBadVers // RFC 6891 §6.1.3
	default:
		required = s.answer(snap, req.Question[0], opt != nil && opt.Do(), m)
	}
	return s.finish(m, opt, udp, required, tsigRoom(req))
}

// answer fills m with the answer to one question, and returns how many
// records at the head of the additional section are required.
func (s *Server) answer(snap *Snapshot, q dns.Question, do bool, m *dns.Msg) int {
	switch q.Qclass {
	case dns.ClassINET:
	case dns.ClassCHAOS:
		s.chaos(q, m)
		return 0
	default:
		m.Rcode = dns.RcodeRefused
		return 0
	}
	switch q.Qtype {
	case dns.TypeAXFR, dns.TypeIXFR:
		m.Rcode = dns.RcodeRefused // transfers are allowed per zone, by configuration
		return 0
	case dns.TypeOPT, dns.TypeTSIG, dns.TypeTKEY, dns.TypeMAILA, dns.TypeMAILB:
		m.Rcode = dns.RcodeFormatError
		return 0
	}
	name, err := nameOf(q.Name)
	if err != nil || snap == nil {
		m.Rcode = dns.RcodeRefused
		return 0
	}
	sv := snap.find(name)
	// The parent side answers for DS at a cut (RFC 4035 §3.1.4.1): a
	// child served here too does not.
	if q.Qtype == dns.TypeDS && sv != nil && sv.origin == name && name != zone.Root {
		if parent := snap.find(name.Parent()); parent != nil {
			sv = parent
		}
	}
	if sv == nil {
		m.Rcode = dns.RcodeRefused
		return 0
	}
	return sv.respond(query{name: name, text: q.Name, qtype: q.Qtype, do: do}, m)
}

// chaos answers the CHAOS-class questions servers are asked about
// themselves (RFC 4892), if configured to.
func (s *Server) chaos(q dns.Question, m *dns.Msg) {
	var text string
	switch strings.ToLower(q.Name) {
	case "id.server.", "hostname.bind.":
		text = s.conf().Identity
	case "version.server.", "version.bind.":
		text = s.conf().Version
	}
	if text == "" || q.Qtype != dns.TypeTXT && q.Qtype != dns.TypeANY {
		m.Rcode = dns.RcodeRefused
		return
	}
	m.Authoritative = true
	m.Answer = append(m.Answer, &dns.TXT{Hdr: dns.RR_Header{Name: q.Name, Rrtype: dns.TypeTXT, Class: dns.ClassCHAOS}, Txt: []string{text}})
}

// finish adds the OPT record an EDNS query gets back and fits the
// response to the size the client can take over UDP (or TCP's), leaving
// room octets for a TSIG to be added when the message is written.
func (s *Server) finish(m *dns.Msg, opt *dns.OPT, udp bool, required, room int) *dns.Msg {
	limit := dns.MaxMsgSize
	if udp {
		limit = dns.MinMsgSize
	}
	var resp *dns.OPT
	if opt != nil {
		if udp {
			limit = max(dns.MinMsgSize, min(int(opt.UDPSize()), int(s.conf().EDNSSize)))
		}
		resp = &dns.OPT{Hdr: dns.RR_Header{Name: ".", Rrtype: dns.TypeOPT}}
		resp.SetUDPSize(s.conf().EDNSSize)
		resp.SetDo(opt.Do())
		if s.conf().NSID != "" && hasOption(opt, dns.EDNS0NSID) {
			resp.Option = append(resp.Option, &dns.EDNS0_NSID{Code: dns.EDNS0NSID, Nsid: fmt.Sprintf("%x", s.conf().NSID)})
		}
	}
	fit(m, resp, limit-room, required)
	return m
}

// fit keeps as many records of m, in order, as fit in limit octets with
// the OPT record (which always goes), and sets TC if one the response
// needs does not: an answer or authority record, or a required
// additional one (RFC 2181 §9, RFC 9471). Other additional records go
// without TC. Sizes are the packed, compressed message's (Len, which
// estimates them without packing, overestimates by tens of octets).
func fit(m *dns.Msg, opt *dns.OPT, limit, required int) {
	m.Compress = true
	all := slices.Concat(m.Answer, m.Ns, m.Extra)
	nAnswer, nNS := len(m.Answer), len(m.Ns)
	keep := func(n int) {
		m.Answer = all[:min(n, nAnswer)]
		m.Ns = all[min(n, nAnswer):min(n, nAnswer+nNS)]
		m.Extra = slices.Clip(all[min(n, nAnswer+nNS):n])
		if opt != nil {
			m.Extra = append(m.Extra, opt)
		}
	}
	var buf []byte
	fits := func(n int) bool {
		keep(n)
		if m.Len() <= limit {
			return true // Len errs on the large side: it surely fits
		}
		b, err := m.PackBuffer(buf)
		buf = b[:0]
		return err == nil && len(b) <= limit
	}
	n := len(all)
	if !fits(n) {
		// The longest prefix that fits: sizes grow with the prefix.
		n = sort.Search(len(all)+1, func(k int) bool { return !fits(k) }) - 1
		keep(max(n, 0))
	}
	if n < nAnswer+nNS+required {
		m.Truncated = true
	}
}

func hasOption(opt *dns.OPT, code uint16) bool {
	for _, o := range opt.Option {
		if o.Option() == code {
			return true
		}
	}
	return false
}

// nameOf returns a question's name as a zone key.
func nameOf(text string) (zone.Name, error) {
	buf := make([]byte, 256)
	n, err := dns.PackDomainName(dns.Fqdn(text), buf, 0, nil, false)
	if err != nil {
		return "", err
	}
	name, _, err := zone.NameFromWire(buf[:n])
	return name, err
}

// ServeDNS answers one query; it makes a Server a dns.Handler. A
// signed request whose signature does not verify gets NOTAUTH, whatever
// it asks; the response to one that does is signed (RFC 8945 §5.3).
func (s *Server) ServeDNS(w dns.ResponseWriter, req *dns.Msg) {
	_, udp := w.LocalAddr().(*net.UDPAddr)
	isTransfer := !req.Response && req.Opcode == dns.OpcodeQuery && len(req.Question) == 1 && req.Question[0].Qclass == dns.ClassINET &&
		(req.Question[0].Qtype == dns.TypeAXFR || req.Question[0].Qtype == dns.TypeIXFR)
	if req.IsTsig() != nil && !req.Response {
		if tsigErr := tsigVerdict(w.TsigStatus()); tsigErr != dns.RcodeSuccess {
			if isTransfer {
				s.metrics.transfers.WithLabelValues("other", dns.TypeToString[req.Question[0].Qtype], "bad signature").Inc()
			}
			s.rejectSigned(w, req, tsigErr, udp)
			return
		}
	}
	if req.Len() > s.conf().MaxQuerySize && !req.Response {
		m := new(dns.Msg)
		m.SetRcode(req, dns.RcodeFormatError)
		m.Question = nil
		s.sign(w, req, m)
		s.metrics.count(0, m.Rcode, udp)
		w.WriteMsg(m)
		return
	}
	if isTransfer {
		s.transfer(w, req, udp)
		return
	}
	snap := s.snap.Load()
	key, cacheable := s.cacheKeyOf(req, udp)
	cacheable = cacheable && snap != nil
	var m *dns.Msg
	var wire []byte
	var rcode int
	var kind string
	if cacheable {
		if e := snap.cache.get(key); e != nil {
			if b, ok := e.replay(req); ok {
				wire, rcode, kind = b, e.rcode, e.kind
			}
		}
	}
	if wire == nil {
		if m = s.respond(snap, req, udp); m == nil {
			return
		}
		rcode, kind = m.Rcode, responseKind(m)
		if cacheable {
			b, err := m.Pack()
			if err != nil {
				s.log.Error("packing a response", zap.Stringer("question", &req.Question[0]), zap.Error(err))
				return
			}
			wire = b
			snap.cache.put(key, &cached{wire: b, rcode: rcode, kind: kind})
		}
	}
	if udp {
		var client netip.Addr
		if a, ok := w.RemoteAddr().(*net.UDPAddr); ok {
			client = a.AddrPort().Addr()
		}
		switch s.rrl.Load().judge(client, kind, s.now()) {
		case drop:
			s.dropped.Add(1)
			s.metrics.rateLimited.WithLabelValues("drop").Inc()
			return
		case slip:
			s.slipped.Add(1)
			s.metrics.rateLimited.WithLabelValues("slip").Inc()
			t := new(dns.Msg)
			t.SetReply(req)
			t.Truncated = true
			m, wire = t, nil
		}
	}
	if wire == nil {
		s.sign(w, req, m) // the cache holds no response to a signed request
	}
	if len(req.Question) == 1 {
		s.metrics.count(req.Question[0].Qtype, rcode, udp)
	}
	var err error
	if wire != nil {
		_, err = w.Write(wire)
	} else {
		err = w.WriteMsg(m)
	}
	if err != nil {
		s.log.Debug("writing a response", zap.Stringer("client", w.RemoteAddr()), zap.Error(err))
	}
}

// Stats counts what the server did with responses.
type Stats struct {
	// RateLimited counts the UDP responses the rate limit dropped, and
	// Slipped those it sent truncated instead.
	RateLimited, Slipped uint64
}

// Stats returns the server's counts so far.
func (s *Server) Stats() Stats {
	return Stats{RateLimited: s.dropped.Load(), Slipped: s.slipped.Load()}
}

// Listen serves UDP and TCP on addr (host:port; port 0 picks a free one,
// the same for both) until Shutdown, and returns the address bound.
func (s *Server) Listen(addr string) (net.Addr, error) {
	pc, ln, err := listenBoth(addr)
	if err != nil {
		return nil, fmt.Errorf("authserver: %w", err)
	}
	s.serve(pc, ln)
	return pc.LocalAddr(), nil
}

// serve answers the queries pc (UDP) and ln (TCP) bring until Shutdown.
func (s *Server) serve(pc net.PacketConn, ln net.Listener) {
	idle := s.conf().TCPIdleTimeout
	// The key ring verifies every signed request, even with no keys
	// configured (they all get BADKEY then).
	udp := &dns.Server{PacketConn: pc, Handler: s, UDPSize: int(s.conf().EDNSSize), TsigProvider: s.keys, MsgAcceptFunc: acceptRequest}
	tcp := &dns.Server{Listener: newLimitListener(ln, s.conf().MaxTCPConnections, s.conf().MaxTCPPerClient), Handler: s,
		IdleTimeout: func() time.Duration { return idle }, ReadTimeout: idle, TsigProvider: s.keys, MsgAcceptFunc: acceptRequest}
	s.mu.Lock()
	s.servers = append(s.servers, udp, tcp)
	s.mu.Unlock()
	for _, srv := range []*dns.Server{udp, tcp} {
		started := make(chan struct{})
		srv.NotifyStartedFunc = func() { close(started) }
		go func() {
			if err := srv.ActivateAndServe(); err != nil {
				s.log.Error("serving DNS", zap.String("address", pc.LocalAddr().String()), zap.Error(err))
			}
		}()
		<-started
	}
	s.log.Info("serving DNS", zap.String("address", pc.LocalAddr().String()))
	s.polling.Do(func() {
		for _, t := range s.conf().Transfer {
			if len(t.Notify) > 0 {
				s.notifies.Go(func() { s.pollSecondaries(s.ctx, s.conf().SecondaryPoll) })
				return
			}
		}
	})
}

// acceptRequest hands every request to ServeDNS, which answers those it
// does not serve (an opcode other than QUERY, a count of questions other
// than one) itself, and signs that answer when the request's TSIG
// verifies (RFC 8945 §5.3). miekg/dns's default answers them before
// verifying the TSIG, unsigned. Responses are ignored, as the default
// does; a request's size is bounded by the transport and MaxQuerySize.
func acceptRequest(dh dns.Header) dns.MsgAcceptAction {
	const qr = 1 << 15
	if dh.Bits&qr != 0 {
		return dns.MsgIgnore
	}
	return dns.MsgAccept
}

// listenBoth binds UDP and TCP to one address. With port 0, the port the
// system picks for UDP may be taken for TCP: another is tried.
func listenBoth(addr string) (net.PacketConn, net.Listener, error) {
	_, port, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, nil, err
	}
	for try := 0; ; try++ {
		pc, err := net.ListenPacket("udp", addr)
		if err != nil {
			return nil, nil, err
		}
		ln, err := net.Listen("tcp", pc.LocalAddr().String())
		if err == nil {
			return pc, ln, nil
		}
		pc.Close()
		if port != "0" || try == 9 {
			return nil, nil, err
		}
	}
}

// Shutdown stops every listener and the notifications under way, and
// waits for the queries in progress, as long as ctx allows.
func (s *Server) Shutdown(ctx context.Context) error {
	s.stop()
	s.mu.Lock()
	servers := s.servers
	s.servers = nil
	s.mu.Unlock()
	var errs []error
	for _, srv := range servers {
		if err := srv.ShutdownContext(ctx); err != nil {
			errs = append(errs, err)
		}
	}
	done := make(chan struct{})
	go func() { s.notifies.Wait(); close(done) }()
	select {
	case <-done:
	case <-ctx.Done():
		errs = append(errs, ctx.Err())
	}
	return errors.Join(errs...)
}
