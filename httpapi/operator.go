package httpapi

import (
	"context"
	"crypto/subtle"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"go.uber.org/zap"

	"github.com/ptzone/ptzone/publish"
	"github.com/ptzone/ptzone/store"
)

// Operator is the running service an operator acts on (the daemon). The
// errors its state raises (another daemon is the publisher, publishing
// is frozen) it defines itself, marked as a stateConflict.
type Operator interface {
	// Publish runs a publication now.
	Publish(ctx context.Context, req publish.Request) ([]publish.ZoneOutcome, error)
	// Status says how the service stands.
	Status(ctx context.Context) (Status, error)
	// Rollback publishes a zone again as it was before its last
	// publication, and freezes the zone's publishing.
	Rollback(ctx context.Context, zone, by, reason string) (publish.ZoneOutcome, error)
	// Zones are the names of the zones served (no trailing dot).
	Zones() []string
	// Explain says why a name is, or is not, in the zone.
	Explain(ctx context.Context, name string) (Explanation, error)
}

// Explanation answers "why is NAME (not) in the zone?".
type Explanation struct {
	Domain string `json:"domain"`
	// Zone is the zone of ours the name belongs in.
	Zone         string `json:"zone,omitempty"`
	Registered   bool   `json:"registered"`
	Status       string `json:"status,omitempty"`
	InZone       bool   `json:"in_zone"` // delegated in the zone served now
	ServedSerial uint32 `json:"served_serial,omitempty"`
	// Decision is what the next publication does: "delegate", or why not
	// (zonegen's reasons: status, no-nameservers, name, never-checked,
	// withheld), or "not-registered".
	Decision    string          `json:"decision"`
	LastVerdict string          `json:"last_verdict,omitempty"`
	LastChecked *time.Time      `json:"last_checked,omitempty"`
	GateReason  string          `json:"gate_reason,omitempty"`
	Findings    []store.Finding `json:"findings,omitempty"` // the errors of the last check
	// Reasons say it in sentences, in the order they apply: the registry
	// and the gate, then what holds the zone served back (a freeze, a
	// guard refusal) or when the next publication makes it so.
	Reasons []string `json:"reasons"`
}

// OperatorStore is what the operators' surface reads and writes.
type OperatorStore interface {
	store.Operations
	Publications(ctx context.Context, zone string, limit int) ([]store.Publication, error)
	RequestCheck(ctx context.Context, domain, reason string, at time.Time) error
}

// Status is the service's state as an operator sees it.
type Status struct {
	Node string `json:"node"`
	// Publisher: this daemon holds the publisher's lock.
	Publisher bool `json:"publisher"`
	// Frozen is the freeze of every zone; a zone's own is in its
	// ZoneStatus.
	Frozen *store.Freeze `json:"frozen,omitempty"`
	// NextRuns are when each job runs next.
	NextRuns map[string]time.Time `json:"next_runs"`
	Zones    []ZoneStatus         `json:"zones"`
}

// ZoneStatus is one zone's state.
type ZoneStatus struct {
	Zone          string     `json:"zone"`
	ServedSerial  uint32     `json:"served_serial"`
	LastOutcome   string     `json:"last_outcome,omitempty"`
	LastAttempt   *time.Time `json:"last_attempt,omitempty"`
	LastPublished *time.Time `json:"last_published,omitempty"`
	// Frozen is the freeze that stops the zone's publications: the
	// freeze of every zone, or else its own.
	Frozen *store.Freeze `json:"frozen,omitempty"`
	// LastPublication is the zone's last publication, LastRefusal its
	// last attempt refused or failed, among its last 50 attempts.
	LastPublication *PublicationStatus `json:"last_publication,omitempty"`
	LastRefusal     *PublicationStatus `json:"last_refusal,omitempty"`
	// SignaturesExpire is when the first signature of the zone served
	// expires.
	SignaturesExpire *time.Time `json:"signatures_expire,omitempty"`
	// Keys are the zone's DNSSEC keys and where each is in its life.
	Keys []KeyStatus `json:"keys,omitempty"`
	// Secondaries are what the zone's secondaries last answered for its
	// SOA.
	Secondaries []SecondaryStatus `json:"secondaries,omitempty"`
}

