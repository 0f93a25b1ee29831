package authserver

import (
	"cmp"
	"context"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/miekg/dns"
	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap"
)

// metrics are the server's Prometheus metrics, under ptzone_.
type metrics struct {
	queries         *prometheus.CounterVec
	responses       *prometheus.CounterVec
	rateLimited     *prometheus.CounterVec
	rrlEvictions    prometheus.Counter
	transfers       *prometheus.CounterVec
	tsigErrors      *prometheus.CounterVec
	servedSerial    *prometheus.GaugeVec
	secondarySerial *prometheus.GaugeVec
	secondaryLag    *prometheus.GaugeVec
}

func newMetrics(reg prometheus.Registerer) *metrics {
	m := &metrics{
		queries: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: "ptzone", Name: "dns_queries_total",
			Help: "DNS queries answered, by query type."}, []string{"qtype"}),
		responses: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: "ptzone", Name: "dns_responses_total",
			Help: "DNS responses sent, by transport and response code."}, []string{"transport", "rcode"}),
		rateLimited: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: "ptzone", Name: "dns_rate_limited_total",
			Help: "UDP responses the rate limit dropped or sent truncated (slipped)."}, []string{"action"}),
		rrlEvictions: prometheus.NewCounter(prometheus.CounterOpts{Namespace: "ptzone", Name: "dns_rate_limit_evictions_total",
			Help: "Rate-limit buckets still in use forgotten to make room in the full table (their networks' counts start again)."}),
		transfers: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: "ptzone", Name: "zone_transfers_total",
			Help: "Zone transfers requested, by zone, kind (AXFR, IXFR) and outcome."}, []string{"zone", "kind", "outcome"}),
		tsigErrors: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: "ptzone", Name: "dns_tsig_errors_total",
			Help: "Signed requests answered NOTAUTH, by TSIG error: BADKEY (key unknown), BADSIG (MAC wrong), BADTIME (clock skew)."},
			[]string{"error"}),
		servedSerial: prometheus.NewGaugeVec(prometheus.GaugeOpts{Namespace: "ptzone", Name: "served_serial",
			Help: "SOA serial of each zone the server answers from."}, []string{"zone"}),
		secondarySerial: prometheus.NewGaugeVec(prometheus.GaugeOpts{Namespace: "ptzone", Name: "secondary_serial",
			Help: "SOA serial each secondary last answered for a zone (polled)."}, []string{"zone", "secondary"}),
		secondaryLag: prometheus.NewGaugeVec(prometheus.GaugeOpts{Namespace: "ptzone", Name: "secondary_lag_seconds",
			Help: "How long each secondary has lacked a serial the primary serves, by the serial it last answered (RFC 1982): " +
				"since the first publication after it was served; 0 when it has the serial served or a later one."},
			[]string{"zone", "secondary"}),
	}
	if reg != nil {
		for _, c := range []prometheus.Collector{m.queries, m.responses, m.rateLimited, m.rrlEvictions, m.transfers, m.tsigErrors, m.servedSerial, m.secondarySerial, m.secondaryLag} {
			reg.MustRegister(c)
		}
	}
	return m
}

// qtypeLabel bounds the query-type label to the types a TLD server is
// asked for; the rest count as "other".
func qtypeLabel(t uint16) string {
	switch t {
	case dns.TypeA, dns.TypeAAAA, dns.TypeNS, dns.TypeDS, dns.TypeSOA, dns.TypeDNSKEY, dns.TypeNSEC3PARAM, dns.TypeNSEC3,
		dns.TypeZONEMD, dns.TypeTXT, dns.TypeMX, dns.TypeCNAME, dns.TypeANY, dns.TypeRRSIG, dns.TypeAXFR, dns.TypeIXFR,
		dns.TypeSRV, dns.TypePTR, dns.TypeCAA, dns.TypeHTTPS, dns.TypeSVCB, dns.TypeTLSA:
		return dns.TypeToString[t]
	}
	return "other"
}

