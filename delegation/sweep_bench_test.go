package delegation

import (
	"context"
	"fmt"
	"iter"
	"net/netip"
	"testing"
	"time"

	"github.com/ptzone/ptzone/delegation/lab"
	"github.com/ptzone/ptzone/internal/testkit"
	"github.com/ptzone/ptzone/internal/testkit/testdb"
	"github.com/ptzone/ptzone/store"
)

// BenchmarkSweep sweeps a registry of PTZONE_SWEEP_DOMAINS domains
// (default 100,000) hosted by providers whose two name servers each have
// an address of their own, PTZONE_SWEEP_ADDRS lab addresses in all
// (default 2,000), every answer PTZONE_SWEEP_LATENCY_MS late (default 20),
// at the default pace of 20 queries a second per address, checked by the
// lab. Run it with -benchtime 1x (bench/sweep.sh does).
func BenchmarkSweep(b *testing.B) {
	domains := testkit.EnvInt(b, "PTZONE_SWEEP_DOMAINS", 100_000)
	addrs := testkit.EnvInt(b, "PTZONE_SWEEP_ADDRS", 2_000)
	latency := time.Duration(testkit.EnvInt(b, "PTZONE_SWEEP_LATENCY_MS", 20)) * time.Millisecond
	providers := addrs / 2
	ctx := context.Background()

	l, err := lab.New()
	if err != nil {
		b.Fatal(err)
	}
	defer l.Close()
	// Provider k's name servers: ns1 at lab address k+1, ns2 at
	// k+1+providers, in another /24.
	nsOf := func(k int) []store.Nameserver {
		return []store.Nameserver{
			{Name: fmt.Sprintf("ns1.provider%d.pt", k), Addrs: []netip.Addr{lab.Addr(k + 1)}},
			{Name: fmt.Sprintf("ns2.provider%d.pt", k), Addrs: []netip.Addr{lab.Addr(k + 1 + providers)}},
		}
	}
	zones := make([][]*lab.Zone, providers)
	records := func(yield func(store.ImportRecord, error) bool) {
		for i := range domains {
			k := i % providers
			name := fmt.Sprintf("dominio%06d.pt", i)
			ns := nsOf(k)
			zones[k] = append(zones[k], &lab.Zone{Name: name, NS: []string{ns[0].Name, ns[1].Name}, Serial: 1})
			d := store.Domain{Name: name, Zone: "pt", Status: store.StatusActive, Registrar: fmt.Sprintf("REG-%d", k%40),
				TechEmail: "dns@" + name, Expires: time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC), Nameservers: ns}
			if !yield(store.ImportRecord{Line: i + 1, Domain: d}, nil) {
				return
			}
		}
	}
	db := testdb.Open(b)
	if _, err := db.Import(ctx, iter.Seq2[store.ImportRecord, error](records), store.ImportInsert); err != nil {
		b.Fatal(err)
	}
	var servers []*lab.Server
	for k := range providers {
		for _, ns := range nsOf(k) {
			s, err := l.Serve(ns.Addrs[0], 0, latency, zones[k]...)
			if err != nil {
				b.Fatal(err)
			}
			servers = append(servers, s)
		}
	}

	b.ResetTimer()
	var stats SweepStats
	for b.Loop() {
		sw := &Sweeper{Checker: &Checker{Port: l.Port}, Store: db}
		if stats, err = sw.Run(ctx); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	if stats.Checked != domains || stats.Failed != 0 {
		b.Fatalf("sweep checked %d domains, %d failing; want %d, none failing", stats.Checked, stats.Failed, domains)
	}
	peak := 0
	for _, s := range servers {
		peak = max(peak, s.PeakPerSecond())
	}
	if peak > 20 {
		b.Errorf("a lab server received %d queries in one second, above the limit of 20", peak)
	}
	b.ReportMetric(stats.Elapsed.Seconds(), "s/sweep")
	b.ReportMetric(float64(stats.Checked)/stats.Elapsed.Seconds(), "domains/s")
	b.ReportMetric(float64(stats.Queries)/float64(stats.Checked), "queries/domain")
	b.ReportMetric(float64(peak), "peak-q/s/addr")
}