// PublicationStatus is one entry of the publication log.
type PublicationStatus struct {
	Time        time.Time `json:"time"`
	Serial      uint32    `json:"serial"`
	Outcome     string    `json:"outcome"`
	TriggeredBy string    `json:"triggered_by"`
	// Codes are the refusals' codes (publish.Refuse...); Reason says it
	// in words, as the log does.
	Codes  []string `json:"codes,omitempty"`
	Reason string   `json:"reason,omitempty"`
}

// KeyStatus is one DNSSEC key of a zone.
type KeyStatus struct {
	Tag       uint16 `json:"tag"`
	Algorithm uint8  `json:"algorithm"`
	Role      string `json:"role"`  // KSK, ZSK, CSK
	State     string `json:"state"` // created, published, active, retired, removed
	// Inactive and Delete are when the key stops signing and leaves the
	// zone, when they are set.
	Inactive *time.Time `json:"inactive,omitempty"`
	Delete   *time.Time `json:"delete,omitempty"`
}

// SecondaryStatus is what one secondary last answered for a zone's SOA.
type SecondaryStatus struct {
	Secondary string    `json:"secondary"`
	Serial    uint32    `json:"serial,omitempty"`
	Behind    bool      `json:"behind"` // it did not answer, or answers a serial older (RFC 1982) than the one served
	Checked   time.Time `json:"checked"`
	Error     string    `json:"error,omitempty"`
}

// OperatorToken is an operator's name and the SHA-256 of its token.
type OperatorToken struct {
	Name   string
	SHA256 []byte
}

func (a *API) operatorRoutes(mux Mux) {
	if a.opt.Operator == nil {
		return
	}
	mux.HandleFunc("GET /operator/{$}", a.operatorStatusPage)
	mux.Handle("GET /api/v1/operator/status", a.operatorAPI(a.status))
	mux.Handle("POST /api/v1/operator/publish", a.operatorAPI(untimed(a.publishNow)))
	mux.Handle("POST /api/v1/operator/freeze", a.operatorAPI(a.freeze))
	mux.Handle("POST /api/v1/operator/thaw", a.operatorAPI(a.thaw))
	mux.Handle("GET /api/v1/operator/publications", a.operatorAPI(a.publications))
	mux.Handle("GET /api/v1/operator/audit", a.operatorAPI(a.auditLog))
	mux.Handle("POST /api/v1/operator/domains/{name}/check", a.operatorAPI(a.operatorCheck))
	mux.Handle("GET /api/v1/operator/domains/{name}/why", a.operatorAPI(a.why))
	mux.Handle("POST /api/v1/operator/zones/{zone}/rollback", a.operatorAPI(untimed(a.rollback)))
}

// untimed lifts the server's write timeout for an operator's long call:
// a publication or a rollback of pt takes minutes, and the operator
// waits for its outcome. The timeout bounds every other answer (see
// the daemon's web server); here the operator is authenticated already,
// so a client that is not one cannot hold a connection this way, and
// one that goes away cancels the call through its context.
func untimed(h func(w http.ResponseWriter, r *http.Request, operator string) error) func(w http.ResponseWriter, r *http.Request, operator string) error {
	return func(w http.ResponseWriter, r *http.Request, operator string) error {
		// A writer that cannot (a test's recorder) has no deadline.
		http.NewResponseController(w).SetWriteDeadline(time.Time{})
		return h(w, r, operator)
	}
}

// operatorOf finds the operator holding a token; tokens are compared in
// constant time.
func (a *API) operatorOf(token string) (string, bool) {
	if token == "" {
		return "", false
	}
	sum := store.HashToken(token)
	name := ""
	for _, o := range *a.operators.Load() {
		if subtle.ConstantTimeCompare(sum, o.SHA256) == 1 {
			name = o.Name
		}
	}
	return name, name != ""
}

// operatorAPI authenticates an operator's request by its bearer token.
func (a *API) operatorAPI(h func(w http.ResponseWriter, r *http.Request, operator string) error) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		op, ok := a.operatorOf(bearer(r))
		if !ok {
			a.writeError(w, r, errUnauthorized)
			return
		}
		if err := h(w, r, op); err != nil {
			a.writeError(w, r, err)
		}
	})
}

