package daemon

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/miekg/dns"
	"go.uber.org/zap"
	"go.uber.org/zap/zaptest"

	"github.com/ptzone/ptzone/authserver"
	"github.com/ptzone/ptzone/dnssec"
	"github.com/ptzone/ptzone/dnssec/keyfile"
	"github.com/ptzone/ptzone/internal/testkit"
	"github.com/ptzone/ptzone/internal/testkit/testdb"
	"github.com/ptzone/ptzone/internal/tooltest"
	"github.com/ptzone/ptzone/publish"
	"github.com/ptzone/ptzone/store"
	"github.com/ptzone/ptzone/store/synth"
	"github.com/ptzone/ptzone/zone"
	"github.com/ptzone/ptzone/zonegen"
)

// soakParams are the soak's sizes: small by default, so that it runs in
// make test (about 40 s under -race on two busy cores), larger when
// bench/soak.sh sets them.
type soakParams struct {
	// duration is what the publications are spread over
	// (PTZONE_SOAK_DURATION, seconds): the queries run from its start
	// until the last publication is served.
	duration time.Duration
	// publications is how many publications swap under the queries
	// (PTZONE_SOAK_PUBLICATIONS); every fourth is a full build.
	publications int
	// domains is how many synthetic domains join the sample registry
	// (PTZONE_SOAK_DOMAINS).
	domains int
	// qps is the rate of direct queries, all workers together
	// (PTZONE_SOAK_QPS), and workers how many send them
	// (PTZONE_SOAK_WORKERS), each one query at a time.
	qps, workers int
	// probeQPS is the rate of the queries to the validating resolver
	// (PTZONE_SOAK_PROBE_QPS).
	probeQPS int
}

func soakParamsFromEnv(t *testing.T) soakParams {
	return soakParams{
		duration:     time.Duration(testkit.EnvInt(t, "PTZONE_SOAK_DURATION", 30)) * time.Second,
		publications: testkit.EnvInt(t, "PTZONE_SOAK_PUBLICATIONS", 20),
		domains:      testkit.EnvInt(t, "PTZONE_SOAK_DOMAINS", 500),
		qps:          testkit.EnvInt(t, "PTZONE_SOAK_QPS", 200),
		workers:      testkit.EnvInt(t, "PTZONE_SOAK_WORKERS", 4),
		probeQPS:     testkit.EnvInt(t, "PTZONE_SOAK_PROBE_QPS", 20),
	}
}

// soakConfig is the daemon's configuration in the soak: every job run by
// the test alone, rate limiting off (the load comes from one address,
// which the limit would cut to 20 responses a second), and the guard
// judging each publication by its default limits, but not summing the
// changes of the publications of the last day: the soak publishes a
// day's worth of changes in a minute.
const soakConfig = `node = "soak"
[publish]
assume_checked = true
[schedule]
publish = "off"
checks = "off"
sweep = "off"
notify = "off"
prune = "off"
[server.rate_limit]
off = true
[zone_defaults.guard]
window = "0s"
`

// soakHeapBound bounds the live heap at the end of the soak against the
// live heap at its start, both serving a version just published (its
// response cache still nearly empty): a quarter more, for the domains the
// soak adds, and 1 MiB for the allocator's and the metrics' own. Holding
// on to the zones of every publication (old snapshots, their response
// caches, the journal's patches) breaks it: kept by Server.Swap, the
// twenty versions of the default soak end it at 9.0 MiB from 1.7.
func soakHeapBound(start uint64) uint64 { return start + start/4 + 1<<20 }

// soakGoroutineSlack is how many more goroutines than at the start may
// be left when the load has stopped (the runtime's and the test
// framework's come and go).
const soakGoroutineSlack = 3

