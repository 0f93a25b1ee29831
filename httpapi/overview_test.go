package httpapi

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/ptzone/ptzone/internal/testkit/testdb"
	"github.com/ptzone/ptzone/publish"
	"github.com/ptzone/ptzone/store"
)

const operatorToken_ = "token-of-operator-ana-0123456789abcdef"

// statusOperator is an operator's service that has a status to show and
// does nothing else: the daemon's, with its real status, is daemon's
// test.
type statusOperator struct{ st Status }

func (o statusOperator) Status(context.Context) (Status, error) { return o.st, nil }
func (o statusOperator) Zones() []string {
	var out []string
	for _, z := range o.st.Zones {
		out = append(out, z.Zone)
	}
	return out
}
func (statusOperator) Publish(context.Context, publish.Request) ([]publish.ZoneOutcome, error) {
	return nil, errors.New("not here")
}
func (statusOperator) Rollback(context.Context, string, string, string) (publish.ZoneOutcome, error) {
	return publish.ZoneOutcome{}, errors.New("not here")
}
func (statusOperator) Explain(context.Context, string) (Explanation, error) {
	return Explanation{}, errors.New("not here")
}

// sampleStatus: pt served at the serial its secondary has; com.pt frozen
// after a rollback, one secondary behind and one not answering, its last
// publication refused by the guard.
func sampleStatus() Status {
	t0 := time.Date(2026, 12, 1, 3, 0, 0, 0, time.UTC)
	at := func(d time.Duration) *time.Time { t := t0.Add(d); return &t }
	return Status{Node: "primario-1", Publisher: true, NextRuns: map[string]time.Time{"publish": t0.Add(15 * time.Minute)},
		Zones: []ZoneStatus{
			{Zone: "pt", ServedSerial: 1796100001, LastOutcome: "published", SignaturesExpire: at(14 * 24 * time.Hour),
				LastPublication: &PublicationStatus{Time: t0, Serial: 1796100001, Outcome: "published", TriggeredBy: "schedule@primario-1"},
				Keys:            []KeyStatus{{Tag: 40001, Algorithm: 13, Role: "KSK", State: "active"}, {Tag: 40002, Algorithm: 13, Role: "ZSK", State: "retired", Delete: at(48 * time.Hour)}},
				Secondaries:     []SecondaryStatus{{Secondary: "192.0.2.53:53", Serial: 1796100001, Checked: t0}}},
			{Zone: "com.pt", ServedSerial: 1796100777, LastOutcome: "refused",
				Frozen:          &store.Freeze{Zone: "com.pt", Time: t0, Actor: "rui", Reason: "com.pt rolled back to serial 1796100777: wrong NS"},
				LastPublication: &PublicationStatus{Time: t0.Add(-time.Hour), Serial: 1796100777, Outcome: "published", TriggeredBy: "rollback:rui"},
				LastRefusal: &PublicationStatus{Time: t0.Add(-2 * time.Hour), Serial: 1796100700, Outcome: "refused", TriggeredBy: "operator:ana",
					Codes: []string{"delegations-removed"}, Reason: "delegations-removed: 31 delegations removed"},
				Keys: []KeyStatus{{Tag: 50001, Algorithm: 13, Role: "CSK", State: "active"}},
				Secondaries: []SecondaryStatus{{Secondary: "192.0.2.53:53", Serial: 1796100500, Behind: true, Checked: t0},
					{Secondary: "198.51.100.53:53", Behind: true, Checked: t0, Error: "i/o timeout"}}},
		}}
}

// operatorServer serves the surfaces with an operator, ana, and the
// daemon's paths beside them.
func operatorServer(t *testing.T, st Status) *httptest.Server {
	t.Helper()
	db := testdb.Open(t)
	api := New(Options{Store: db, Operator: statusOperator{st}, OperatorStore: db,
		Operators: []OperatorToken{{Name: "ana", SHA256: store.HashToken(operatorToken_)}},
		Endpoints: []Endpoint{{Path: "/metrics", PT: "Métricas", EN: "Metrics"}}})
	mux := http.NewServeMux()
	api.Routes(mux)
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv
}

func get(t *testing.T, req *http.Request) (*http.Response, string) {
	t.Helper()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

// TestIndexPage: / lists the surfaces served, and the paths served
// beside them, as a page; the operators' only when there is an operator's
// surface; any other path is still not found.
func TestIndexPage(t *testing.T) {
	f := newFixture(t)
	for _, c := range []struct {
		base       string
		want, lack []string
	}{
		{f.srv.URL, []string{`href="/registrar/"`, `href="/api/v1/registrar/domains"`, "Registrars&#39; pages"}, []string{"/operator/", "/metrics"}},
		{operatorServer(t, sampleStatus()).URL, []string{`href="/registrar/"`, `href="/operator/"`, `href="/api/v1/operator/status"`, `href="/metrics"`, "Metrics"}, nil},
	} {
		req, _ := http.NewRequest("GET", c.base+"/?lang=en", nil)
		resp, body := get(t, req)
		if resp.StatusCode != http.StatusOK || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/html") {
			t.Errorf("GET /: %s %s", resp.Status, resp.Header.Get("Content-Type"))
		}
		for _, w := range c.want {
			if !strings.Contains(body, w) {
				t.Errorf("the index lacks %s:\n%s", w, body)
			}
		}
		for _, l := range c.lack {
			if strings.Contains(body, l) {
				t.Errorf("the index lists %s, not served:\n%s", l, body)
			}
		}
		for _, path := range []string{"/nada", "/registrar/nada", "/index.html"} {
			req, _ := http.NewRequest("GET", c.base+path, nil)
			if resp, _ := get(t, req); resp.StatusCode != http.StatusNotFound {
				t.Errorf("GET %s: %s, want 404", path, resp.Status)
			}
		}
	}
}

