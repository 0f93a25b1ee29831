package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ptzone/ptzone"
	"github.com/ptzone/ptzone/store"
	"github.com/ptzone/ptzone/store/postgres/pgtest"
	"github.com/ptzone/ptzone/store/sqlite"

	"github.com/miekg/dns"
)

func TestMain(m *testing.M) {
	// A test that must send the program a signal runs it as a child: the
	// test binary, told by the environment to be ptzone.
	if os.Getenv("PTZONE_TEST_AS_MAIN") == "1" {
		main()
	}
	os.Exit(pgtest.Main(m))
}

// TestInterruptExits130: Ctrl-C stops a command that is waiting (here an
// operator command on a daemon that never answers) with status 130, as
// shells report a process stopped by SIGINT, and says so.
func TestInterruptExits130(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	asked := make(chan net.Conn, 1)
	go func() {
		c, err := ln.Accept()
		if err == nil {
			asked <- c // held open, never answered
		}
	}()
	token := writeFile(t, t.TempDir(), "token", []byte("ptz_x\n"))
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, os.Args[0], "operator", "status", "--server", "http://"+ln.Addr().String(), "--token-file", token)
	cmd.Env = append(os.Environ(), "PTZONE_TEST_AS_MAIN=1")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	select {
	case c := <-asked:
		defer c.Close()
	case <-ctx.Done():
		t.Fatal("the command never asked the daemon")
	}
	if err := cmd.Process.Signal(os.Interrupt); err != nil {
		t.Fatal(err)
	}
	err = cmd.Wait()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != exitInterrupted || !strings.Contains(stderr.String(), "interrupted") {
		t.Errorf("after Ctrl-C: %v, stderr %q; want exit status %d", err, stderr.String(), exitInterrupted)
	}
}

type result struct {
	stdout, stderr string
	code           int
}

// cli runs one command line in-process with a private environment.
func cli(t *testing.T, home string, args ...string) result {
	t.Helper()
	return cliIn(t, home, "", args...)
}

func cliIn(t *testing.T, home, stdin string, args ...string) result {
	t.Helper()
	var out, errb bytes.Buffer
	e := &env{
		stdin:  strings.NewReader(stdin),
		stdout: &out,
		stderr: &errb,
		getenv: func(k string) string {
			if k == "HOME" {
				return home
			}
			return ""
		},
	}
	// Generous: under -race the transpiled SQLite of modernc.org/sqlite
	// runs some 20 times slower, and importing the 100,000-domain registry
	// of TestInteropBuiltZones alone takes two minutes on a CI machine.
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	code := run(ctx, e, args)
	return result{out.String(), errb.String(), code}
}

func (r result) want(t *testing.T, code int) result {
	t.Helper()
	if r.code != code {
		t.Fatalf("exit %d, want %d\nstdout:\n%s\nstderr:\n%s", r.code, code, r.stdout, r.stderr)
	}
	return r
}

// TestHelpEverywhere walks the command tree: every command answers --help
// with its usage on stdout and exit 0; leaves list flags and exit codes.
func TestHelpEverywhere(t *testing.T) {
	var walk func(c *command, path []string)
	walk = func(c *command, path []string) {
		args := append(append([]string{}, path...), "--help")
		r := cli(t, t.TempDir(), args...).want(t, exitOK)
		if !strings.HasPrefix(r.stdout, "Usage: ptzone") {
			t.Errorf("%v: help does not start with a usage line:\n%s", args, r.stdout)
		}
		if len(c.subs) == 0 && !strings.Contains(r.stdout, "Exit status:") {
			t.Errorf("%v: help does not document the exit codes", args)
		}
		if c.summary == "" && len(path) > 0 {
			t.Errorf("%v has no summary", path)
		}
		for _, s := range c.subs {
			walk(s, append(append([]string{}, path...), s.name))
		}
	}
	walk(rootCommand(), nil)
}