// TestSoak drives the daemon's DNS server over its sockets, UDP and TCP,
// DO set, with a steady mix of queries (referrals with DS or with NSEC3
// proofs, names that do not exist or no longer do, glue, SOA, DNSKEY,
// apex data a zone lacks) from several workers, rate limiting off, while
// twenty publications (every fourth a full build, the others
// incremental) swap the zones underneath; between publications the
// registry changes: domains added, removed, moved to other name servers
// or glue, DS replaced, and the DS of a signed child rolled from one KSK
// to the other (Art 5: DNSSEC carries the registrant's DS). Meanwhile
// unbound, validating from a trust anchor for a test root that delegates
// the zones to the daemon, resolves a sample (the zones' SOA and DNSKEY,
// DS, names in the signed child and names that do not exist).
//
// It asserts: no query unanswered, no SERVFAIL from either, every
// secure name secure at unbound and no validation failure in its log;
// every response's records (answer, authority, additional: signatures
// and NSEC3 proofs included) all in one single published version of its
// zone, kept by serial as each publication returns; every publication
// published; and at the end the live heap within soakHeapBound of the
// start's and the goroutines back to the start's.
func TestSoak(t *testing.T) {
	unboundPath := tooltest.Require(t, "unbound")
	p := soakParamsFromEnv(t)
	ctx := context.Background()

	// The registry: the sample, synthetic domains, and validado.pt, a
	// child signed with two KSKs whose DS the registry rolls.
	db := testdb.Sample(t)
	domains := soakRegistry(t, db, p.domains)
	goroutinesBefore := runtime.NumGoroutine() // the store's are there to stay
	child := newSoakChild(t)
	registrar := domains[0].Registrar
	if err := db.PutDomain(ctx, child.domain(registrar, 0)); err != nil {
		t.Fatal(err)
	}
	probes, churnable := soakProbes(domains)
	ch := &soakChurn{db: db, pool: churnable, registrar: registrar, child: child}

	keys := t.TempDir()
	testkit.GenerateKeyFiles(t, keys, time.Now().Add(-time.Hour), zonegen.DefaultZones()...)
	cfg, err := ParseConfig("soak.toml", soakConfig)
	if err != nil {
		t.Fatal(err)
	}
	cfg.Publish.KeysDir = keys
	d, err := New(cfg, Deps{Registry: db, DataDir: t.TempDir(), Log: zaptest.NewLogger(t, zaptest.Level(zap.WarnLevel))})
	if err != nil {
		t.Fatal(err)
	}
	if err := d.Start(ctx, []string{"127.0.0.1:0"}, ""); err != nil {
		t.Fatal(err)
	}
	daemonStopped := false
	stopDaemon := func() {
		if !daemonStopped {
			daemonStopped = true
			sctx, cancel := context.WithTimeout(ctx, 10*time.Second)
			defer cancel()
			d.Stop(sctx)
		}
	}
	t.Cleanup(stopDaemon)
	addr := d.DNSAddrs()[0].String()

	versions := &servedVersions{keep: 5, zones: map[string][]servedVersion{}}
	stats := newSoakStats()
	var pubTimes []time.Duration // from the request to the new version served
	publishOnce := func(k int, full bool) {
		versions.begin()
		began := time.Now()
		out, err := d.Publish(ctx, publish.Request{TriggeredBy: "soak", Full: full})
		pubTimes = append(pubTimes, time.Since(began))
		var served []*zone.Zone
		defer func() { versions.end(served) }()
		if err != nil {
			stats.fail("publication", "publication %d: %v", k, err)
			return
		}
		stats.add("publications")
		for _, o := range out {
			switch o.Outcome {
			case store.OutcomePublished:
				stats.add("zones published")
				if s := servedSerial(d, o.Zone); s != o.Serial {
					stats.fail("publication", "publication %d: %s published at serial %d, but %d served as Publish returns", k, o.Zone, o.Serial, s)
				}
			case publish.OutcomeUnchanged:
			default:
				stats.fail("publication", "publication %d: %s %s: %v", k, o.Zone, o.Outcome, o.Refusals)
				continue
			}
			served = append(served, o.Final)
			if o.Zone == "pt" && o.Outcome == store.OutcomePublished {
				stats.add("pt publications, " + o.Mode)
			}
		}
	}
	publishOnce(0, true)
	if stats.errors() > 0 {
		t.Fatalf("the first publication: %s", stats.report())
	}

	// The world around: a root, the child's server, unbound.
	childSrv := soakServe(t, child.zone)
	root, anchor := soakRoot(t, keys)
	rootSrv := soakServe(t, root)
	stopServers := func() {
		sctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		defer cancel()
		childSrv.Shutdown(sctx)
		rootSrv.Shutdown(sctx)
	}
	t.Cleanup(stopServers)
	resolver, unboundLog, stopUnbound := startSoakUnbound(t, unboundPath, anchor, rootSrv, childSrv, addr, d)
	t.Cleanup(stopUnbound)
	if r := soakAskUnbound(resolver, "pt.", dns.TypeSOA, 30*time.Second); r == nil || r.Rcode != dns.RcodeSuccess || !r.AuthenticatedData {
		t.Fatalf("unbound does not find pt. SOA secure: %v\n%s", r, unboundLog())
	}

	// The heap is measured with the test's own data the same at the
	// start and at the end: the registry's list dropped, what the load
	// and the churn use kept until the end's measure.
	pool := newSoakPool(domains, p.publications, d)
	judge := &soakJudge{versions: versions, stats: stats}
	registered := len(domains)
	domains = nil
	heapStart := liveHeap()
	goroutinesServing := runtime.NumGoroutine()

	loadCtx, stopLoad := context.WithCancel(ctx)
	var load sync.WaitGroup
	every := time.Duration(p.workers) * time.Second / time.Duration(p.qps)
	for w := range p.workers {
		load.Go(func() {
			soakWorker(loadCtx, addr, every, rand.New(rand.NewPCG(22, uint64(w))), pool, judge)
		})
	}
	for i := range 2 {
		load.Go(func() {
			soakProber(loadCtx, resolver, probes, 2*time.Second/time.Duration(p.probeQPS), i, stats)
		})
	}

	// The publications, spread over the duration; the load stops when
	// the last one is served, so that the heap is measured, as at the
	// start, serving a version just published.
	start := time.Now()
	for k := 1; k <= p.publications; k++ {
		time.Sleep(time.Until(start.Add(time.Duration(k) * p.duration / time.Duration(p.publications))))
		ch.step(t, k)
		publishOnce(k, k%4 == 0)
	}
	stopLoad()
	load.Wait()
	judge.later.Wait()
	elapsed := time.Since(start)

	// The figures, then what they must be.
	bogus := strings.Count(unboundLog(), "validation failure")
	errs := func(kinds ...string) int {
		n := 0
		for _, k := range kinds {
			n += stats.count("error " + k)
		}
		return n
	}
	slices.Sort(pubTimes)
	t.Logf("soak: registry: %d domains; between publications %s", registered, ch.summary())
	t.Logf("soak: publications: %d in %v under load, after 1 before it; of pt %d full and %d incremental; refused or failed %d; each %v (median), %v (longest)",
		stats.count("publications")-1, elapsed.Round(time.Second), stats.count("pt publications, full"), stats.count("pt publications, incremental"),
		errs("publication"), pubTimes[len(pubTimes)/2].Round(time.Millisecond), pubTimes[len(pubTimes)-1].Round(time.Millisecond))
	t.Logf("soak: direct queries: %d sent (%.0f/s), %d answered; %d UDP, %d TCP, %d truncated and asked again over TCP; timeouts %d, SERVFAIL %d, other rcodes %d, mixed versions %d, stale %d, DNSSEC records missing %d",
		stats.count("queries"), float64(stats.count("queries"))/elapsed.Seconds(), stats.count("queries")-errs("timeout"),
		stats.count("udp"), stats.count("tcp"), stats.count("truncated"), errs("timeout"), errs("SERVFAIL"),
		errs("REFUSED", "FORMERR", "NOTIMP", "NOTAUTH"), errs("mixed"), errs("stale"), errs("dnssec"))
	t.Logf("soak: answers: %d referrals with DS, %d with an NSEC3 proof, %d NXDOMAIN, %d NODATA, %d answers; %d serials of pt seen",
		stats.count("referral with DS"), stats.count("referral with NSEC3"), stats.count("nxdomain"), stats.count("nodata"),
		stats.count("answer"), stats.distinctSerials())
	t.Logf("soak: unbound: %d queries, %d answered as expected, %d secure; timeouts %d, SERVFAIL %d, wrong rcode %d, insecure %d, validation failures logged %d",
		stats.count("unbound queries"), stats.count("unbound answered"), stats.count("unbound secure"),
		errs("unbound timeout"), errs("unbound SERVFAIL"), errs("unbound rcode"), errs("unbound insecure"), bogus)
	if stats.errors() > 0 {
		t.Errorf("soak errors:\n%s", stats.report())
	}
	if bogus > 0 {
		t.Errorf("unbound logged %d validation failures:\n%s", bogus, tooltest.Tail(unboundLog(), 20))
	}
	if stats.count("publications") != p.publications+1 || stats.count("pt publications, full") < 2 || stats.count("pt publications, incremental") == 0 {
		t.Errorf("publications: %d (want %d), of pt %d full, %d incremental", stats.count("publications"), p.publications+1,
			stats.count("pt publications, full"), stats.count("pt publications, incremental"))
	}
	// The mix did what it says: both transports, both kinds of referral,
	// negative answers, versions swapped under the queries.
	for _, what := range []string{"udp", "tcp", "referral with DS", "referral with NSEC3", "nxdomain", "nodata", "answer", "unbound secure"} {
		if stats.count(what) == 0 {
			t.Errorf("no %s in the soak", what)
		}
	}
	if seen := stats.distinctSerials(); seen < p.publications/2 {
		t.Errorf("responses came from %d serials of pt; %d were published", seen, p.publications+1)
	}

	// Nothing held on to: the last version's heap, and no goroutine left
	// by the queries, then none by the daemon.
	versions.trim(1)
	heapEnd := liveHeap()
	runtime.KeepAlive(pool)
	runtime.KeepAlive(ch)
	goroutinesServingEnd := settledGoroutines(goroutinesServing + soakGoroutineSlack)
	stopUnbound()
	stopServers()
	stopDaemon()
	goroutinesAfter := settledGoroutines(goroutinesBefore + soakGoroutineSlack)
	t.Logf("soak: live heap %.1f MiB at the start, %.1f MiB at the end (bound %.1f MiB); goroutines %d before the soak, %d serving at its start, %d at its end, %d once stopped",
		mib(heapStart), mib(heapEnd), mib(soakHeapBound(heapStart)), goroutinesBefore, goroutinesServing, goroutinesServingEnd, goroutinesAfter)
	t.Logf("soak: errors: %d", stats.errors()+bogus)
	if heapEnd > soakHeapBound(heapStart) {
		t.Errorf("live heap %.1f MiB at the end, more than %.1f MiB (%.1f MiB at the start)", mib(heapEnd), mib(soakHeapBound(heapStart)), mib(heapStart))
	}
	if goroutinesServingEnd > goroutinesServing+soakGoroutineSlack {
		t.Errorf("%d goroutines once the load stopped, %d serving at the start", goroutinesServingEnd, goroutinesServing)
	}
	if goroutinesAfter > goroutinesBefore+soakGoroutineSlack {
		buf := make([]byte, 1<<20)
		t.Errorf("%d goroutines once everything stopped, %d before the soak:\n%s", goroutinesAfter, goroutinesBefore, buf[:runtime.Stack(buf, true)])
	}
}

