package daemon

import (
	"bytes"
	"context"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/miekg/dns"
	"github.com/prometheus/client_golang/prometheus/testutil/promlint"

	"github.com/ptzone/ptzone/internal/buildinfo"
	"github.com/ptzone/ptzone/internal/testkit"
	"github.com/ptzone/ptzone/internal/testkit/testdb"
	"github.com/ptzone/ptzone/store"
	"github.com/ptzone/ptzone/zonegen"
)

// TestOperatorAPI: an operator, with its token, publishes now, runs a dry
// run that publishes nothing, freezes publishing (the schedule and the
// operator are then refused) and thaws it, and forces a publication the
// guard refused, with a reason; each action is in the audit log. No token,
// and a registrar's token, are refused.
func TestOperatorAPI(t *testing.T) {
	ctx := context.Background()
	db := testdb.Sample(t)
	if err := db.SetRegistrarToken(ctx, "REG-4", store.HashToken("registrar-token")); err != nil {
		t.Fatal(err)
	}
	keys := t.TempDir()
	testkit.GenerateKeyFiles(t, keys, time.Now().Add(-time.Hour), zonegen.DefaultZones()...)
	cfg := labConfig("op", 53)
	cfg.Publish.AssumeChecked = true
	sum := store.HashToken("operator-token")
	cfg.Operators = []OperatorConfig{{Name: "ana", TokenSHA256: hex.EncodeToString(sum)}}
	d := startDaemon(t, cfg, db, db, keys, nil)
	call := func(method, path, token, body string, out any) int {
		t.Helper()
		return operatorCall(t, d, method, path, token, body, out)
	}
	const op = "operator-token"
	for _, tok := range []string{"", "registrar-token", "wrong"} {
		if code := call("POST", "publish", tok, "{}", nil); code != http.StatusUnauthorized {
			t.Errorf("publish with token %q: %d, want 401", tok, code)
		}
	}

	type results struct {
		Zones []struct {
			Zone, Outcome string
			Serial        uint32
			Refusals      []struct {
				Code    string
				Figures struct{ Changes, Base int }
				Details []struct{ Name, Registry, Status string } `json:"offender_details"`
			}
		}
		Message string
	}
	var res results
	if code := call("POST", "publish", op, `{"dry_run": true}`, &res); code != http.StatusOK || len(res.Zones) != 8 || res.Zones[0].Outcome != "dry_run" {
		t.Fatalf("dry run: %d %+v", code, res)
	}
	if servedSerial(d, "pt") != 0 {
		t.Fatal("a dry run published")
	}
	if code := call("POST", "publish", op, `{}`, &res); code != http.StatusOK || res.Zones[0].Outcome != "published" {
		t.Fatalf("publish: %d %+v", code, res)
	}
	waitFor(t, "the publication served", func() bool { return servedSerial(d, "pt") != 0 })
	var st struct {
		Publisher bool
		Zones     []struct {
			Zone             string
			ServedSerial     uint32     `json:"served_serial"`
			LastOutcome      string     `json:"last_outcome"`
			SignaturesExpire *time.Time `json:"signatures_expire"`
		}
	}
	if code := call("GET", "status", op, "", &st); code != http.StatusOK || !st.Publisher || st.Zones[0].Zone != "pt" ||
		st.Zones[0].ServedSerial != servedSerial(d, "pt") || st.Zones[0].LastOutcome != "published" || st.Zones[0].SignaturesExpire == nil {
		t.Errorf("status: %d %+v", code, st)
	}

	// Frozen: neither an operator nor the schedule publishes.
	if code := call("POST", "freeze", op, `{}`, nil); code != http.StatusBadRequest {
		t.Errorf("a freeze without a reason: %d", code)
	}
	if code := call("POST", "freeze", op, `{"reason": "registry migration tonight"}`, nil); code != http.StatusOK {
		t.Fatalf("freeze: %d", code)
	}
	var refused struct{ Message string }
	if code := call("POST", "publish", op, `{}`, &refused); code != http.StatusConflict || !strings.Contains(refused.Message, "registry migration tonight") {
		t.Errorf("publish while frozen: %d %s", code, refused.Message)
	}
	if err := d.publishJob(ctx); err != nil {
		t.Errorf("the scheduled publication while frozen: %v", err)
	}
	published := 0
	pubs, _ := db.Publications(ctx, "pt", 10)
	for _, p := range pubs {
		if p.Outcome == store.OutcomePublished {
			published++
		}
	}
	if published != 1 {
		t.Errorf("%d publications of pt while frozen, want the one before", published)
	}
	if code := call("POST", "thaw", op, `{"reason": "migration done"}`, nil); code != http.StatusOK {
		t.Fatalf("thaw: %d", code)
	}
	if code := call("POST", "thaw", op, `{}`, nil); code != http.StatusConflict {
		t.Errorf("thawing twice: %d", code)
	}

	// 30 domains suspended at once: the guard refuses; forced, published.
	snap, err := db.Snapshot(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var victims []string
	for c, err := range snap.Domains(ctx, store.Filter{Zone: "pt", Statuses: []store.Status{store.StatusActive}}) {
		if err != nil {
			t.Fatal(err)
		}
		if len(c.Domain.Nameservers) > 0 && len(victims) < 30 {
			victims = append(victims, c.Domain.Name)
		}
	}
	snap.Close()
	for _, name := range victims {
		if err := db.SetStatus(ctx, name, store.StatusSuspended); err != nil {
			t.Fatal(err)
		}
	}
	call("POST", "publish", op, `{}`, &res)
	if res.Zones[0].Zone != "pt" || res.Zones[0].Outcome != "refused" || len(res.Zones[0].Refusals) == 0 {
		t.Fatalf("30 delegations removed: %+v", res.Zones[0])
	}
	// The refusal's JSON gives the figures and why the registry dropped
	// each of the first offenders.
	if r := res.Zones[0].Refusals[0]; r.Figures.Changes != 30 || len(r.Details) != 10 ||
		!slices.Contains(victims, r.Details[0].Name) || r.Details[0].Registry != "status" || r.Details[0].Status != "suspended" {
		t.Errorf("the refusal as the operator reads it: %+v", r)
	}
	if code := call("POST", "publish", op, `{"force": true}`, nil); code != http.StatusBadRequest {
		t.Errorf("a force without a reason: %d", code)
	}
	if code := call("POST", "publish", op, `{"force": true, "reason": "court order: suspension of 30 domains"}`, &res); code != http.StatusOK ||
		res.Zones[0].Outcome != "published" {
		t.Errorf("forced: %d %+v", code, res.Zones[0])
	}
	forced := res.Zones[0].Serial
	waitFor(t, "the forced publication served", func() bool { return servedSerial(d, "pt") == forced })
	if code := call("POST", "domains/"+victims[0]+"/check", op, "", nil); code != http.StatusAccepted {
		t.Errorf("an operator's check: %d", code)
	}

	// Why is a name (not) in the zone?
	type why struct {
		Decision string
		InZone   bool `json:"in_zone"`
		Reasons  []string
	}
	var w why
	if code := call("GET", "domains/"+victims[0]+"/why", op, "", &w); code != http.StatusOK || w.Decision != "status" || w.InZone ||
		!strings.Contains(strings.Join(w.Reasons, " "), "suspended") {
		t.Errorf("why %s: %d %+v", victims[0], code, w)
	}
	if code := call("GET", "domains/"+victims[len(victims)-1]+"/why", op, "", &w); code != http.StatusOK || w.Decision != "status" {
		t.Errorf("why %s: %d %+v", victims[len(victims)-1], code, w)
	}
	if call("GET", "domains/nao-existe.pt/why", op, "", &w); w.Decision != "not-registered" || w.InZone {
		t.Errorf("why nao-existe.pt: %+v", w)
	}

	// The forced publication was a mistake: rolled back, the 30 are
	// delegated again, under a new serial, and the publishing of pt is
	// frozen so that the schedule does not publish the registry over it.
	before := servedSerial(d, "pt")
	if code := call("POST", "zones/pt/rollback", op, `{}`, nil); code != http.StatusBadRequest {
		t.Errorf("a rollback without a reason: %d", code)
	}
	var rb struct {
		Zone struct {
			Outcome, Mode string
			Serial        uint32
		}
	}
	if code := call("POST", "zones/pt/rollback", op, `{"reason": "the court order was for com.pt"}`, &rb); code != http.StatusOK ||
		rb.Zone.Outcome != "published" || rb.Zone.Mode != "rollback" || rb.Zone.Serial == before {
		t.Fatalf("rollback: %d %+v", code, rb)
	}
	waitFor(t, "the rollback served", func() bool { return servedSerial(d, "pt") == rb.Zone.Serial })
	firstRollback := rb.Zone.Serial
	if in, signed := delegated(t, d, victims[0]); !in || signed {
		t.Errorf("%s after the rollback: delegated %v (signed DS %v)", victims[0], in, signed)
	}
	if call("GET", "domains/"+victims[0]+"/why", op, "", &w); !w.InZone || w.Decision != "status" ||
		!strings.Contains(strings.Join(w.Reasons, " "), "still in the zone served") || !strings.Contains(strings.Join(w.Reasons, " "), "frozen by ana") {
		t.Errorf("why %s after the rollback: %+v", victims[0], w)
	}
	var frozen struct {
		Frozen *struct{ Actor, Reason string }
		Zones  []struct {
			Frozen *struct{ Zone, Actor, Reason string }
			Keys   []struct {
				Tag         uint16
				Role, State string
			}
		}
	}
	if call("GET", "status", op, "", &frozen); frozen.Frozen != nil || frozen.Zones[0].Frozen == nil || frozen.Zones[0].Frozen.Zone != "pt" ||
		!strings.Contains(frozen.Zones[0].Frozen.Reason, "pt rolled back") ||
		len(frozen.Zones[0].Keys) != 2 || frozen.Zones[0].Keys[0].State != "active" || frozen.Zones[0].Keys[0].Role+frozen.Zones[0].Keys[1].Role != "KSKZSK" &&
		frozen.Zones[0].Keys[0].Role+frozen.Zones[0].Keys[1].Role != "ZSKKSK" {
		t.Errorf("status after the rollback: %+v", frozen)
	}
	// Rolled back again: the records before it, the forced publication's.
	if code := call("POST", "zones/pt/rollback", op, `{"reason": "it was for pt after all"}`, &rb); code != http.StatusOK || rb.Zone.Outcome != "published" {
		t.Fatalf("second rollback: %d %+v", code, rb)
	}
	waitFor(t, "the second rollback served", func() bool { return servedSerial(d, "pt") == rb.Zone.Serial })
	if in, _ := delegated(t, d, victims[0]); in {
		t.Errorf("%s is delegated after the rollback of the rollback", victims[0])
	}

	// The metrics pass promlint, and show the freeze, the keys and the
	// delegations by the gate's state.
	resp, err := http.Get("http://" + d.HTTPAddr().String() + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	text, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if problems, err := promlint.New(bytes.NewReader(text)).Lint(); err != nil || len(problems) > 0 {
		t.Errorf("promlint: %v %v", problems, err)
	}
	for _, want := range []string{`ptzone_publishing_frozen{zone="pt"} 1`, `ptzone_publishing_frozen{zone="com.pt"} 0`, `ptzone_dnssec_keys{role="KSK",state="active",zone="pt"} 1`,
		`ptzone_delegations{state="unchecked"} `, "ptzone_outbox_pending 0", `ptzone_publish_guard_refusals_total{reason=`} {
		if !bytes.Contains(text, []byte(want)) {
			t.Errorf("/metrics lacks %s", want)
		}
	}

	var audit struct {
		Audit []struct{ Actor, Action, Target, Reason string }
	}
	call("GET", "audit", op, "", &audit)
	var got []string
	for _, e := range audit.Audit {
		got = append(got, e.Actor+":"+e.Action+":"+e.Target+":"+e.Reason)
	}
	want := []string{"ana:rollback:pt:it was for pt after all", "ana:rollback:pt:the court order was for com.pt",
		fmt.Sprintf("ana:freeze:pt:pt rolled back to serial %d: the court order was for com.pt (thaw once the registry is mended; the next publication builds from it)", firstRollback),
		"ana:check:" + victims[0] + ":", "ana:force_publish::court order: suspension of 30 domains", "ana:publish::",
		"ana:thaw::migration done", "ana:freeze::registry migration tonight", "ana:publish::"}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("audit log:\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

// TestOperatorNotPublisher: a daemon that does not hold the publisher's
// lock answers an operator's publication and rollback 409 Conflict,
// saying another daemon publishes; the scheduled publication is skipped
// without an error.
func TestOperatorNotPublisher(t *testing.T) {
	ctx := context.Background()
	db := testdb.Open(t)
	other, ok, err := db.TryLock(ctx, "publisher")
	if err != nil || !ok {
		t.Fatalf("the other daemon's lock: %v %v", ok, err)
	}
	t.Cleanup(func() { other.Release(ctx) })
	cfg := labConfig("second", 53)
	cfg.Operators = []OperatorConfig{{Name: "ana", TokenSHA256: hex.EncodeToString(store.HashToken("operator-token"))}}
	d := startDaemon(t, cfg, db, db, t.TempDir(), nil)
	base := "http://" + d.HTTPAddr().String() + "/api/v1/operator/"
	for _, path := range []string{"publish", "zones/pt/rollback"} {
		req, _ := http.NewRequest("POST", base+path, strings.NewReader(`{"reason": "r"}`))
		req.Header.Set("Authorization", "Bearer operator-token")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		var body struct{ Error, Message string }
		err = json.NewDecoder(resp.Body).Decode(&body)
		resp.Body.Close()
		if err != nil || resp.StatusCode != http.StatusConflict || body.Error != "conflict" || body.Message != ErrNotPublisher.Error() {
			t.Errorf("%s from a daemon that is not the publisher: %d %+v %v", path, resp.StatusCode, body, err)
		}
	}
	if err := d.publishJob(ctx); err != nil {
		t.Errorf("the scheduled publication of a daemon that is not the publisher: %v", err)
	}
}

// TestReloadAppliesEverySetting: a reload puts the new zone parameters,
// operator tokens, TSIG keys and server answers in force at once; a file
// that cannot be put in force is refused whole, and the old settings
// stay.
func TestReloadAppliesEverySetting(t *testing.T) {
	db := testdb.Sample(t)
	keys := t.TempDir()
	testkit.GenerateKeyFiles(t, keys, time.Now().Add(-time.Hour), "pt")
	parse := func(text string) *Config {
		t.Helper()
		c, err := ParseConfig("reload.toml", text)
		if err != nil {
			t.Fatal(err)
		}
		lab := labConfig("reload", 53)
		c.Node, c.Schedule, c.Checks = lab.Node, lab.Schedule, lab.Checks
		c.Publish.AssumeChecked = true
		c.Publish.KeysDir = keys
		return c
	}
	token := func(name, tok string) string {
		return fmt.Sprintf("[[operator]]\nname = %q\ntoken_sha256 = %q\n", name, hex.EncodeToString(store.HashToken(tok)))
	}
	const (
		oldSecret = "b2xkLXNlY3JldC1vZi10aGUtdHJhbnNmZXJzLWtleQ=="
		newSecret = "bmV3LXNlY3JldC1vZi10aGUtdHJhbnNmZXJzLWtleQ=="
	)
	server := func(identity, secret string) string {
		return fmt.Sprintf("[server]\nidentity = %q\n[[tsig]]\nname = \"pt-transfer.\"\nsecret = %q\n[transfer.\"pt.\"]\nkeys = [\"pt-transfer.\"]\n", identity, secret)
	}
	first := parse(token("ana", "ana-token") + server("primary-1", oldSecret) + "[zone.\"pt\"]\n")
	d := startDaemon(t, first, db, db, keys, nil)
	status := func(tok string) int {
		t.Helper()
		return operatorCall(t, d, "GET", "status", tok, "", nil)
	}
	apexNS := func() []string {
		t.Helper()
		var out []string
		for _, rr := range ask(t, d, "pt.", dns.TypeNS).Answer {
			if ns, ok := rr.(*dns.NS); ok {
				out = append(out, ns.Ns)
			}
		}
		slices.Sort(out)
		return out
	}
	// receipt is the last publication's: the binary and the
	// configuration's digest.
	receipt := func() (binary, digest string) {
		t.Helper()
		pubs, err := db.Publications(context.Background(), "pt", 1)
		if err != nil || len(pubs) == 0 {
			t.Fatalf("the publication log: %v", err)
		}
		var r struct {
			Binary       string `json:"binary"`
			ConfigDigest string `json:"config_digest"`
		}
		if err := json.Unmarshal(pubs[0].Details, &r); err != nil {
			t.Fatal(err)
		}
		return r.Binary, r.ConfigDigest
	}
	publishNow(t, d)
	if got := apexNS(); !slices.Equal(got, []string{"a.dns.pt.", "b.dns.pt.", "c.dns.pt."}) {
		t.Fatalf("apex NS before the reload: %q", got)
	}
	binary, firstDigest := receipt()
	if binary != buildinfo.String() || !strings.HasPrefix(binary, "ptzone ") || firstDigest == "" {
		t.Errorf("the receipt's binary %q (want %q) and configuration digest %q", binary, buildinfo.String(), firstDigest)
	}
	if status("ana-token") != http.StatusOK {
		t.Fatal("ana's token does not work")
	}

	// signedSOA asks pt's SOA signed with the transfer key's secret: the
	// rcode, and whether the answer is signed by that key.
	signedSOA := func(secret string) (int, bool) {
		t.Helper()
		c := &dns.Client{Net: "tcp", Timeout: 2 * time.Second, TsigSecret: map[string]string{"pt-transfer.": secret}}
		q := new(dns.Msg)
		q.SetQuestion("pt.", dns.TypeSOA)
		q.SetTsig("pt-transfer.", dns.HmacSHA256, 300, time.Now().Unix())
		r, _, err := c.Exchange(q, d.DNSAddrs()[0].String())
		if r == nil {
			t.Fatalf("signed SOA query: %v", err)
		}
		return r.Rcode, err == nil && r.IsTsig() != nil
	}
	chaosID := func() string {
		t.Helper()
		q := new(dns.Msg)
		q.SetQuestion("id.server.", dns.TypeTXT)
		q.Question[0].Qclass = dns.ClassCHAOS
		r, err := dns.Exchange(q, d.DNSAddrs()[0].String())
		if err != nil || len(r.Answer) == 0 {
			return ""
		}
		return strings.Join(r.Answer[0].(*dns.TXT).Txt, "")
	}
	if rc, signed := signedSOA(oldSecret); rc != dns.RcodeSuccess || !signed || chaosID() != "primary-1" {
		t.Fatalf("before the reload: SOA signed with the key: %s, signed answer %v; id.server %q", dns.RcodeToString[rc], signed, chaosID())
	}

	second := parse(token("bea", "bea-token") + server("primary-2", newSecret) + `[zone."pt"]
serial = "increment"
nameservers = [{ name = "a.dns.pt", addrs = ["185.39.208.1"] }, { name = "ns2.nic.fr" }]
`)
	if err := d.Reload(context.Background(), second); err != nil {
		t.Fatal(err)
	}
	if status("ana-token") != http.StatusUnauthorized || status("bea-token") != http.StatusOK {
		t.Error("after the reload, the removed token still works or the new one does not")
	}
	if rc, _ := signedSOA(oldSecret); rc != dns.RcodeNotAuth {
		t.Errorf("after the reload, the old TSIG secret gets %s, want NOTAUTH", dns.RcodeToString[rc])
	}
	if rc, signed := signedSOA(newSecret); rc != dns.RcodeSuccess || !signed || chaosID() != "primary-2" {
		t.Errorf("after the reload: SOA signed with the new secret: %s, signed answer %v; id.server %q", dns.RcodeToString[rc], signed, chaosID())
	}
	before := servedSerial(d, "pt")
	publishNow(t, d)
	if got := apexNS(); !slices.Equal(got, []string{"a.dns.pt.", "ns2.nic.fr."}) {
		t.Errorf("apex NS after the reload: %q", got)
	}
	if after := servedSerial(d, "pt"); after != before+1 {
		t.Errorf("serial %d after %d: the increment policy is not in force", after, before)
	}
	if _, digest := receipt(); digest == firstDigest || digest == "" {
		t.Errorf("the configuration's digest %q did not change with the zone's parameters", digest)
	}

	// A webhook whose secret file is missing cannot be put in force: the
	// whole file is refused, and bea's token keeps working.
	third := parse(token("carla", "carla-token") + server("primary-3", oldSecret) + "[zone.\"pt\"]\n[webhook]\nurl = \"http://127.0.0.1:9/\"\nsecret_file = \"/nonexistent/secret\"\n")
	if err := d.Reload(context.Background(), third); err == nil {
		t.Fatal("a configuration that cannot work was put in force")
	}
	if status("bea-token") != http.StatusOK || status("carla-token") != http.StatusUnauthorized {
		t.Error("a refused reload changed the operators")
	}
	if rc, _ := signedSOA(newSecret); rc != dns.RcodeSuccess || chaosID() != "primary-2" {
		t.Error("a refused reload changed the server's keys or identity")
	}
}

// TestFreezeOneZone: an operator freezes com.pt alone: the publications
// that follow, asked for or scheduled, publish pt and leave com.pt as
// served, saying it is frozen, by whom and why; the status, its page and
// "why" say so too, and the metrics by zone. Thawed, com.pt publishes. Rolled
// back, com.pt alone is frozen, and pt still publishes at the next run.
// Every freeze, thaw and rollback is in the audit log with its zone.
func TestFreezeOneZone(t *testing.T) {
	ctx := context.Background()
	db := testdb.Sample(t)
	keys := t.TempDir()
	testkit.GenerateKeyFiles(t, keys, time.Now().Add(-time.Hour), zonegen.DefaultZones()...)
	cfg := labConfig("freeze", 53)
	cfg.Publish.AssumeChecked = true
	cfg.Operators = []OperatorConfig{{Name: "ana", TokenSHA256: hex.EncodeToString(store.HashToken("operator-token"))}}
	d := startDaemon(t, cfg, db, db, keys, nil)
	call := func(method, path, body string, out any) int {
		t.Helper()
		return operatorCall(t, d, method, path, "operator-token", body, out)
	}
	type zoneResult struct {
		Outcome  string
		Serial   uint32
		Refusals []struct{ Code, Message string }
	}
	publishNow := func() map[string]zoneResult {
		t.Helper()
		var res struct {
			Zones []struct {
				Zone string
				zoneResult
			}
		}
		if code := call("POST", "publish", `{}`, &res); code != http.StatusOK {
			t.Fatalf("publish: %d", code)
		}
		out := map[string]zoneResult{}
		for _, z := range res.Zones {
			out[z.Zone] = z.zoneResult
		}
		return out
	}
	// moveOne gives the first active domain of zone z with name servers
	// other name servers, for the next publication to publish.
	moved := 0
	moveOne := func(z string) string {
		t.Helper()
		snap, err := db.Snapshot(ctx)
		if err != nil {
			t.Fatal(err)
		}
		defer snap.Close()
		for c, err := range snap.Domains(ctx, store.Filter{Zone: z, Statuses: []store.Status{store.StatusActive}}) {
			if err != nil {
				t.Fatal(err)
			}
			if len(c.Domain.Nameservers) == 0 {
				continue
			}
			moved++
			dom := c.Domain
			dom.Nameservers = []store.Nameserver{{Name: fmt.Sprintf("ns1.outro%d.net", moved)}, {Name: fmt.Sprintf("ns2.outro%d.net", moved)}}
			if err := db.PutDomain(ctx, dom); err != nil {
				t.Fatal(err)
			}
			return dom.Name
		}
		t.Fatalf("no active domain with name servers in %s", z)
		return ""
	}

	first := publishNow()
	if first["pt"].Outcome != "published" || first["com.pt"].Outcome != "published" {
		t.Fatalf("the first publication: %+v", first)
	}
	waitFor(t, "the first publication served", func() bool { return servedSerial(d, "com.pt") == first["com.pt"].Serial })

	if code := call("POST", "freeze", `{"reason": "r", "zone": "com-pt"}`, nil); code != http.StatusBadRequest {
		t.Errorf("freezing a zone not served: %d", code)
	}
	if code := call("POST", "freeze", `{"reason": "com.pt under review", "zone": "com.pt."}`, nil); code != http.StatusOK {
		t.Fatalf("freezing com.pt: %d", code)
	}
	var refused struct{ Message string }
	if code := call("POST", "freeze", `{"reason": "again", "zone": "com.pt"}`, &refused); code != http.StatusConflict ||
		!strings.Contains(refused.Message, "com.pt under review") {
		t.Errorf("freezing com.pt twice: %d %s", code, refused.Message)
	}
	// A pt domain moves; a com.pt domain is suspended (Art 35).
	inPT, inCom := moveOne("pt"), moveOne("com.pt")
	if err := db.SetStatus(ctx, inCom, store.StatusSuspended); err != nil {
		t.Fatal(err)
	}
	second := publishNow()
	if pt := second["pt"]; pt.Outcome != "published" || pt.Serial == first["pt"].Serial {
		t.Errorf("pt beside frozen com.pt: %+v", pt)
	}
	com := second["com.pt"]
	if com.Outcome != "frozen" || com.Serial != first["com.pt"].Serial || len(com.Refusals) != 1 || com.Refusals[0].Code != "frozen" ||
		!strings.Contains(com.Refusals[0].Message, "publishing of com.pt is frozen by ana") || !strings.Contains(com.Refusals[0].Message, "com.pt under review") {
		t.Errorf("frozen com.pt: %+v", com)
	}
	waitFor(t, "pt served", func() bool { return servedSerial(d, "pt") == second["pt"].Serial })
	if got := servedSerial(d, "com.pt"); got != first["com.pt"].Serial {
		t.Errorf("com.pt served at %d while frozen, want %d", got, first["com.pt"].Serial)
	}
	if in, _ := delegated(t, d, inPT); !in {
		t.Errorf("%s is not delegated after pt's publication", inPT)
	}
	if in, _ := delegated(t, d, inCom); !in {
		t.Errorf("%s, suspended, left com.pt while frozen", inCom)
	}
	if err := d.publishJob(ctx); err != nil {
		t.Errorf("the scheduled publication with com.pt frozen: %v", err)
	}
	var w struct{ Reasons []string }
	if call("GET", "domains/"+inCom+"/why", "", &w); !strings.Contains(strings.Join(w.Reasons, " "), "publishing of com.pt is frozen by ana") {
		t.Errorf("why %s: %+v", inCom, w)
	}
	var st struct {
		Frozen *store.Freeze
		Zones  []struct {
			Zone            string
			Frozen          *store.Freeze
			LastPublication *struct {
				Serial      uint32
				TriggeredBy string `json:"triggered_by"`
			} `json:"last_publication"`
		}
	}
	call("GET", "status", "", &st)
	for _, z := range st.Zones {
		switch {
		case z.Zone == "com.pt" && (z.Frozen == nil || z.Frozen.Zone != "com.pt" || z.Frozen.Actor != "ana" || z.Frozen.Reason != "com.pt under review"):
			t.Errorf("the status of com.pt: frozen %+v", z.Frozen)
		case z.Zone != "com.pt" && z.Frozen != nil:
			t.Errorf("the status of %s: frozen %+v", z.Zone, z.Frozen)
		case z.Zone == "pt" && (z.LastPublication == nil || z.LastPublication.TriggeredBy != "operator:ana"):
			t.Errorf("the status of pt: last publication %+v", z.LastPublication)
		}
	}
	if st.Frozen != nil {
		t.Errorf("every zone frozen: %+v", st.Frozen)
	}
	// The status page says the same: each zone at the serial served,
	// com.pt frozen; for an operator's token alone.
	web := "http://" + d.HTTPAddr().String()
	page := func(path, password string) (int, string) {
		t.Helper()
		req, _ := http.NewRequest("GET", web+path, nil)
		if password != "" {
			req.SetBasicAuth("ana", password)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	for _, password := range []string{"", "wrong"} {
		if code, body := page("/operator/", password); code != http.StatusUnauthorized || strings.Contains(body, "zone-pt") {
			t.Errorf("the status page with password %q: %d", password, code)
		}
	}
	code, body := page("/operator/?lang=en", "operator-token")
	if code != http.StatusOK {
		t.Fatalf("the status page: %d", code)
	}
	for _, z := range d.Zones() {
		_, sec, ok := strings.Cut(body, `id="zone-`+z+`"`)
		sec, _, _ = strings.Cut(sec, "</section>")
		served := fmt.Sprintf(`<td class="served">%d</td>`, servedSerial(d, z))
		if !ok || servedSerial(d, z) == 0 || !strings.Contains(sec, served) {
			t.Errorf("the status page on %s lacks %s:\n%s", z, served, sec)
		}
		if frozen := strings.Contains(sec, "frozen</span> by ana"); frozen != (z == "com.pt") {
			t.Errorf("the status page shows %s frozen: %v", z, frozen)
		}
	}
	if code, body := page("/", ""); code != http.StatusOK || !strings.Contains(body, `href="/operator/"`) || !strings.Contains(body, `href="/metrics"`) ||
		!strings.Contains(body, `href="/readyz"`) {
		t.Errorf("the index: %d\n%s", code, body)
	}
	if code, _ := page("/nada", ""); code != http.StatusNotFound {
		t.Errorf("GET /nada: %d, want 404", code)
	}

	// A thaw of every zone is not com.pt's; com.pt's own is.
	if code := call("POST", "thaw", `{"reason": "r"}`, &refused); code != http.StatusConflict || !strings.Contains(refused.Message, "com.pt") {
		t.Errorf("thawing every zone: %d %s", code, refused.Message)
	}
	if code := call("POST", "thaw", `{"reason": "reviewed", "zone": "com.pt"}`, nil); code != http.StatusOK {
		t.Fatalf("thawing com.pt: %d", code)
	}
	third := publishNow()
	if com := third["com.pt"]; com.Outcome != "published" || com.Serial == first["com.pt"].Serial {
		t.Errorf("com.pt thawed: %+v", com)
	}
	waitFor(t, "com.pt thawed served", func() bool { return servedSerial(d, "com.pt") == third["com.pt"].Serial })
	if in, _ := delegated(t, d, inCom); in {
		t.Errorf("%s, suspended, is still delegated after com.pt is thawed", inCom)
	}

	// Rolled back: com.pt is frozen, pt goes on.
	var rb struct{ Zone zoneResult }
	if code := call("POST", "zones/com.pt/rollback", `{"reason": "the wrong name servers"}`, &rb); code != http.StatusOK || rb.Zone.Outcome != "published" {
		t.Fatalf("rolling back com.pt: %d %+v", code, rb)
	}
	moveOne("pt")
	moveOne("com.pt")
	fourth := publishNow()
	if pt := fourth["pt"]; pt.Outcome != "published" || pt.Serial == second["pt"].Serial {
		t.Errorf("pt after the rollback of com.pt: %+v", pt)
	}
	if com := fourth["com.pt"]; com.Outcome != "frozen" || com.Serial != rb.Zone.Serial || !strings.Contains(com.Refusals[0].Message, "com.pt rolled back") {
		t.Errorf("com.pt after its rollback: %+v", com)
	}
	waitFor(t, "pt served after the rollback of com.pt", func() bool { return servedSerial(d, "pt") == fourth["pt"].Serial })

	resp, err := http.Get("http://" + d.HTTPAddr().String() + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	text, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	for _, want := range []string{`ptzone_publishing_frozen{zone="com.pt"} 1`, `ptzone_publishing_frozen{zone="pt"} 0`,
		`ptzone_publish_zones_total{outcome="frozen",zone="com.pt"} 3`} {
		if !bytes.Contains(text, []byte(want)) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
	if bytes.Contains(text, []byte(`ptzone_publish_guard_refusals_total{reason="frozen"`)) {
		t.Error("a freeze is counted as the guard's refusal")
	}

	var audit struct {
		Audit []struct{ Actor, Action, Target, Reason string }
	}
	call("GET", "audit", "", &audit)
	var got []string
	for _, e := range audit.Audit {
		if e.Action != "publish" {
			got = append(got, e.Action+":"+e.Target+":"+e.Reason)
		}
	}
	want := []string{"rollback:com.pt:the wrong name servers",
		fmt.Sprintf("freeze:com.pt:com.pt rolled back to serial %d: the wrong name servers (thaw once the registry is mended; the next publication builds from it)", rb.Zone.Serial),
		"thaw:com.pt:reviewed", "freeze:com.pt:com.pt under review"}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("audit log:\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

// operatorCall asks the daemon's operator API with a bearer token (none
// when empty), decodes the JSON answer into out when given, and returns
// the HTTP status.
func operatorCall(t *testing.T, d *Daemon, method, path, token, body string, out any) int {
	t.Helper()
	req, _ := http.NewRequest(method, "http://"+d.HTTPAddr().String()+"/api/v1/operator/"+path, strings.NewReader(body))
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if out != nil {
		if err := json.Unmarshal(b, out); err != nil {
			t.Fatalf("%s %s: %v: %s", method, path, err, b)
		}
	}
	return resp.StatusCode
}