// audit records an operator's action; an action whose record fails is
// reported as failed, after it was done.
func (a *API) audit(ctx context.Context, e store.AuditEntry, detail any) error {
	if detail != nil {
		b, err := json.Marshal(detail)
		if err != nil {
			return err
		}
		e.Detail = b
	}
	e.Time = a.opt.Now().UTC()
	_, err := a.opt.OperatorStore.Audit(ctx, e)
	return err
}

// readBody decodes a JSON request body (an empty one leaves v as it is).
func readBody(r *http.Request, v any) error {
	dec := json.NewDecoder(http.MaxBytesReader(nil, r.Body, 64<<10))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil && !errors.Is(err, io.EOF) {
		return badRequest("the request body: %v", err)
	}
	return nil
}

func conflict(err error) *apiError {
	return &apiError{status: http.StatusConflict, code: "conflict", message: err.Error()}
}

// status: GET /api/v1/operator/status
func (a *API) status(w http.ResponseWriter, r *http.Request, _ string) error {
	st, err := a.opt.Operator.Status(r.Context())
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, st)
	return nil
}

// PublishBody is the publish request: dry_run publishes nothing (the
// guard's verdict and the delta only); force publishes past the guard's
// forceable refusals, and needs a reason.
type PublishBody struct {
	DryRun bool   `json:"dry_run"`
	Full   bool   `json:"full"`
	Force  bool   `json:"force"`
	Reason string `json:"reason"`
}

// ZoneResult is one zone's outcome, as the operator reads it.
type ZoneResult struct {
	Zone     string            `json:"zone"`
	Outcome  string            `json:"outcome"`
	Serial   uint32            `json:"serial"`
	Mode     string            `json:"mode"`
	Delta    publish.Delta     `json:"delta"`
	Refusals []publish.Refusal `json:"refusals,omitempty"`
	Forced   []publish.Refusal `json:"forced,omitempty"`
	Digest   string            `json:"digest,omitempty"`
}

func zoneResult(o publish.ZoneOutcome) ZoneResult {
	return ZoneResult{Zone: o.Zone, Outcome: string(o.Outcome), Serial: o.Serial, Mode: o.Mode, Delta: o.Delta,
		Refusals: o.Refusals, Forced: o.Forced, Digest: o.Digest}
}

// publishNow: POST /api/v1/operator/publish
func (a *API) publishNow(w http.ResponseWriter, r *http.Request, op string) error {
	var body PublishBody
	if err := readBody(r, &body); err != nil {
		return err
	}
	if body.Force && strings.TrimSpace(body.Reason) == "" {
		return badRequest("a forced publication needs a reason")
	}
	action := "publish"
	req := publish.Request{TriggeredBy: "operator:" + op, DryRun: body.DryRun, Full: body.Full}
	switch {
	case body.DryRun:
		action = "dry_run"
	case body.Force:
		action = "force_publish"
		req.Force = &publish.Force{By: op, Reason: body.Reason}
	}
	out, err := a.opt.Operator.Publish(r.Context(), req)
	if err != nil {
		return err
	}
	results := make([]ZoneResult, 0, len(out))
	for _, o := range out {
		results = append(results, zoneResult(o))
	}
	if !body.DryRun {
		if err := a.audit(r.Context(), store.AuditEntry{Actor: op, Action: action, Reason: body.Reason}, map[string]any{"zones": results}); err != nil {
			return err
		}
	}
	a.opt.Log.Info("operator publication", zap.String("operator", op), zap.String("action", action))
	writeJSON(w, http.StatusOK, map[string]any{"zones": results})
	return nil
}

type reasonBody struct {
	Reason string `json:"reason"`
}

// FreezeBody is the freeze and thaw request: Zone is the zone to freeze
// or thaw, one of those served; empty, every zone (the freeze of every
// zone and a zone's are independent: each is thawed on its own).
type FreezeBody struct {
	Reason string `json:"reason"`
	Zone   string `json:"zone,omitempty"`
}

// freezeZone reads a freeze or thaw request's zone: "" or one served.
func (a *API) freezeZone(body FreezeBody) (string, error) {
	z := strings.ToLower(strings.TrimSuffix(strings.TrimSpace(body.Zone), "."))
	if z == "" || slices.Contains(a.opt.Operator.Zones(), z) {
		return z, nil
	}
	return "", badRequest("zone %q is not one of the zones served (%s); leave it out for every zone", body.Zone, strings.Join(a.opt.Operator.Zones(), ", "))
}