// liveHeap returns the bytes of live heap objects after a collection.
func liveHeap() uint64 {
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapAlloc
}

func mib(n uint64) float64 { return float64(n) / (1 << 20) }

// settledGoroutines waits up to ten seconds for the goroutines to be at
// most want, and returns their number.
func settledGoroutines(want int) int {
	n := runtime.NumGoroutine()
	for deadline := time.Now().Add(10 * time.Second); n > want && time.Now().Before(deadline); n = runtime.NumGoroutine() {
		time.Sleep(50 * time.Millisecond)
	}
	return n
}

// soakRegistry adds n synthetic domains to the sample registry in db and
// returns every domain it then holds.
func soakRegistry(t *testing.T, db store.Registry, n int) []store.Domain {
	t.Helper()
	ctx := context.Background()
	read := func() []store.Domain {
		snap, err := db.Snapshot(ctx)
		if err != nil {
			t.Fatal(err)
		}
		defer snap.Close()
		var out []store.Domain
		for c, err := range snap.Domains(ctx, store.Filter{}) {
			if err != nil {
				t.Fatal(err)
			}
			out = append(out, c.Domain)
		}
		return out
	}
	have := map[string]bool{}
	for _, d := range read() {
		have[d.Name] = true
	}
	src := func(yield func(store.ImportRecord, error) bool) {
		line := 0
		for d := range synth.Generate(synth.Options{Domains: n, Seed: 22}) {
			if have[d.Name] {
				continue
			}
			line++
			if !yield(store.ImportRecord{Line: line, Domain: d}, nil) {
				return
			}
		}
	}
	if _, err := db.Import(ctx, src, store.ImportInsert); err != nil {
		t.Fatalf("importing %d synthetic domains: %v", n, err)
	}
	return read()
}

// soakChild is validado.pt: a child zone signed with two KSKs, served on
// loopback, whose DS the registry rolls from one KSK to the other.
type soakChild struct {
	zone *zone.Zone
	ds   [2]store.DS // KSK 1's SHA-256 digest, KSK 2's SHA-384
}

const soakChildName = "validado.pt"

