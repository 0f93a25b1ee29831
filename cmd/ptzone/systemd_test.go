package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/miekg/dns"

	"github.com/ptzone/ptzone"
	"github.com/ptzone/ptzone/internal/tooltest"
)

// notifySocket listens where systemd would for a unit's notifications,
// and returns a function that reads the next one.
func notifySocket(t *testing.T, path string) func() string {
	t.Helper()
	conn, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: path, Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return func() string {
		t.Helper()
		conn.SetReadDeadline(time.Now().Add(30 * time.Second))
		buf := make([]byte, 4096)
		n, err := conn.Read(buf)
		if err != nil {
			t.Fatalf("no notification: %v", err)
		}
		return string(buf[:n])
	}
}

// TestDaemonTellsSystemd: under a unit of Type=notify the daemon sends
// READY=1 once it answers DNS from the last published zones and its HTTP
// server is up (the first query sent when READY arrives is answered, with
// the published serial); SIGHUP is RELOADING=1 with MONOTONIC_USEC, then
// READY=1 again, a refused file included; the end is STOPPING=1. The log
// is JSON (standard error is no terminal), at the configuration's level,
// which SIGHUP changes.
func TestDaemonTellsSystemd(t *testing.T) {
	home, data := registryWithKeys(t, ptzone.SampleRegistry)
	at := time.Now().UTC().Add(time.Minute)
	cli(t, home, append([]string{"zone", "publish", "--assume-checked", "--now", at.Format(time.RFC3339)}, data...)...).want(t, exitOK)
	config := func(level string) []byte {
		return []byte(`node = "notify-node"
[schedule]
publish = "off"
checks = "off"
sweep = "off"
notify = "off"
prune = "off"
[log]
level = "` + level + `"
`)
	}
	cfg := writeFile(t, home, "ptzone.toml", config("warn"))
	dnsAddr := fmt.Sprintf("127.0.0.1:%d", tooltest.FreePort(t))
	httpAddr := fmt.Sprintf("127.0.0.1:%d", tooltest.FreePort(t))
	socket := filepath.Join(home, "notify")
	next := notifySocket(t, socket)

	stdout, stderr := &lockedBuffer{}, &lockedBuffer{}
	e := &env{stdin: strings.NewReader(""), stdout: stdout, stderr: stderr, getenv: func(k string) string {
		return map[string]string{"HOME": home, "NOTIFY_SOCKET": socket}[k]
	}}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan int, 1)
	go func() {
		done <- run(ctx, e, append([]string{"daemon", "--config", cfg, "--listen", dnsAddr, "--http", httpAddr}, data...))
	}()

	if got, want := next(), "READY=1\nSTATUS=serving 8 zones on "+dnsAddr+"\n"; got != want {
		t.Fatalf("the first notification is %q, want %q\n%s", got, want, stderr)
	}
	// Ready means answering now: one query, no retry.
	q := new(dns.Msg)
	q.SetQuestion("pt.", dns.TypeSOA)
	r, _, err := (&dns.Client{Timeout: 2 * time.Second}).Exchange(q, dnsAddr)
	if err != nil || len(r.Answer) == 0 || r.Answer[0].(*dns.SOA).Serial != uint32(at.Unix()) {
		t.Fatalf("pt. SOA when READY=1 came: %v %v", r, err)
	}
	if code, body := get(t, "http://"+httpAddr+"/healthz"); code != http.StatusOK {
		t.Errorf("/healthz when READY=1 came: %d %s", code, body)
	}

	reload := func(text []byte) (reloading, ready string) {
		t.Helper()
		writeFile(t, home, "ptzone.toml", text)
		syscall.Kill(syscall.Getpid(), syscall.SIGHUP)
		return next(), next()
	}
	reloading, ready := reload(config("debug"))
	lines := strings.Split(reloading, "\n")
	if len(lines) < 3 || lines[0] != "RELOADING=1" || !strings.HasPrefix(lines[1], "MONOTONIC_USEC=") || lines[2] != "STATUS=reading "+cfg {
		t.Errorf("on SIGHUP: %q", reloading)
	}
	var usec uint64
	if _, err := fmt.Sscanf(lines[1], "MONOTONIC_USEC=%d", &usec); err != nil || usec == 0 {
		t.Errorf("MONOTONIC_USEC: %q", lines[1])
	}
	if ready != "READY=1\nSTATUS=serving 8 zones on "+dnsAddr+"\n" {
		t.Errorf("after the reload: %q", ready)
	}
	_, ready = reload([]byte("[log]\nlevel = \"loud\"\n"))
	if !strings.HasPrefix(ready, "READY=1\nSTATUS=serving 8 zones on "+dnsAddr+"; the configuration reloaded is refused: ") ||
		!strings.Contains(ready, `log.level: \"loud\"`) && !strings.Contains(ready, `log.level: "loud"`) {
		t.Errorf("after a refused reload: %q", ready)
	}

	cancel()
	if got := next(); !strings.HasPrefix(got, "STOPPING=1\nSTATUS=stopping") {
		t.Errorf("on stop: %q", got)
	}
	select {
	case code := <-done:
		if code != exitOK {
			t.Errorf("daemon exited %d: %s", code, stderr)
		}
	case <-time.After(40 * time.Second):
		t.Fatal("the daemon did not stop")
	}

	// The log: JSON objects; at warn, no info line until the reload put
	// debug in force ("configuration reloaded" is info).
	var sawReloaded bool
	for _, line := range strings.Split(strings.TrimSpace(stderr.String()), "\n") {
		var obj struct{ Level, Msg string }
		if err := json.Unmarshal([]byte(line), &obj); err != nil {
			t.Fatalf("a log line is not JSON: %q", line)
		}
		if obj.Level == "info" && !sawReloaded && obj.Msg != "configuration reloaded" {
			t.Errorf("an info line at level warn: %q", line)
		}
		sawReloaded = sawReloaded || obj.Msg == "configuration reloaded"
	}
	if !sawReloaded {
		t.Errorf("the reload to level debug was not logged:\n%s", stderr)
	}
}