// publishingOf names what a freeze stops.
func publishingOf(zone string) string {
	if zone == "" {
		return "publishing"
	}
	return "publishing of " + zone
}

// freeze: POST /api/v1/operator/freeze {"reason": "...", "zone": "com.pt"}
func (a *API) freeze(w http.ResponseWriter, r *http.Request, op string) error {
	var body FreezeBody
	if err := readBody(r, &body); err != nil {
		return err
	}
	if strings.TrimSpace(body.Reason) == "" {
		return badRequest("freezing needs a reason")
	}
	z, err := a.freezeZone(body)
	if err != nil {
		return err
	}
	f := store.Freeze{Zone: z, Time: a.opt.Now().UTC(), Actor: op, Reason: body.Reason}
	if err := a.opt.OperatorStore.Freeze(r.Context(), f); errors.Is(err, store.ErrFrozen) {
		fs, _ := a.opt.OperatorStore.Freezes(r.Context())
		for _, cur := range fs {
			if cur.Zone == z {
				return conflict(fmt.Errorf("%s is frozen already, by %s since %s: %s", publishingOf(z), cur.Actor, cur.Time.Format(time.RFC3339), cur.Reason))
			}
		}
		return conflict(fmt.Errorf("%s is frozen already", publishingOf(z)))
	} else if err != nil {
		return err
	}
	a.opt.Log.Warn("publishing frozen", zap.String("operator", op), zap.String("zone", z), zap.String("reason", body.Reason))
	writeJSON(w, http.StatusOK, map[string]any{"frozen": f})
	return nil
}

// thaw: POST /api/v1/operator/thaw {"reason": "...", "zone": "com.pt"}
func (a *API) thaw(w http.ResponseWriter, r *http.Request, op string) error {
	var body FreezeBody
	if err := readBody(r, &body); err != nil {
		return err
	}
	z, err := a.freezeZone(body)
	if err != nil {
		return err
	}
	f, err := a.opt.OperatorStore.Thaw(r.Context(), z, store.AuditEntry{Time: a.opt.Now().UTC(), Actor: op, Action: "thaw", Reason: body.Reason})
	if errors.Is(err, store.ErrNotFound) {
		// Say what is frozen: a zone is thawed by its name alone.
		fs, _ := a.opt.OperatorStore.Freezes(r.Context())
		var frozen []string
		for _, cur := range fs {
			if cur.Zone != "" {
				frozen = append(frozen, cur.Zone)
			}
		}
		msg := publishingOf(z) + " is not frozen"
		if z == "" && len(frozen) > 0 {
			msg += " as a whole; frozen alone, each thawed with its zone: " + strings.Join(frozen, ", ")
		}
		return conflict(errors.New(msg))
	}
	if err != nil {
		return err
	}
	a.opt.Log.Warn("publishing thawed", zap.String("operator", op), zap.String("zone", z))
	writeJSON(w, http.StatusOK, map[string]any{"thawed": f})
	return nil
}

func limitParam(r *http.Request, def int) (int, error) {
	l := r.URL.Query().Get("limit")
	if l == "" {
		return def, nil
	}
	n, err := strconv.Atoi(l)
	if err != nil || n < 1 || n > 10000 {
		return 0, badRequest("limit %q: want 1 to 10000", l)
	}
	return n, nil
}

// publications: GET /api/v1/operator/publications?zone=pt&limit=50
func (a *API) publications(w http.ResponseWriter, r *http.Request, _ string) error {
	limit, err := limitParam(r, 50)
	if err != nil {
		return err
	}
	pubs, err := a.opt.OperatorStore.Publications(r.Context(), r.URL.Query().Get("zone"), limit)
	if err != nil {
		return err
	}
	type entry struct {
		ID          int64           `json:"id"`
		Zone        string          `json:"zone"`
		Serial      uint32          `json:"serial"`
		Time        time.Time       `json:"time"`
		Outcome     string          `json:"outcome"`
		TriggeredBy string          `json:"triggered_by"`
		Reason      string          `json:"reason,omitempty"`
		Records     int             `json:"records"`
		Delegations int             `json:"delegations"`
		Digest      string          `json:"digest,omitempty"`
		Details     json.RawMessage `json:"details,omitempty"`
	}
	out := make([]entry, 0, len(pubs))
	for _, p := range pubs {
		e := entry{ID: p.ID, Zone: p.Zone, Serial: p.Serial, Time: p.Time, Outcome: string(p.Outcome), TriggeredBy: p.TriggeredBy,
			Reason: p.Reason, Records: p.Records, Delegations: p.Delegations, Digest: p.Digest}
		if json.Valid(p.Details) {
			e.Details = p.Details
		}
		out = append(out, e)
	}
	writeJSON(w, http.StatusOK, map[string]any{"publications": out})
	return nil
}

