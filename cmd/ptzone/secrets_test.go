package main

import (
	"bufio"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/miekg/dns"

	"github.com/ptzone/ptzone"
	"github.com/ptzone/ptzone/store"
	"github.com/ptzone/ptzone/store/postgres"
	"github.com/ptzone/ptzone/store/postgres/pgtest"
)

// fakeRelay is an SMTP relay on loopback that offers AUTH PLAIN and
// refuses every credential, as a relay whose password was changed does:
// the notifier logs the failure. It records the credentials it was sent,
// so the test knows the password was read and used.
type fakeRelay struct {
	addr string
	mu   sync.Mutex
	auth []string
}

func newFakeRelay(t *testing.T) *fakeRelay {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	r := &fakeRelay{addr: ln.Addr().String()}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go r.serve(c)
		}
	}()
	return r
}

func (r *fakeRelay) serve(c net.Conn) {
	defer c.Close()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	in := bufio.NewReader(c)
	fmt.Fprint(c, "220 relay.test ESMTP\r\n")
	for {
		line, err := in.ReadString('\n')
		if err != nil {
			return
		}
		verb, arg, _ := strings.Cut(strings.TrimSpace(line), " ")
		switch strings.ToUpper(verb) {
		case "EHLO", "HELO":
			fmt.Fprint(c, "250-relay.test\r\n250 AUTH PLAIN\r\n")
		case "AUTH":
			_, cred, _ := strings.Cut(arg, " ")
			b, _ := base64.StdEncoding.DecodeString(cred)
			r.mu.Lock()
			r.auth = append(r.auth, string(b))
			r.mu.Unlock()
			fmt.Fprint(c, "535 5.7.8 Authentication credentials invalid\r\n")
		case "QUIT":
			fmt.Fprint(c, "221 bye\r\n")
			return
		default:
			fmt.Fprint(c, "503 5.5.1 not now\r\n")
		}
	}
}

func (r *fakeRelay) credentials() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.auth...)
}