func TestUsageErrors(t *testing.T) {
	home := t.TempDir()
	for _, args := range [][]string{
		{},
		{"bogus"},
		{"db"},
		{"db", "bogus"},
		{"names", "check"},
		{"names", "check", "--bogus", "x"},
		{"names", "check", "--zone", "co.pt", "x"},
		{"names", "check", "--mode", "lenient", "x"},
		{"db", "import"},
		{"db", "import", "a", "b"},
		{"db", "import", "/nonexistent/file.jsonl"},
		{"db", "export", "--status", "gone"},
		{"db", "export", "--db", "mysql://x"},
		{"db", "generate"},
		{"db", "generate", "--domains", "-5"},
		{"db", "stats", "--db", "sqlite:"},
		{"registrar", "token"},
		{"version", "extra"},
	} {
		r := cli(t, home, args...)
		if r.code != exitUsage {
			t.Errorf("%v: exit %d, want %d\n%s", args, r.code, exitUsage, r.stderr)
		}
		if r.stderr == "" {
			t.Errorf("%v: no message on stderr", args)
		}
	}
}

// TestDBFlagErrors: a DSN the registry cannot be opened from is a usage
// error naming it, its password hidden (storedsn.Parse's words).
func TestDBFlagErrors(t *testing.T) {
	home := t.TempDir()
	for dsn, want := range map[string]string{
		"sqlite:":                 `--db "sqlite:": needs a file path, as in sqlite:/var/lib/ptzone/registry.db`,
		"mysql://ops:hunter2@x/r": `--db "mysql://ops:xxxxx@x/r": want postgres://… or sqlite:PATH`,
	} {
		r := cli(t, home, "db", "stats", "--db", dsn).want(t, exitUsage)
		if !strings.Contains(r.stderr, want) || strings.Contains(r.stderr, "hunter2") {
			t.Errorf("--db %s: stderr %q, want %q", dsn, r.stderr, want)
		}
	}
}

func TestNamesCheck(t *testing.T) {
	home := t.TempDir()
	r := cli(t, home, "names", "check", "açores-café.com.pt", "xn--caf-dma.pt").want(t, exitOK)
	for _, s := range []string{"xn--aores-caf-q3a4a.com.pt", "açores-café.com.pt", "café.pt"} {
		if !strings.Contains(r.stdout, s) {
			t.Errorf("output lacks %s:\n%s", s, r.stdout)
		}
	}
	r = cli(t, home, "names", "check", "exemplo.pt", "lisboa.pt").want(t, exitNegative)
	if !strings.Contains(r.stdout, "Art 11.b") {
		t.Errorf("the violation does not cite its article:\n%s", r.stdout)
	}
	r = cli(t, home, "names", "check", "--lang", "pt", "lisboa.pt").want(t, exitNegative)
	if !strings.Contains(r.stdout, "nome geográfico") || !strings.Contains(r.stdout, "inválido") {
		t.Errorf("Portuguese output:\n%s", r.stdout)
	}
	// Flags after names, and --geo-authority lifting Art 11.b.
	cli(t, home, "names", "check", "lisboa", "--geo-authority").want(t, exitOK)
	cli(t, home, "names", "check", "loja", "--zone", "com.pt").want(t, exitOK)
	cli(t, home, "names", "check", "--mode", "existing", "exemplo.net.pt").want(t, exitOK)
	cli(t, home, "names", "check", "exemplo.net.pt").want(t, exitNegative)

	r = cli(t, home, "names", "check", "--json", "ab--cd", "café.pt").want(t, exitNegative)
	var results []struct {
		Input      string `json:"input"`
		Name       string `json:"name"`
		Unicode    string `json:"unicode"`
		Valid      bool   `json:"valid"`
		Violations []struct {
			Code, Article, Message string
		} `json:"violations"`
	}
	if err := json.Unmarshal([]byte(r.stdout), &results); err != nil {
		t.Fatalf("--json output is not JSON: %v\n%s", err, r.stdout)
	}
	if len(results) != 2 || results[0].Valid || results[0].Violations[0].Article != "Art 9.1.e" ||
		!results[1].Valid || results[1].Name != "xn--caf-dma.pt" || results[1].Unicode != "café.pt" {
		t.Errorf("JSON results = %+v", results)
	}
	// Input that is not UTF-8 is a negative result with a message, not a crash.
	r = cli(t, home, "names", "check", "\xff\xfe.pt").want(t, exitNegative)
	if !strings.Contains(r.stdout, "not valid UTF-8") {
		t.Errorf("output: %s", r.stdout)
	}
}

