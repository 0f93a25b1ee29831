package delegation

import (
	"bytes"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/ptzone/ptzone/store"
)

var update = flag.Bool("update", false, "rewrite docs/checks.md from the findings catalogue")

// checksDocPath is docs/checks.md, from this package's directory.
var checksDocPath = filepath.Join("..", "docs", "checks.md")

// formatVerb matches the fmt verbs of the catalogue's messages.
var formatVerb = regexp.MustCompile(`%[-+# 0-9.]*[a-zA-Z]`)

// placeholders writes a message's fmt verbs as the reader sees them: a
// value filled in where the finding is made.
func placeholders(message string) string {
	return formatVerb.ReplaceAllString(message, "…")
}

// checksDoc renders the findings catalogue as docs/checks.md: a table of
// every code, then each code with its messages and fixes in English and
// Portuguese.
func checksDoc() []byte {
	codes := make([]string, 0, len(catalogue))
	for code := range catalogue {
		codes = append(codes, code)
	}
	slices.Sort(codes)
	var b bytes.Buffer
	b.WriteString(`# Delegation checks

<!-- Generated from the findings catalogue (delegation/finding.go) by
TestChecksDoc; do not edit. After changing the catalogue, regenerate it:
go test ./delegation -run TestChecksDoc -update -->

Each finding of the delegation checker has a stable code, a severity, the
article of the .PT Domain Name Registration Rules it enforces, the
Zonemaster test case that checks the same where there is one, and a
message and a fix that registrars and technical contacts read, in English
and Portuguese. An error closes the gate for a new domain (Art 4.2) and
starts the grace period of a delegated one (Art 23.2); a warning is
reported only. In the messages, … stands for what the finding fills in:
the name server, its address, the domain, the values seen.

| Code | Severity | Article | Zonemaster |
|------|----------|---------|------------|
`)
	for _, code := range codes {
		e := catalogue[code]
		fmt.Fprintf(&b, "| [%s](#%s) | %s | %s | %s |\n", code, strings.ToLower(code), e.severity, e.article, e.zonemaster)
	}
	for _, code := range codes {
		e := catalogue[code]
		fmt.Fprintf(&b, "\n## %s\n\n", code)
		fmt.Fprintf(&b, "Severity: %s. Article: %s.", e.severity, e.article)
		if e.zonemaster != "" {
			fmt.Fprintf(&b, " Zonemaster: %s.", e.zonemaster)
		}
		b.WriteString("\n\n")
		fmt.Fprintf(&b, "- Message: %s\n", placeholders(e.en))
		fmt.Fprintf(&b, "- Mensagem: %s\n", placeholders(e.pt))
		fmt.Fprintf(&b, "- Fix: %s\n", e.hint)
		fmt.Fprintf(&b, "- Correção: %s\n", e.hintPT)
	}
	return b.Bytes()
}

// TestChecksDoc: docs/checks.md is the findings catalogue as it stands;
// -update rewrites it.
func TestChecksDoc(t *testing.T) {
	want := checksDoc()
	if *update {
		if err := os.WriteFile(checksDocPath, want, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	got, err := os.ReadFile(checksDocPath)
	if err != nil {
		t.Fatalf("%v (go test ./delegation -run TestChecksDoc -update writes it)", err)
	}
	if bytes.Equal(got, want) {
		return
	}
	gotLines, wantLines := strings.Split(string(got), "\n"), strings.Split(string(want), "\n")
	for i := range max(len(gotLines), len(wantLines)) {
		var g, w string
		if i < len(gotLines) {
			g = gotLines[i]
		}
		if i < len(wantLines) {
			w = wantLines[i]
		}
		if g != w {
			t.Fatalf("%s is stale (go test ./delegation -run TestChecksDoc -update); line %d is\n\t%s\nthe catalogue makes it\n\t%s",
				checksDocPath, i+1, g, w)
		}
	}
}

// TestChecksDocCoversTheCatalogue: the document leaves out nothing of the
// catalogue (each code, with its messages, fixes and article), and every
// entry has all of them, with a severity the store knows.
func TestChecksDocCoversTheCatalogue(t *testing.T) {
	doc := string(checksDoc())
	for code, e := range catalogue {
		for _, s := range []string{"## " + code + "\n", placeholders(e.en), placeholders(e.pt), e.hint, e.hintPT, e.article} {
			if !strings.Contains(doc, s) {
				t.Errorf("%s: the document lacks %q", code, s)
			}
		}
		if e.en == "" || e.pt == "" || e.hint == "" || e.hintPT == "" || e.article == "" || e.severity.Rank() == 0 && e.severity != store.SeverityNotice {
			t.Errorf("%s: an incomplete catalogue entry: %+v", code, e)
		}
	}
}
