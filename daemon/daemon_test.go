package daemon

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/miekg/dns"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"go.uber.org/zap"
	"go.uber.org/zap/zaptest"

	"github.com/ptzone/ptzone/delegation/lab"
	"github.com/ptzone/ptzone/internal/testkit"
	"github.com/ptzone/ptzone/internal/testkit/testdb"
	"github.com/ptzone/ptzone/publish"
	"github.com/ptzone/ptzone/store"
	"github.com/ptzone/ptzone/store/postgres"
	"github.com/ptzone/ptzone/store/postgres/pgtest"
	"github.com/ptzone/ptzone/zonegen"
)

func TestMain(m *testing.M) { os.Exit(pgtest.Main(m)) }

// labConfig is a daemon's configuration for a lab: every job run by the
// test alone, checks on the lab's port and private addresses.
func labConfig(node string, port int) *Config {
	off := SpecOff
	return &Config{Node: node,
		Schedule: ScheduleConfig{Publish: off, Checks: off, Sweep: off, Notify: off, Prune: off},
		Checks:   ChecksConfig{Port: port, AllowPrivate: true, Timeout: Duration{200 * time.Millisecond}}}
}

// startDaemon starts a daemon on loopback with a data directory of its
// own (keys copied in), stopped when the test ends.
func startDaemon(t *testing.T, cfg *Config, reg store.Registry, locker store.Locker, keys string, now func() time.Time) *Daemon {
	t.Helper()
	dir := t.TempDir()
	cfg.Publish.KeysDir = keys
	d, err := New(cfg, Deps{Registry: reg, Locker: locker, DataDir: dir, Now: now,
		Log: zaptest.NewLogger(t, zaptest.Level(zap.WarnLevel)).Named(cfg.Node)})
	if err != nil {
		t.Fatal(err)
	}
	if err := d.Start(context.Background(), []string{"127.0.0.1:0"}, "127.0.0.1:0"); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		d.Stop(ctx)
	})
	return d
}

// ask sends a query to the daemon's DNS server, with DNSSEC records.
func ask(t *testing.T, d *Daemon, name string, qtype uint16) *dns.Msg {
	t.Helper()
	q := new(dns.Msg)
	q.SetQuestion(dns.Fqdn(name), qtype)
	q.SetEdns0(1232, true)
	c := &dns.Client{Net: "tcp", Timeout: 2 * time.Second}
	r, _, err := c.Exchange(q, d.DNSAddrs()[0].String())
	if err != nil {
		t.Fatalf("asking %s %s: %v", name, dns.TypeToString[qtype], err)
	}
	return r
}

// delegated reports whether the daemon refers name to its servers, and
// whether the referral's DS is signed.
func delegated(t *testing.T, d *Daemon, name string) (in, signedDS bool) {
	t.Helper()
	r := ask(t, d, name, dns.TypeNS)
	for _, rr := range r.Ns {
		switch rr := rr.(type) {
		case *dns.NS:
			if strings.EqualFold(rr.Hdr.Name, dns.Fqdn(name)) {
				in = true
			}
		case *dns.RRSIG:
			if rr.TypeCovered == dns.TypeDS {
				signedDS = true
			}
		}
	}
	return in, signedDS
}

func openPostgres(t *testing.T) *postgres.DB {
	db, _ := pgtest.Open(t)
	return db
}

