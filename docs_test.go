package ptzone_test

import (
	"bufio"
	"bytes"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"unicode"
)

// readmeMaxLines keeps README.md the front door: what ptzone is, how to
// start, the commands; the manual lives in docs/.
const readmeMaxLines = 250

func TestDocsReadmeIsShort(t *testing.T) {
	data, err := os.ReadFile("README.md")
	if err != nil {
		t.Fatal(err)
	}
	if n := bytes.Count(data, []byte("\n")); n > readmeMaxLines {
		t.Errorf("README.md has %d lines, more than %d: move the detail into docs/", n, readmeMaxLines)
	}
}

// markdownFiles are the documents the link rules hold to: README.md and
// everything under docs/.
func markdownFiles(t *testing.T) []string {
	t.Helper()
	files := []string{"README.md"}
	err := filepath.WalkDir("docs", func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.IsDir() && strings.HasSuffix(path, ".md") {
			files = append(files, filepath.ToSlash(path))
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return files
}

// mdLine is one line of a markdown file: its prose (code spans blanked
// out) and the code it holds (its code spans, or the whole line inside a
// fenced block).
type mdLine struct {
	num    int
	raw    string
	fenced bool
	prose  string
	code   []string
}

func splitMarkdown(data []byte) []mdLine {
	var lines []mdLine
	fence := ""
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(nil, 1<<20)
	for n := 1; sc.Scan(); n++ {
		text := sc.Text()
		trimmed := strings.TrimLeft(text, " ")
		switch {
		case fence != "":
			if strings.HasPrefix(trimmed, fence) {
				fence = ""
			}
			lines = append(lines, mdLine{num: n, raw: text, fenced: true, code: []string{text}})
		case strings.HasPrefix(trimmed, "```") || strings.HasPrefix(trimmed, "~~~"):
			fence = trimmed[:3]
			lines = append(lines, mdLine{num: n, raw: text, fenced: true})
		default:
			prose, code := splitCodeSpans(text)
			lines = append(lines, mdLine{num: n, raw: text, prose: prose, code: code})
		}
	}
	return lines
}

// splitCodeSpans blanks out a line's code spans (a run of backticks up to
// the next run of the same length) and returns them apart.
func splitCodeSpans(text string) (prose string, code []string) {
	b := []byte(text)
	for i := 0; i < len(b); {
		if b[i] != '`' {
			i++
			continue
		}
		n := 0
		for i+n < len(b) && b[i+n] == '`' {
			n++
		}
		end := -1
		for j := i + n; j < len(b); {
			if b[j] != '`' {
				j++
				continue
			}
			m := 0
			for j+m < len(b) && b[j+m] == '`' {
				m++
			}
			if m == n {
				end = j + m
				break
			}
			j += m
		}
		if end < 0 {
			i += n // a lone run of backticks is text
			continue
		}
		code = append(code, string(b[i:end]))
		for k := i; k < end; k++ {
			b[k] = ' '
		}
		i = end
	}
	return string(b), code
}

var (
	// linkTarget finds the targets of inline links and images, reference
	// definitions and HTML links in prose.
	linkTarget = []*regexp.Regexp{
		regexp.MustCompile(`\]\(\s*<?([^)\s>]*)`),
		regexp.MustCompile(`^\s{0,3}\[[^\]]+\]:\s*<?([^\s>]+)`),
		regexp.MustCompile(`(?i)(?:href|src)\s*=\s*["']([^"']*)`),
	}
	urlInCode = regexp.MustCompile(`https?://[^\s'"` + "`" + `)>]+`)
)

// TestDocsLinksStayInRepository: the manual travels with the code, so it
// links only to files of the repository, and every such link resolves.
// Prose names tools and RFCs instead of linking to websites; a URL in
// code (a curl line, say) is allowed only on loopback.
func TestDocsLinksStayInRepository(t *testing.T) {
	root, err := filepath.Abs(".")
	if err != nil {
		t.Fatal(err)
	}
	anchors := map[string]map[string]bool{}
	for _, file := range markdownFiles(t) {
		data, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		for _, l := range splitMarkdown(data) {
			where := fmt.Sprintf("%s:%d", file, l.num)
			if strings.Contains(l.prose, "://") {
				t.Errorf("%s: a URL outside code links out of the repository: %q", where, strings.TrimSpace(l.prose))
			}
			for _, code := range l.code {
				for _, u := range urlInCode.FindAllString(code, -1) {
					if !loopbackURL(u) {
						t.Errorf("%s: %s points off this machine: name the tool or RFC instead", where, u)
					}
				}
			}
			for _, re := range linkTarget {
				for _, m := range re.FindAllStringSubmatch(l.prose, -1) {
					if msg := checkLinkTarget(root, file, m[1], anchors); msg != "" {
						t.Errorf("%s: link %q: %s", where, m[1], msg)
					}
				}
			}
		}
	}
}

func loopbackURL(raw string) bool {
	u, err := url.Parse(raw)
	if err != nil {
		return false
	}
	host := u.Hostname()
	return host == "localhost" || host == "::1" || strings.HasPrefix(host, "127.")
}

// checkLinkTarget says what is wrong with a link from file to target, or
// "" when it names a file of the repository (and a heading of it, when
// it has a fragment).
func checkLinkTarget(root, file, target string, anchors map[string]map[string]bool) string {
	if target == "" {
		return "empty target"
	}
	if u, err := url.Parse(target); err != nil || u.Scheme != "" || u.Host != "" {
		return "links out of the repository"
	}
	path, fragment, _ := strings.Cut(target, "#")
	path, _, _ = strings.Cut(path, "?")
	dest := file
	if path != "" {
		if filepath.IsAbs(path) {
			return "an absolute path: use a path relative to " + file
		}
		dest = filepath.Join(filepath.Dir(file), filepath.FromSlash(path))
		abs, err := filepath.Abs(dest)
		if err != nil {
			return err.Error()
		}
		if rel, err := filepath.Rel(root, abs); err != nil || rel == ".." || strings.HasPrefix(rel, ".."+string(filepath.Separator)) {
			return "leaves the repository"
		}
		if _, err := os.Stat(dest); err != nil {
			return "no such file in the repository"
		}
	}
	if fragment == "" || !strings.HasSuffix(dest, ".md") {
		return ""
	}
	if anchors[dest] == nil {
		data, err := os.ReadFile(dest)
		if err != nil {
			return err.Error()
		}
		anchors[dest] = headingAnchors(data)
	}
	if !anchors[dest][fragment] {
		return fmt.Sprintf("%s has no heading with the anchor #%s", filepath.ToSlash(dest), fragment)
	}
	return ""
}

// headingAnchors returns the anchors a markdown renderer gives the
// headings of a document: lower case, spaces to hyphens, punctuation other
// than hyphens and underscores dropped, repeats numbered.
func headingAnchors(data []byte) map[string]bool {
	out := map[string]bool{}
	seen := map[string]int{}
	for _, l := range splitMarkdown(data) {
		text := strings.TrimSpace(l.raw)
		if l.fenced || !strings.HasPrefix(text, "#") {
			continue
		}
		text = strings.TrimSpace(strings.TrimLeft(text, "#"))
		var b strings.Builder
		for _, r := range strings.ToLower(text) {
			switch {
			case r == ' ':
				b.WriteRune('-')
			case r == '-' || r == '_' || unicode.IsLetter(r) || unicode.IsDigit(r):
				b.WriteRune(r)
			}
		}
		slug := b.String()
		if n := seen[slug]; n > 0 {
			out[fmt.Sprintf("%s-%d", slug, n)] = true
		} else {
			out[slug] = true
		}
		seen[slug]++
	}
	return out
}

// TestDocsReadmeLinksEveryDocument: README.md is the way into the
// manual, so every document in docs/ is linked from it.
func TestDocsReadmeLinksEveryDocument(t *testing.T) {
	data, err := os.ReadFile("README.md")
	if err != nil {
		t.Fatal(err)
	}
	var linked []string
	for _, l := range splitMarkdown(data) {
		for _, m := range linkTarget[0].FindAllStringSubmatch(l.prose, -1) {
			path, _, _ := strings.Cut(m[1], "#")
			linked = append(linked, filepath.ToSlash(filepath.Clean(path)))
		}
	}
	for _, file := range markdownFiles(t) {
		if file != "README.md" && !slices.Contains(linked, file) {
			t.Errorf("README.md does not link to %s", file)
		}
	}
}
