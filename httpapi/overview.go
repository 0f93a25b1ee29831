package httpapi

import (
	"net/http"

	"go.uber.org/zap"
)

// Endpoint is a path the web server serves, as the index lists it, with
// what it is in Portuguese and English.
type Endpoint struct {
	Path, PT, EN string
}

// endpoints are the paths the index lists: the surfaces', then those
// served beside them (Options.Endpoints).
func (a *API) endpoints() []Endpoint {
	out := []Endpoint{
		{"/registrar/", "Páginas dos registrars: os seus domínios, a sua delegação e as constatações (entrada com o token de API do registrar)",
			"Registrars' pages: their domains, their delegation and the findings (log in with the registrar's API token)"},
		{"/api/v1/registrar/domains", "API dos registrars, em JSON (Authorization: Bearer TOKEN)",
			"Registrars' API, in JSON (Authorization: Bearer TOKEN)"},
	}
	if a.opt.Operator != nil {
		out = append(out,
			Endpoint{"/operator/", "Página de estado dos operadores: por zona, séries, secundários, publicações, congelamentos, chaves (o token de operador como palavra-passe)",
				"Operators' status page: per zone, serials, secondaries, publications, freezes, keys (the operator's token as the password)"},
			Endpoint{"/api/v1/operator/status", "API dos operadores, em JSON (Authorization: Bearer TOKEN): estado, publicar, congelar, reverter, registos",
				"Operators' API, in JSON (Authorization: Bearer TOKEN): status, publish, freeze, roll back, logs"})
	}
	return append(out, a.opt.Endpoints...)
}

// index: GET / lists what the web server serves.
func (a *API) index(w http.ResponseWriter, r *http.Request) {
	l := lang(w, r)
	a.render(w, r, http.StatusOK, "index", pageData{Lang: l, Title: "ptzone", Links: a.endpoints()})
}

// operatorToken is the operator's token a page request carries: the
// password of HTTP basic authentication (what a browser asks for and
// then sends by itself), or a bearer token.
func operatorToken(r *http.Request) string {
	if _, password, ok := r.BasicAuth(); ok {
		return password
	}
	return bearer(r)
}

// operatorStatusPage: GET /operator/ shows the operator API's status
// (Operator.Status) as a page, read-only. A browser authenticates with
// HTTP basic authentication, the operator's token as the password: it
// then sends the token with every request to this site by itself, so the
// actions stay on the API, which takes a bearer token alone, and a page
// of another site cannot make a browser act.
func (a *API) operatorStatusPage(w http.ResponseWriter, r *http.Request) {
	l := lang(w, r)
	d := pageData{Lang: l, Title: label(l, "status_title")}
	op, ok := a.operatorOf(operatorToken(r))
	if !ok {
		w.Header().Set("WWW-Authenticate", `Basic realm="ptzone operators", charset="UTF-8"`)
		d.Error = errUnauthorized.message
		a.render(w, r, http.StatusUnauthorized, "operator", d)
		return
	}
	st, err := a.opt.Operator.Status(r.Context())
	if err != nil {
		ae := statusOf(err)
		if ae.status >= 500 {
			a.opt.Log.Error("operator status page", zap.Error(err))
		}
		d.Operator, d.Error = op, ae.message
		a.render(w, r, ae.status, "operator", d)
		return
	}
	d.Operator, d.Status = op, &st
	a.render(w, r, http.StatusOK, "operator", d)
}
