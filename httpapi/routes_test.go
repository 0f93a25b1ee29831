package httpapi

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ptzone/ptzone/internal/testkit/testdb"
	"github.com/ptzone/ptzone/publish"
	"github.com/ptzone/ptzone/store"
	"github.com/ptzone/ptzone/store/sqlite"
)

// routeList is a mux that lists the patterns Routes adds, in order.
type routeList struct {
	*http.ServeMux
	patterns []string
}

func (m *routeList) Handle(pattern string, h http.Handler) {
	m.patterns = append(m.patterns, pattern)
	m.ServeMux.Handle(pattern, h)
}

func (m *routeList) HandleFunc(pattern string, h func(http.ResponseWriter, *http.Request)) {
	m.patterns = append(m.patterns, pattern)
	m.ServeMux.HandleFunc(pattern, h)
}

// publicRoutes are the routes anyone may call, and why; every other
// route is an operator's or a registrar's, by its path.
var publicRoutes = map[string]string{
	"GET /{$}":               "the index: links to the surfaces",
	"GET /registrar/{$}":     "a redirect to the domains page (which asks for the session)",
	"GET /registrar/login":   "the login form",
	"POST /registrar/login":  "the login itself, which checks the token given",
	"POST /registrar/logout": "clears the session cookie, whoever asks",
}

// recordingOperator is an operator's service that records what it is
// asked to do.
type recordingOperator struct {
	mu    sync.Mutex
	calls []string
}

func (o *recordingOperator) called(what string) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.calls = append(o.calls, what)
}

func (o *recordingOperator) Publish(context.Context, publish.Request) ([]publish.ZoneOutcome, error) {
	o.called("publish")
	return nil, nil
}
func (o *recordingOperator) Status(context.Context) (Status, error) {
	o.called("status")
	return Status{Node: "n"}, nil
}
func (o *recordingOperator) Rollback(_ context.Context, zone, _, _ string) (publish.ZoneOutcome, error) {
	o.called("rollback")
	return publish.ZoneOutcome{Zone: zone}, nil
}
func (o *recordingOperator) Zones() []string { return []string{"pt"} }
func (o *recordingOperator) Explain(_ context.Context, name string) (Explanation, error) {
	o.called("explain")
	return Explanation{Domain: name}, nil
}

// recordingStore is the embedded store, recording the writes the
// surfaces make.
type recordingStore struct {
	*sqlite.DB
	mu     sync.Mutex
	writes []string
}

func (s *recordingStore) wrote(what string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.writes = append(s.writes, what)
}

func (s *recordingStore) RequestCheck(ctx context.Context, domain, reason string, at time.Time) error {
	s.wrote("check " + domain)
	return s.DB.RequestCheck(ctx, domain, reason, at)
}

func (s *recordingStore) Audit(ctx context.Context, e store.AuditEntry) (int64, error) {
	s.wrote("audit " + e.Action)
	return s.DB.Audit(ctx, e)
}

func (s *recordingStore) Freeze(ctx context.Context, f store.Freeze) error {
	s.wrote("freeze")
	return s.DB.Freeze(ctx, f)
}

func (s *recordingStore) Thaw(ctx context.Context, zone string, e store.AuditEntry) (store.Freeze, error) {
	s.wrote("thaw")
	return s.DB.Thaw(ctx, zone, e)
}