// backends runs fn against the embedded store and a real PostgreSQL.
func backends(t *testing.T, fn func(t *testing.T, home, dsn string)) {
	t.Run("sqlite", func(t *testing.T) {
		home := t.TempDir()
		fn(t, home, "sqlite:"+filepath.Join(home, "registry.db"))
	})
	t.Run("postgres", func(t *testing.T) {
		home := t.TempDir()
		dsn := pgtest.NewDatabase(t)
		// The schema is missing until "db migrate", which says so.
		r := cli(t, home, "db", "stats", "--db", dsn).want(t, exitNegative)
		if !strings.Contains(r.stderr, "ptzone db migrate") {
			t.Errorf("an unmigrated database does not point to db migrate: %s", r.stderr)
		}
		cli(t, home, "db", "migrate", "--db", dsn).want(t, exitOK)
		r = cli(t, home, "db", "migrate", "--db", dsn).want(t, exitOK)
		if !strings.Contains(r.stdout, "already") {
			t.Errorf("second migrate: %s", r.stdout)
		}
		fn(t, home, dsn)
	})
}

func writeFile(t *testing.T, dir, name string, data []byte) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, data, 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestImportExportRoundTrip(t *testing.T) {
	backends(t, func(t *testing.T, home, dsn string) {
		sample := writeFile(t, home, "sample.jsonl", ptzone.SampleRegistry)
		r := cli(t, home, "db", "import", "--db", dsn, sample).want(t, exitOK)
		if !strings.Contains(r.stdout, "imported 255 domains") {
			t.Errorf("import summary: %s", r.stdout)
		}
		out := filepath.Join(home, "export.jsonl")
		cli(t, home, "db", "export", "--db", dsn, "--output", out).want(t, exitOK)
		got, err := os.ReadFile(out)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, ptzone.SampleRegistry) {
			t.Fatal("export after import differs from the imported file")
		}
		// Filters; standard output.
		r = cli(t, home, "db", "export", "--db", dsn, "--zone", "com.pt", "--status", "active,suspended").want(t, exitOK)
		for _, line := range strings.Split(strings.TrimSpace(r.stdout), "\n") {
			if !strings.Contains(line, `.com.pt","status":"active"`) && !strings.Contains(line, `.com.pt","status":"suspended"`) {
				t.Errorf("filtered export has %s", line)
			}
		}
		// Standard input as the source, in replace mode: nothing changes.
		r = cliIn(t, home, string(ptzone.SampleRegistry), "db", "import", "--db", dsn, "--replace", "-").want(t, exitOK)
		if !strings.Contains(r.stdout, "0 inserted, 0 updated, 255 unchanged, 0 deleted") {
			t.Errorf("replace with the same file: %s", r.stdout)
		}
		r = cli(t, home, "db", "stats", "--db", dsn).want(t, exitOK)
		if !strings.Contains(r.stdout, "255") {
			t.Errorf("stats: %s", r.stdout)
		}
	})
}

