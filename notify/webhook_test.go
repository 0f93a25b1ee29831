package notify

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ptzone/ptzone/internal/testkit"
	"github.com/ptzone/ptzone/store"
)

// The Standard Webhooks specification's published example (secret, id,
// timestamp, body and the signature every library must produce): a
// receiver using any of their libraries accepts what ptzone signs.
func TestWebhookSignatureMatchesTheStandard(t *testing.T) {
	key, err := WebhookSecret("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw\n", "secret file")
	if err != nil {
		t.Fatal(err)
	}
	w := &Webhook{Secret: key}
	got := w.sign("msg_p5jXN8AQM9LWM0D4loKWxJek", time.Unix(1614265330, 0), []byte(`{"test": 2432232314}`))
	if want := "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="; got != want {
		t.Errorf("signature %s, want %s", got, want)
	}
}

func TestWebhookSecret(t *testing.T) {
	if k, err := WebhookSecret("a raw secret of 26 bytes..", "f"); err != nil || len(k) != 26 {
		t.Errorf("a raw secret: %d bytes, %v", len(k), err)
	}
	for text, want := range map[string]string{
		"whsec_!!!":        "f: the secret after whsec_ is not base64",
		"short":            "f: the secret is 5 bytes, want at least 16",
		"whsec_c2hvcnQ=":   "f: the secret is 5 bytes",
		"   \n":            "f: the secret is 0 bytes",
		"whsec_" + b64(40): "",
	} {
		_, err := WebhookSecret(text, "f")
		if (want == "") != (err == nil) || (err != nil && !strings.Contains(err.Error(), want)) {
			t.Errorf("WebhookSecret(%q) = %v, want %q", text, err, want)
		}
	}
}

func b64(n int) string { return base64.StdEncoding.EncodeToString(make([]byte, n)) }

// receiver is the registry's webhook endpoint: a real HTTP server on
// loopback that verifies each delivery as a Standard Webhooks receiver
// does, and answers with the status the test sets.
type receiver struct {
	t      *testing.T
	secret []byte
	srv    *httptest.Server
	mu     sync.Mutex
	status int
	got    []delivery
}

type delivery struct {
	id, timestamp string
	body          webhookNotice
}

func newReceiver(t *testing.T, secret []byte) *receiver {
	r := &receiver{t: t, secret: secret, status: http.StatusNoContent}
	r.srv = httptest.NewServer(http.HandlerFunc(r.serve))
	t.Cleanup(r.srv.Close)
	return r
}

func (r *receiver) serve(w http.ResponseWriter, req *http.Request) {
	if req.URL.Path == "/followed" {
		r.t.Error("the notifier followed a redirect: a notice may go only where the webhook points")
		return
	}
	body, err := io.ReadAll(req.Body)
	if err != nil {
		r.t.Error(err)
		return
	}
	id, ts, sig := req.Header.Get("webhook-id"), req.Header.Get("webhook-timestamp"), req.Header.Get("webhook-signature")
	mac := hmac.New(sha256.New, r.secret)
	fmt.Fprintf(mac, "%s.%s.%s", id, ts, body)
	want := "v1," + base64.StdEncoding.EncodeToString(mac.Sum(nil))
	if req.Method != http.MethodPost || req.Header.Get("Content-Type") != "application/json" || !hmac.Equal([]byte(sig), []byte(want)) {
		r.t.Errorf("a delivery that does not verify: %s %s, signature %q, want %q", req.Method, req.Header.Get("Content-Type"), sig, want)
		http.Error(w, "bad signature", http.StatusUnauthorized)
		return
	}
	var n webhookNotice
	if err := json.Unmarshal(body, &n); err != nil {
		r.t.Errorf("the body is not a notice: %v: %s", err, body)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.status/100 == 2 {
		r.got = append(r.got, delivery{id: id, timestamp: ts, body: n})
	}
	if r.status/100 == 3 {
		w.Header().Set("Location", r.srv.URL+"/followed")
	}
	w.WriteHeader(r.status)
	fmt.Fprintln(w, http.StatusText(r.status))
}

func (r *receiver) answer(status int) { r.mu.Lock(); defer r.mu.Unlock(); r.status = status }

func (r *receiver) deliveries() []delivery {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]delivery(nil), r.got...)
}

