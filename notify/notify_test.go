package notify

import (
	"context"
	"io"
	"mime"
	"mime/quotedprintable"
	"net/mail"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ptzone/ptzone/internal/testkit"
	"github.com/ptzone/ptzone/internal/testkit/testdb"
	"github.com/ptzone/ptzone/store"
	"github.com/ptzone/ptzone/store/sqlite"
)

var t0 = time.Date(2026, 11, 23, 4, 0, 0, 0, time.UTC)

// registry opens an embedded store holding exemplo.pt, its registrar, and
// the notices a failing check queues for them (as the gate does: Art 23.2,
// to the technical contact, here tech, and the registrar, Art 5c, 7).
func registry(t *testing.T, tech string, notices int) *sqlite.DB {
	t.Helper()
	ctx := context.Background()
	db := testdb.Open(t)
	if err := db.PutRegistrar(ctx, store.Registrar{ID: "REG-1", Name: "Registo Um", Email: "suporte@registo.pt"}); err != nil {
		t.Fatal(err)
	}
	if err := db.PutDomain(ctx, store.Domain{Name: "exemplo.pt", Zone: "pt", Status: store.StatusActive, Registrar: "REG-1",
		TechEmail: "dns@exemplo.pt", Expires: time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)}); err != nil {
		t.Fatal(err)
	}
	finding := store.Finding{Code: "NO_RESPONSE", Severity: store.SeverityError, Nameserver: "ns1.exemplo.pt.", Address: "192.0.2.53",
		Article: "Art 1.1", Message: "The name server ns1.exemplo.pt. (192.0.2.53) does not answer over UDP.",
		MessagePT: "O servidor de nomes ns1.exemplo.pt. (192.0.2.53) não responde por UDP.",
		Hint:      "Check that the server runs and that UDP port 53 is open.", HintPT: "Verifique que o servidor está a correr.",
		Evidence: "SOA exemplo.pt. @192.0.2.53 UDP: i/o timeout"}
	rec := store.CheckRecord{
		Result: store.CheckResult{Domain: "exemplo.pt", Time: t0, Trigger: "sweep", Verdict: store.VerdictFail, Findings: []store.Finding{finding}},
		State: store.DelegationState{Domain: "exemplo.pt", LastVerdict: store.VerdictFail, LastChecked: t0, FirstFailure: t0,
			ConsecutiveFailures: 1, Reason: "failing", Updated: t0},
	}
	deadline := t0.Add(14 * 24 * time.Hour)
	for i := range notices {
		role, to := store.RoleTech, tech
		if i%2 == 1 {
			role, to = store.RoleRegistrar, "REG-1"
		}
		rec.Notices = append(rec.Notices, store.Notice{Created: t0, Domain: "exemplo.pt", Kind: store.NoticeFailing, Role: role,
			Recipient: to, Deadline: deadline, Findings: rec.Result.Findings})
	}
	if _, err := db.RecordChecks(ctx, []store.CheckRecord{rec}, nil); err != nil {
		t.Fatal(err)
	}
	return db
}

