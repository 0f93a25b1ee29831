package daemon

import (
	"context"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap"

	"github.com/ptzone/ptzone/publish"
	"github.com/ptzone/ptzone/store"
)

// metrics are the daemon's own: publications and the publisher's role.
// The server's (ptzone_dns_*), the sweep's and the jobs' are their
// packages'.
type metrics struct {
	publishes     *prometheus.CounterVec
	duration      prometheus.Gauge
	refusals      *prometheus.CounterVec
	serial        *prometheus.GaugeVec
	records       *prometheus.GaugeVec
	delegations   *prometheus.GaugeVec
	expiry        *prometheus.GaugeVec
	lastPublished *prometheus.GaugeVec
}

func newMetrics(reg prometheus.Registerer) *metrics {
	m := &metrics{
		publishes: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "ptzone_publish_zones_total",
			Help: "Zone publications, by zone and outcome (published, unchanged, frozen, refused, failed, dry_run)."}, []string{"zone", "outcome"}),
		duration: prometheus.NewGauge(prometheus.GaugeOpts{Name: "ptzone_publish_last_duration_seconds",
			Help: "How long the last publication run took, every zone."}),
		refusals: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "ptzone_publish_guard_refusals_total",
			Help: "The guard's refusals, by zone and reason."}, []string{"zone", "reason"}),
		serial: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "ptzone_zone_published_serial",
			Help: "The SOA serial last published, by zone."}, []string{"zone"}),
		records: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "ptzone_zone_records",
			Help: "Records in the zone last published, by zone."}, []string{"zone"}),
		delegations: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "ptzone_zone_delegations",
			Help: "Delegations in the zone last published, by zone and kind (signed: with DS)."}, []string{"zone", "kind"}),
		expiry: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "ptzone_zone_signature_expiry_timestamp_seconds",
			Help: "When the first signature of the zone last published expires, in Unix time."}, []string{"zone"}),
		lastPublished: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "ptzone_publish_last_success_timestamp_seconds",
			Help: "When each zone was last published or found unchanged, in Unix time."}, []string{"zone"}),
	}
	reg.MustRegister(m.publishes, m.duration, m.refusals, m.serial, m.records, m.delegations, m.expiry, m.lastPublished)
	return m
}

// register adds the gauges read from the daemon's state when scraped.
func (m *metrics) register(reg prometheus.Registerer, d *Daemon) {
	reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "ptzone_publisher",
		Help: "1 while this daemon holds the publisher's lock."}, func() float64 {
		if d.IsPublisher() {
			return 1
		}
		return 0
	}), prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "ptzone_database_up",
		Help: "1 while the database answers (as last probed), 0 while it is unreachable and the jobs wait."}, func() float64 {
		if d.db.state().Up {
			return 1
		}
		return 0
	}), newHealthCollector(d))
}

// published records a publication run.
func (m *metrics) published(out []publish.ZoneOutcome, err error, took time.Duration) {
	m.duration.Set(took.Seconds())
	if err != nil {
		m.publishes.WithLabelValues("", string(store.OutcomeFailed)).Inc()
		return
	}
	for _, o := range out {
		m.publishes.WithLabelValues(o.Zone, string(o.Outcome)).Inc()
		// A zone frozen is an operator's doing, not the guard's refusal.
		for _, r := range o.Refusals {
			if o.Outcome != publish.OutcomeFrozen {
				m.refusals.WithLabelValues(o.Zone, r.Code).Inc()
			}
		}
		if o.Outcome != store.OutcomePublished && o.Outcome != publish.OutcomeUnchanged {
			continue
		}
		m.lastPublished.WithLabelValues(o.Zone).Set(float64(time.Now().Unix()))
		m.serial.WithLabelValues(o.Zone).Set(float64(o.Serial))
		if o.Final != nil {
			m.records.WithLabelValues(o.Zone).Set(float64(o.Final.Stats().Records))
		}
		if o.Build != nil {
			m.delegations.WithLabelValues(o.Zone, "all").Set(float64(o.Build.Delegations))
			m.delegations.WithLabelValues(o.Zone, "signed").Set(float64(o.Build.Secure))
		}
		if o.Report != nil && !o.Report.EarliestExpiration.IsZero() {
			m.expiry.WithLabelValues(o.Zone).Set(float64(o.Report.EarliestExpiration.Unix()))
		}
	}
}