// TestDaemonLogsNoSecret: ptzone daemon, run on PostgreSQL through a DSN
// holding its password twice (in the user information and as a
// parameter), with TSIG secrets inline and in a file, an SMTP relay's
// password, a webhook's secret, an operator's token, and registrars'
// tokens in use, writes none of them to its output or its log at the
// debug level, through a run that uses each: a publication, signed and
// badly signed transfers, API calls with good, wrong and misplaced
// tokens, a registrar's login, notices refused by the relay and by the
// webhook, and the stop.
func TestDaemonLogsNoSecret(t *testing.T) {
	ctx := context.Background()
	dsn := pgtest.NewMigrated(t)
	home := t.TempDir()
	data := []string{"--data-dir", filepath.Join(home, "data")}
	cli(t, home, "db", "import", "--db", dsn, writeFile(t, home, "sample.jsonl", ptzone.SampleRegistry)).want(t, exitOK)
	cli(t, home, append([]string{"keys", "generate", "--all"}, data...)...).want(t, exitOK)

	secrets := map[string]string{
		"the DSN's password":           "dsn-password-in-the-user-info-5d1c",
		"the DSN's password parameter": "dsn-password-as-a-parameter-8e2a",
		"the inline TSIG secret":       base64.StdEncoding.EncodeToString([]byte("inline tsig secret 0f7b3c9a1d")),
		"the TSIG secret in a file":    base64.StdEncoding.EncodeToString([]byte("tsig secret of a file 4a8e2b")),
		"the SMTP password":            "smtp-password-b7c4e1",
		"the webhook's secret":         "whsec_" + base64.StdEncoding.EncodeToString([]byte("webhook secret 3e9d7f2c61")),
		"the webhook's key":            "webhook secret 3e9d7f2c61",
		"the operator's token":         "operator-token-of-ana-2f8d0c6b9e",
		"a registrar's token":          "registrar-token-of-reg-1-7a3f9c",
	}
	// A secret's other forms a log could hold: the TSIG keys' octets in
	// hexadecimal (as a MAC is printed).
	for _, k := range []string{"the inline TSIG secret", "the TSIG secret in a file"} {
		raw, _ := base64.StdEncoding.DecodeString(secrets[k])
		secrets[k+" in hexadecimal"] = hex.EncodeToString(raw)
	}

	u, err := url.Parse(dsn)
	if err != nil {
		t.Fatal(err)
	}
	u.User = url.UserPassword(u.User.Username(), secrets["the DSN's password"])
	q := u.Query()
	q.Set("password", secrets["the DSN's password parameter"])
	u.RawQuery = q.Encode()
	db, err := postgres.Open(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if err := db.SetRegistrarToken(ctx, "REG-1", store.HashToken(secrets["a registrar's token"])); err != nil {
		t.Fatal(err)
	}
	// A notice waiting for the technical contact and one for the webhook.
	at := time.Now().UTC().Truncate(time.Second)
	_, err = db.RecordChecks(ctx, []store.CheckRecord{{
		Result: store.CheckResult{Domain: "2go.pt", Time: at, Trigger: "sweep", Verdict: store.VerdictFail},
		State:  store.DelegationState{Domain: "2go.pt", LastVerdict: store.VerdictFail, LastChecked: at, FirstFailure: at, Updated: at},
		Notices: []store.Notice{
			{Created: at, Domain: "2go.pt", Kind: store.NoticeFailing, Role: store.RoleTech, Recipient: "dns@hosting-europa.net"},
			{Created: at, Domain: "2go.pt", Kind: store.NoticeFailing, Role: store.RoleWebhook, Recipient: "ops"},
		}}}, nil)
	if err != nil {
		t.Fatal(err)
	}

	relay := newFakeRelay(t)
	var hookPosts sync.WaitGroup
	hookPosts.Add(1)
	var hookOnce sync.Once
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hookOnce.Do(hookPosts.Done)
		http.Error(w, "the receiver is down for maintenance", http.StatusServiceUnavailable)
	}))
	t.Cleanup(hook.Close)
	opSum := sha256.Sum256([]byte(secrets["the operator's token"]))
	cfg := writeFile(t, home, "ptzone.toml", []byte(fmt.Sprintf(`node = "secretive"
[publish]
assume_checked = true
[schedule]
publish = "@every 1s"
notify = "@every 1s"
checks = "off"
sweep = "off"
prune = "off"
[server]
follow_interval = "100ms"
[[tsig]]
name = "pt-transfer."
secret = %q
[[tsig]]
name = "pt-notify."
secret_file = %q
[transfer."pt"]
allow_from = ["127.0.0.0/8"]
keys = ["pt-transfer."]
[smtp]
addr = %q
from = "ptzone@dns.pt"
username = "ptzone"
password_file = %q
timeout = "5s"
[webhook]
url = %q
name = "ops"
secret_file = %q
[[operator]]
name = "ana"
token_sha256 = %q
[log]
level = "debug"
format = "json"
`, secrets["the inline TSIG secret"], writeFile(t, home, "notify.key", []byte(secrets["the TSIG secret in a file"]+"\n")),
		relay.addr, writeFile(t, home, "smtp.password", []byte(secrets["the SMTP password"]+"\n")),
		hook.URL+"/ptzone", writeFile(t, home, "webhook.secret", []byte(secrets["the webhook's secret"]+"\n")),
		hex.EncodeToString(opSum[:]))))

	var stdout, stderr *lockedBuffer
	// Registered first, so that it runs last: after the daemon stopped.
	t.Cleanup(func() {
		if stdout == nil {
			return
		}
		out := stdout.String() + stderr.String()
		for what, s := range secrets {
			if strings.Contains(out, s) {
				t.Errorf("the daemon's output holds %s (%q)", what, s)
			}
		}
		if t.Failed() {
			t.Logf("the output:\n%s", out)
		}
	})
	args := append([]string{"daemon", "--config", cfg, "--db", u.String(), "--listen", "127.0.0.1:0", "--http", "127.0.0.1:0"}, data...)
	var dnsAddr string
	dnsAddr, stdout, stderr = running(t, home, args...)
	base := httpBase(t, stdout)
	deadline := time.Now().Add(60 * time.Second)
	for soaSerialOrZero(dnsAddr, "pt.") == 0 {
		if time.Now().After(deadline) {
			t.Fatalf("pt. never served: %s", stderr)
		}
		time.Sleep(50 * time.Millisecond)
	}

	// Transfers: signed with the key, and with a wrong secret.
	for _, secret := range []string{secrets["the inline TSIG secret"], base64.StdEncoding.EncodeToString([]byte("not the secret"))} {
		tr := &dns.Transfer{TsigSecret: map[string]string{"pt-transfer.": secret}}
		m := new(dns.Msg)
		m.SetAxfr("pt.")
		m.SetTsig("pt-transfer.", dns.HmacSHA256, 300, time.Now().Unix())
		env, err := tr.In(m, dnsAddr)
		if err != nil {
			t.Fatal(err)
		}
		for range env {
		}
	}
	// The web surfaces, with good, wrong and misplaced tokens.
	call := func(method, path, auth, body string) {
		t.Helper()
		req, err := http.NewRequest(method, base+path, strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		if auth != "" {
			req.Header.Set("Authorization", auth)
		}
		if method == http.MethodPost && strings.HasPrefix(path, "/registrar/") {
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		}
		resp, err := (&http.Client{Timeout: 30 * time.Second, CheckRedirect: func(*http.Request, []*http.Request) error {
			return http.ErrUseLastResponse
		}}).Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
	}
	op, reg := secrets["the operator's token"], secrets["a registrar's token"]
	for _, auth := range []string{"Bearer " + op, "Bearer " + reg, "Bearer " + op + "x", "Basic " + base64.StdEncoding.EncodeToString([]byte("ana:"+op))} {
		call("GET", "/api/v1/operator/status", auth, "")
		call("GET", "/operator/", auth, "")
		call("GET", "/api/v1/registrar/domains", strings.Replace(auth, op, reg, 1), "")
		call("GET", "/api/v1/registrar/domains/2go.pt", auth, "")
	}
	call("POST", "/api/v1/operator/publish", "Bearer "+op, `{"reason":"a test"}`)
	call("POST", "/api/v1/operator/freeze", "Bearer "+op, `{"reason":"a test","zone":"com.pt"}`)
	call("POST", "/registrar/login", "", "token="+url.QueryEscape(reg))
	call("POST", "/registrar/login", "", "token="+url.QueryEscape(reg+"-wrong"))

	// The notices: the relay is offered the password, the webhook a POST;
	// both refuse, and the notifier logs it.
	for len(relay.credentials()) == 0 {
		if time.Now().After(deadline) {
			t.Fatalf("the relay was never offered credentials:\n%s", stderr)
		}
		time.Sleep(50 * time.Millisecond)
	}
	if cred := relay.credentials()[0]; !strings.HasSuffix(cred, "\x00"+secrets["the SMTP password"]) {
		t.Errorf("the relay was sent %q, not the password of the file", cred)
	}
	hookPosts.Wait()
	// The run did what the log is checked for.
	for _, line := range []string{"notice not sent", "transfer sent", "request with a bad TSIG", "registrar logged in"} {
		for !strings.Contains(stderr.String(), line) {
			if time.Now().After(deadline) {
				t.Fatalf("the log never said %q:\n%s", line, stderr)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
}