// TestEndToEnd, on PostgreSQL: a domain registered is checked (the check
// queue), passes, and is delegated, signed, in the zone served after the
// next publication (Art 4.2); when its name servers break, the daily
// sweep finds it, the contacts are told, and after the grace period it is
// withheld; mended, it is delegated again (Art 23.2), each step driven by
// a controlled clock through the daemon's own jobs.
func TestEndToEnd(t *testing.T) {
	ctx := context.Background()
	db := openPostgres(t)
	l, err := lab.New()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	clk := testkit.NewClock(time.Now().UTC().Truncate(time.Second))
	keys := t.TempDir()
	testkit.GenerateKeyFiles(t, keys, clk.Now().Add(-time.Hour), zonegen.DefaultZones()...)
	cfg := labConfig("a", l.Port)
	hook := newHookReceiver(t)
	cfg.Webhook = WebhookConfig{URL: hook.srv.URL + "/ptzone", Name: "ops", SecretFile: hook.secretFile}
	d := startDaemon(t, cfg, db, db, keys, clk.Now)

	// The first publication: empty zones, served at once.
	publishNow(t, d)
	if r := ask(t, d, "pt.", dns.TypeSOA); r.Rcode != dns.RcodeSuccess || len(r.Answer) != 2 || !r.Authoritative {
		t.Fatalf("pt. SOA after the first publication: %v", r)
	}

	// A registrar registers novo.pt, signed, on two lab servers.
	child := &lab.Zone{Name: "novo.pt", NS: []string{"ns1.novo.pt", "ns2.novo.pt"}, Serial: 1, Signed: true,
		Addrs: map[string][]netip.Addr{"ns1.novo.pt": {lab.Addr(1)}, "ns2.novo.pt": {lab.Addr(257)}}}
	var servers []*lab.Server
	for _, a := range []netip.Addr{lab.Addr(1), lab.Addr(257)} {
		s, err := l.Serve(a, 0, 0, child)
		if err != nil {
			t.Fatal(err)
		}
		servers = append(servers, s)
	}
	ds, err := child.DS()
	if err != nil {
		t.Fatal(err)
	}
	if err := db.PutRegistrar(ctx, store.Registrar{ID: "REG-1", Name: "Registo Um", Email: "tech@registo.pt"}); err != nil {
		t.Fatal(err)
	}
	err = db.PutDomain(ctx, store.Domain{Name: "novo.pt", Zone: "pt", Status: store.StatusActive, Registrar: "REG-1",
		TechEmail: "dns@novo.pt", Expires: time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC),
		Nameservers: []store.Nameserver{{Name: "ns1.novo.pt", Addrs: []netip.Addr{lab.Addr(1)}}, {Name: "ns2.novo.pt", Addrs: []netip.Addr{lab.Addr(257)}}},
		DS:          []store.DS{{KeyTag: ds.KeyTag, Algorithm: ds.Algorithm, DigestType: ds.DigestType, Digest: strings.ToUpper(ds.Digest)}}})
	if err != nil {
		t.Fatal(err)
	}
	// Not checked yet: kept out (Art 4.2).
	publishNow(t, d)
	if in, _ := delegated(t, d, "novo.pt"); in {
		t.Fatal("novo.pt is delegated before any check passed")
	}
	if err := d.checksJob(ctx); err != nil {
		t.Fatal(err)
	}
	publishNow(t, d)
	if in, signed := delegated(t, d, "novo.pt"); !in || !signed {
		t.Fatalf("novo.pt after its check passed: delegated %v, DS signed %v", in, signed)
	}

	// Its servers break; the daily sweep finds it failing.
	for _, s := range servers {
		s.SetFaults(lab.Refused)
	}
	day := 24 * time.Hour
	var kinds []string
	sweepOn := func(n int) {
		t.Helper()
		for range n {
			clk.Add(day)
			if err := d.sweepJob(ctx); err != nil {
				t.Fatal(err)
			}
		}
		publishNow(t, d)
	}
	sweepOn(1)
	if in, _ := delegated(t, d, "novo.pt"); !in {
		t.Fatal("novo.pt was withheld at its first failure: the grace period is 14 days (Art 23.2)")
	}
	// The registrar sees it failing, through the daemon's API.
	if err := db.SetRegistrarToken(ctx, "REG-1", store.HashToken("reg-1-token")); err != nil {
		t.Fatal(err)
	}
	req, _ := http.NewRequest("GET", "http://"+d.HTTPAddr().String()+"/api/v1/registrar/domains?state=failing", nil)
	req.Header.Set("Authorization", "Bearer reg-1-token")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(body), `"name": "novo.pt"`) || !strings.Contains(string(body), "withheld_after") {
		t.Errorf("the registrar's failing domains: %s\n%s", resp.Status, body)
	}
	sweepOn(14)
	if in, _ := delegated(t, d, "novo.pt"); in {
		t.Fatal("novo.pt still delegated after 15 days of failures")
	}
	if r := ask(t, d, "novo.pt.", dns.TypeNS); r.Rcode != dns.RcodeNameError {
		t.Errorf("novo.pt withheld: rcode %s, want NXDOMAIN", dns.RcodeToString[r.Rcode])
	}

	// Mended: delegated again at the next sweep and publication.
	for _, s := range servers {
		s.SetFaults(0)
	}
	sweepOn(1)
	if in, signed := delegated(t, d, "novo.pt"); !in || !signed {
		t.Errorf("novo.pt mended: delegated %v, DS signed %v", in, signed)
	}

	notices, err := db.Notices(ctx, true, 100)
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range notices {
		if n.Role == store.RoleTech {
			kinds = append(kinds, string(n.Kind))
		}
	}
	want := []string{"delegation_failing", "delegation_reminder", "delegation_reminder", "delegation_withheld", "delegation_restored"}
	if !slices.Equal(kinds, want) {
		t.Errorf("the technical contact's notices: %v, want %v", kinds, want)
	}
	// The registry's webhook hears of each transition once, signed; with
	// no relay configured, the mails wait.
	if err := d.notifyJob(ctx); err != nil {
		t.Fatal(err)
	}
	if got := hook.types(); !slices.Equal(got, want) {
		t.Errorf("the webhook got %v, want %v", got, want)
	}
	if left, err := db.Notices(ctx, true, 100); err != nil || len(left) != 2*len(want) {
		t.Errorf("pending after the webhook's delivery: %d (%v), want the %d mails", len(left), err, 2*len(want))
	}
	pubs, err := db.Publications(ctx, "pt", 100)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range pubs {
		if p.TriggeredBy != "test@a" {
			t.Errorf("publication %d triggered by %q", p.ID, p.TriggeredBy)
		}
	}
}

