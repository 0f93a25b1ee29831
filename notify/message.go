package notify

import (
	"bytes"
	"fmt"
	"mime"
	"mime/quotedprintable"
	"net/mail"
	"strings"
	"text/template"
	"time"

	"github.com/ptzone/ptzone/store"
)

// wording is what a notice of one kind says, in Portuguese and English:
// subjects, and the opening paragraph (with the domain and the deadline).
type wording struct {
	subjectPT, subjectEN string
	introPT, introEN     string
}

var wordings = map[store.NoticeKind]wording{
	store.NoticeFailing: {
		"a delegação falha as verificações", "the delegation fails its checks",
		"Os servidores de nomes de {{.Domain}} falham as verificações que as Regras de registo exigem (Art 23.2). " +
			"A delegação mantém-se na zona até {{.DeadlinePT}}; se os problemas abaixo não forem corrigidos até lá, será suspensa.",
		"The name servers of {{.Domain}} fail the checks the .PT Registration Rules require (Art 23.2). " +
			"The delegation stays in the zone until {{.DeadlineEN}}; if the problems below are not fixed by then, it will be withheld.",
	},
	store.NoticeReminder: {
		"lembrete: a delegação continua a falhar", "reminder: the delegation still fails",
		"Lembrete: os servidores de nomes de {{.Domain}} continuam a falhar as verificações (Art 23.2). " +
			"A delegação será suspensa em {{.DeadlinePT}} se os problemas abaixo não forem corrigidos.",
		"Reminder: the name servers of {{.Domain}} still fail their checks (Art 23.2). " +
			"The delegation will be withheld on {{.DeadlineEN}} unless the problems below are fixed.",
	},
	store.NoticeWithheld: {
		"delegação suspensa", "delegation withheld",
		"Os servidores de nomes de {{.Domain}} falharam as verificações durante todo o período de tolerância: " +
			"a delegação foi retirada da zona (Art 23.2). Volta na publicação seguinte a uma verificação bem-sucedida; corrija os problemas abaixo.",
		"The name servers of {{.Domain}} failed their checks throughout the grace period: " +
			"the delegation was withheld from the zone (Art 23.2). It returns at the publication after a check passes; fix the problems below.",
	},
	store.NoticeRestored: {
		"delegação reposta", "delegation restored",
		"Os servidores de nomes de {{.Domain}} passam de novo as verificações: a delegação volta à zona na próxima publicação.",
		"The name servers of {{.Domain}} pass their checks again: the delegation is back in the zone from the next publication.",
	},
	store.NoticeRefused: {
		"delegação recusada", "delegation refused",
		"{{.Domain}} ainda não pode ser delegado: os seus servidores de nomes falham as verificações que as Regras exigem " +
			"antes da delegação (Art 4.2). O domínio fica reservado até uma verificação passar; corrija os problemas abaixo.",
		"{{.Domain}} cannot be delegated yet: its name servers fail the checks the Rules require before delegation (Art 4.2). " +
			"The domain stays reserved until a check passes; fix the problems below.",
	},
}

var body = template.Must(template.New("body").Parse(`{{.IntroPT}}
{{range .Findings}}
- {{.Code}}{{if .Nameserver}} ({{.Nameserver}}{{if .Address}} {{.Address}}{{end}}){{end}}{{if .Article}} [{{.Article}}]{{end}}
  {{if .MessagePT}}{{.MessagePT}}{{else}}{{.Message}}{{end}}
{{- if or .HintPT .Hint}}
  Correção: {{if .HintPT}}{{.HintPT}}{{else}}{{.Hint}}{{end}}{{end}}
{{- if .Evidence}}
  Consulta: {{.Evidence}}{{end}}
{{end}}
Mensagem automática do registo .pt (ptzone), notificação n.º {{.ID}}.

----------------------------------------------------------------------

{{.IntroEN}}
{{range .Findings}}
- {{.Code}}{{if .Nameserver}} ({{.Nameserver}}{{if .Address}} {{.Address}}{{end}}){{end}}{{if .Article}} [{{.Article}}]{{end}}
  {{.Message}}
{{- if .Hint}}
  Fix: {{.Hint}}{{end}}
{{- if .Evidence}}
  Query: {{.Evidence}}{{end}}
{{end}}
An automatic message from the .pt registry (ptzone), notice no. {{.ID}}.
`))

// intros are a notice's opening paragraphs, in Portuguese and English,
// with its domain and deadline.
func intros(nt store.Notice, w wording) (pt, en string, err error) {
	deadline := struct{ Domain, DeadlinePT, DeadlineEN string }{Domain: nt.Domain}
	if !nt.Deadline.IsZero() {
		d := nt.Deadline.UTC()
		deadline.DeadlinePT, deadline.DeadlineEN = d.Format("02/01/2006 às 15:04 UTC"), d.Format("2 January 2006, 15:04 UTC")
	}
	fill := func(text string) (string, error) {
		var b strings.Builder
		err := template.Must(template.New("intro").Parse(text)).Execute(&b, deadline)
		return b.String(), err
	}
	if pt, err = fill(w.introPT); err != nil {
		return "", "", err
	}
	if en, err = fill(w.introEN); err != nil {
		return "", "", err
	}
	return pt, en, nil
}

// compose writes a notice as an e-mail message: both languages, the
// findings with their articles, hints and evidence.
func compose(nt store.Notice, from, to *mail.Address, hello string, now time.Time) ([]byte, error) {
	w, ok := wordings[nt.Kind]
	if !ok {
		return nil, fmt.Errorf("notice %d: unknown kind %q", nt.ID, nt.Kind)
	}
	if strings.ContainsAny(hello, " \r\n<>@") {
		return nil, fmt.Errorf("smtp hello name %q: not a host name", hello)
	}
	if strings.ContainsAny(nt.Domain, " \r\n") {
		return nil, fmt.Errorf("notice %d: domain %q", nt.ID, nt.Domain)
	}
	introPT, introEN, err := intros(nt, w)
	if err != nil {
		return nil, err
	}
	var text bytes.Buffer
	if err := body.Execute(&text, struct {
		ID               int64
		IntroPT, IntroEN string
		Findings         []store.Finding
	}{nt.ID, introPT, introEN, nt.Findings}); err != nil {
		return nil, fmt.Errorf("notice %d: %w", nt.ID, err)
	}

	var m bytes.Buffer
	header := func(k, v string) { fmt.Fprintf(&m, "%s: %s\r\n", k, v) }
	header("From", from.String())
	header("To", to.String())
	header("Subject", mime.QEncoding.Encode("utf-8", nt.Domain+": "+w.subjectPT+" / "+w.subjectEN))
	header("Date", now.Format(time.RFC1123Z))
	// The same notice always has the same Message-ID: if a delivery is
	// repeated (the relay took it, then the notifier died before marking
	// it sent), the recipient's mail system can tell.
	header("Message-ID", fmt.Sprintf("<notice-%d.%d@%s>", nt.ID, nt.Created.Unix(), hello))
	header("Auto-Submitted", "auto-generated") // RFC 3834: no auto-replies
	header("Content-Language", "pt, en")
	header("MIME-Version", "1.0")
	header("Content-Type", `text/plain; charset="utf-8"`)
	header("Content-Transfer-Encoding", "quoted-printable")
	m.WriteString("\r\n")
	qp := quotedprintable.NewWriter(&m)
	if _, err := qp.Write(text.Bytes()); err != nil { // in text mode, it ends lines with CRLF
		return nil, err
	}
	if err := qp.Close(); err != nil {
		return nil, err
	}
	return m.Bytes(), nil
}
