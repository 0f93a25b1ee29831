package httpapi

import (
	"bytes"
	"embed"
	"html/template"
	"net/http"
	"net/url"
	"strings"
	"time"

	"go.uber.org/zap"

	"github.com/ptzone/ptzone/store"
)

//go:embed templates/*.html
var templateFiles embed.FS

// labels are the pages' words, in Portuguese and English.
var labels = map[string][2]string{ // key: {pt, en}
	"registrar":       {"Registrar", "Registrar"},
	"logout":          {"Sair", "Log out"},
	"login_title":     {"Entrar", "Log in"},
	"login_text":      {"Entre com o token de API do seu registrar.", "Log in with your registrar's API token."},
	"token":           {"Token", "Token"},
	"login":           {"Entrar", "Log in"},
	"bad_token":       {"Token inválido.", "That token is not valid."},
	"domains_title":   {"Os seus domínios", "Your domains"},
	"show":            {"Mostrar", "Show"},
	"all":             {"todos", "all"},
	"domains":         {"domínios", "domains"},
	"next_page":       {"seguintes", "next"},
	"domain":          {"Domínio", "Domain"},
	"status":          {"Estado do registo", "Registration status"},
	"delegation":      {"Delegação", "Delegation"},
	"last_checked":    {"Última verificação", "Last checked"},
	"withheld_after":  {"Retirado da zona após", "Withheld after"},
	"failing_since":   {"Em falha desde", "Failing since"},
	"none":            {"Nenhum.", "None."},
	"expires":         {"expira a", "expires"},
	"nameservers":     {"Servidores de nomes", "Name servers"},
	"recheck":         {"Verificar de novo", "Check again"},
	"recheck_queued":  {"Verificação pedida: o resultado aparece aqui dentro de minutos.", "Check requested: its result shows here within minutes."},
	"findings":        {"Constatações", "Findings"},
	"severity":        {"Gravidade", "Severity"},
	"finding":         {"Constatação", "Finding"},
	"article":         {"Artigo", "Article"},
	"fix":             {"Correção", "Fix"},
	"no_findings":     {"Nenhuma: a delegação cumpre as Regras.", "None: the delegation meets the Rules."},
	"history":         {"Histórico", "History"},
	"when":            {"Quando", "When"},
	"trigger":         {"Origem", "Trigger"},
	"verdict":         {"Resultado", "Verdict"},
	"sev_error":       {"ERRO", "ERROR"},
	"sev_warning":     {"AVISO", "WARNING"},
	"sev_notice":      {"NOTA", "NOTICE"},
	"state_unchecked": {"por verificar", "not yet checked"},
	"state_ok":        {"delegado", "delegated"},
	"state_warning":   {"delegado, com avisos", "delegated, with warnings"},
	"state_refused":   {"não delegado", "not delegated"},
	"state_failing":   {"em falha", "failing"},
	"state_withheld":  {"retirado da zona", "withheld"},

	// The index.
	"index_title": {"ptzone: o primário escondido de .pt", "ptzone: the hidden primary of .pt"},
	"index_text":  {"O que este servidor web serve:", "What this web server serves:"},
	"path":        {"Caminho", "Path"},
	"what":        {"O quê", "What"},

	// The operators' status page.
	"operator":          {"Operador", "Operator"},
	"operator_login":    {"Esta página é dos operadores: o navegador pede um utilizador (qualquer, o nome do operador por exemplo) e uma palavra-passe, que é o token de operador.", "This page is the operators': the browser asks for a user name (any, the operator's name say) and a password, which is the operator's token."},
	"status_title":      {"Estado do serviço", "Service status"},
	"node":              {"Nó", "Node"},
	"role_publisher":    {"publicador", "publisher"},
	"role_standby":      {"em espera (outro nó publica)", "standby (another node publishes)"},
	"next_runs":         {"Próximas execuções", "Next runs"},
	"as_json":           {"O mesmo em JSON", "The same as JSON"},
	"served_serial":     {"Série servida", "Serial served"},
	"secondaries":       {"Secundários", "Secondaries"},
	"behind":            {"atrasado", "behind"},
	"frozen":            {"Congelada", "Frozen"},
	"frozen_yes":        {"congelada", "frozen"},
	"all_frozen":        {"a publicação de todas as zonas está congelada", "publishing of every zone is frozen"},
	"every_zone":        {"todas as zonas", "every zone"},
	"every_zone_frozen": {"Congelamento de todas as zonas", "Freeze of every zone"},
	"by":                {"por", "by"},
	"since":             {"desde", "since"},
	"no":                {"não", "no"},
	"last_publication":  {"Última publicação", "Last publication"},
	"last_refusal":      {"Última recusa", "Last refusal"},
	"serial":            {"série", "serial"},
	"signatures_expire": {"Primeira assinatura expira", "First signature expires"},
	"keys":              {"Chaves", "Keys"},
	"tag":               {"Etiqueta", "Tag"},
	"algorithm":         {"Algoritmo", "Algorithm"},
	"role":              {"Papel", "Role"},
	"key_state":         {"Estado", "State"},
	"key_inactive":      {"Deixa de assinar", "Stops signing"},
	"key_delete":        {"Sai da zona", "Leaves the zone"},
}

