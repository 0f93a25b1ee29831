package httpapi

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ptzone/ptzone/delegation"
	"github.com/ptzone/ptzone/delegation/lab"
	"github.com/ptzone/ptzone/internal/testkit/testdb"
	"github.com/ptzone/ptzone/store"
	"github.com/ptzone/ptzone/store/sqlite"
)

// fixture is a registry of two registrars on the embedded store, their
// domains checked for real against lab name servers: REG-A's bom.pt
// passes, its falha.pt and REG-B's alheio.pt were delegated and now fail
// (their servers refuse them).
type fixture struct {
	db       *sqlite.DB
	srv      *httptest.Server
	now      time.Time
	failedAt time.Time
}

const (
	tokenA = "token-of-registrar-a-0123456789abcdef"
	tokenB = "token-of-registrar-b-0123456789abcdef"
)

func newFixture(t *testing.T) *fixture {
	t.Helper()
	ctx := context.Background()
	db := testdb.Open(t)
	l, err := lab.New()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	for id, token := range map[string]string{"REG-A": tokenA, "REG-B": tokenB} {
		if err := db.PutRegistrar(ctx, store.Registrar{ID: id, Name: "Registrar " + id}); err != nil {
			t.Fatal(err)
		}
		if err := db.SetRegistrarToken(ctx, id, store.HashToken(token)); err != nil {
			t.Fatal(err)
		}
	}
	domains := map[string]string{"bom.pt": "REG-A", "falha.pt": "REG-A", "alheio.pt": "REG-B"}
	servers := map[string][]*lab.Server{}
	i := 0
	for name, reg := range domains {
		z := &lab.Zone{Name: name, NS: []string{"ns1." + name, "ns2." + name}, Serial: 1,
			Addrs: map[string][]netip.Addr{"ns1." + name: {lab.Addr(1 + 256*i)}, "ns2." + name: {lab.Addr(2 + 256*i)}}}
		var ns []store.Nameserver
		for j, host := range z.NS {
			a := z.Addrs[host][0]
			s, err := l.Serve(a, 0, 0, z)
			if err != nil {
				t.Fatal(err)
			}
			servers[name] = append(servers[name], s)
			ns = append(ns, store.Nameserver{Name: z.NS[j], Addrs: []netip.Addr{a}})
		}
		err := db.PutDomain(ctx, store.Domain{Name: name, Zone: "pt", Status: store.StatusActive, Registrar: reg, TechEmail: "dns@" + name,
			Expires: time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC), Nameservers: ns})
		if err != nil {
			t.Fatal(err)
		}
		i++
	}
	f := &fixture{db: db, now: time.Date(2026, 12, 1, 3, 0, 0, 0, time.UTC)}
	checker := &delegation.Checker{Port: l.Port, Timeout: 200 * time.Millisecond, Attempts: 1}
	check := func(name string, at time.Time) {
		t.Helper()
		d, err := db.Domain(ctx, name)
		if err != nil {
			t.Fatal(err)
		}
		var prev *store.DelegationState
		if st, err := db.DelegationState(ctx, name); err == nil {
			prev = &st
		} else if !errors.Is(err, store.ErrNotFound) {
			t.Fatal(err)
		}
		rec := delegation.Lifecycle{}.Next(prev, d, checker.Check(ctx, delegation.FromDomain(d)).Result(at, time.Second, "sweep"))
		if _, err := db.RecordChecks(ctx, []store.CheckRecord{rec}, nil); err != nil {
			t.Fatal(err)
		}
	}
	for name := range domains {
		check(name, f.now.Add(-48*time.Hour))
	}
	f.failedAt = f.now.Add(-24 * time.Hour)
	for _, name := range []string{"falha.pt", "alheio.pt"} {
		for _, s := range servers[name] {
			s.SetFaults(lab.Refused)
		}
		check(name, f.failedAt)
	}
	api := New(Options{Store: db, Now: func() time.Time { return f.now }})
	mux := http.NewServeMux()
	api.Routes(mux)
	f.srv = httptest.NewServer(mux)
	t.Cleanup(f.srv.Close)
	return f
}