func pending(t *testing.T, db *sqlite.DB) []store.Notice {
	t.Helper()
	n, err := db.Notices(context.Background(), true, 100)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// TestDeliveredOnceAfterTheRelayRecovers: with the relay down, then
// refusing (421), the notices stay in the outbox with each attempt and its
// error, and are not tried again before their retry time; once the relay
// takes mail, each is delivered once, to the technical contact and to the
// registrar's address, and never again.
func TestDeliveredOnceAfterTheRelayRecovers(t *testing.T) {
	db := registry(t, "dns@exemplo.pt", 2)
	down := startSink(t, "127.0.0.1:0")
	addr := down.addr()
	down.stop() // nothing listens there now
	clk := testkit.NewClock(t0)
	n := &Notifier{Store: db, SMTP: SMTP{Addr: addr, From: "Registo .pt <noreply@dns.pt>", Hello: "ptzone.dns.pt", Timeout: 2 * time.Second},
		Now: clk.Now}
	ctx := context.Background()

	if res, err := n.RunOnce(ctx); err != nil || res != (Result{Failed: 2}) {
		t.Fatalf("relay down: %+v, %v; want 2 failed", res, err)
	}
	for _, nt := range pending(t, db) {
		if nt.Attempts != 1 || !strings.Contains(nt.LastError, "connection refused") {
			t.Errorf("notice %d after the relay was down: %d attempts, %q", nt.ID, nt.Attempts, nt.LastError)
		}
	}
	clk.Set(t0.Add(30 * time.Second)) // before the retry, a minute on
	if res, err := n.RunOnce(ctx); err != nil || res != (Result{}) {
		t.Errorf("before the retry time: %+v, %v; want nothing tried", res, err)
	}

	relay := startSink(t, addr)
	relay.setRefuse(true)
	clk.Set(t0.Add(time.Minute))
	if res, err := n.RunOnce(ctx); err != nil || res != (Result{Failed: 2}) {
		t.Fatalf("relay refusing: %+v, %v; want 2 failed", res, err)
	}
	for _, nt := range pending(t, db) {
		if nt.Attempts != 2 || !strings.Contains(nt.LastError, "421") {
			t.Errorf("notice %d after the relay refused: %d attempts, %q", nt.ID, nt.Attempts, nt.LastError)
		}
	}

	relay.setRefuse(false)
	clk.Set(t0.Add(time.Minute + 2*time.Minute)) // the second retry waits two minutes
	if res, err := n.RunOnce(ctx); err != nil || res != (Result{Sent: 2}) {
		t.Fatalf("relay back: %+v, %v; want 2 sent", res, err)
	}
	clk.Set(t0.Add(24 * time.Hour))
	if res, err := n.RunOnce(ctx); err != nil || res != (Result{}) {
		t.Errorf("after delivery: %+v, %v; want nothing more", res, err)
	}
	got := relay.received()
	var to []string
	for _, m := range got {
		if m.from != "noreply@dns.pt" {
			t.Errorf("envelope sender %q", m.from)
		}
		to = append(to, m.to...)
	}
	slices.Sort(to)
	if !slices.Equal(to, []string{"dns@exemplo.pt", "suporte@registo.pt"}) {
		t.Errorf("delivered to %v, want the technical contact and the registrar, once each", to)
	}
	if len(pending(t, db)) != 0 {
		t.Errorf("notices still pending after delivery")
	}
}

// TestMessage: a notice reads in Portuguese, then English: the deadline,
// each finding with its article, hint and evidence; its headers are
// encoded, its Message-ID the notice's own, and it asks for no
// auto-replies (RFC 3834).
func TestMessage(t *testing.T) {
	db := registry(t, "dns@exemplo.pt", 1)
	relay := startSink(t, "127.0.0.1:0")
	n := &Notifier{Store: db, SMTP: SMTP{Addr: relay.addr(), From: "noreply@dns.pt", Hello: "ptzone.dns.pt"}, Now: func() time.Time { return t0 }}
	if res, err := n.RunOnce(context.Background()); err != nil || res.Sent != 1 {
		t.Fatalf("%+v, %v", res, err)
	}
	m, err := mail.ReadMessage(strings.NewReader(relay.received()[0].data))
	if err != nil {
		t.Fatal(err)
	}
	subject, err := new(mime.WordDecoder).DecodeHeader(m.Header.Get("Subject"))
	if err != nil || subject != "exemplo.pt: a delegação falha as verificações / the delegation fails its checks" {
		t.Errorf("Subject %q, %v", subject, err)
	}
	if id := m.Header.Get("Message-ID"); !strings.HasPrefix(id, "<notice-") || !strings.HasSuffix(id, "@ptzone.dns.pt>") {
		t.Errorf("Message-ID %q", id)
	}
	if m.Header.Get("Auto-Submitted") != "auto-generated" || m.Header.Get("To") != "<dns@exemplo.pt>" {
		t.Errorf("headers %v", m.Header)
	}
	b, err := io.ReadAll(quotedprintable.NewReader(m.Body))
	if err != nil {
		t.Fatal(err)
	}
	text := string(b)
	pt, en, ok := strings.Cut(text, "------")
	if !ok {
		t.Fatalf("no Portuguese and English parts:\n%s", text)
	}
	for _, want := range []string{"A delegação mantém-se na zona até 07/12/2026 às 04:00 UTC", "(Art 23.2)",
		"- NO_RESPONSE (ns1.exemplo.pt. 192.0.2.53) [Art 1.1]", "não responde por UDP", "Correção: Verifique que o servidor está a correr.",
		"Consulta: SOA exemplo.pt. @192.0.2.53 UDP: i/o timeout"} {
		if !strings.Contains(pt, want) {
			t.Errorf("the Portuguese part lacks %q:\n%s", want, pt)
		}
	}
	for _, want := range []string{"until 7 December 2026, 04:00 UTC", "does not answer over UDP", "Fix: Check that the server runs"} {
		if !strings.Contains(en, want) {
			t.Errorf("the English part lacks %q:\n%s", want, en)
		}
	}
}

// TestBadRecipient: an address that could smuggle headers or recipients
// in is not sent to; the notice stays with the reason. (The registry
// refuses such a technical contact; the notifier does not count on it.)
func TestBadRecipient(t *testing.T) {
	db := registry(t, "dns@exemplo.pt\r\nBcc: outro@exemplo.net", 1)
	relay := startSink(t, "127.0.0.1:0")
	n := &Notifier{Store: db, SMTP: SMTP{Addr: relay.addr(), From: "noreply@dns.pt"}, Now: func() time.Time { return t0 }}
	if res, err := n.RunOnce(context.Background()); err != nil || res.Failed != 1 {
		t.Fatalf("%+v, %v", res, err)
	}
	if got := relay.received(); len(got) != 0 {
		t.Errorf("sent to a bad address: %+v", got)
	}
	if p := pending(t, db); len(p) != 1 || !strings.Contains(p[0].LastError, "recipient") {
		t.Errorf("pending %+v", p)
	}
}

// TestNotifiersShareTheOutbox: notifiers running at once (daemons sharing
// a database) deliver every notice exactly once between them.
func TestNotifiersShareTheOutbox(t *testing.T) {
	const total = 40
	db := registry(t, "dns@exemplo.pt", total)
	relay := startSink(t, "127.0.0.1:0")
	var wg sync.WaitGroup
	for range 4 {
		n := &Notifier{Store: db, SMTP: SMTP{Addr: relay.addr(), From: "noreply@dns.pt"}, Batch: 5, Now: func() time.Time { return t0 }}
		wg.Go(func() {
			for {
				res, err := n.RunOnce(context.Background())
				if err != nil {
					t.Error(err)
					return
				}
				if res.Sent+res.Failed == 0 {
					return
				}
			}
		})
	}
	wg.Wait()
	ids := map[string]int{}
	for _, m := range relay.received() {
		msg, err := mail.ReadMessage(strings.NewReader(m.data))
		if err != nil {
			t.Fatal(err)
		}
		ids[msg.Header.Get("Message-ID")]++
	}
	if len(ids) != total {
		t.Errorf("%d distinct notices delivered, want %d", len(ids), total)
	}
	for id, n := range ids {
		if n != 1 {
			t.Errorf("%s delivered %d times", id, n)
		}
	}
	if p := pending(t, db); len(p) != 0 {
		t.Errorf("%d notices left", len(p))
	}
}