func label(lang, key string) string {
	l, ok := labels[key]
	if !ok {
		return key
	}
	if lang == "en" {
		return l[1]
	}
	return l[0]
}

var pageFuncs = template.FuncMap{
	"t": label,
	"when": func(v any) string {
		switch t := v.(type) {
		case *time.Time:
			if t == nil {
				return "—"
			}
			return t.UTC().Format("2006-01-02 15:04 UTC")
		case time.Time:
			return t.UTC().Format("2006-01-02 15:04 UTC")
		}
		return ""
	},
}

// pages are the templates, each with the layout.
var pages = func() map[string]*template.Template {
	out := map[string]*template.Template{}
	for _, name := range []string{"login", "domains", "domain", "index", "operator"} {
		out[name] = template.Must(template.New(name).Funcs(pageFuncs).ParseFS(templateFiles, "templates/layout.html", "templates/"+name+".html"))
	}
	return out
}()

// pageData is what every page shows.
type pageData struct {
	Lang, Title  string
	Registrar    store.Registrar
	Flash, Error string
	// The list's.
	States      []string
	State, Last string
	More        bool
	Domains     []DomainSummary
	Domain      *DomainDetail
	// The index's.
	Links []Endpoint
	// The operators' page's.
	Operator string
	Status   *Status
}

const sessionCookie = "ptzone_registrar"
const langCookie = "ptzone_lang"

func (a *API) pageRoutes(mux Mux) {
	mux.HandleFunc("GET /registrar/{$}", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "/registrar/domains", http.StatusSeeOther)
	})
	mux.HandleFunc("GET /registrar/login", a.loginPage)
	mux.HandleFunc("POST /registrar/login", a.login)
	mux.HandleFunc("POST /registrar/logout", a.logout)
	mux.Handle("GET /registrar/domains", a.registrarPage(a.domainsPage))
	mux.Handle("GET /registrar/domains/{name}", a.registrarPage(a.domainPage))
	mux.Handle("POST /registrar/domains/{name}/check", a.registrarPage(a.recheckPage))
}

// lang is the page's language: ?lang= (remembered), else the cookie,
// else Portuguese unless the browser prefers English.
func lang(w http.ResponseWriter, r *http.Request) string {
	if l := r.URL.Query().Get("lang"); l == "pt" || l == "en" {
		http.SetCookie(w, &http.Cookie{Name: langCookie, Value: l, Path: "/", MaxAge: 365 * 24 * 3600, SameSite: http.SameSiteLaxMode})
		return l
	}
	if c, err := r.Cookie(langCookie); err == nil && (c.Value == "pt" || c.Value == "en") {
		return c.Value
	}
	al := strings.ToLower(r.Header.Get("Accept-Language"))
	if strings.HasPrefix(al, "en") {
		return "en"
	}
	return "pt"
}