// call sends an API request with the token (none when empty) and decodes
// the JSON answer into out (when not nil).
func (f *fixture) call(t *testing.T, method, path, token string, out any) *http.Response {
	t.Helper()
	req, err := http.NewRequest(method, f.srv.URL+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := f.srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if out != nil && resp.StatusCode < 300 {
		if err := json.Unmarshal(body, out); err != nil {
			t.Fatalf("%s %s: %v\n%s", method, path, err, body)
		}
	}
	return resp
}

func names(list []DomainSummary) []string {
	var out []string
	for _, d := range list {
		out = append(out, d.Name)
	}
	return out
}

// TestRegistrarAPI: a registrar authenticates with its token and sees
// its own domains only, with their state, findings (message in both
// languages, article, hint, evidence) and history; another registrar's
// domain does not exist for it, whatever it asks; re-checks are queued
// and rate limited.
func TestRegistrarAPI(t *testing.T) {
	f := newFixture(t)
	for _, tok := range []string{"", "not-a-token"} {
		r := f.call(t, "GET", "/api/v1/registrar/domains", tok, nil)
		if r.StatusCode != http.StatusUnauthorized || !strings.HasPrefix(r.Header.Get("WWW-Authenticate"), "Bearer") {
			t.Errorf("token %q: %s, want 401 with WWW-Authenticate", tok, r.Status)
		}
	}

	var list struct {
		Registrar string
		Domains   []DomainSummary
	}
	f.call(t, "GET", "/api/v1/registrar/domains", tokenA, &list)
	if got := names(list.Domains); list.Registrar != "REG-A" || !slices.Equal(got, []string{"bom.pt", "falha.pt"}) {
		t.Errorf("REG-A's domains: %s %v", list.Registrar, got)
	}
	f.call(t, "GET", "/api/v1/registrar/domains?state=failing", tokenA, &list)
	if len(list.Domains) != 1 || list.Domains[0].Name != "falha.pt" ||
		list.Domains[0].WithheldAfter == nil || !list.Domains[0].WithheldAfter.Equal(f.failedAt.Add(14*24*time.Hour)) {
		t.Errorf("REG-A's failing domains: %+v", list.Domains)
	}
	f.call(t, "GET", "/api/v1/registrar/domains", tokenB, &list)
	if got := names(list.Domains); !slices.Equal(got, []string{"alheio.pt"}) {
		t.Errorf("REG-B's domains: %v", got)
	}
	if r := f.call(t, "GET", "/api/v1/registrar/domains?state=broken", tokenA, nil); r.StatusCode != http.StatusBadRequest {
		t.Errorf("an unknown state: %s", r.Status)
	}

	var d DomainDetail
	f.call(t, "GET", "/api/v1/registrar/domains/falha.pt", tokenA, &d)
	if d.State != StateFailing || len(d.History) != 2 || len(d.Findings) == 0 {
		t.Fatalf("falha.pt: %+v", d)
	}
	refused := d.Findings[0]
	if refused.Code != delegation.Refused || refused.Article != "Art 4.2" || !strings.Contains(refused.MessagePT, "recusa") ||
		refused.Hint == "" || refused.HintPT == "" || !strings.Contains(refused.Evidence, "REFUSED") {
		t.Errorf("falha.pt's finding: %+v", refused)
	}

	// Another's domain: not found, in every way of asking.
	for _, c := range []struct{ method, path, token string }{
		{"GET", "/api/v1/registrar/domains/alheio.pt", tokenA},
		{"POST", "/api/v1/registrar/domains/alheio.pt/check", tokenA},
		{"GET", "/api/v1/registrar/domains/falha.pt", tokenB},
		{"GET", "/api/v1/registrar/domains/ALHEIO.PT.", tokenA},
	} {
		if r := f.call(t, c.method, c.path, c.token, nil); r.StatusCode != http.StatusNotFound {
			t.Errorf("%s %s by another registrar: %s, want 404", c.method, c.path, r.Status)
		}
	}
	if r := f.call(t, "POST", "/api/v1/registrar/domains/falha.pt/check", "", nil); r.StatusCode != http.StatusUnauthorized {
		t.Errorf("a re-check without a token: %s", r.Status)
	}

	// A re-check is queued once; asked again at once, refused for a while.
	if r := f.call(t, "POST", "/api/v1/registrar/domains/falha.pt/check", tokenA, nil); r.StatusCode != http.StatusAccepted {
		t.Fatalf("re-check: %s", r.Status)
	}
	queued, err := f.db.ClaimChecks(context.Background(), f.now, time.Minute, 10)
	if err != nil || !slices.ContainsFunc(queued, func(q store.CheckRequest) bool { return q.Domain == "falha.pt" && q.Reason == store.CheckRegistrar }) {
		t.Errorf("the queue after a re-check: %+v, %v", queued, err)
	}
	r := f.call(t, "POST", "/api/v1/registrar/domains/falha.pt/check", tokenA, nil)
	if r.StatusCode != http.StatusTooManyRequests || r.Header.Get("Retry-After") != "300" {
		t.Errorf("a second re-check at once: %s, Retry-After %q", r.Status, r.Header.Get("Retry-After"))
	}
}

// TestRegistrarPages: the pages need a login with a token; logged in, a
// registrar sees its domains and not another's; a form posted from
// another site is refused.
func TestRegistrarPages(t *testing.T) {
	f := newFixture(t)
	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar, Timeout: 5 * time.Second}
	get := func(path string) (*http.Response, string) {
		t.Helper()
		r, err := c.Get(f.srv.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		defer r.Body.Close()
		b, _ := io.ReadAll(r.Body)
		return r, string(b)
	}
	if r, body := get("/registrar/domains"); r.Request.URL.Path != "/registrar/login" || !strings.Contains(body, `name="token"`) {
		t.Errorf("the list without logging in: %s %s", r.Request.URL, r.Status)
	}
	r, err := c.PostForm(f.srv.URL+"/registrar/login", url.Values{"token": {"wrong"}})
	if err != nil {
		t.Fatal(err)
	}
	r.Body.Close()
	if r.StatusCode != http.StatusUnauthorized {
		t.Errorf("a login with a bad token: %s", r.Status)
	}
	if r, err = c.PostForm(f.srv.URL+"/registrar/login", url.Values{"token": {tokenA}}); err != nil {
		t.Fatal(err)
	}
	r.Body.Close()
	_, body := get("/registrar/domains?lang=en")
	if !strings.Contains(body, "falha.pt") || !strings.Contains(body, "bom.pt") || strings.Contains(body, "alheio.pt") {
		t.Errorf("REG-A's list page:\n%s", body)
	}
	if r, _ := get("/registrar/domains/alheio.pt"); r.StatusCode != http.StatusNotFound {
		t.Errorf("another's domain page: %s", r.Status)
	}
	_, body = get("/registrar/domains/falha.pt?lang=pt")
	if !strings.Contains(body, "em falha") || !strings.Contains(body, "Art 4.2") || !strings.Contains(body, "recusa responder") {
		t.Errorf("falha.pt's page in Portuguese:\n%s", body)
	}
	req, _ := http.NewRequest("POST", f.srv.URL+"/registrar/domains/falha.pt/check", nil)
	req.Header.Set("Origin", "https://evil.example")
	if r, err = c.Do(req); err != nil {
		t.Fatal(err)
	}
	r.Body.Close()
	if r.StatusCode != http.StatusForbidden {
		t.Errorf("a cross-site re-check: %s", r.Status)
	}
}