// TestEveryRouteRefusesOthers: every route Routes adds, read from the mux
// as it adds them (a route added later is held to this at once), is
// public and listed as such, or is an operator's or a registrar's by its
// path; and each of those, asked with no credential, a wrong one, or the
// other role's, is refused the way its surface refuses (the API 401 with
// a challenge, a registrar's page a redirect to the login form, the
// operators' page 401) and does nothing: no action of the operator's
// service, no write to the store, none of the data asked for. With its
// own role's credential each is not refused: the table reaches the
// handlers it means to.
func TestEveryRouteRefusesOthers(t *testing.T) {
	ctx := context.Background()
	db := &recordingStore{DB: testdb.Open(t)}
	if err := db.PutRegistrar(ctx, store.Registrar{ID: "REG-A", Name: "Registrar A"}); err != nil {
		t.Fatal(err)
	}
	if err := db.SetRegistrarToken(ctx, "REG-A", store.HashToken(tokenA)); err != nil {
		t.Fatal(err)
	}
	if err := db.PutDomain(ctx, store.Domain{Name: "bom.pt", Zone: "pt", Status: store.StatusActive, Registrar: "REG-A",
		TechEmail: "dns@bom.pt", Expires: time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC),
		Nameservers: []store.Nameserver{{Name: "ns1.hosting.net"}, {Name: "ns2.hosting.net"}}}); err != nil {
		t.Fatal(err)
	}
	op := &recordingOperator{}
	api := New(Options{Store: db, Operator: op, OperatorStore: db, RecheckEvery: time.Nanosecond, RecheckPerHour: 1000,
		Operators: []OperatorToken{{Name: "ana", SHA256: store.HashToken(operatorToken_)}}})
	mux := &routeList{ServeMux: http.NewServeMux()}
	api.Routes(mux)
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	client := &http.Client{Timeout: 10 * time.Second, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}

	type role struct {
		name, token string
	}
	operator, registrar := role{"operator", operatorToken_}, role{"registrar", tokenA}
	var protected int
	for _, pattern := range mux.patterns {
		method, path, ok := strings.Cut(pattern, " ")
		if !ok {
			t.Errorf("route %q names no method: every route says which it serves", pattern)
			continue
		}
		if _, public := publicRoutes[pattern]; public {
			continue
		}
		var own, other role
		switch {
		case strings.HasPrefix(path, "/api/v1/operator/"), strings.HasPrefix(path, "/operator/"):
			own, other = operator, registrar
		case strings.HasPrefix(path, "/api/v1/registrar/"), strings.HasPrefix(path, "/registrar/"):
			own, other = registrar, operator
		default:
			t.Errorf("route %q is neither public nor under an operator's or a registrar's path: list it in publicRoutes, or move it", pattern)
			continue
		}
		protected++
		path = strings.NewReplacer("{name}", "bom.pt", "{zone}", "pt", "{$}", "").Replace(path)
		page := !strings.HasPrefix(path, "/api/")
		ask := func(token string) (*http.Response, string) {
			t.Helper()
			body := io.Reader(nil)
			if method == http.MethodPost && strings.HasPrefix(path, "/api/v1/operator/") {
				body = strings.NewReader(`{"reason":"a test","zone":"pt"}`)
			}
			req, err := http.NewRequest(method, srv.URL+path, body)
			if err != nil {
				t.Fatal(err)
			}
			switch {
			case token == "":
			case page && own == registrar:
				req.AddCookie(&http.Cookie{Name: sessionCookie, Value: token})
			case page:
				req.SetBasicAuth("ana", token)
			default:
				req.Header.Set("Authorization", "Bearer "+token)
			}
			resp, err := client.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			b, _ := io.ReadAll(resp.Body)
			return resp, string(b)
		}
		refused := func(resp *http.Response) bool {
			switch {
			case page && own == registrar:
				return resp.StatusCode == http.StatusSeeOther && resp.Header.Get("Location") == "/registrar/login"
			case page:
				return resp.StatusCode == http.StatusUnauthorized && strings.HasPrefix(resp.Header.Get("WWW-Authenticate"), "Basic ")
			default:
				return resp.StatusCode == http.StatusUnauthorized && strings.HasPrefix(resp.Header.Get("WWW-Authenticate"), "Bearer ")
			}
		}
		for _, c := range []struct{ what, token string }{
			{"no credential", ""}, {"a wrong token", "not-a-token-of-anyone-0123456789abcdef"}, {other.name + "'s token", other.token},
		} {
			resp, body := ask(c.token)
			if !refused(resp) {
				t.Errorf("%s with %s: %s, want it refused", pattern, c.what, resp.Status)
			}
			if strings.Contains(body, "bom.pt") || strings.Contains(body, "hosting.net") {
				t.Errorf("%s with %s: the answer shows the data asked for:\n%s", pattern, c.what, body)
			}
		}
		op.mu.Lock()
		calls := op.calls
		op.mu.Unlock()
		db.mu.Lock()
		writes := db.writes
		db.mu.Unlock()
		if len(calls) > 0 || len(writes) > 0 {
			t.Fatalf("%s, refused, still acted: the operator's service did %v, the store wrote %v", pattern, calls, writes)
		}
		if resp, body := ask(own.token); refused(resp) || resp.StatusCode == http.StatusForbidden || resp.StatusCode == http.StatusNotFound {
			t.Errorf("%s with %s's own token: %s, want it served:\n%s", pattern, own.name, resp.Status, body)
		}
		op.mu.Lock()
		op.calls = nil
		op.mu.Unlock()
		db.mu.Lock()
		db.writes = nil
		db.mu.Unlock()
	}
	if protected < 10 {
		t.Errorf("only %d routes are an operator's or a registrar's: the list is not the one Routes makes", protected)
	}
}