func (a *API) render(w http.ResponseWriter, r *http.Request, status int, name string, d pageData) {
	var b bytes.Buffer
	if err := pages[name].ExecuteTemplate(&b, "layout", d); err != nil {
		a.opt.Log.Error("rendering a page", zap.String("page", name), zap.Error(err))
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	w.Write(b.Bytes())
}

func (a *API) loginPage(w http.ResponseWriter, r *http.Request) {
	l := lang(w, r)
	a.render(w, r, http.StatusOK, "login", pageData{Lang: l, Title: label(l, "login_title")})
}

// sameOrigin refuses a form posted from another site (the session
// cookie is SameSite=Strict as well).
func sameOrigin(r *http.Request) bool {
	o := r.Header.Get("Origin")
	if o == "" || o == "null" {
		return o == "" // an old browser sends none; "null" is opaque
	}
	u, err := url.Parse(o)
	return err == nil && u.Host == r.Host
}

func (a *API) login(w http.ResponseWriter, r *http.Request) {
	l := lang(w, r)
	if !sameOrigin(r) {
		http.Error(w, "cross-site request refused", http.StatusForbidden)
		return
	}
	token := strings.TrimSpace(r.PostFormValue("token"))
	reg, err := a.registrarOf(r.Context(), token)
	if err != nil {
		status := statusOf(err).status
		d := pageData{Lang: l, Title: label(l, "login_title"), Error: label(l, "bad_token")}
		if status != http.StatusUnauthorized {
			a.opt.Log.Error("registrar login", zap.Error(err))
			d.Error = "internal error"
		}
		a.render(w, r, status, "login", d)
		return
	}
	// The token is the credential: kept in a cookie scripts cannot read,
	// sent to this site alone, and checked again at every request.
	http.SetCookie(w, &http.Cookie{Name: sessionCookie, Value: token, Path: "/registrar", HttpOnly: true,
		Secure: r.TLS != nil || r.Header.Get("X-Forwarded-Proto") == "https", SameSite: http.SameSiteStrictMode, MaxAge: 12 * 3600})
	a.opt.Log.Info("registrar logged in", zap.String("registrar", reg.ID))
	http.Redirect(w, r, "/registrar/domains", http.StatusSeeOther)
}

func (a *API) logout(w http.ResponseWriter, r *http.Request) {
	http.SetCookie(w, &http.Cookie{Name: sessionCookie, Value: "", Path: "/registrar", HttpOnly: true, MaxAge: -1, SameSite: http.SameSiteStrictMode})
	http.Redirect(w, r, "/registrar/login", http.StatusSeeOther)
}

// registrarPage authenticates a page's request by its session cookie;
// without one, the login page.
func (a *API) registrarPage(h func(w http.ResponseWriter, r *http.Request, d pageData) error) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		l := lang(w, r)
		if r.Method == http.MethodPost && !sameOrigin(r) {
			http.Error(w, "cross-site request refused", http.StatusForbidden)
			return
		}
		token := ""
		if c, err := r.Cookie(sessionCookie); err == nil {
			token = c.Value
		}
		reg, err := a.registrarOf(r.Context(), token)
		if err == nil {
			err = h(w, r, pageData{Lang: l, Registrar: reg, Flash: flash(r, l)})
		}
		if err == nil {
			return
		}
		ae := statusOf(err)
		switch {
		case ae.status == http.StatusUnauthorized:
			http.Redirect(w, r, "/registrar/login", http.StatusSeeOther)
		default:
			if ae.status >= 500 {
				a.opt.Log.Error("registrar page", zap.String("path", r.URL.Path), zap.Error(err))
			}
			a.render(w, r, ae.status, "login", pageData{Lang: l, Registrar: reg, Title: "ptzone", Error: ae.message})
		}
	})
}

// flash is the message a redirect asked the page to show.
func flash(r *http.Request, l string) string {
	if r.URL.Query().Get("queued") == "1" {
		return label(l, "recheck_queued")
	}
	return ""
}

func (a *API) domainsPage(w http.ResponseWriter, r *http.Request, d pageData) error {
	state, after, limit, err := listParams(r)
	if err != nil {
		return err
	}
	list, err := a.domainList(r.Context(), d.Registrar.ID, state, after, limit)
	if err != nil {
		return err
	}
	d.Title, d.States, d.State, d.Domains = label(d.Lang, "domains_title"), states, state, list
	if len(list) == limit {
		d.More, d.Last = true, list[len(list)-1].Name
	}
	a.render(w, r, http.StatusOK, "domains", d)
	return nil
}

func (a *API) domainPage(w http.ResponseWriter, r *http.Request, d pageData) error {
	detail, err := a.detail(r.Context(), d.Registrar, r.PathValue("name"))
	if err != nil {
		return err
	}
	d.Title, d.Domain = detail.Name, &detail
	a.render(w, r, http.StatusOK, "domain", d)
	return nil
}

func (a *API) recheckPage(w http.ResponseWriter, r *http.Request, d pageData) error {
	dom, err := a.recheck(r.Context(), d.Registrar, r.PathValue("name"))
	if err != nil {
		return err
	}
	http.Redirect(w, r, "/registrar/domains/"+dom.Name+"?queued=1", http.StatusSeeOther)
	return nil
}