// queueForWebhook records a second failing check of exemplo.pt whose
// notice is for the webhook, as the gate queues it when one is
// configured.
func queueForWebhook(t *testing.T, db interface {
	RecordChecks(context.Context, []store.CheckRecord, *store.Sweep) ([]int64, error)
}, findings []store.Finding) {
	t.Helper()
	rec := store.CheckRecord{
		Result: store.CheckResult{Domain: "exemplo.pt", Time: t0, Trigger: "sweep", Verdict: store.VerdictFail, Findings: findings},
		State: store.DelegationState{Domain: "exemplo.pt", LastVerdict: store.VerdictFail, LastChecked: t0, FirstFailure: t0,
			ConsecutiveFailures: 1, Reason: "failing", Updated: t0},
		Notices: []store.Notice{{Created: t0, Domain: "exemplo.pt", Kind: store.NoticeFailing, Role: store.RoleWebhook, Recipient: "ops",
			Deadline: t0.Add(14 * 24 * time.Hour), Findings: findings}},
	}
	if _, err := db.RecordChecks(context.Background(), []store.CheckRecord{rec}, nil); err != nil {
		t.Fatal(err)
	}
}

// TestWebhookDeliveredOnceAfterAnOutage: the webhook's notice waits in
// the outbox while its endpoint is unreachable, then failing (503), then
// redirecting (not followed); each attempt is kept with its error, which
// names the host and never the URL's token. Once the endpoint takes it,
// it has the notice once, signed, with the findings and their articles
// (Art 1.1, 23.2), and the same webhook-id on every attempt. The mails
// are left for a notifier with a relay.
func TestWebhookDeliveredOnceAfterAnOutage(t *testing.T) {
	db := registry(t, "dns@exemplo.pt", 2)
	mails := pending(t, db)
	queueForWebhook(t, db, mails[0].Findings)
	secret := []byte("a webhook secret for the tests")
	rcv := newReceiver(t, secret)
	path := "/hooks/t0ken-in-the-path"

	// First nothing listens where the webhook points.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := l.Addr().String()
	l.Close()
	clk := testkit.NewClock(t0)
	hook := &Webhook{Name: "ops", URL: "http://" + closed + path, Secret: secret, Timeout: 2 * time.Second}
	n := &Notifier{Store: db, Webhook: hook, Now: clk.Now}
	ctx := context.Background()
	hookNotice := func() store.Notice {
		t.Helper()
		for _, nt := range pending(t, db) {
			if nt.Role == store.RoleWebhook {
				return nt
			}
		}
		t.Fatal("the webhook's notice is not pending")
		return store.Notice{}
	}

	if res, err := n.RunOnce(ctx); err != nil || res != (Result{Failed: 1}) {
		t.Fatalf("endpoint unreachable: %+v, %v; want the webhook's one failed, the mails left alone", res, err)
	}
	nt := hookNotice()
	if nt.Attempts != 1 || !strings.Contains(nt.LastError, "connection refused") || !strings.Contains(nt.LastError, closed) ||
		strings.Contains(nt.LastError, "t0ken") {
		t.Errorf("after the endpoint was unreachable: %d attempts, %q (the host named, not the path)", nt.Attempts, nt.LastError)
	}
	for _, m := range pending(t, db) {
		if m.Role != store.RoleWebhook && m.Attempts != 0 {
			t.Errorf("a notifier without a relay tried the mail to %s", m.Recipient)
		}
	}

	hook.URL = rcv.srv.URL + path
	for i, status := range []int{http.StatusServiceUnavailable, http.StatusFound} {
		rcv.answer(status)
		clk.Add(time.Hour) // past any retry time
		if res, err := n.RunOnce(ctx); err != nil || res != (Result{Failed: 1}) {
			t.Fatalf("endpoint answering %d: %+v, %v; want 1 failed", status, res, err)
		}
		if nt := hookNotice(); nt.Attempts != 2+i || !strings.Contains(nt.LastError, strconv.Itoa(status)) {
			t.Errorf("after a %d: %d attempts, %q", status, nt.Attempts, nt.LastError)
		}
	}

	rcv.answer(http.StatusNoContent)
	clk.Add(time.Hour)
	if res, err := n.RunOnce(ctx); err != nil || res != (Result{Sent: 1}) {
		t.Fatalf("endpoint back: %+v, %v; want 1 sent", res, err)
	}
	clk.Add(24 * time.Hour)
	if res, err := n.RunOnce(ctx); err != nil || res != (Result{}) {
		t.Errorf("after delivery: %+v, %v; want nothing more", res, err)
	}
	got := rcv.deliveries()
	if len(got) != 1 {
		t.Fatalf("%d deliveries taken, want 1", len(got))
	}
	d := got[0]
	if d.id != webhookID(nt) || d.timestamp != strconv.FormatInt(clk.Now().Add(-24*time.Hour).Unix(), 10) {
		t.Errorf("webhook-id %q (want %q), webhook-timestamp %s", d.id, webhookID(nt), d.timestamp)
	}
	b := d.body
	if b.Type != store.NoticeFailing || !b.Timestamp.Equal(t0) || b.Data.Domain != "exemplo.pt" || b.Data.Notice != nt.ID ||
		b.Data.Deadline == nil || !b.Data.Deadline.Equal(t0.Add(14*24*time.Hour)) {
		t.Errorf("the notice posted: %+v", b)
	}
	if !strings.Contains(b.Data.Summary, "until 7 December 2026, 04:00 UTC") || !strings.Contains(b.Data.Summary, "Art 23.2") ||
		!strings.Contains(b.Data.SummaryPT, "07/12/2026") {
		t.Errorf("the summaries: %q / %q", b.Data.Summary, b.Data.SummaryPT)
	}
	if len(b.Data.Findings) != 1 || b.Data.Findings[0].Code != "NO_RESPONSE" || b.Data.Findings[0].Article != "Art 1.1" ||
		b.Data.Findings[0].HintPT == "" {
		t.Errorf("the findings posted: %+v", b.Data.Findings)
	}
	if left := pending(t, db); len(left) != 2 || left[0].Role == store.RoleWebhook || left[1].Role == store.RoleWebhook {
		t.Errorf("pending after delivery: %+v, want the two mails", left)
	}
}

// TestMailAndWebhookTogether: one notifier with a relay and a webhook
// delivers each kind of notice through its own channel, once.
func TestMailAndWebhookTogether(t *testing.T) {
	db := registry(t, "dns@exemplo.pt", 2)
	queueForWebhook(t, db, nil)
	relay := startSink(t, "127.0.0.1:0")
	secret := []byte("a webhook secret for the tests")
	rcv := newReceiver(t, secret)
	n := &Notifier{Store: db, SMTP: SMTP{Addr: relay.addr(), From: "noreply@dns.pt"},
		Webhook: &Webhook{Name: "ops", URL: rcv.srv.URL, Secret: secret}, Now: func() time.Time { return t0 }}
	if res, err := n.RunOnce(context.Background()); err != nil || res != (Result{Sent: 3}) {
		t.Fatalf("%+v, %v; want 3 sent", res, err)
	}
	if len(relay.received()) != 2 || len(rcv.deliveries()) != 1 {
		t.Errorf("%d mails and %d webhook deliveries, want 2 and 1", len(relay.received()), len(rcv.deliveries()))
	}
	if f := rcv.deliveries()[0].body.Data.Findings; f == nil || len(f) != 0 {
		t.Errorf("findings of a notice without any: %#v, want []", f)
	}
}