// hookReceiver is the registry's webhook endpoint on loopback, a real
// HTTP server that keeps each notice type it is POSTed, once per
// webhook-id, and refuses what is not signed with its secret.
type hookReceiver struct {
	srv        *httptest.Server
	secretFile string
	mu         sync.Mutex
	seen       map[string]bool
	got        []string
}

func newHookReceiver(t *testing.T) *hookReceiver {
	secret := "whsec_" + base64.StdEncoding.EncodeToString([]byte("the end-to-end webhook's secret"))
	h := &hookReceiver{secretFile: filepath.Join(t.TempDir(), "webhook.secret"), seen: map[string]bool{}}
	if err := os.WriteFile(h.secretFile, []byte(secret+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	h.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		mac := hmac.New(sha256.New, []byte("the end-to-end webhook's secret"))
		fmt.Fprintf(mac, "%s.%s.%s", r.Header.Get("webhook-id"), r.Header.Get("webhook-timestamp"), body)
		if r.Header.Get("webhook-signature") != "v1,"+base64.StdEncoding.EncodeToString(mac.Sum(nil)) {
			http.Error(w, "bad signature", http.StatusUnauthorized)
			return
		}
		var n struct{ Type string }
		if err := json.Unmarshal(body, &n); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		h.mu.Lock()
		defer h.mu.Unlock()
		if id := r.Header.Get("webhook-id"); !h.seen[id] {
			h.seen[id] = true
			h.got = append(h.got, n.Type)
		}
		w.WriteHeader(http.StatusAccepted)
	}))
	t.Cleanup(h.srv.Close)
	return h
}

func (h *hookReceiver) types() []string {
	h.mu.Lock()
	defer h.mu.Unlock()
	return slices.Clone(h.got)
}

// publishNow runs a publication and fails the test unless every zone was
// published or found unchanged.
func publishNow(t *testing.T, d *Daemon) {
	t.Helper()
	out, err := d.Publish(context.Background(), publishRequest("test@"+d.Config().NodeName()))
	if err != nil {
		t.Fatal(err)
	}
	for _, o := range out {
		if o.Outcome != store.OutcomePublished && o.Outcome != "unchanged" {
			t.Fatalf("%s: %s: %v", o.Zone, o.Outcome, o.Refusals)
		}
	}
	// Publish returns once the server answers from what it published:
	// a resolver, a demo or an operator may ask at once.
	for _, o := range out {
		if served := servedSerial(d, o.Zone); o.Outcome == store.OutcomePublished && served != o.Serial {
			t.Fatalf("%s published at serial %d, but %d is served as Publish returns", o.Zone, o.Serial, served)
		}
	}
}

