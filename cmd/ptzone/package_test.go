package main

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/ptzone/ptzone/internal/tooltest"
)

const repoRoot = "../.."

// buildContext bounds a build by the test's own deadline: a first build
// with the release flags compiles every package once (minutes on two
// cores); later ones only link.
func buildContext(t *testing.T) context.Context {
	limit := time.Now().Add(20 * time.Minute)
	if d, ok := t.Deadline(); ok && d.Add(-30*time.Second).Before(limit) {
		limit = d.Add(-30 * time.Second)
	}
	ctx, cancel := context.WithDeadline(context.Background(), limit)
	t.Cleanup(cancel)
	return ctx
}

// runIn runs a command in the repository, and returns its output; a
// failure fails the test with the output.
func runIn(t *testing.T, ctx context.Context, env []string, name string, args ...string) string {
	t.Helper()
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Dir = repoRoot
	cmd.Env = append(os.Environ(), env...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, tooltest.Tail(string(out), 40))
	}
	return string(out)
}

// gitHead is the commit checked out, and whether the tree has changes
// not committed (as the toolchain judges it: git status --porcelain).
func gitHead(t *testing.T, ctx context.Context) (string, bool) {
	head := strings.TrimSpace(runIn(t, ctx, nil, "git", "rev-parse", "HEAD"))
	return head, strings.TrimSpace(runIn(t, ctx, nil, "git", "status", "--porcelain")) != ""
}

// TestVersionOfBuiltBinary: the binary make build writes says the commit
// it was built from, that commit's time and whether the tree was
// modified, on one line; ptzone version and ptzone --version say the same.
func TestVersionOfBuiltBinary(t *testing.T) {
	tooltest.Require(t, "make")
	tooltest.Require(t, "git")
	ctx := buildContext(t)
	head, modified := gitHead(t, ctx)
	commitTime := strings.TrimSpace(runIn(t, ctx, []string{"TZ=UTC"}, "git", "log", "-1", "--format=%cd",
		"--date=format-local:%Y-%m-%dT%H:%M:%SZ"))
	bin := filepath.Join(t.TempDir(), "ptzone")
	runIn(t, ctx, nil, "make", "--no-print-directory", "build", "BIN="+bin)

	version := strings.TrimSpace(runIn(t, ctx, nil, bin, "version"))
	if other := strings.TrimSpace(runIn(t, ctx, nil, bin, "--version")); other != version {
		t.Errorf("ptzone --version says %q, ptzone version %q", other, version)
	}
	m := regexp.MustCompile(`^ptzone (v\S+) \(rev ([0-9a-f]{12}), (\S+?)(, modified)?\) (go\S+)$`).FindStringSubmatch(version)
	if m == nil {
		t.Fatalf("ptzone version: %q", version)
	}
	if !strings.HasPrefix(head, m[2]) {
		t.Errorf("revision %s, but HEAD is %s", m[2], head)
	}
	if m[3] != commitTime {
		t.Errorf("commit time %s, want %s", m[3], commitTime)
	}
	if (m[4] != "") != modified {
		t.Errorf("modified %v, but git status says %v", m[4] != "", modified)
	}
	if strings.HasPrefix(m[1], "v0.0.0-") && !strings.Contains(m[1], head[:12]) {
		t.Errorf("pseudo-version %s does not name the revision %s", m[1], head[:12])
	}
}