// section returns the part of a status page about one zone.
func section(t *testing.T, page, zone string) string {
	t.Helper()
	_, rest, ok := strings.Cut(page, `id="zone-`+zone+`"`)
	if !ok {
		t.Fatalf("the page has no section for %s", zone)
	}
	s, _, _ := strings.Cut(rest, "</section>")
	return s
}

// TestOperatorStatusPage: the status page needs an operator's token, as
// the password of HTTP basic authentication (a browser's) or a bearer
// token; it shows each zone's serial served and its secondaries', its
// freeze, last publication and refusal, keys and first signature
// expiry. Basic authentication does not open the API (whose actions a
// browser must not be led into), and the page takes no POST.
func TestOperatorStatusPage(t *testing.T) {
	srv := operatorServer(t, sampleStatus())
	page := func(auth func(*http.Request)) (*http.Response, string) {
		t.Helper()
		req, _ := http.NewRequest("GET", srv.URL+"/operator/?lang=en", nil)
		auth(req)
		return get(t, req)
	}
	for name, auth := range map[string]func(*http.Request){
		"no token":       func(*http.Request) {},
		"a wrong token":  func(r *http.Request) { r.SetBasicAuth("ana", "wrong") },
		"token as user":  func(r *http.Request) { r.SetBasicAuth(operatorToken_, "") },
		"registrar's":    func(r *http.Request) { r.Header.Set("Authorization", "Bearer "+tokenA) },
		"bearer, wrong":  func(r *http.Request) { r.Header.Set("Authorization", "Bearer wrong") },
		"empty password": func(r *http.Request) { r.SetBasicAuth("ana", "") },
	} {
		resp, body := page(auth)
		if resp.StatusCode != http.StatusUnauthorized || !strings.HasPrefix(resp.Header.Get("WWW-Authenticate"), "Basic ") ||
			strings.Contains(body, "1796100001") || !strings.Contains(body, "which is the operator&#39;s token") {
			t.Errorf("%s: %s %q", name, resp.Status, resp.Header.Get("WWW-Authenticate"))
		}
	}
	for name, auth := range map[string]func(*http.Request){
		"basic":  func(r *http.Request) { r.SetBasicAuth("ana", operatorToken_) },
		"bearer": func(r *http.Request) { r.Header.Set("Authorization", "Bearer "+operatorToken_) },
	} {
		resp, body := page(auth)
		if resp.StatusCode != http.StatusOK || resp.Header.Get("Cache-Control") != "no-store" {
			t.Fatalf("%s: %s", name, resp.Status)
		}
		if !strings.Contains(body, `<span id="operator">ana</span>`) || !strings.Contains(body, "primario-1") || !strings.Contains(body, "publisher") {
			t.Errorf("%s: the page's header and service:\n%s", name, body)
		}
		pt, com := section(t, body, "pt"), section(t, body, "com.pt")
		for _, want := range []string{`<td class="served">1796100001</td>`, "192.0.2.53:53: 1796100001", "schedule@primario-1",
			"40001", "KSK", "40002", "ZSK", "retired", "2026-12-03 03:00 UTC", "2026-12-15 03:00 UTC"} {
			if !strings.Contains(pt, want) {
				t.Errorf("%s: pt's section lacks %q:\n%s", name, want, pt)
			}
		}
		if strings.Contains(pt, "frozen</span>") || strings.Contains(pt, "behind") {
			t.Errorf("%s: pt is shown frozen or behind:\n%s", name, pt)
		}
		for _, want := range []string{`<td class="served">1796100777</td>`, "192.0.2.53:53: 1796100500", "behind", "i/o timeout",
			"frozen</span> by rui since 2026-12-01 03:00 UTC: com.pt rolled back to serial 1796100777: wrong NS",
			"rollback:rui", "<strong>delegations-removed</strong>", "31 delegations removed", "1796100700", "50001", "CSK"} {
			if !strings.Contains(com, want) {
				t.Errorf("%s: com.pt's section lacks %q:\n%s", name, want, com)
			}
		}
	}

	req, _ := http.NewRequest("GET", srv.URL+"/api/v1/operator/status", nil)
	req.SetBasicAuth("ana", operatorToken_)
	if resp, _ := get(t, req); resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("the API with basic authentication: %s, want 401", resp.Status)
	}
	req, _ = http.NewRequest("POST", srv.URL+"/operator/", nil)
	req.SetBasicAuth("ana", operatorToken_)
	if resp, _ := get(t, req); resp.StatusCode != http.StatusMethodNotAllowed {
		t.Errorf("POST to the status page: %s, want 405", resp.Status)
	}
}