func servedSerial(d *Daemon, zoneName string) uint32 { return servedSerialOf(d, zoneName+".") }

func publishRequest(by string) publish.Request { return publish.Request{TriggeredBy: by} }

// publishRuns is how many runs of the daemon's publish job have ended
// (a standby's, refused the lock, ends without error).
func publishRuns(d *Daemon) int {
	return int(testutil.ToFloat64(d.jobs.runs.WithLabelValues("publish", "ok")) +
		testutil.ToFloat64(d.jobs.runs.WithLabelValues("publish", "error")))
}

// TestTwoDaemons: two daemons on one PostgreSQL, publishing on a
// schedule: exactly one publishes, however often the other's job runs;
// stopped, the other takes over at its next run, and its serials go on
// from the first's (read from the publication log, as its own data
// directory has none). What is checked is the order of runs, stop and
// takeover, not how long they take.
func TestTwoDaemons(t *testing.T) {
	ctx := context.Background()
	db := openPostgres(t)
	keys := t.TempDir()
	testkit.GenerateKeyFiles(t, keys, time.Now().Add(-time.Hour), zonegen.DefaultZones()...)
	a, b := twoDaemons(t, db, keys)

	published := func() map[string]int {
		pubs, err := db.Publications(ctx, "pt", 1000)
		if err != nil {
			t.Fatal(err)
		}
		by := map[string]int{}
		for _, p := range pubs {
			by[p.TriggeredBy]++
		}
		return by
	}
	waitFor(t, "a first publication", func() bool { return len(published()) > 0 })
	// Both jobs run twice more while one daemon holds the lock: the
	// second of those runs began after the first publication, so the
	// standby asked for the lock while it was held.
	ra, rb := publishRuns(a), publishRuns(b)
	waitFor(t, "both publish jobs running twice more", func() bool { return publishRuns(a) >= ra+2 && publishRuns(b) >= rb+2 })
	by := published()
	if len(by) != 1 || a.IsPublisher() == b.IsPublisher() {
		t.Fatalf("publications by %v; publisher a %v, b %v: want exactly one publisher", by, a.IsPublisher(), b.IsPublisher())
	}
	first, second := a, b
	if b.IsPublisher() {
		first, second = b, a
	}
	last := servedSerial(first, "pt")
	// The standby follows: it serves what the publisher published.
	waitFor(t, "the standby serving the publisher's zone", func() bool { return servedSerial(second, "pt") == servedSerial(first, "pt") })

	stopCtx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := first.Stop(stopCtx); err != nil {
		t.Fatal(err)
	}
	// Runs end one after another: of the next two to end, the second
	// began after the first daemon had released the lock, so it took the
	// lock and published before it ended.
	n := publishRuns(second)
	waitFor(t, "the other daemon's publish job running twice more", func() bool { return publishRuns(second) >= n+2 })
	if served := servedSerial(second, "pt"); !second.IsPublisher() || served <= last {
		t.Errorf("after a run begun once the publisher stopped: publisher %v, serving serial %d (the first's last %d); want it published, serial on",
			second.IsPublisher(), served, last)
	}
	if by := published(); len(by) != 2 || by["schedule@"+second.Config().NodeName()] == 0 {
		t.Errorf("publications by %v", by)
	}
}

// twoDaemons starts two daemons sharing the PostgreSQL registry db, each
// publishing every second when it holds the lock, letting loopback
// transfer its zones, and each the other's peer.
func twoDaemons(t *testing.T, db *postgres.DB, keys string) (a, b *Daemon) {
	t.Helper()
	cfg := func(node string) *Config {
		c := labConfig(node, 53)
		c.Schedule.Publish = "@every 1s"
		c.Publish.AssumeChecked = true
		c.Transfer = map[string]TransferConfig{}
		for _, z := range zonegen.DefaultZones() {
			c.Transfer[z+"."] = TransferConfig{AllowFrom: []string{"127.0.0.0/8"}}
		}
		return c
	}
	a = startDaemon(t, cfg("a"), db, db, keys, nil)
	b = startDaemon(t, cfg("b"), db, db, keys, nil)
	for _, p := range [][2]*Daemon{{a, b}, {b, a}} {
		next := *p[0].Config()
		next.Publish.Peers = []string{p[1].DNSAddrs()[0].String()}
		if err := p[0].Reload(context.Background(), &next); err != nil {
			t.Fatal(err)
		}
	}
	return a, b
}

