package daemon

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"

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
			Help: "Zone publications, by zone and outcome (published, unchanged, refused, failed, dry_run)."}, []string{"zone", "outcome"}),
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
	}))
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
		for _, r := range o.Refusals {
			m.refusals.WithLabelValues(o.Zone, r.Code).Inc()
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
