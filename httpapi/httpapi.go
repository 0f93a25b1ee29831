package httpapi

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"slices"
	"strings"
	"sync/atomic"
	"time"

	"go.uber.org/zap"

	"github.com/ptzone/ptzone/datadir"
	"github.com/ptzone/ptzone/store"
)

// Store is what the surfaces read and write.
type Store interface {
	RegistrarByTokenHash(ctx context.Context, hash []byte) (store.Registrar, error)
	Domain(ctx context.Context, name string) (store.Domain, error)
	DelegationState(ctx context.Context, domain string) (store.DelegationState, error)
	CheckHistory(ctx context.Context, domain string, limit int) ([]store.CheckResult, error)
	Snapshot(ctx context.Context) (store.Snapshot, error)
	RequestCheck(ctx context.Context, domain, reason string, at time.Time) error
}

// Options configure the surfaces.
type Options struct {
	Store Store
	// Grace is the gate's grace period (Art 23.2), for the deadline a
	// failing domain is shown (default 14 days).
	Grace time.Duration
	// RecheckEvery is how often a registrar may ask for one domain's
	// re-check (default 5 minutes), RecheckPerHour how many re-checks
	// it may ask for in all in an hour (default 60).
	RecheckEvery   time.Duration
	RecheckPerHour int
	Now            func() time.Time
	Log            *zap.Logger

	// The operators' surface, served when Operator is set.
	Operator      Operator
	OperatorStore OperatorStore
	Operators     []OperatorToken

	// Endpoints are the paths served beside the surfaces (the daemon's
	// /metrics, say), for the index page at / to list.
	Endpoints []Endpoint
}

// API serves the surfaces.
type API struct {
	opt     Options
	limiter *recheckLimiter
	// operators are the tokens in force: Options.Operators until a
	// configuration reload replaces them (SetOperators).
	operators atomic.Pointer[[]OperatorToken]
}

// SetOperators puts a new set of operator tokens in force: a token
// removed from the configuration stops working at the reload.
func (a *API) SetOperators(tokens []OperatorToken) {
	tokens = slices.Clone(tokens)
	a.operators.Store(&tokens)
}

// New returns the surfaces of the options.
func New(opt Options) *API {
	if opt.Grace == 0 {
		opt.Grace = 14 * 24 * time.Hour
	}
	if opt.RecheckEvery == 0 {
		opt.RecheckEvery = 5 * time.Minute
	}
	if opt.RecheckPerHour == 0 {
		opt.RecheckPerHour = 60
	}
	if opt.Now == nil {
		opt.Now = time.Now
	}
	if opt.Log == nil {
		opt.Log = zap.NewNop()
	}
	a := &API{opt: opt, limiter: newRecheckLimiter(opt.RecheckEvery, opt.RecheckPerHour)}
	a.SetOperators(opt.Operators)
	return a
}

// Mux is what Routes adds the handlers to: an *http.ServeMux, or what
// wraps one (a test's list of every route).
type Mux interface {
	Handle(pattern string, handler http.Handler)
	HandleFunc(pattern string, handler func(http.ResponseWriter, *http.Request))
}

// Routes adds the surfaces' handlers to mux.
func (a *API) Routes(mux Mux) {
	mux.Handle("GET /api/v1/registrar/domains", a.registrarAPI(a.listDomains))
	mux.Handle("GET /api/v1/registrar/domains/{name}", a.registrarAPI(a.getDomain))
	mux.Handle("POST /api/v1/registrar/domains/{name}/check", a.registrarAPI(a.recheckDomain))
	a.pageRoutes(mux)
	a.operatorRoutes(mux)
	// "/" alone: any other path not routed is still not found.
	mux.HandleFunc("GET /{$}", a.index)
}

// apiError is an error with its HTTP status and a stable code.
type apiError struct {
	status  int
	code    string
	message string
	// retryAfter, when set, is sent as Retry-After.
	retryAfter time.Duration
}

func (e *apiError) Error() string { return e.message }

var (
	errUnauthorized = &apiError{status: http.StatusUnauthorized, code: "unauthorized",
		message: "a valid token is needed: Authorization: Bearer TOKEN"}
	// A domain of another registrar is reported as absent: its
	// existence is not this registrar's to learn.
	errNoSuchDomain = &apiError{status: http.StatusNotFound, code: "not_found", message: "no such domain among yours"}
)

// stateConflict is an error saying the service's state forbids an
// action for now, not that the request is wrong or the action failed
// (another daemon is the publisher, publishing is frozen): the package
// that raises it defines it, with this method; it is answered 409.
type stateConflict interface{ Conflict() }

// statusOf maps an error to its HTTP status and code.
func statusOf(err error) *apiError {
	var ae *apiError
	var sc stateConflict
	switch {
	case errors.As(err, &ae):
		return ae
	case errors.As(err, &sc), errors.Is(err, datadir.ErrNoEarlierVersion):
		return conflict(err)
	case errors.Is(err, store.ErrNotFound):
		return errNoSuchDomain
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return &apiError{status: http.StatusServiceUnavailable, code: "unavailable", message: "the request ran out of time"}
	default:
		return &apiError{status: http.StatusInternalServerError, code: "internal", message: "internal error (logged)"}
	}
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.Encode(v)
}

func (a *API) writeError(w http.ResponseWriter, r *http.Request, err error) {
	ae := statusOf(err)
	if ae.status >= 500 {
		a.opt.Log.Error("http request failed", zap.String("path", r.URL.Path), zap.Error(err))
	}
	if ae.status == http.StatusUnauthorized {
		w.Header().Set("WWW-Authenticate", `Bearer realm="ptzone"`)
	}
	if ae.retryAfter > 0 {
		w.Header().Set("Retry-After", formatSeconds(ae.retryAfter))
	}
	writeJSON(w, ae.status, map[string]string{"error": ae.code, "message": ae.message})
}

// bearer returns the request's bearer token, if any.
func bearer(r *http.Request) string {
	h := r.Header.Get("Authorization")
	if t, ok := strings.CutPrefix(h, "Bearer "); ok {
		return strings.TrimSpace(t)
	}
	return ""
}

// registrarOf finds the registrar holding a token.
func (a *API) registrarOf(ctx context.Context, token string) (store.Registrar, error) {
	if token == "" {
		return store.Registrar{}, errUnauthorized
	}
	reg, err := a.opt.Store.RegistrarByTokenHash(ctx, store.HashToken(token))
	if errors.Is(err, store.ErrNotFound) {
		return reg, errUnauthorized
	}
	return reg, err
}

// registrarAPI authenticates a registrar's API request by its bearer
// token.
func (a *API) registrarAPI(h func(w http.ResponseWriter, r *http.Request, reg store.Registrar) error) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		reg, err := a.registrarOf(r.Context(), bearer(r))
		if err == nil {
			err = h(w, r, reg)
		}
		if err != nil {
			a.writeError(w, r, err)
		}
	})
}
