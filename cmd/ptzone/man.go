package main

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/ptzone/ptzone/internal/atomicfile"
	"github.com/ptzone/ptzone/internal/buildinfo"
)

func manCommand() *command {
	return &command{
		name:     "man",
		synopsis: "DIR",
		summary:  "Write the manual pages, made from the commands' own help, into DIR",
		help: `Writes ptzone(1) and one page for each command, ptzone-COMMAND(1), into DIR
as troff source: the same words as --help gives, so the pages cannot drift
from the binary. The Debian package (make deb) ships them compressed.

The date on the pages is $SOURCE_DATE_EPOCH when set (reproducible
builds), else the time of the commit built.`,
		run: func(ctx context.Context, e *env, args []string) error {
			if len(args) != 1 {
				return usageErrorf("man takes one DIR")
			}
			date := ""
			if t := buildinfo.Read().Time; !t.IsZero() {
				date = t.UTC().Format("2006-01-02")
			}
			if s := e.getenv("SOURCE_DATE_EPOCH"); s != "" {
				sec, err := strconv.ParseInt(s, 10, 64)
				if err != nil {
					return usageErrorf("man: SOURCE_DATE_EPOCH %q is not a number of seconds", s)
				}
				date = time.Unix(sec, 0).UTC().Format("2006-01-02")
			}
			dir := args[0]
			if err := os.MkdirAll(dir, 0o755); err != nil {
				return err
			}
			pages := manPages(rootCommand(), date, buildinfo.Version())
			names := make([]string, 0, len(pages))
			for name := range pages {
				names = append(names, name)
			}
			sort.Strings(names)
			for _, name := range names {
				page := pages[name]
				if err := atomicfile.Write(filepath.Join(dir, name), 0o644, func(w io.Writer) error {
					_, err := w.Write(page)
					return err
				}); err != nil {
					return err
				}
				fmt.Fprintln(e.stdout, filepath.Join(dir, name))
			}
			return nil
		},
	}
}

// manPages renders the command tree as troff pages, by file name:
// ptzone.1 for the root, ptzone-NAME.1 for each command below it (a
// group's page holds all its commands).
func manPages(root *command, date, version string) map[string][]byte {
	pages := map[string][]byte{}
	var b bytes.Buffer
	manRoot(&b, root, date, version)
	pages["ptzone.1"] = bytes.Clone(b.Bytes())
	for _, c := range root.subs {
		b.Reset()
		manSub(&b, root, c, date, version)
		pages["ptzone-"+c.name+".1"] = bytes.Clone(b.Bytes())
	}
	return pages
}

func manHeader(w io.Writer, title, date, version string) {
	fmt.Fprintf(w, ".TH %s 1 %s %s \"ptzone manual\"\n", strings.ToUpper(title), roffQuote(date), roffQuote("ptzone "+version))
}

func manRoot(w io.Writer, root *command, date, version string) {
	manHeader(w, "ptzone", date, version)
	fmt.Fprintf(w, ".SH NAME\nptzone \\- the hidden primary of the .pt country\\-code TLD\n")
	fmt.Fprintf(w, ".SH SYNOPSIS\n\\fBptzone\\fR \\fICOMMAND\\fR [\\fIflags\\fR] [\\fIargs\\fR]\n.br\n\\fBptzone \\-\\-version\\fR\n")
	fmt.Fprintf(w, ".SH DESCRIPTION\n")
	roffText(w, root.help)
	fmt.Fprintf(w, ".SH COMMANDS\n")
	for _, c := range root.subs {
		fmt.Fprintf(w, ".TP\n.BR ptzone\\-%s (1)\n%s.\n", roffEscape(c.name), roffLine(c.summary))
	}
	fmt.Fprintf(w, ".SH EXIT STATUS\n")
	roffExits(w, exitCodesHelp)
	fmt.Fprintf(w, `.SH ENVIRONMENT
.TP
.B PTZONE_DB
The registry when \-\-db is not given: a postgres:// URL or sqlite:PATH.
.TP
.B PTZONE_DATA_DIR
The data directory when \-\-data\-dir is not given; else
$XDG_STATE_HOME/ptzone or ~/.local/state/ptzone.
.TP
.B NOTIFY_SOCKET
Set by systemd for a unit of Type=notify: ptzone daemon tells it there
when it is ready (its listeners up, the last published zones served),
reloading and stopping.
.SH FILES
.TP
.I /etc/ptzone/ptzone.toml
The configuration the systemd unit gives ptzone daemon.
.TP
.I /var/lib/ptzone
The data directory of the packaged service: the published zones, the keys,
the embedded registry.
.TP
.I /usr/share/doc/ptzone/examples/ptzone.example.toml
Every configuration setting, with its default.
.SH SEE ALSO
`)
	var refs []string
	for _, c := range root.subs {
		refs = append(refs, ".BR ptzone\\-"+roffEscape(c.name)+" (1)")
	}
	fmt.Fprintln(w, strings.Join(refs, " ,\n"))
}

