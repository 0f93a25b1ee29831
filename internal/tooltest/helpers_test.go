package tooltest_test

import (
	"fmt"
	"net"
	"os"
	"path/filepath"
	"testing"

	"github.com/ptzone/ptzone/internal/tooltest"
)

// TestFreePort: the port given can be bound for UDP and for TCP.
func TestFreePort(t *testing.T) {
	port := tooltest.FreePort(t)
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	pc, err := net.ListenPacket("udp", addr)
	if err != nil {
		t.Fatalf("UDP %s: %v", addr, err)
	}
	defer pc.Close()
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		t.Fatalf("TCP %s: %v", addr, err)
	}
	ln.Close()
}

// TestTail: the last lines, without the final newline; all of a shorter
// output.
func TestTail(t *testing.T) {
	for _, c := range []struct {
		output string
		n      int
		want   string
	}{
		{"a\nb\nc\nd\n", 2, "c\nd"},
		{"a\nb", 5, "a\nb"},
		{"", 3, ""},
	} {
		if got := tooltest.Tail(c.output, c.n); got != c.want {
			t.Errorf("Tail(%q, %d) = %q, want %q", c.output, c.n, got, c.want)
		}
	}
}

// TestLDNSVersion: the installed ldns says its version (1.8.3 on Debian
// 12, later elsewhere).
func TestLDNSVersion(t *testing.T) {
	tooltest.Require(t, "ldns-verify-zone")
	if v := tooltest.LDNSVersion(t); v < 10800 || v >= 20000 {
		t.Errorf("ldns version %d, want 1.8.0 or a later 1.x", v)
	}
}

// TestSnippet: the code block after the marker, placeholders replaced;
// a missing marker, block or placeholder fails the test.
func TestSnippet(t *testing.T) {
	path := filepath.Join(t.TempDir(), "manual.md")
	manual := "# Manual\n\n<!-- snippet: other -->\n```\nnot this\n```\n\n<!-- snippet: conf -->\n```conf\nlisten ADDRESS;\n```\nafter\n"
	if err := os.WriteFile(path, []byte(manual), 0o644); err != nil {
		t.Fatal(err)
	}
	if got := tooltest.Snippet(t, path, "conf", "ADDRESS", "127.0.0.1"); got != "listen 127.0.0.1;\n" {
		t.Errorf("Snippet = %q", got)
	}
	for _, c := range []struct {
		name         string
		placeholders []string
	}{
		{"absent", nil},
		{"conf", []string{"PORT", "53"}},
	} {
		ft := &fatalRecorder{TB: t}
		func() {
			defer func() { recover() }() // Fatalf stops the function the way Goexit would
			tooltest.Snippet(ft, path, c.name, c.placeholders...)
		}()
		if !ft.failed {
			t.Errorf("Snippet(%q, %v) did not fail", c.name, c.placeholders)
		}
	}
}

// fatalRecorder records a Fatalf instead of ending the test.
type fatalRecorder struct {
	testing.TB
	failed bool
}

func (f *fatalRecorder) Helper() {}

func (f *fatalRecorder) Fatal(args ...any) { f.failed = true; panic("fatal") }

func (f *fatalRecorder) Fatalf(format string, args ...any) { f.failed = true; panic("fatal") }