func rcodeLabel(rcode int) string {
	if s, ok := dns.RcodeToString[rcode]; ok {
		return s
	}
	return strconv.Itoa(rcode)
}

// count records a response to a query (of type qtype; 0 when the query
// had none to tell).
func (m *metrics) count(qtype uint16, rcode int, udp bool) {
	if qtype != 0 {
		m.queries.WithLabelValues(qtypeLabel(qtype)).Inc()
	}
	transport := "tcp"
	if udp {
		transport = "udp"
	}
	m.responses.WithLabelValues(transport, rcodeLabel(rcode)).Inc()
}

// SecondaryState is what a secondary last said of a zone.
type SecondaryState struct {
	Zone      string    `json:"zone"`
	Secondary string    `json:"secondary"`
	Serial    uint32    `json:"serial,omitempty"` // 0 when it did not answer
	Checked   time.Time `json:"checked"`
	Error     string    `json:"error,omitempty"`
	// Lag is how long it has lacked a serial served, by the last serial
	// it answered (this time or before): 0 when it has the serial served
	// or a later one, in RFC 1982 terms, or never answered.
	Lag time.Duration `json:"lag"`
}

// Secondaries returns what each secondary the zones notify last answered
// for its SOA (polled every Config.SecondaryPoll), by zone then
// secondary; none before the first poll.
func (s *Server) Secondaries() []SecondaryState {
	s.mu.Lock()
	out := make([]SecondaryState, 0, len(s.secondaries))
	for _, st := range s.secondaries {
		out = append(out, st)
	}
	s.mu.Unlock()
	slices.SortFunc(out, func(a, b SecondaryState) int {
		return cmp.Or(strings.Compare(a.Zone, b.Zone), strings.Compare(a.Secondary, b.Secondary))
	})
	return out
}

// pollSecondaries asks each secondary of each zone for its SOA serial,
// every interval, until ctx ends: the secondary_serial metric shows
// which of them follow the publications.
func (s *Server) pollSecondaries(ctx context.Context, interval time.Duration) {
	c := &dns.Client{Timeout: 2 * time.Second}
	for {
		snap := s.snap.Load()
		if snap != nil {
			for _, sv := range snap.zones {
				origin := sv.origin.String()
				s.metrics.servedSerial.WithLabelValues(origin).Set(float64(sv.soa.SOASerial()))
				for _, target := range s.conf().Transfer[origin].Notify {
					q := new(dns.Msg)
					q.SetQuestion(origin, dns.TypeSOA)
					r, _, err := c.ExchangeContext(ctx, q, target)
					if ctx.Err() != nil {
						return
					}
					st := SecondaryState{Zone: origin, Secondary: target, Checked: time.Now()}
					var soa *dns.SOA
					if err == nil && len(r.Answer) > 0 {
						soa, _ = r.Answer[0].(*dns.SOA)
					}
					switch {
					case err != nil:
						st.Error = err.Error()
					case soa == nil:
						st.Error = "no SOA in the answer (" + dns.RcodeToString[r.Rcode] + ")"
					default:
						st.Serial = soa.Serial
					}
					if st.Error != "" {
						s.log.Debug("secondary not answering its SOA", zap.String("zone", origin), zap.String("secondary", target), zap.String("error", st.Error))
					}
					key := [2]string{origin, target}
					s.mu.Lock()
					if s.secondaries == nil {
						s.secondaries = map[[2]string]SecondaryState{}
						s.answered = map[[2]string]uint32{}
					}
					if st.Error == "" {
						s.answered[key] = st.Serial
					}
					last, ever := s.answered[key]
					if ever {
						st.Lag = s.lagOf(origin, last, s.now())
					}
					s.secondaries[key] = st
					s.mu.Unlock()
					if st.Error == "" { // the metric keeps the last serial answered
						s.metrics.secondarySerial.WithLabelValues(origin, target).Set(float64(st.Serial))
					}
					if ever { // and the lag grows while it answers no more
						s.metrics.secondaryLag.WithLabelValues(origin, target).Set(st.Lag.Seconds())
					}
				}
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(interval):
		}
	}
}
