// Package tooltest runs the real DNS tools from Debian packages (ldns,
// BIND, Knot, NSD, unbound) in interoperability tests. A missing tool skips
// the test with a message naming the package to install; with CI=true it
// fails it instead, so CI cannot pass by testing nothing. Every run is
// bounded in time.
package tooltest

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"strings"
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
	"named-checkzone":  "bind9-utils",
	"kzonecheck":       "knot-dnssecutils",
	"kzonesign":        "knot-dnssecutils",
	"kdig":             "knot-dnsutils",
	"knotd":            "knot",
	"nsd":              "nsd",
	"unbound":          "unbound",
	"zonemaster-cli":   "zonemaster-cli",
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