// TestImportBadLineChangesNothing is the acceptance case: one bad line and
// the store is left exactly as it was, with the line named.
func TestImportBadLineChangesNothing(t *testing.T) {
	backends(t, func(t *testing.T, home, dsn string) {
		cli(t, home, "db", "import", "--db", dsn, writeFile(t, home, "sample.jsonl", ptzone.SampleRegistry)).want(t, exitOK)
		before := cli(t, home, "db", "export", "--db", dsn).want(t, exitOK).stdout

		var good []string
		for i := range 9 {
			good = append(good, `{"name":"novo-`+string(rune('a'+i))+`.pt","status":"active","registrar":"REG-NEW","expires":"2027-05-01","nameservers":[{"name":"ns1.dns.pt"},{"name":"ns2.dns.pt"}]}`)
		}
		// Line 7: a glue address that is not an address.
		withBad := append(append(append([]string{}, good[:6]...),
			`{"name":"estragado.pt","status":"active","registrar":"REG-NEW","expires":"2027-05-01","nameservers":[{"name":"ns1.estragado.pt","addrs":["192.0.2.300"]}]}`), good[6:]...)
		r := cli(t, home, "db", "import", "--db", dsn, writeFile(t, home, "bad.jsonl", []byte(strings.Join(withBad, "\n")+"\n"))).want(t, exitUsage)
		if !strings.Contains(r.stderr, "bad.jsonl:7: nameservers[0].addrs[0]: \"192.0.2.300\" is not an IP address") {
			t.Errorf("the error does not name the line and field:\n%s", r.stderr)
		}
		// Line 4: a name already registered; only the store can tell.
		withDup := append(append(append([]string{}, good[:3]...),
			`{"name":"padaria-central.pt","status":"active","registrar":"REG-NEW","expires":"2027-05-01"}`), good[3:]...)
		r = cli(t, home, "db", "import", "--db", dsn, writeFile(t, home, "dup.jsonl", []byte(strings.Join(withDup, "\n")+"\n"))).want(t, exitUsage)
		if !strings.Contains(r.stderr, "dup.jsonl:4: name: padaria-central.pt is already registered") {
			t.Errorf("the conflict does not name the line:\n%s", r.stderr)
		}
		after := cli(t, home, "db", "export", "--db", dsn).want(t, exitOK).stdout
		if after != before {
			t.Error("a refused import changed the registry")
		}
		r = cli(t, home, "registrar", "list", "--db", dsn).want(t, exitOK)
		if strings.Contains(r.stdout, "REG-NEW") {
			t.Error("a refused import created its registrar")
		}
		// The good lines alone import.
		cli(t, home, "db", "import", "--db", dsn, writeFile(t, home, "good.jsonl", []byte(strings.Join(good, "\n")+"\n"))).want(t, exitOK)
	})
}

func TestGenerate(t *testing.T) {
	home := t.TempDir()
	a := cli(t, home, "db", "generate", "--domains", "2000", "--seed", "9").want(t, exitOK).stdout
	b := cli(t, home, "db", "generate", "--seed", "9", "--domains", "2000").want(t, exitOK).stdout
	if a != b || strings.Count(a, "\n") != 2000 {
		t.Fatalf("generate is not deterministic or not 2000 lines (%d)", strings.Count(a, "\n"))
	}
	out := filepath.Join(home, "synthetic.jsonl")
	cli(t, home, "db", "generate", "--domains", "2000", "--seed", "9", "--output", out).want(t, exitOK)
	cli(t, home, "db", "import", out).want(t, exitOK)
	// The default store lives in the data directory under HOME.
	if _, err := os.Stat(filepath.Join(home, ".local", "state", "ptzone", "registry.db")); err != nil {
		t.Errorf("the default store is not in the data directory: %v", err)
	}
}