func newSoakChild(t *testing.T) *soakChild {
	t.Helper()
	origin := zone.MustParseName(soakChildName + ".")
	keys := testkit.GenerateKeys(t, origin, time.Now().Add(-time.Hour), dnssec.GenerateOptions{SEP: true}, dnssec.GenerateOptions{SEP: true}, dnssec.GenerateOptions{})
	text := `validado.pt. 3600 IN SOA ns1.validado.pt. hostmaster.validado.pt. 1 1800 900 604800 600
validado.pt. 3600 IN NS ns1.validado.pt.
validado.pt. 3600 IN NS ns2.validado.pt.
ns1.validado.pt. 3600 IN A 192.0.2.53
ns2.validado.pt. 3600 IN A 198.51.100.53
www.validado.pt. 3600 IN A 192.0.2.1
`
	c := &soakChild{zone: testkit.Sign(t, testkit.ReadZone(t, origin, text), keys, time.Now(), func(o *dnssec.SignOptions) { o.NSEC3.OptOut = false })}
	for i, digest := range []uint8{dns.SHA256, dns.SHA384} {
		ds, err := keys[i].DS(digest)
		if err != nil {
			t.Fatal(err)
		}
		c.ds[i] = store.DS{KeyTag: ds.KeyTag, Algorithm: ds.Algorithm, DigestType: ds.DigestType, Digest: strings.ToUpper(hex.EncodeToString(ds.Digest))}
	}
	return c
}

// domain returns validado.pt as registered at step k of the roll: KSK 1's
// DS, both, KSK 2's, both, and again; each of them validates the child.
func (c *soakChild) domain(registrar string, k int) store.Domain {
	var ds []store.DS
	switch k % 4 {
	case 0:
		ds = []store.DS{c.ds[0]}
	case 1, 3:
		ds = []store.DS{c.ds[0], c.ds[1]}
	case 2:
		ds = []store.DS{c.ds[1]}
	}
	return store.Domain{Name: soakChildName, Zone: "pt", Status: store.StatusActive, Registrar: registrar,
		Expires: time.Date(time.Now().Year()+2, 1, 1, 0, 0, 0, 0, time.UTC), TechEmail: "hostmaster@" + soakChildName,
		Nameservers: []store.Nameserver{{Name: "ns1." + soakChildName, Addrs: []netip.Addr{netip.MustParseAddr("192.0.2.53")}},
			{Name: "ns2." + soakChildName, Addrs: []netip.Addr{netip.MustParseAddr("198.51.100.53")}}},
		DS: ds}
}

// soakProbe is one question to the validating resolver and what it must
// answer; a name with %d gets the probe's number (a name not cached).
type soakProbe struct {
	name   string
	qtype  uint16
	rcode  int
	secure bool
}

// soakProbes picks the resolver's sample from the registry, and returns
// the active delegations the churn may change: the others.
func soakProbes(domains []store.Domain) (probes []soakProbe, churnable []store.Domain) {
	probes = []soakProbe{
		{"pt.", dns.TypeSOA, dns.RcodeSuccess, true},
		{"pt.", dns.TypeDNSKEY, dns.RcodeSuccess, true},
		{"com.pt.", dns.TypeSOA, dns.RcodeSuccess, true},
		{"org.pt.", dns.TypeDNSKEY, dns.RcodeSuccess, true},
		{"www.validado.pt.", dns.TypeA, dns.RcodeSuccess, true},
		{"nx%d.validado.pt.", dns.TypeA, dns.RcodeNameError, true}, // no opt-out in the child
		{"validado.pt.", dns.TypeDS, dns.RcodeSuccess, true},
		{"nx%d.pt.", dns.TypeA, dns.RcodeNameError, false}, // an opt-out span: insecure
		{"nx%d.com.pt.", dns.TypeA, dns.RcodeNameError, false},
	}
	signed, unsigned := 0, 0
	for _, d := range domains {
		if d.Status != store.StatusActive || len(d.Nameservers) == 0 || d.Name == soakChildName {
			continue
		}
		switch {
		case d.Zone == "pt" && len(d.DS) > 0 && signed < 3:
			signed++
			probes = append(probes, soakProbe{d.Name + ".", dns.TypeDS, dns.RcodeSuccess, true})
		case d.Zone == "pt" && len(d.DS) == 0 && unsigned < 2:
			unsigned++ // no DS: NODATA, insecure under opt-out
			probes = append(probes, soakProbe{d.Name + ".", dns.TypeDS, dns.RcodeSuccess, false})
		default:
			churnable = append(churnable, d)
		}
	}
	rand.New(rand.NewPCG(22, 5)).Shuffle(len(churnable), func(i, j int) { churnable[i], churnable[j] = churnable[j], churnable[i] })
	return probes, churnable
}

// soakChurn changes the registry between publications, each change on a
// domain not changed before.
type soakChurn struct {
	db        store.DomainWriter
	pool      []store.Domain
	registrar string
	child     *soakChild
	counts    map[string]int
}

// addedName is the name of the j-th domain step k adds.
func addedName(k, j int) string {
	if j == 0 {
		return fmt.Sprintf("novo-%d.pt", k)
	}
	return fmt.Sprintf("novo-%d.com.pt", k)
}

// next returns the first domain of the pool that fits, taking it out.
func (c *soakChurn) next(t *testing.T, fits func(store.Domain) bool) store.Domain {
	t.Helper()
	for i, d := range c.pool {
		if fits(d) {
			c.pool = slices.Delete(c.pool, i, i+1)
			return d
		}
	}
	t.Fatal("the soak changed every domain of the registry it could: more domains (PTZONE_SOAK_DOMAINS) or fewer publications")
	return store.Domain{}
}

// glued reports whether a domain has glue: name servers inside it.
func glued(d store.Domain) bool {
	for _, ns := range d.Nameservers {
		if len(ns.Addrs) > 0 {
			return true
		}
	}
	return false
}