// auditLog: GET /api/v1/operator/audit?limit=100
func (a *API) auditLog(w http.ResponseWriter, r *http.Request, _ string) error {
	limit, err := limitParam(r, 100)
	if err != nil {
		return err
	}
	log, err := a.opt.OperatorStore.AuditLog(r.Context(), limit)
	if err != nil {
		return err
	}
	type entry struct {
		ID     int64           `json:"id"`
		Time   time.Time       `json:"time"`
		Actor  string          `json:"actor"`
		Action string          `json:"action"`
		Target string          `json:"target,omitempty"`
		Reason string          `json:"reason,omitempty"`
		Detail json.RawMessage `json:"detail,omitempty"`
	}
	out := make([]entry, 0, len(log))
	for _, e := range log {
		out = append(out, entry{e.ID, e.Time, e.Actor, e.Action, e.Target, e.Reason, e.Detail})
	}
	writeJSON(w, http.StatusOK, map[string]any{"audit": out})
	return nil
}

// operatorCheck: POST /api/v1/operator/domains/{name}/check
func (a *API) operatorCheck(w http.ResponseWriter, r *http.Request, op string) error {
	name := strings.ToLower(strings.TrimSuffix(r.PathValue("name"), "."))
	if err := a.opt.OperatorStore.RequestCheck(r.Context(), name, store.CheckOperator, a.opt.Now()); err != nil {
		if errors.Is(err, store.ErrNotFound) {
			return &apiError{status: http.StatusNotFound, code: "not_found", message: "no such domain: " + name}
		}
		return err
	}
	if err := a.audit(r.Context(), store.AuditEntry{Actor: op, Action: "check", Target: name}, nil); err != nil {
		return err
	}
	writeJSON(w, http.StatusAccepted, map[string]string{"domain": name, "queued": "a check is queued"})
	return nil
}

// why: GET /api/v1/operator/domains/{name}/why
func (a *API) why(w http.ResponseWriter, r *http.Request, _ string) error {
	ex, err := a.opt.Operator.Explain(r.Context(), r.PathValue("name"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, ex)
	return nil
}

// rollback: POST /api/v1/operator/zones/{zone}/rollback {"reason": "..."}
func (a *API) rollback(w http.ResponseWriter, r *http.Request, op string) error {
	var body reasonBody
	if err := readBody(r, &body); err != nil {
		return err
	}
	if strings.TrimSpace(body.Reason) == "" {
		return badRequest("a rollback needs a reason")
	}
	zoneName := strings.ToLower(strings.TrimSuffix(r.PathValue("zone"), "."))
	o, err := a.opt.Operator.Rollback(r.Context(), zoneName, op, body.Reason)
	if err != nil {
		return err
	}
	res := zoneResult(o)
	if err := a.audit(r.Context(), store.AuditEntry{Actor: op, Action: "rollback", Target: zoneName, Reason: body.Reason}, res); err != nil {
		return err
	}
	a.opt.Log.Warn("operator rollback", zap.String("operator", op), zap.String("zone", zoneName), zap.String("outcome", res.Outcome))
	writeJSON(w, http.StatusOK, map[string]any{"zone": res})
	return nil
}

// ParseOperatorToken reads a token's SHA-256 as the configuration
// writes it (hexadecimal).
func ParseOperatorToken(name, sha256Hex string) (OperatorToken, error) {
	b, err := hex.DecodeString(sha256Hex)
	if err != nil || len(b) != 32 {
		return OperatorToken{}, fmt.Errorf("operator %s: token_sha256 is not 64 hexadecimal digits", name)
	}
	return OperatorToken{Name: name, SHA256: b}, nil
}