// publisherAndStandby waits for one of the two daemons to publish, and
// returns it first.
func publisherAndStandby(t *testing.T, db *postgres.DB, a, b *Daemon) (publisher, standby *Daemon) {
	t.Helper()
	waitFor(t, "a first publication", func() bool {
		pubs, err := db.Publications(context.Background(), "pt", 1)
		return err == nil && len(pubs) > 0 && (a.IsPublisher() || b.IsPublisher())
	})
	if b.IsPublisher() {
		return b, a
	}
	return a, b
}

// TestTakeoverGuarded: a standby follows the publisher's publications
// (by transfer from its peer) and serves them; when it takes over after
// the registry lost 30% of pt's delegations, its first publication is
// judged against the zone the secondaries serve and refused, and the
// followed zone stays served. A standby with nothing to follow from is
// refused too, for want of a baseline (the failover path is where a
// truncated registry would otherwise go out unchecked).
func TestTakeoverGuarded(t *testing.T) {
	ctx := context.Background()
	db := openPostgres(t)
	testdb.ImportSample(t, db)
	keys := t.TempDir()
	testkit.GenerateKeyFiles(t, keys, time.Now().Add(-time.Hour), zonegen.DefaultZones()...)
	a, b := twoDaemons(t, db, keys)
	publisher, standby := publisherAndStandby(t, db, a, b)
	waitFor(t, "the standby serving the publisher's zone", func() bool {
		s := servedSerial(standby, "pt")
		return s != 0 && s == servedSerial(publisher, "pt")
	})
	followed := servedSerial(standby, "pt")

	// The registry loses every third active domain of pt.
	snap, err := db.Snapshot(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for c, err := range snap.Domains(ctx, store.Filter{Zone: "pt", Statuses: []store.Status{store.StatusActive}}) {
		if err != nil {
			t.Fatal(err)
		}
		names = append(names, c.Domain.Name)
	}
	snap.Close()
	removed := 0
	for i, n := range names {
		if i%3 == 0 {
			if err := db.SetStatus(ctx, n, store.StatusSuspended); err != nil {
				t.Fatal(err)
			}
			removed++
		}
	}
	stopCtx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := publisher.Stop(stopCtx); err != nil {
		t.Fatal(err)
	}
	var outs []publish.ZoneOutcome
	waitFor(t, "the standby taking the lock", func() bool {
		outs, err = standby.Publish(ctx, publishRequest("takeover"))
		return err == nil
	})
	for _, o := range outs {
		if o.Zone != "pt" {
			continue
		}
		if o.Outcome != store.OutcomeRefused || len(o.Refusals) == 0 || o.Refusals[0].Code != publish.RefuseRemoved || o.Delta.Removed < removed {
			t.Errorf("the takeover's first publication of pt: %s %+v, %d removed; want refused for the %d delegations removed", o.Outcome, o.Refusals, o.Delta.Removed, removed)
		}
	}
	if s := servedSerial(standby, "pt"); s != followed {
		t.Errorf("after the refusal the standby serves serial %d, want the followed %d", s, followed)
	}

	// A third daemon with nothing to follow from: refused for want of a
	// baseline, whatever the registry holds.
	loneCfg := labConfig("c", 53)
	loneCfg.Publish.AssumeChecked = true
	lone := startDaemon(t, loneCfg, db, db, keys, nil)
	stopCtx2, cancel2 := context.WithTimeout(ctx, 10*time.Second)
	defer cancel2()
	if err := standby.Stop(stopCtx2); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the lone daemon taking the lock", func() bool {
		outs, err = lone.Publish(ctx, publishRequest("takeover"))
		return err == nil
	})
	for _, o := range outs {
		if o.Outcome != store.OutcomeRefused || len(o.Refusals) == 0 || o.Refusals[0].Code != publish.RefuseBaseline {
			t.Errorf("%s with no baseline: %s %+v; want refused (baseline)", o.Zone, o.Outcome, o.Refusals)
		}
	}
}