// step k adds two domains (one in pt with glue and a DS, one in com.pt
// delegated outside), removes one, moves one without glue to other name
// servers, renumbers the glue of one, replaces the DS of one, and rolls
// the child's DS. Each category of change stays under the guard's count
// (publish.DefaultThresholds): glue, the most, changes for at most eight
// host names.
func (c *soakChurn) step(t *testing.T, k int) {
	t.Helper()
	ctx := context.Background()
	if c.counts == nil {
		c.counts = map[string]int{}
	}
	put := func(what string, d store.Domain) {
		if err := c.db.PutDomain(ctx, d); err != nil {
			t.Fatalf("soak step %d: %s %s: %v", k, what, d.Name, err)
		}
		c.counts[what]++
	}
	expires := time.Date(time.Now().Year()+2, 1, 1, 0, 0, 0, 0, time.UTC)
	inPT := addedName(k, 0)
	put("added", store.Domain{Name: inPT, Zone: "pt", Status: store.StatusActive, Registrar: c.registrar, Expires: expires,
		Nameservers: []store.Nameserver{{Name: "ns1." + inPT, Addrs: []netip.Addr{netip.MustParseAddr(fmt.Sprintf("192.0.2.%d", 1+k%250))}},
			{Name: "ns2." + inPT, Addrs: []netip.Addr{netip.MustParseAddr(fmt.Sprintf("2001:db8::%x", k))}}},
		DS: []store.DS{soakDS(inPT, k)}})
	put("added", store.Domain{Name: addedName(k, 1), Zone: "com.pt", Status: store.StatusActive, Registrar: c.registrar, Expires: expires,
		Nameservers: []store.Nameserver{{Name: "ns1.alojamento.net"}, {Name: "ns2.alojamento.net"}}})

	gone := c.next(t, func(store.Domain) bool { return true })
	if err := c.db.SetStatus(ctx, gone.Name, store.StatusRemoved); err != nil {
		t.Fatalf("soak step %d: removing %s: %v", k, gone.Name, err)
	}
	c.counts["removed"]++

	moved := c.next(t, func(d store.Domain) bool { return !glued(d) })
	moved.Nameservers = []store.Nameserver{{Name: fmt.Sprintf("ns1.mudanca-%d.net", k)}, {Name: fmt.Sprintf("ns2.mudanca-%d.net", k)}}
	put("moved to other name servers", moved)

	renumbered := c.next(t, glued)
	for i, ns := range renumbered.Nameservers {
		if len(ns.Addrs) > 0 {
			renumbered.Nameservers[i].Addrs = []netip.Addr{netip.MustParseAddr(fmt.Sprintf("203.0.113.%d", 1+(k*7+i)%250))}
		}
	}
	put("given new glue", renumbered)

	signed := c.next(t, func(store.Domain) bool { return true })
	signed.DS = []store.DS{soakDS(signed.Name, k)}
	put("DS replaced", signed)

	put("child DS rolled", c.child.domain(c.registrar, k))
}

func (c *soakChurn) summary() string {
	var parts []string
	for _, what := range []string{"added", "removed", "moved to other name servers", "given new glue", "DS replaced", "child DS rolled"} {
		parts = append(parts, fmt.Sprintf("%d %s", c.counts[what], what))
	}
	return strings.Join(parts, ", ")
}

// soakDS is a DS record for a key the child does not have: the registry
// holds DS of any key (a resolver finds the child bogus, not the parent).
func soakDS(name string, k int) store.DS {
	sum := sha256.Sum256(fmt.Appendf(nil, "%s %d", name, k))
	return store.DS{KeyTag: uint16(k), Algorithm: dns.ECDSAP256SHA256, DigestType: 2, Digest: strings.ToUpper(hex.EncodeToString(sum[:]))}
}

