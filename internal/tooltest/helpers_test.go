package tooltest_test

import (
	"fmt"
	"net"
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