func manSub(w io.Writer, root, c *command, date, version string) {
	manHeader(w, "ptzone-"+c.name, date, version)
	fmt.Fprintf(w, ".SH NAME\nptzone\\-%s \\- %s\n", roffEscape(c.name), roffLine(lowerFirst(c.summary)))
	leaves := []*command{c}
	paths := [][]string{{root.name, c.name}}
	if len(c.subs) > 0 {
		leaves, paths = nil, nil
		for _, s := range c.subs {
			leaves = append(leaves, s)
			paths = append(paths, []string{root.name, c.name, s.name})
		}
	}
	fmt.Fprintf(w, ".SH SYNOPSIS\n")
	for i, l := range leaves {
		if i > 0 {
			fmt.Fprintf(w, ".br\n")
		}
		fmt.Fprintf(w, "\\fB%s\\fR %s\n", roffEscape(strings.Join(paths[i], " ")), roffLine(l.synopsis))
	}
	fmt.Fprintf(w, ".SH DESCRIPTION\n")
	if len(c.subs) == 0 {
		manLeaf(w, c)
	} else {
		if c.help != "" {
			roffText(w, c.help)
		} else {
			fmt.Fprintf(w, "%s.\n", roffLine(c.summary))
		}
		for i, l := range leaves {
			fmt.Fprintf(w, ".SS %s\n", roffQuote(strings.Join(paths[i], " ")))
			manLeaf(w, l)
		}
	}
	fmt.Fprintf(w, ".SH EXIT STATUS\n")
	exits := exitCodesHelp
	if c.exitHelp != "" {
		exits = c.exitHelp
	}
	roffExits(w, exits)
	fmt.Fprintf(w, ".SH SEE ALSO\n.BR ptzone (1)\n")
}

// manLeaf writes a command's description and flags.
func manLeaf(w io.Writer, c *command) {
	if c.help != "" {
		roffText(w, c.help)
	} else {
		fmt.Fprintf(w, ".PP\n%s.\n", roffLine(c.summary))
	}
	fs := flag.NewFlagSet(c.name, flag.ContinueOnError)
	if c.flags != nil {
		c.flags(fs)
	}
	var flags []*flag.Flag
	fs.VisitAll(func(f *flag.Flag) { flags = append(flags, f) })
	if len(flags) == 0 {
		return
	}
	fmt.Fprintf(w, ".PP\nFlags:\n")
	for _, f := range flags {
		arg, help := flag.UnquoteUsage(f)
		if f.DefValue != "" && f.DefValue != "false" && f.DefValue != "0" {
			help += fmt.Sprintf(" (default %s)", f.DefValue)
		}
		fmt.Fprintf(w, ".TP\n\\fB%s\\fR", roffEscape("--"+f.Name))
		if arg != "" {
			fmt.Fprintf(w, " \\fI%s\\fR", roffEscape(arg))
		}
		fmt.Fprintf(w, "\n%s\n", roffLine(help))
	}
}

// roffExits writes an "Exit status:" help block as a list.
func roffExits(w io.Writer, help string) {
	item := regexp.MustCompile(`^\s+(\d+)\s+(.*)$`)
	for _, line := range strings.Split(help, "\n")[1:] {
		if m := item.FindStringSubmatch(line); m != nil {
			fmt.Fprintf(w, ".TP\n.B %s\n%s\n", m[1], roffLine(m[2]))
			continue
		}
		fmt.Fprintln(w, roffLine(strings.TrimSpace(line)))
	}
}

// roffText writes help text: paragraphs as filled text, an indented
// paragraph (an example) as it is.
func roffText(w io.Writer, text string) {
	for _, para := range strings.Split(strings.TrimSpace(text), "\n\n") {
		lines := strings.Split(para, "\n")
		indented := true
		for _, l := range lines {
			indented = indented && (strings.HasPrefix(l, " ") || strings.HasPrefix(l, "\t"))
		}
		if indented {
			fmt.Fprintf(w, ".PP\n.RS 4\n.nf\n")
			for _, l := range lines {
				fmt.Fprintln(w, roffLine(strings.TrimSpace(l)))
			}
			fmt.Fprintf(w, ".fi\n.RE\n")
			continue
		}
		fmt.Fprintf(w, ".PP\n")
		for _, l := range lines {
			fmt.Fprintln(w, roffLine(strings.TrimSpace(l)))
		}
	}
}

// option finds command-line options in text: their dashes are minus
// signs, which a reader copies as such.
var option = regexp.MustCompile(`(^|[\s(\[|,'"])--?[A-Za-z][A-Za-z0-9-]*`)

// roffEscape makes text safe inside a troff line: backslashes, and the
// dashes of options.
func roffEscape(s string) string {
	s = strings.ReplaceAll(s, `\`, `\e`)
	return option.ReplaceAllStringFunc(s, func(m string) string {
		return strings.ReplaceAll(m, "-", `\-`)
	})
}

// roffLine is roffEscape for a whole line, which must not begin with a
// control character.
func roffLine(s string) string {
	s = roffEscape(s)
	if strings.HasPrefix(s, ".") || strings.HasPrefix(s, "'") {
		s = `\&` + s
	}
	return s
}

// roffQuote is a macro argument in double quotes.
func roffQuote(s string) string {
	return `"` + strings.ReplaceAll(roffEscape(s), `"`, `\(dq`) + `"`
}

func lowerFirst(s string) string {
	if s == "" {
		return s
	}
	return strings.ToLower(s[:1]) + s[1:]
}