// healthCollector reads, when scraped, what lives in the store and the
// key directory: the delegations by the gate's state and last verdict,
// the outbox, the freezes, and the keys' states. The store is asked at
// most every healthEvery, with a deadline: a scrape every few seconds
// must not become a scan of two million domains every few seconds.
type healthCollector struct {
	d *Daemon

	mu      sync.Mutex
	at      time.Time
	health  store.Health
	freezes []store.Freeze
	lastErr error

	delegations, verdicts, outbox, outboxAge, frozenDesc, keys *prometheus.Desc
}

const healthEvery = 30 * time.Second

func newHealthCollector(d *Daemon) *healthCollector {
	return &healthCollector{d: d,
		delegations: prometheus.NewDesc("ptzone_delegations", "Active domains with name servers, by the gate's state (unchecked, refused, passing, failing, withheld).", []string{"state"}, nil),
		verdicts:    prometheus.NewDesc("ptzone_delegation_last_verdict", "Active domains with name servers, by their last check's verdict.", []string{"verdict"}, nil),
		outbox:      prometheus.NewDesc("ptzone_outbox_pending", "Notices waiting in the outbox.", nil, nil),
		outboxAge:   prometheus.NewDesc("ptzone_outbox_oldest_age_seconds", "How long the oldest notice has waited in the outbox; 0 when none waits.", nil, nil),
		frozenDesc:  prometheus.NewDesc("ptzone_publishing_frozen", "1 while an operator has the zone's publishing frozen (the zone's own freeze or every zone's), by zone.", []string{"zone"}, nil),
		keys:        prometheus.NewDesc("ptzone_dnssec_keys", "The zones' DNSSEC keys, by zone, role and state.", []string{"zone", "role", "state"}, nil),
	}
}

func (c *healthCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{c.delegations, c.verdicts, c.outbox, c.outboxAge, c.frozenDesc, c.keys} {
		ch <- d
	}
}

func (c *healthCollector) Collect(ch chan<- prometheus.Metric) {
	// While the database is unreachable a scrape does not wait on it,
	// and what was read from it before is not shown as current.
	up := c.d.db.state().Up
	c.mu.Lock()
	if up && time.Since(c.at) >= healthEvery {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		h, err := c.d.deps.Registry.Health(ctx)
		var freezes []store.Freeze
		if err == nil {
			freezes, err = c.d.deps.Registry.Freezes(ctx)
		}
		cancel()
		if err != nil {
			if c.lastErr == nil {
				c.d.log.Warn("metrics: reading the registry's health", zap.Error(err))
			}
			c.lastErr = err
		} else {
			c.at, c.health, c.freezes, c.lastErr = time.Now(), h, freezes, nil
		}
	}
	h, freezes, have := c.health, c.freezes, up && !c.at.IsZero()
	c.mu.Unlock()
	if have {
		for state, n := range h.Delegations {
			ch <- prometheus.MustNewConstMetric(c.delegations, prometheus.GaugeValue, float64(n), state)
		}
		for v, n := range h.Verdicts {
			ch <- prometheus.MustNewConstMetric(c.verdicts, prometheus.GaugeValue, float64(n), string(v))
		}
		ch <- prometheus.MustNewConstMetric(c.outbox, prometheus.GaugeValue, float64(h.OutboxPending))
		age := 0.0
		if !h.OutboxOldest.IsZero() {
			age = max(0, c.d.deps.Now().Sub(h.OutboxOldest).Seconds())
		}
		ch <- prometheus.MustNewConstMetric(c.outboxAge, prometheus.GaugeValue, age)
		for _, origin := range c.d.Config().ServedZones() {
			name := strings.TrimSuffix(origin, ".")
			f := 0.0
			if _, frozen := store.FreezeOf(freezes, name); frozen {
				f = 1
			}
			ch <- prometheus.MustNewConstMetric(c.frozenDesc, prometheus.GaugeValue, f, name)
		}
	}
	counts := map[[3]string]int{}
	for _, origin := range c.d.Config().ServedZones() {
		name := strings.TrimSuffix(origin, ".")
		keys, err := c.d.keyStates(name)
		if err != nil {
			continue // the status says why; a scrape goes on
		}
		for _, k := range keys {
			counts[[3]string{name, k.Role, k.State}]++
		}
	}
	for k, n := range counts {
		ch <- prometheus.MustNewConstMetric(c.keys, prometheus.GaugeValue, float64(n), k[0], k[1], k[2])
	}
}