// slowOperator takes its time over everything it is asked.
type slowOperator struct {
	recordingOperator
	delay time.Duration
}

func (o *slowOperator) Publish(ctx context.Context, r publish.Request) ([]publish.ZoneOutcome, error) {
	time.Sleep(o.delay)
	return []publish.ZoneOutcome{{Zone: "pt", Outcome: store.OutcomePublished}}, nil
}

func (o *slowOperator) Rollback(ctx context.Context, zone, by, reason string) (publish.ZoneOutcome, error) {
	time.Sleep(o.delay)
	return publish.ZoneOutcome{Zone: zone, Outcome: store.OutcomePublished}, nil
}

func (o *slowOperator) Status(ctx context.Context) (Status, error) {
	time.Sleep(o.delay)
	return Status{Node: "n"}, nil
}

// TestLongOperatorCallsOutliveTheWriteTimeout: behind a server whose
// write timeout is shorter than the operator's service takes, a
// publication and a rollback asked by an operator get their outcome
// (they lift the timeout, once the operator is authenticated), while
// the status, as slow, is cut by it, as every other route would be.
// The service's delay is three times the timeout: what is asserted is
// which answers arrive, not when.
func TestLongOperatorCallsOutliveTheWriteTimeout(t *testing.T) {
	const timeout = 100 * time.Millisecond
	db := testdb.Open(t)
	api := New(Options{Store: db, Operator: &slowOperator{delay: 3 * timeout}, OperatorStore: db,
		Operators: []OperatorToken{{Name: "ana", SHA256: store.HashToken(operatorToken_)}}})
	mux := http.NewServeMux()
	api.Routes(mux)
	srv := httptest.NewUnstartedServer(mux)
	srv.Config.WriteTimeout = timeout
	srv.Start()
	t.Cleanup(srv.Close)
	for _, c := range []struct {
		method, path string
		answered     bool
	}{
		{"POST", "/api/v1/operator/publish", true},
		{"POST", "/api/v1/operator/zones/pt/rollback", true},
		{"GET", "/api/v1/operator/status", false},
	} {
		req, err := http.NewRequest(c.method, srv.URL+c.path, strings.NewReader(`{"reason":"a test"}`))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Authorization", "Bearer "+operatorToken_)
		resp, err := (&http.Client{Timeout: 30 * time.Second}).Do(req)
		if err == nil {
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
		}
		switch {
		case c.answered && (err != nil || resp.StatusCode != http.StatusOK):
			t.Errorf("%s %s: %v %v, want its outcome", c.method, c.path, resp, err)
		case !c.answered && err == nil:
			t.Errorf("%s %s: %s, want it cut by the write timeout", c.method, c.path, resp.Status)
		}
	}
}
