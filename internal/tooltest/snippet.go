package tooltest

import (
	"os"
	"strings"
	"testing"
)

// Snippet returns the configuration a manual gives for a tool, so that
// a test runs the tool configured as the manual says: the fenced code
// block that follows the line "<!-- snippet: NAME -->" in the Markdown
// file at path, with each placeholder replaced by its value (pairs of
// placeholder and value, as strings.NewReplacer takes them). It fails
// the test when the file has no such block, or when a placeholder is
// not in it (the manual changed, and the test would configure less than
// it thinks).
func Snippet(t testing.TB, path, name string, placeholders ...string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	marker := "<!-- snippet: " + name + " -->\n"
	_, rest, ok := strings.Cut(string(b), marker)
	if !ok {
		t.Fatalf("%s: no %q", path, strings.TrimSpace(marker))
	}
	fence, rest, ok := strings.Cut(rest, "\n")
	if !ok || !strings.HasPrefix(fence, "```") {
		t.Fatalf("%s: no fenced code block after %q", path, strings.TrimSpace(marker))
	}
	fence = fence[:len(fence)-len(strings.TrimLeft(fence, "`"))]
	body, _, ok := strings.Cut(rest, "\n"+fence+"\n")
	if !ok {
		t.Fatalf("%s: the code block after %q does not end", path, strings.TrimSpace(marker))
	}
	for i := 0; i+1 < len(placeholders); i += 2 {
		if !strings.Contains(body, placeholders[i]) {
			t.Fatalf("%s: the snippet %s has no placeholder %s", path, name, placeholders[i])
		}
	}
	return strings.NewReplacer(placeholders...).Replace(body) + "\n"
}
