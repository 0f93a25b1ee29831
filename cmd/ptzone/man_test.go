package main

import (
	"flag"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ptzone/ptzone/internal/tooltest"
)

// TestManPages: ptzone man writes ptzone(1) and a page for every command,
// each naming the command, its summary and every flag of every command
// it holds; groff renders each without a warning; the date is
// SOURCE_DATE_EPOCH's, for reproducible packages.
func TestManPages(t *testing.T) {
	groff := tooltest.Require(t, "groff")
	home := t.TempDir()
	dir := filepath.Join(home, "man1")
	r := cli(t, home, "man", dir).want(t, exitOK)
	root := rootCommand()
	pages := map[string]*command{"ptzone.1": root}
	for _, c := range root.subs {
		pages["ptzone-"+c.name+".1"] = c
	}
	if got := strings.Count(r.stdout, "\n"); got != len(pages) {
		t.Errorf("ptzone man listed %d files, want %d:\n%s", got, len(pages), r.stdout)
	}
	for name, c := range pages {
		b, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			t.Error(err)
			continue
		}
		text := string(b)
		if !strings.HasPrefix(text, ".TH "+strings.ToUpper(strings.TrimSuffix(name, ".1"))+" 1 ") {
			t.Errorf("%s: no .TH line naming the page: %.80q", name, text)
		}
		if c != root && !strings.Contains(text, "\n.SH NAME\nptzone\\-"+c.name+" \\- "+roffLine(lowerFirst(c.summary))+"\n") {
			t.Errorf("%s: the NAME section does not give the command and its summary", name)
		}
		leaves := c.subs
		if len(leaves) == 0 {
			leaves = []*command{c}
		}
		for _, l := range leaves {
			if c == root {
				if !strings.Contains(text, ".BR ptzone\\-"+l.name+" (1)") {
					t.Errorf("ptzone.1 does not point to ptzone-%s(1)", l.name)
				}
				continue
			}
			fs := flag.NewFlagSet(l.name, flag.ContinueOnError)
			if l.flags != nil {
				l.flags(fs)
			}
			fs.VisitAll(func(f *flag.Flag) {
				if !strings.Contains(text, "\\fB"+roffEscape("--"+f.Name)+"\\fR") {
					t.Errorf("%s: flag --%s of %s is not described", name, f.Name, l.name)
				}
			})
		}
		cmd := exec.Command(groff, "-man", "-Tutf8", "-ww", "-z", filepath.Join(dir, name))
		if out, err := cmd.CombinedOutput(); err != nil || len(out) > 0 {
			t.Errorf("groff on %s: %v\n%s", name, err, out)
		}
	}

	// The date: SOURCE_DATE_EPOCH's (2026-12-03T18:00:00Z).
	e := &env{stdin: strings.NewReader(""), stdout: &strings.Builder{}, stderr: &strings.Builder{}, getenv: func(k string) string {
		return map[string]string{"SOURCE_DATE_EPOCH": "1796320800"}[k]
	}}
	dated := filepath.Join(home, "dated")
	if code := run(t.Context(), e, []string{"man", dated}); code != exitOK {
		t.Fatalf("ptzone man with SOURCE_DATE_EPOCH: exit %d: %s", code, e.stderr)
	}
	b, _ := os.ReadFile(filepath.Join(dated, "ptzone.1"))
	if want := time.Unix(1796320800, 0).UTC().Format("2006-01-02"); !strings.HasPrefix(string(b), `.TH PTZONE 1 "`+want+`"`) {
		t.Errorf("ptzone.1 is not dated %s: %.60q", want, b)
	}
	cli(t, home, "man").want(t, exitUsage)
}

// TestRoffEscapes: text is safe in troff: a line cannot begin with a
// control character, backslashes are printed, options' dashes are minus
// signs and other hyphens stay hyphens.
func TestRoffEscapes(t *testing.T) {
	for in, want := range map[string]string{
		".hidden":                  `\&.hidden`,
		"'quoted' text":            `\&'quoted' text`,
		`a\b`:                      `a\eb`,
		"use --data-dir or -v":     `use \-\-data\-dir or \-v`,
		"(--zone Z | --all)":       `(\-\-zone Z | \-\-all)`,
		"country-code TLD, e-mail": "country-code TLD, e-mail",
	} {
		if got := roffLine(in); got != want {
			t.Errorf("roffLine(%q) = %q, want %q", in, got, want)
		}
	}
}
