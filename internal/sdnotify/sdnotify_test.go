package sdnotify

import (
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// listen opens a datagram socket as systemd does for a unit, and returns
// a function that reads the next message.
func listen(t *testing.T, name string) func() string {
	t.Helper()
	conn, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: name, Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return func() string {
		t.Helper()
		conn.SetReadDeadline(time.Now().Add(10 * time.Second))
		buf := make([]byte, 4096)
		n, err := conn.Read(buf)
		if err != nil {
			t.Fatalf("no message: %v", err)
		}
		return string(buf[:n])
	}
}

// TestSendToPathAndAbstractSocket: the state reaches the socket whether
// $NOTIFY_SOCKET names a file or an abstract name, as one datagram of
// lines.
func TestSendToPathAndAbstractSocket(t *testing.T) {
	for _, socket := range []string{
		filepath.Join(t.TempDir(), "notify"),
		fmt.Sprintf("@ptzone-sdnotify-test-%d-%d", os.Getpid(), time.Now().UnixNano()),
	} {
		next := listen(t, socket)
		n, err := New(socket)
		if err != nil || !n.Enabled() {
			t.Fatalf("New(%q) = %v, %v", socket, n, err)
		}
		if err := n.Ready("serving 8 zones\non 2 addresses"); err != nil {
			t.Fatalf("%s: %v", socket, err)
		}
		if got, want := next(), "READY=1\nSTATUS=serving 8 zones on 2 addresses\n"; got != want {
			t.Errorf("%s: got %q, want %q", socket, got, want)
		}
		if err := n.Stopping("draining"); err != nil {
			t.Fatal(err)
		}
		if got, want := next(), "STOPPING=1\nSTATUS=draining\n"; got != want {
			t.Errorf("%s: got %q, want %q", socket, got, want)
		}
	}
}

// TestReloadingCarriesTheMonotonicClock: RELOADING=1 comes with
// MONOTONIC_USEC read from CLOCK_MONOTONIC when it is sent (between two
// readings of that clock taken around it).
func TestReloadingCarriesTheMonotonicClock(t *testing.T) {
	socket := filepath.Join(t.TempDir(), "notify")
	next := listen(t, socket)
	n, _ := New(socket)
	before, _ := monotonicUsec()
	if err := n.Reloading("reading the configuration"); err != nil {
		t.Fatal(err)
	}
	after, _ := monotonicUsec()
	lines := strings.Split(strings.TrimSuffix(next(), "\n"), "\n")
	if len(lines) != 3 || lines[0] != "RELOADING=1" || !strings.HasPrefix(lines[1], "MONOTONIC_USEC=") ||
		lines[2] != "STATUS=reading the configuration" {
		t.Fatalf("got %q", lines)
	}
	usec, err := strconv.ParseInt(strings.TrimPrefix(lines[1], "MONOTONIC_USEC="), 10, 64)
	if err != nil || usec < before || usec > after {
		t.Errorf("MONOTONIC_USEC=%d, not within [%d, %d]: %v", usec, before, after, err)
	}
}

// TestWithoutSocket: not under systemd, every call does nothing and
// succeeds, nil included.
func TestWithoutSocket(t *testing.T) {
	n, err := New("")
	if err != nil || n.Enabled() {
		t.Fatalf("New(\"\") = %+v, %v", n, err)
	}
	var none *Notifier
	for _, x := range []*Notifier{n, none} {
		if err := x.Ready("ok"); err != nil {
			t.Error(err)
		}
	}
}

// TestBadSocketAndLines: a relative NOTIFY_SOCKET is refused by name; a
// socket nobody listens on and a line that is not KEY=VALUE are errors.
func TestBadSocketAndLines(t *testing.T) {
	if _, err := New("notify.sock"); err == nil || !strings.Contains(err.Error(), `NOTIFY_SOCKET "notify.sock"`) {
		t.Errorf("a relative path: %v", err)
	}
	n, _ := New(filepath.Join(t.TempDir(), "nobody"))
	if err := n.Ready("ok"); err == nil {
		t.Error("a socket nobody listens on: no error")
	}
	socket := filepath.Join(t.TempDir(), "notify")
	listen(t, socket)
	n, _ = New(socket)
	for _, bad := range []string{"READY", "STATUS=a\nREADY=1"} {
		if err := n.Send(bad); err == nil {
			t.Errorf("Send(%q): no error", bad)
		}
	}
}