// soakServe serves a zone on a loopback port, rate limiting off.
func soakServe(t *testing.T, z *zone.Zone) *soakServer {
	t.Helper()
	snap, err := authserver.NewSnapshot(z)
	if err != nil {
		t.Fatal(err)
	}
	srv := authserver.New(authserver.Config{RateLimit: authserver.RateLimit{Off: true}}, nil)
	srv.Swap(snap)
	a, err := srv.Listen("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	return &soakServer{Server: srv, addr: a.String()}
}

type soakServer struct {
	*authserver.Server
	addr string
}

// soakRoot is a signed test root delegating pt to the daemon, with the DS
// of pt's KSK, and its KSK: unbound's trust anchor.
func soakRoot(t *testing.T, keys string) (root *zone.Zone, anchor string) {
	t.Helper()
	ptKeys, err := keyfile.Load(keys, zone.MustParseName("pt."))
	if err != nil {
		t.Fatal(err)
	}
	var ds strings.Builder
	for _, k := range ptKeys {
		if k.SEP() {
			fmt.Fprintf(&ds, "pt. 86400 IN DS %s\n", strings.SplitN(k.DNSKEY.ToDS(dns.SHA256).String(), "DS\t", 2)[1])
		}
	}
	text := `. 86400 IN SOA a.root-servers.test. nstld.test. 2026112201 1800 900 604800 86400
. 518400 IN NS a.root-servers.test.
a.root-servers.test. 518400 IN A 127.0.0.1
pt. 172800 IN NS a.dns.pt.
a.dns.pt. 172800 IN A 127.0.0.1
` + ds.String()
	rootKeys := testkit.GenerateKeys(t, zone.Root, time.Now().Add(-time.Hour))
	for _, k := range rootKeys {
		if k.SEP() {
			anchor = strings.ReplaceAll(k.DNSKEY.String(), "\t", " ")
		}
	}
	return testkit.Sign(t, testkit.ReadZone(t, zone.Root, text), rootKeys, time.Now()), anchor
}

// startSoakUnbound starts unbound validating from the test root, with
// the daemon's zones and the child as stub zones, caching nothing longer
// than a second (so that it asks again, and validates again, throughout
// the soak). It returns its address, its log so far, and a function that
// stops it and waits for it.
func startSoakUnbound(t *testing.T, path, anchor string, root, child *soakServer, daemon string, d *Daemon) (string, func() string, func()) {
	t.Helper()
	dir := t.TempDir()
	port := tooltest.FreePort(t)
	at := func(addr string) string { return strings.Replace(addr, ":", "@", 1) }
	var conf strings.Builder
	fmt.Fprintf(&conf, `server:
    interface: 127.0.0.1@%[2]d
    port: %[2]d
    do-not-query-localhost: no
    username: ""
    chroot: ""
    directory: "%[1]s"
    pidfile: "%[1]s/unbound.pid"
    use-syslog: no
    verbosity: 1
    val-log-level: 2
    do-ip6: no
    num-threads: 1
    qname-minimisation: no
    cache-max-ttl: 1
    cache-max-negative-ttl: 1
    trust-anchor: "%[3]s"
    module-config: "validator iterator"
    val-permissive-mode: no
remote-control:
    control-enable: no
stub-zone:
    name: "."
    stub-addr: %[4]s
stub-zone:
    name: "%[5]s."
    stub-addr: %[6]s
`, dir, port, anchor, at(root.addr), soakChildName, at(child.addr))
	for _, z := range d.Server().Current().Zones() {
		fmt.Fprintf(&conf, "stub-zone:\n    name: %q\n    stub-addr: %s\n", z.String(), at(daemon))
	}
	confPath := filepath.Join(dir, "unbound.conf")
	if err := os.WriteFile(confPath, []byte(conf.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(path, "-d", "-c", confPath)
	var out lockedBuffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { cmd.Wait(); close(done) }()
	var once sync.Once
	stop := func() {
		once.Do(func() {
			cmd.Process.Kill()
			select {
			case <-done:
			case <-time.After(10 * time.Second):
				t.Errorf("unbound did not stop")
			}
		})
	}
	return fmt.Sprintf("127.0.0.1:%d", port), out.String, stop
}

// lockedBuffer is a buffer unbound writes while the test reads it.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *lockedBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *lockedBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// soakAskUnbound asks the resolver until it answers, for at most wait.
func soakAskUnbound(resolver, name string, qtype uint16, wait time.Duration) *dns.Msg {
	c := &dns.Client{Timeout: 3 * time.Second}
	q := new(dns.Msg)
	q.SetQuestion(name, qtype)
	q.SetEdns0(1232, true)
	q.AuthenticatedData = true
	for deadline := time.Now().Add(wait); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		if r, _, err := c.Exchange(q, resolver); err == nil {
			return r
		}
	}
	return nil
}

// soakProber asks the resolver the probes in turn, every interval, until
// ctx ends: prober i of two takes every other one.
func soakProber(ctx context.Context, resolver string, probes []soakProbe, every time.Duration, i int, stats *soakStats) {
	c := &dns.Client{Timeout: 10 * time.Second}
	tick := time.NewTicker(every)
	defer tick.Stop()
	for n := i; ; n += 2 {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		p := probes[n%len(probes)]
		name := p.name
		if strings.Contains(name, "%d") {
			name = fmt.Sprintf(name, n)
		}
		q := new(dns.Msg)
		q.SetQuestion(name, p.qtype)
		q.SetEdns0(1232, true)
		q.AuthenticatedData = true
		stats.add("unbound queries")
		r, _, err := c.Exchange(q, resolver)
		switch {
		case err != nil:
			stats.fail("unbound timeout", "unbound: %s %s: %v", name, dns.TypeToString[p.qtype], err)
		case r.Rcode == dns.RcodeServerFailure:
			stats.fail("unbound SERVFAIL", "unbound: %s %s: SERVFAIL (bogus, or the server did not answer it)", name, dns.TypeToString[p.qtype])
		case r.Rcode != p.rcode:
			stats.fail("unbound rcode", "unbound: %s %s: %s, want %s", name, dns.TypeToString[p.qtype], dns.RcodeToString[r.Rcode], dns.RcodeToString[p.rcode])
		case p.secure && !r.AuthenticatedData:
			stats.fail("unbound insecure", "unbound: %s %s: %s but not secure (AD clear)", name, dns.TypeToString[p.qtype], dns.RcodeToString[r.Rcode])
		default:
			stats.add("unbound answered")
			if r.AuthenticatedData {
				stats.add("unbound secure")
			}
		}
	}
}

// soakPool is what the workers ask: the registry's names, the names the
// churn adds (not there until it does), names that never exist, and the
// zones' apex data.
type soakPool struct {
	names []string
	zones []string
}

func newSoakPool(domains []store.Domain, publications int, d *Daemon) *soakPool {
	p := &soakPool{}
	for _, dom := range domains {
		p.names = append(p.names, dom.Name+".")
	}
	for k := 1; k <= publications; k++ {
		p.names = append(p.names, addedName(k, 0)+".", addedName(k, 1)+".")
	}
	p.names = append(p.names, soakChildName+".")
	for _, z := range d.Server().Current().Zones() {
		p.zones = append(p.zones, z.String())
	}
	return p
}

type soakQuery struct {
	name  string
	qtype uint16
}

func (p *soakPool) pick(r *rand.Rand) soakQuery {
	name := p.names[r.IntN(len(p.names))]
	origin := p.zones[r.IntN(len(p.zones))]
	switch n := r.IntN(100); {
	case n < 30:
		return soakQuery{name, dns.TypeA} // a referral, or NXDOMAIN
	case n < 45:
		return soakQuery{"www." + name, dns.TypeAAAA}
	case n < 52:
		return soakQuery{"ns1." + name, dns.TypeA} // glue lies below a cut
	case n < 67:
		return soakQuery{name, dns.TypeDS}
	case n < 82:
		return soakQuery{fmt.Sprintf("nx%d.%s", r.IntN(1e9), origin), dns.TypeA}
	case n < 88:
		return soakQuery{origin, dns.TypeSOA}
	case n < 92:
		return soakQuery{origin, dns.TypeDNSKEY}
	case n < 96:
		return soakQuery{origin, dns.TypeNS}
	default:
		return soakQuery{origin, dns.TypeTXT} // NODATA at the apex
	}
}

// zoneOf is the origin of the served zone that answers name: the deepest.
func (p *soakPool) zoneOf(name string) string {
	best := ""
	for _, z := range p.zones {
		if dns.IsSubDomain(z, name) && len(z) > len(best) {
			best = z
		}
	}
	return best
}

// soakWorker asks the server a query of the pool every interval until ctx
// ends, seven in ten over UDP (asking again over TCP when truncated), the
// others over a TCP connection it keeps for fifty queries, and judges
// each response.
func soakWorker(ctx context.Context, addr string, every time.Duration, r *rand.Rand, pool *soakPool, j *soakJudge) {
	versions, stats := j.versions, j.stats
	udp := &dns.Client{Net: "udp", Timeout: 5 * time.Second}
	tcp := &dns.Client{Net: "tcp", Timeout: 5 * time.Second}
	var conn *dns.Conn
	used := 0
	defer func() {
		if conn != nil {
			conn.Close()
		}
	}()
	overTCP := func(m *dns.Msg) (*dns.Msg, error) {
		if conn == nil || used == 50 {
			if conn != nil {
				conn.Close()
			}
			var err error
			if conn, err = tcp.Dial(addr); err != nil {
				conn = nil
				return nil, err
			}
			used = 0
		}
		used++
		resp, _, err := tcp.ExchangeWithConn(m, conn)
		if err != nil {
			conn.Close()
			conn = nil
		}
		return resp, err
	}
	tick := time.NewTicker(every)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		q := pool.pick(r)
		origin := pool.zoneOf(q.name)
		floor := versions.floor(origin)
		m := new(dns.Msg)
		m.SetQuestion(q.name, q.qtype)
		m.RecursionDesired = false
		m.SetEdns0(1232, true)
		stats.add("queries")
		var resp *dns.Msg
		var err error
		transport := "tcp"
		if r.IntN(10) < 7 {
			transport = "udp"
			resp, _, err = udp.Exchange(m, addr)
			if err == nil && resp.Truncated {
				stats.add("truncated")
				transport = "tcp after truncation"
				resp, err = overTCP(m)
			}
		} else {
			resp, err = overTCP(m)
		}
		stats.add(strings.Fields(transport)[0])
		if err != nil {
			stats.fail("timeout", "%s %s over %s: %v", q.name, dns.TypeToString[q.qtype], transport, err)
			continue
		}
		j.response(q, transport, resp, origin, floor)
	}
}

// soakJudge judges the responses.
type soakJudge struct {
	versions *servedVersions
	stats    *soakStats
	// later waits for the responses judged once the publication under
	// way is recorded.
	later sync.WaitGroup
}

// response checks one response: NOERROR or NXDOMAIN; the DNSSEC records
// its kind needs (RFC 4035 §3.1, RFC 5155 §7.2): signatures over an
// answer, DS or an NSEC3 proof with a referral, NSEC3 with a negative
// answer; and its records all in one version of its zone, floor or
// newer; when none holds them while a publication is under way, in a
// goroutine once it is recorded (the worker goes on asking meanwhile).
func (j *soakJudge) response(q soakQuery, transport string, r *dns.Msg, origin string, floor int) {
	stats := j.stats
	what := fmt.Sprintf("%s %s over %s", q.name, dns.TypeToString[q.qtype], transport)
	if r.Rcode != dns.RcodeSuccess && r.Rcode != dns.RcodeNameError {
		stats.fail(dns.RcodeToString[r.Rcode], "%s: %s", what, dns.RcodeToString[r.Rcode])
		return
	}
	var recs []soakRecord
	has := map[uint16]int{}
	for _, section := range [][]dns.RR{r.Answer, r.Ns, r.Extra} {
		for _, rr := range section {
			if rr.Header().Rrtype == dns.TypeOPT {
				continue
			}
			rec, err := soakRecordOf(rr)
			if err != nil {
				stats.fail("mixed", "%s: %v", what, err)
				return
			}
			recs = append(recs, rec)
		}
	}
	for _, rr := range r.Ns {
		has[rr.Header().Rrtype]++
		if soa, ok := rr.(*dns.SOA); ok && soa.Hdr.Name == "pt." {
			stats.serial(soa.Serial)
		}
	}
	signed := func(section []dns.RR) bool {
		for _, rr := range section {
			if _, ok := rr.(*dns.RRSIG); ok {
				return true
			}
		}
		return false
	}
	switch {
	case r.Rcode == dns.RcodeNameError:
		if has[dns.TypeNSEC3] == 0 || has[dns.TypeSOA] == 0 || !signed(r.Ns) {
			stats.fail("dnssec", "%s: NXDOMAIN without a signed SOA and NSEC3 proof\n%s", what, r)
			return
		}
		stats.add("nxdomain")
	case !r.Authoritative && has[dns.TypeNS] > 0:
		switch {
		case has[dns.TypeDS] > 0 && signed(r.Ns):
			stats.add("referral with DS")
		case has[dns.TypeNSEC3] > 0 && signed(r.Ns):
			stats.add("referral with NSEC3")
		default:
			stats.fail("dnssec", "%s: a referral with neither a signed DS nor an NSEC3 proof\n%s", what, r)
			return
		}
	case len(r.Answer) == 0:
		if has[dns.TypeNSEC3] == 0 || !signed(r.Ns) {
			stats.fail("dnssec", "%s: NODATA without a signed NSEC3 proof\n%s", what, r)
			return
		}
		stats.add("nodata")
	default:
		if !signed(r.Answer) {
			stats.fail("dnssec", "%s: an answer without its signatures\n%s", what, r)
			return
		}
		stats.add("answer")
	}
	verdict := func(err error) {
		if err == nil {
			return
		}
		kind := "mixed"
		if errors.As(err, new(staleError)) {
			kind = "stale"
		}
		stats.fail(kind, "%s: %v\n%s", what, err, r)
	}
	wait, err := j.versions.judge(origin, floor, recs, false)
	if wait == nil {
		verdict(err)
		return
	}
	j.later.Go(func() {
		<-wait
		_, err := j.versions.judge(origin, floor, recs, true)
		verdict(err)
	})
}

// servedVersions keeps the last versions of every zone published, by
// origin, to judge each response against: its records must all be in one
// of them, and not in one older than the version served when the query
// was sent. A publication is recorded when it returns, after the server
// may have begun to answer from it: a response that matches no version
// kept while a publication is under way is judged again once it is
// recorded.
type servedVersions struct {
	keep    int
	mu      sync.Mutex
	zones   map[string][]servedVersion // by origin, the oldest first
	seq     int                        // publications recorded
	pending chan struct{}              // closed when the publication under way is recorded
}

type servedVersion struct {
	z   *zone.Zone
	seq int // the publication that served it first
}

func (v *servedVersions) begin() {
	v.mu.Lock()
	defer v.mu.Unlock()
	v.pending = make(chan struct{})
}

// end records the zones a publication left served.
func (v *servedVersions) end(served []*zone.Zone) {
	v.mu.Lock()
	defer v.mu.Unlock()
	v.seq++
	for _, z := range served {
		o := z.Origin().String()
		kept := v.zones[o]
		if len(kept) > 0 && kept[len(kept)-1].z.Serial() == z.Serial() {
			continue
		}
		kept = append(kept, servedVersion{z, v.seq})
		if len(kept) > v.keep {
			kept = slices.Delete(kept, 0, len(kept)-v.keep)
		}
		v.zones[o] = kept
	}
	close(v.pending)
	v.pending = nil
}

// floor is the version of the zone origin served now: a query sent now
// must be answered from it or a newer one.
func (v *servedVersions) floor(origin string) int {
	v.mu.Lock()
	defer v.mu.Unlock()
	if kept := v.zones[origin]; len(kept) > 0 {
		return kept[len(kept)-1].seq
	}
	return 0
}

// trim forgets all but the last n versions of each zone.
func (v *servedVersions) trim(n int) {
	v.mu.Lock()
	defer v.mu.Unlock()
	for o, kept := range v.zones {
		if len(kept) > n {
			v.zones[o] = slices.Clone(kept[len(kept)-n:])
		}
	}
}

// judge returns an error unless one version of the zone origin, floor
// or newer, holds every record of recs (TTLs aside: a negative answer's
// SOA has the negative TTL, RFC 2308 §5). When none does while a
// publication is under way, and last is false, it returns instead a
// channel closed once that publication is recorded: judge again then,
// last.
func (v *servedVersions) judge(origin string, floor int, recs []soakRecord, last bool) (wait <-chan struct{}, err error) {
	v.mu.Lock()
	kept := slices.Clone(v.zones[origin])
	pending := v.pending
	v.mu.Unlock()
	for i := len(kept) - 1; i >= 0; i-- {
		if !holdsAll(kept[i].z, recs) {
			continue
		}
		if kept[i].seq < floor {
			return nil, staleError(fmt.Sprintf("answered from serial %d of %s, older than the serial served when the query was sent", kept[i].z.Serial(), origin))
		}
		return nil, nil
	}
	if pending != nil && !last {
		return pending, nil
	}
	return nil, mixedError(origin, kept, recs)
}

// staleError is a response from a version older than the one served
// when its query was sent.
type staleError string

func (e staleError) Error() string { return string(e) }

// mixedError says which records each version kept lacks.
func mixedError(origin string, kept []servedVersion, recs []soakRecord) error {
	var b strings.Builder
	fmt.Fprintf(&b, "its records are in no single version of %s (of the last %d kept):", origin, len(kept))
	for _, k := range kept {
		var missing []string
		for _, rec := range recs {
			if !holds(k.z, rec) {
				missing = append(missing, rec.text)
			}
		}
		fmt.Fprintf(&b, "\n  serial %d lacks %s", k.z.Serial(), strings.Join(missing, "; "))
	}
	return errors.New(b.String())
}

// soakRecord is a record of a response as a zone holds it.
type soakRecord struct {
	owner   zone.Name
	typ     uint16
	covered uint16 // of an RRSIG
	rdata   []byte
	text    string
}

func soakRecordOf(rr dns.RR) (soakRecord, error) {
	owner, err := zone.ParseName(rr.Header().Name, zone.Root)
	if err != nil {
		return soakRecord{}, fmt.Errorf("owner of %s: %w", rr, err)
	}
	buf := make([]byte, dns.Len(rr)+len(rr.Header().Name)+16)
	end, err := dns.PackRR(rr, buf, 0, nil, false)
	if err != nil {
		return soakRecord{}, fmt.Errorf("packing %s: %w", rr, err)
	}
	// The header: the owner's wire form, then type, class, TTL and length.
	start := len(owner.Wire()) + 10
	rec := soakRecord{owner: owner, typ: rr.Header().Rrtype, rdata: buf[start:end], text: rr.String()}
	if sig, ok := rr.(*dns.RRSIG); ok {
		rec.covered = sig.TypeCovered
	}
	return rec, nil
}

func holdsAll(z *zone.Zone, recs []soakRecord) bool {
	for _, rec := range recs {
		if !holds(z, rec) {
			return false
		}
	}
	return true
}

func holds(z *zone.Zone, rec soakRecord) bool {
	i, ok := z.Find(rec.owner)
	if !ok {
		return false
	}
	var set zone.RRset
	if rec.typ == dns.TypeRRSIG {
		set, ok = z.GetSig(i, rec.covered)
	} else {
		set, ok = z.GetAt(i, rec.typ)
	}
	if !ok {
		return false
	}
	for rd := range set.Rdata() {
		if bytes.Equal(rd, rec.rdata) {
			return true
		}
	}
	return false
}

// soakStats counts what the soak did and keeps the first errors.
type soakStats struct {
	mu      sync.Mutex
	counts  map[string]int
	serials map[uint32]bool
	errs    []string
	nerrs   int
}

func newSoakStats() *soakStats {
	return &soakStats{counts: map[string]int{}, serials: map[uint32]bool{}}
}

func (s *soakStats) add(what string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.counts[what]++
}

func (s *soakStats) count(what string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.counts[what]
}

func (s *soakStats) serial(n uint32) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.serials[n] = true
}

func (s *soakStats) distinctSerials() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.serials)
}

// fail counts an error of a kind and keeps the first ones' messages.
func (s *soakStats) fail(kind, format string, args ...any) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.counts["error "+kind]++
	s.nerrs++
	if len(s.errs) < 20 {
		s.errs = append(s.errs, fmt.Sprintf(format, args...))
	}
}

func (s *soakStats) errors() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.nerrs
}

func (s *soakStats) report() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := strings.Join(s.errs, "\n")
	if s.nerrs > len(s.errs) {
		out += fmt.Sprintf("\n... and %d more", s.nerrs-len(s.errs))
	}
	return out
}
