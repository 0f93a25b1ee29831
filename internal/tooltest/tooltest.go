package tooltest

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"
)

// packages names the Debian package of each tool.
var packages = map[string]string{
	"ldns-verify-zone": "ldnsutils",
	"ldns-signzone":    "ldnsutils",
	"dnssec-verify":    "bind9-utils",
	"dnssec-signzone":  "bind9-utils",
	"dnssec-keygen":    "bind9-utils",
	"dnssec-dsfromkey": "bind9-utils",
	"named-checkzone":  "bind9-utils",
	"named":            "bind9",
	"kzonecheck":       "knot-dnssecutils",
	"kzonesign":        "knot-dnssecutils",
	"kdig":             "knot-dnsutils",
	"knotd":            "knot",
	"knotc":            "knot",
	"nsd":              "nsd",
	"unbound":          "unbound",
	"zonemaster-cli":   "zonemaster-cli",
	"promtool":         "prometheus",
	"systemd-analyze":  "systemd",
	"lintian":          "lintian",
	"dpkg-deb":         "dpkg",
	"make":             "make",
	"git":              "git",
	"groff":            "groff-base",
}

// Require returns the path of a tool, or skips (fails with CI=true).
func Require(t testing.TB, name string) string {
	t.Helper()
	if p, err := exec.LookPath(name); err == nil {
		return p
	}
	for _, dir := range []string{"/usr/sbin", "/usr/bin", "/sbin"} {
		p := dir + "/" + name
		if _, err := os.Stat(p); err == nil {
			return p
		}
	}
	msg := name + " is not installed (Debian package " + packages[name] + "; make test installs it when run as root)"
	if os.Getenv("CI") == "true" {
		t.Fatal(msg)
	}
	t.Skip(msg)
	return ""
}

// Result is the outcome of one run.
type Result struct {
	Output string // standard output and error, interleaved
	Err    error  // nil on exit status 0
}

// Run runs a tool with a time limit and returns its output.
func Run(t testing.TB, timeout time.Duration, name string, args ...string) Result {
	t.Helper()
	path := Require(t, name)
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, path, args...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	if ctx.Err() != nil {
		t.Fatalf("%s %s: no result within %s", name, strings.Join(args, " "), timeout)
	}
	return Result{Output: out.String(), Err: err}
}

// Start runs a daemon (path from Require) in the foreground for the
// rest of the test, stopping it when the test ends (and failing the test
// if it has not stopped ten seconds later). It returns the daemon's
// output so far, for failure messages.
func Start(t testing.TB, path string, args ...string) func() string {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	cmd := exec.CommandContext(ctx, path, args...)
	var out syncBuffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		cancel()
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { cmd.Wait(); close(done) }()
	t.Cleanup(func() {
		cancel()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			t.Errorf("%s did not stop", path)
		}
	})
	return out.String
}

// syncBuffer is a buffer the daemon writes while the test reads it.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}
