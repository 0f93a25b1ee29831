package main

import (
	"bytes"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// openPTY opens a pseudo-terminal: its controller, from which the test
// reads what a user would see, and the terminal a command writes to.
func openPTY(t *testing.T) (controller, terminal *os.File) {
	t.Helper()
	controller, err := os.OpenFile("/dev/ptmx", os.O_RDWR|unix.O_NOCTTY, 0)
	if err != nil {
		t.Skipf("no pseudo-terminals here: %v", err)
	}
	t.Cleanup(func() { controller.Close() })
	fd := int(controller.Fd())
	if err := unix.IoctlSetPointerInt(fd, unix.TIOCSPTLCK, 0); err != nil {
		t.Fatal(err)
	}
	n, err := unix.IoctlGetInt(fd, unix.TIOCGPTN)
	if err != nil {
		t.Fatal(err)
	}
	terminal, err = os.OpenFile(fmt.Sprintf("/dev/pts/%d", n), os.O_RDWR|unix.O_NOCTTY, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { terminal.Close() })
	return controller, terminal
}

// TestProgressOnlyOnTerminals: a long command shows its progress on a
// terminal, redrawn on one line, paced, its last step always shown and
// the line cleared at the end; on a file, a pipe or /dev/null it writes
// nothing.
func TestProgressOnlyOnTerminals(t *testing.T) {
	controller, terminal := openPTY(t)
	clock := time.Date(2026, 12, 3, 12, 0, 0, 0, time.UTC)
	p := newProgress(terminal, "import sample.jsonl")
	p.now = func() time.Time { return clock }
	p.step(1, 1000)
	p.step(2, 1000) // within the pacing: not drawn
	clock = clock.Add(time.Second)
	p.step(500, 1000)
	p.step(1000, 1000) // the last step, drawn at once
	p.done()
	terminal.Close()
	var seen bytes.Buffer
	buf := make([]byte, 4096)
	controller.SetReadDeadline(time.Now().Add(5 * time.Second))
	for {
		n, err := controller.Read(buf)
		seen.Write(buf[:n])
		if err != nil || strings.HasSuffix(seen.String(), "\r\033[K\r\033[K") {
			break
		}
	}
	got := seen.String()
	for _, want := range []string{"\r\033[Kimport sample.jsonl: 1 of 1000 (0%)", "\r\033[Kimport sample.jsonl: 500 of 1000 (50%)",
		"\r\033[Kimport sample.jsonl: 1000 of 1000 (100%)\r\033[K"} {
		if !strings.Contains(got, want) {
			t.Errorf("the terminal shows %q, without %q", got, want)
		}
	}
	if strings.Contains(got, " 2 of 1000") {
		t.Errorf("a step within the pacing was drawn: %q", got)
	}

	for _, name := range []string{"/dev/null", t.TempDir() + "/log"} {
		f, err := os.OpenFile(name, os.O_CREATE|os.O_WRONLY, 0o600)
		if err != nil {
			t.Fatal(err)
		}
		q := newProgress(f, "x")
		q.phase("working")
		q.step(1, 1)
		f.Close()
		if q.w != nil {
			t.Errorf("%s is taken for a terminal", name)
		}
	}
	r, w, _ := os.Pipe()
	q := newProgress(w, "x")
	q.step(1, 1)
	q.done()
	w.Close()
	if b, _ := os.ReadFile("/proc/self/fd/" + fmt.Sprint(r.Fd())); len(b) != 0 || q.w != nil {
		t.Errorf("a pipe got %q", b)
	}
	r.Close()
}