func TestRegistrarToken(t *testing.T) {
	home := t.TempDir()
	dsn := filepath.Join(home, "r.db")
	cli(t, home, "registrar", "add", "--db", "sqlite:"+dsn, "--name", "Registos Lda", "--email", "ops@registos.pt", "REG-9").want(t, exitOK)
	token := strings.TrimSpace(cli(t, home, "registrar", "token", "--db", "sqlite:"+dsn, "REG-9").want(t, exitOK).stdout)
	if !strings.HasPrefix(token, "ptz_") || len(token) < 40 {
		t.Fatalf("token %q", token)
	}
	r, err := sqlite.Open(context.Background(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	reg, err := r.RegistrarByTokenHash(context.Background(), store.HashToken(token))
	if err != nil || reg.ID != "REG-9" {
		t.Errorf("the printed token does not authenticate REG-9: %+v %v", reg, err)
	}
	if got := cli(t, home, "registrar", "list", "--db", "sqlite:"+dsn).want(t, exitOK).stdout; !strings.Contains(got, "issued") || strings.Contains(got, token) {
		t.Errorf("list: %s", got)
	}
	cli(t, home, "registrar", "token", "--db", "sqlite:"+dsn, "REG-404").want(t, exitNegative)
	cli(t, home, "registrar", "add", "--db", "sqlite:"+dsn, "--email", "not-mail", "REG-9").want(t, exitUsage)
}

// TestDemo runs the README's first command as a user would, twice: the
// sample registry in its own store, a lab of name servers with some
// broken on purpose, a sweep that finds them (Art 4.2), the zones
// published and served, the registrar's and operator's surfaces working
// with the tokens printed, and Ctrl-C stopping it all.
func TestDemo(t *testing.T) {
	home := t.TempDir()
	config := filepath.Join(home, ".local", "state", "ptzone", "demo", "ptzone.toml")
	for i := range 2 { // running it again starts from the same sample
		run := demoRun(t, home)
		// The zones are served: pt's SOA is signed and answered with
		// authority; a domain that passed its check is delegated, one
		// whose servers are silent is not (Art 4.2).
		c := &dns.Client{Timeout: 2 * time.Second}
		ask := func(name string, qtype uint16) *dns.Msg {
			q := new(dns.Msg)
			q.SetQuestion(name, qtype)
			q.SetEdns0(1232, true)
			r, _, err := c.Exchange(q, run.dns)
			if err != nil {
				t.Fatalf("asking the demo %s: %v", name, err)
			}
			return r
		}
		if r := ask("pt.", dns.TypeSOA); !r.Authoritative || len(r.Answer) != 2 {
			t.Errorf("the demo's pt. SOA: %v", r)
		}
		if r := ask("adega-cooperativa-exemplo.pt.", dns.TypeNS); len(r.Ns) == 0 || r.Ns[0].Header().Rrtype != dns.TypeNS {
			t.Errorf("adega-cooperativa-exemplo.pt, healthy in the lab, is not delegated: %v", r)
		}
		if r := ask("geladaria-fresca.pt.", dns.TypeNS); r.Rcode != dns.RcodeNameError {
			t.Errorf("geladaria-fresca.pt, its servers silent, is delegated: %v", r)
		}

		// The registrar's token printed sees its broken domains, with
		// their findings; the operator's sees the status.
		get := func(path, token string) (int, string) {
			req, _ := http.NewRequest("GET", run.web+path, nil)
			if token != "" {
				req.Header.Set("Authorization", "Bearer "+token)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			b, _ := io.ReadAll(resp.Body)
			return resp.StatusCode, string(b)
		}
		code, body := get("/api/v1/registrar/domains/geladaria-fresca.pt", run.token("Registrar REG-2's token"))
		if code != 200 || !strings.Contains(body, `"state": "refused"`) || !strings.Contains(body, "NO_RESPONSE") || !strings.Contains(body, "Art 1.1") {
			t.Errorf("the registrar's view of geladaria-fresca.pt: %d %s", code, body)
		}
		if code, body := get("/api/v1/operator/status", run.token("An operator's token")); code != 200 || !strings.Contains(body, `"publisher": true`) {
			t.Errorf("the operator's status: %d %s", code, body)
		}
		if code, _ := get("/api/v1/operator/status", ""); code != http.StatusUnauthorized {
			t.Errorf("the operator's status without a token: %d", code)
		}
		if code, body := get("/metrics", ""); code != 200 || !strings.Contains(body, "ptzone_zone_published_serial{zone=\"pt\"}") {
			t.Errorf("/metrics: %d %.300s", code, body)
		}

		// The second run follows the demo's configuration file as the
		// first left it and the user then changed it: pt's DS TTL.
		dsTTL := []uint32{86400, 7200}[i]
		if r := ask("adega-cooperativa-exemplo.pt.", dns.TypeNS); len(r.Ns) < 2 || r.Ns[len(r.Ns)-2].Header().Ttl != dsTTL && r.Ns[len(r.Ns)-1].Header().Ttl != dsTTL {
			t.Errorf("run %d: the DS of adega-cooperativa-exemplo.pt does not have the configured TTL %d: %v", i+1, dsTTL, r.Ns)
		}

		stdout := run.stop()
		// The second time, the sample as it was, but a zone's parameters
		// changed: the zones are built again in full (a configuration
		// change is one an incremental build cannot follow).
		ptOutcome := "published serial"
		outcome := "published serial"
		loaded := []string{"(255 new, 0 updated, 0 removed)", "(0 new, 0 updated, 0 removed)"}[i]
		for _, s := range []string{"Loaded 255 sample domains " + loaded, "nome.pt (legacy)", "215 domains are active",
			"Broken on purpose", "checked 215 of 215", "geladaria-fresca.pt                fail    NO_RESPONSE (Art 1.1)",
			"mobiliario-moderno.com.pt          warning SERIAL_MISMATCH", "hostel-exemplo.pt                  fail    DS_MISMATCH (Art 5)",
			"pt: " + ptOutcome, "com.pt: " + outcome, "zone verify", "Serving the signed zones on", "kdig @127.0.0.1", "Stopped.",
			"Configuration: " + config, "config check " + config} {
			if !strings.Contains(stdout, s) {
				t.Errorf("demo output lacks %q:\n%s", s, stdout)
			}
		}
		if i == 0 {
			cli(t, home, "config", "check", config).want(t, exitOK)
			f, err := os.OpenFile(config, os.O_APPEND|os.O_WRONLY, 0)
			if err != nil {
				t.Fatal(err)
			}
			fmt.Fprint(f, "[zone.\"pt\".ttl]\nds = \"2h\"\n")
			f.Close()
		}
	}
	demo := filepath.Join(home, ".local", "state", "ptzone", "demo")
	if _, err := os.Stat(filepath.Join(demo, "registry.db")); err != nil {
		t.Errorf("the demo store is not in DIR/demo: %v", err)
	}
	// What the demo published verifies, keys and all.
	r := cli(t, home, "zone", "verify", filepath.Join(demo, "zones", "pt.zone")).want(t, exitOK)
	if !strings.Contains(r.stdout, "valid") {
		t.Errorf("verify the demo's pt: %s", r.stdout)
	}
	if keys, _ := filepath.Glob(filepath.Join(demo, "keys", "Kpt.+013+*.key")); len(keys) != 2 {
		t.Errorf("the demo made %d keys for pt, want a KSK and a ZSK, once: %v", len(keys), keys)
	}
}

// demoRunning is a demo serving: its addresses, its output so far, and
// how to stop it.
type demoRunning struct {
	dns, web string
	out      *lockedBuffer
	stop     func() string
}

// token returns the token printed on the line after the one starting
// with label.
func (d demoRunning) token(label string) string {
	lines := strings.Split(d.out.String(), "\n")
	for i, l := range lines {
		if strings.HasPrefix(strings.TrimSpace(l), label) && i+1 < len(lines) {
			return strings.TrimSpace(lines[i+1])
		}
	}
	return ""
}

// demoRun runs the demo until it serves, and returns where, with a
// function that interrupts it (as Ctrl-C does) and returns its whole
// output once it has stopped, exit 0.
func demoRun(t *testing.T, home string) demoRunning {
	t.Helper()
	var out, errb lockedBuffer
	e := &env{stdin: strings.NewReader(""), stdout: &out, stderr: &errb, getenv: func(k string) string {
		if k == "HOME" {
			return home
		}
		return ""
	}}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan int, 1)
	go func() { done <- run(ctx, e, []string{"demo", "--listen", "127.0.0.1:0", "--http", "127.0.0.1:0"}) }()
	stop := func() string {
		cancel()
		select {
		case code := <-done:
			if code != exitOK {
				t.Errorf("demo exited %d: %s", code, errb.String())
			}
		case <-time.After(30 * time.Second):
			t.Fatal("the demo did not stop")
		}
		return out.String()
	}
	after := func(s, prefix string) string {
		i := strings.Index(s, prefix)
		if i < 0 {
			return ""
		}
		rest := s[i+len(prefix):]
		return rest[:strings.IndexAny(rest, " \n")]
	}
	deadline := time.Now().Add(5 * time.Minute) // SQLite under -race
	for time.Now().Before(deadline) {
		if s := out.String(); strings.Contains(s, "Ctrl-C stops the demo.") {
			return demoRunning{dns: after(s, "Serving the signed zones on "),
				web: strings.TrimSuffix(after(s, "Web pages, API and metrics on "), "/"), out: &out, stop: stop}
		}
		select {
		case code := <-done:
			t.Fatalf("the demo exited %d before serving: %s\n%s", code, errb.String(), out.String())
		case <-time.After(50 * time.Millisecond):
		}
	}
	stop()
	t.Fatalf("the demo did not serve: %s", out.String())
	return demoRunning{}
}
