package main

import (
	"encoding/hex"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/miekg/dns"

	"github.com/ptzone/ptzone"
	"github.com/ptzone/ptzone/store"
)

// get fetches a URL and returns its status and body.
func get(t *testing.T, url string) (int, string) {
	t.Helper()
	c := &http.Client{Timeout: 5 * time.Second}
	r, err := c.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Body.Close()
	b, err := io.ReadAll(r.Body)
	if err != nil {
		t.Fatal(err)
	}
	return r.StatusCode, string(b)
}

// TestDaemonCommand: ptzone daemon publishes on its schedule and serves
// what it published, with its metrics and readiness over HTTP; SIGHUP
// refuses a bad configuration and keeps the one in force, and takes a
// good one; interrupted, it stops cleanly.
func TestDaemonCommand(t *testing.T) {
	home, data := registryWithKeys(t, ptzone.SampleRegistry)
	cfg := labDaemonConfig(t, home, "test-node", "@every 1s", "")
	args := append([]string{"daemon", "--config", cfg, "--listen", "127.0.0.1:0", "--http", "127.0.0.1:0"}, data...)
	addr, stdout, stderr := running(t, home, args...)
	base := httpBase(t, stdout)
	deadline := time.Now().Add(30 * time.Second)

	for soaSerialOrZero(addr, "pt.") == 0 {
		if time.Now().After(deadline) {
			t.Fatalf("pt. never served: %s", stderr)
		}
		time.Sleep(50 * time.Millisecond)
	}
	// The zones are served as each is written; the run's metrics come
	// when the whole publication is done.
	var metrics string
	for !strings.Contains(metrics, `ptzone_job_runs_total{job="publish",outcome="ok"}`) {
		if time.Now().After(deadline) {
			t.Fatalf("the publish job never finished:\n%s", stderr)
		}
		time.Sleep(50 * time.Millisecond)
		_, metrics = get(t, base+"/metrics")
	}
	// The server reads the publication's zones just after it.
	for code, body := get(t, base+"/readyz"); code != http.StatusOK || !strings.Contains(body, "8 zones served"); code, body = get(t, base+"/readyz") {
		if time.Now().After(deadline) {
			t.Fatalf("/readyz: %d %s", code, body)
		}
		time.Sleep(50 * time.Millisecond)
	}
	for _, want := range []string{"ptzone_publisher 1", `ptzone_publish_zones_total{outcome="published",zone="pt"}`,
		`ptzone_zone_delegations{kind="all",zone="pt"}`, "ptzone_zone_signature_expiry_timestamp_seconds", "ptzone_dns_"} {
		if !strings.Contains(metrics, want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}

	// A bad file is refused on SIGHUP, and the daemon goes on.
	writeFile(t, home, "ptzone.toml", []byte("[schedule]\npublish = \"sometimes\"\n"))
	syscall.Kill(syscall.Getpid(), syscall.SIGHUP)
	waitLog := func(what string) {
		t.Helper()
		for !strings.Contains(stderr.String(), what) {
			if time.Now().After(deadline) {
				t.Fatalf("the log never said %q:\n%s", what, stderr)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	waitLog("the configuration is refused")
	if !strings.Contains(stderr.String(), `schedule.publish: schedule \"sometimes\"`) {
		t.Errorf("the refusal does not say why:\n%s", stderr)
	}
	writeFile(t, home, "ptzone.toml", []byte("node = \"test-node\"\n[publish]\nassume_checked = true\n[schedule]\npublish = \"off\"\n"))
	syscall.Kill(syscall.Getpid(), syscall.SIGHUP)
	waitLog("configuration reloaded")
}

// httpBase waits for a running daemon to print its web address, and
// returns it (http://host:port).
func httpBase(t *testing.T, stdout *lockedBuffer) string {
	t.Helper()
	web := regexp.MustCompile(`serving HTTP on (http://\S+)/`)
	deadline := time.Now().Add(30 * time.Second)
	for !web.MatchString(stdout.String()) {
		if time.Now().After(deadline) {
			t.Fatalf("no HTTP address printed: %s", stdout)
		}
		time.Sleep(20 * time.Millisecond)
	}
	return web.FindStringSubmatch(stdout.String())[1]
}

// soaSerialOrZero is the zone's serial served at addr, 0 while it is not.
func soaSerialOrZero(addr, zoneName string) uint32 {
	c := &dns.Client{Timeout: time.Second}
	q := new(dns.Msg)
	q.SetQuestion(zoneName, dns.TypeSOA)
	r, _, err := c.Exchange(q, addr)
	if err != nil || len(r.Answer) == 0 {
		return 0
	}
	if soa, ok := r.Answer[0].(*dns.SOA); ok {
		return soa.Serial
	}
	return 0
}

// TestOperatorToken: the token printed hashes to the token_sha256 printed,
// and two tokens differ.
func TestOperatorToken(t *testing.T) {
	home := t.TempDir()
	seen := map[string]bool{}
	for range 2 {
		out := cli(t, home, "operator", "token", "ana").want(t, exitOK).stdout
		m := regexp.MustCompile(`(?s)once; give it to the operator alone\):\n  (\S+)\n.*token_sha256 = "([0-9a-f]{64})"`).FindStringSubmatch(out)
		if m == nil {
			t.Fatalf("operator token:\n%s", out)
		}
		if hex.EncodeToString(store.HashToken(m[1])) != m[2] || seen[m[1]] {
			t.Errorf("token %s, sha256 %s", m[1], m[2])
		}
		seen[m[1]] = true
	}
	cli(t, home, "operator", "token").want(t, exitUsage)
}

// TestOperatorCommands: the operator's CLI acts on a running daemon
// through its API: status, a dry run, a publication, why a name is (not)
// in the zone, a rollback that freezes the zone's publishing, a
// publication that leaves the frozen zone as it is, a thaw of the zone,
// and the audit log of it all; a wrong token exits 1.
func TestOperatorCommands(t *testing.T) {
	home, data := registryWithKeys(t, ptzone.SampleRegistry)
	token := newToken()
	cfg := labDaemonConfig(t, home, "ops-node", "off",
		fmt.Sprintf("[[operator]]\nname = \"ana\"\ntoken_sha256 = %q\n", hex.EncodeToString(store.HashToken(token))))
	addr, stdout, _ := running(t, home, append([]string{"daemon", "--config", cfg, "--listen", "127.0.0.1:0", "--http", "127.0.0.1:0"}, data...)...)
	base := httpBase(t, stdout)
	deadline := time.Now().Add(30 * time.Second)
	tokenFile := writeFile(t, home, "token", []byte(token+"\n"))
	op := func(want int, args ...string) string {
		t.Helper()
		args = append([]string{"operator", args[0], "--server", base, "--token-file", tokenFile}, args[1:]...)
		r := cli(t, home, args...)
		if r.code != want {
			t.Fatalf("%v: exit %d, want %d\n%s%s", args, r.code, want, r.stdout, r.stderr)
		}
		return r.stdout + r.stderr
	}
	waitServed := func(serial string) {
		t.Helper()
		for fmt.Sprint(soaSerialOrZero(addr, "pt.")) != serial {
			if time.Now().After(deadline) {
				t.Fatalf("pt. at serial %s never served", serial)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	serialOf := regexp.MustCompile(`(?m)^pt: published serial (\d+)`)

	if out := op(exitOK, "publish", "--dry-run"); !strings.Contains(out, "pt: dry_run serial") {
		t.Errorf("publish --dry-run:\n%s", out)
	}
	out := op(exitOK, "publish")
	if !serialOf.MatchString(out) {
		t.Fatalf("publish:\n%s", out)
	}
	first := serialOf.FindStringSubmatch(out)[1]
	waitServed(first)
	if out := op(exitOK, "status"); !strings.Contains(out, "node ops-node (publisher)") || !regexp.MustCompile(`(?m)^pt\s+`+first).MatchString(out) ||
		!strings.Contains(out, "KSK") || !strings.Contains(out, "active") {
		t.Errorf("status:\n%s", out)
	}

	// A domain removed from the registry leaves the zone at the next
	// publication; rolled back, it is delegated again and the publishing
	// of pt is frozen.
	const gone = "adega-cooperativa-exemplo.pt"
	var kept []string
	for _, line := range strings.Split(string(ptzone.SampleRegistry), "\n") {
		if !strings.Contains(line, `"name":"`+gone+`"`) {
			kept = append(kept, line)
		}
	}
	file := writeFile(t, home, "without.jsonl", []byte(strings.Join(kept, "\n")))
	cli(t, home, append([]string{"db", "import", "--replace", file}, data...)...).want(t, exitOK)
	if out := op(exitOK, "why", gone); !strings.Contains(out, gone+" is in the zone pt") || !strings.Contains(out, "it is not in the registry") ||
		!strings.Contains(out, "the next publication makes it so") {
		t.Errorf("why, removed but still served:\n%s", out)
	}
	out = op(exitOK, "publish")
	second := serialOf.FindStringSubmatch(out)[1]
	waitServed(second)
	if out := op(exitOK, "why", gone); !strings.Contains(out, gone+" is not in the zone pt") {
		t.Errorf("why, removed:\n%s", out)
	}
	op(exitUsage, "rollback", "pt")
	out = op(exitOK, "rollback", "--reason", "removed by mistake", "pt")
	rolled := regexp.MustCompile(`pt: published serial (\d+), rollback`).FindStringSubmatch(out)
	if rolled == nil || !strings.Contains(out, "Publishing of pt is frozen") || !strings.Contains(out, "thaw --zone pt") {
		t.Fatalf("rollback:\n%s", out)
	}
	waitServed(rolled[1])
	if out := op(exitOK, "why", gone); !strings.Contains(out, gone+" is in the zone pt") || !strings.Contains(out, "publishing of pt is frozen by ana") {
		t.Errorf("why, rolled back:\n%s", out)
	}
	if out := op(exitNegative, "publish"); !regexp.MustCompile(`(?m)^pt: frozen serial `+rolled[1]).MatchString(out) ||
		!strings.Contains(out, "refused: frozen: publishing of pt is frozen by ana") || !strings.Contains(out, "rolled back") {
		t.Errorf("publish while pt is frozen:\n%s", out)
	}
	if out := op(exitOK, "status"); !strings.Contains(out, "pt FROZEN by ana") || strings.Contains(out, "publishing FROZEN") {
		t.Errorf("status while pt is frozen:\n%s", out)
	}
	op(exitNegative, "thaw", "--reason", "registry mended")
	op(exitOK, "thaw", "--reason", "registry mended", "--zone", "pt")
	if out := op(exitOK, "audit", "--json"); !strings.Contains(out, `"action": "rollback"`) || !strings.Contains(out, `"reason": "registry mended"`) {
		t.Errorf("audit:\n%s", out)
	}
	if out := op(exitOK, "publications", "pt"); !strings.Contains(out, `"triggered_by": "rollback:ana"`) {
		t.Errorf("publications:\n%.2000s", out)
	}
	wrong := writeFile(t, home, "wrong", []byte("ptz_wrong"))
	r := cli(t, home, "operator", "status", "--server", base, "--token-file", wrong)
	if r.code != exitNegative || !strings.Contains(r.stderr, "refuses the token") {
		t.Errorf("a wrong token: %d %s", r.code, r.stderr)
	}
}

// TestSystemdUnitCommandLine: the unit in deploy/ runs ptzone daemon with
// flags it takes.
func TestSystemdUnitCommandLine(t *testing.T) {
	text, err := os.ReadFile(filepath.Join("..", "..", "deploy", "ptzone.service"))
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`(?m)^ExecStart=/usr/local/bin/ptzone daemon (.*)$`).FindStringSubmatch(string(text))
	if m == nil {
		t.Fatal("the unit's ExecStart does not run ptzone daemon")
	}
	fs := flag.NewFlagSet("daemon", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	daemonCommand().flags(fs)
	if err := fs.Parse(strings.Fields(m[1])); err != nil || fs.NArg() > 0 {
		t.Errorf("ptzone daemon does not take the unit's command line %q: %v", m[1], err)
	}
}

// labDaemonConfig writes a daemon's configuration for a test into home:
// node's name, every domain delegated (assume_checked), the publish job
// on the schedule spec publish and the others off, the data directory
// followed every 100 ms, then extra (more TOML).
func labDaemonConfig(t *testing.T, home, node, publish, extra string) string {
	t.Helper()
	return writeFile(t, home, "ptzone.toml", []byte(fmt.Sprintf(`node = %q
[publish]
assume_checked = true
[schedule]
publish = %q
checks = "off"
sweep = "off"
notify = "off"
prune = "off"
[server]
follow_interval = "100ms"
%s`, node, publish, extra)))
}
