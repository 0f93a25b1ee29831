package main

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
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

// TestDebianPackage: make deb builds a package that lintian passes
// without an error, holding the binary, the unit run on it, a manual page
// for every command (the unit's Documentation= ones among them: systemd
// finds them), the copyright and changelog, and the example
// configuration; its version names the commit.
func TestDebianPackage(t *testing.T) {
	for _, tool := range []string{"make", "git", "dpkg-deb", "lintian"} {
		tooltest.Require(t, tool)
	}
	ctx := buildContext(t)
	head, _ := gitHead(t, ctx)
	out := t.TempDir()
	printed := runIn(t, ctx, nil, "make", "--no-print-directory", "deb", "OUT="+out)
	debs, _ := filepath.Glob(filepath.Join(out, "*.deb"))
	if len(debs) != 1 || !strings.Contains(printed, debs[0]) {
		t.Fatalf("make deb made %v:\n%s", debs, printed)
	}
	deb := debs[0]
	if leftover, _ := os.ReadDir(out); len(leftover) != 1 {
		t.Errorf("make deb left more than the package in %s: %v", out, leftover)
	}

	version := strings.TrimSpace(runIn(t, ctx, nil, "dpkg-deb", "--field", deb, "Version"))
	if !regexp.MustCompile(`^(0\.0~git\d{8}\.|\S+\+git\d+\.)` + head[:12] + `-1$|^[0-9][^-]*-1$`).MatchString(version) {
		t.Errorf("package version %q does not follow the commit %s", version, head[:12])
	}

	var files []string
	for _, line := range strings.Split(runIn(t, ctx, nil, "dpkg-deb", "--contents", deb), "\n") {
		if f := strings.Fields(line); len(f) == 6 {
			files = append(files, strings.TrimPrefix(f[5], "."))
		}
	}
	want := []string{"/usr/bin/ptzone", "/lib/systemd/system/ptzone.service", "/usr/share/doc/ptzone/copyright",
		"/usr/share/doc/ptzone/changelog.Debian.gz", "/usr/share/doc/ptzone/examples/ptzone.example.toml", "/usr/share/man/man1/ptzone.1.gz"}
	for _, c := range rootCommand().subs {
		want = append(want, "/usr/share/man/man1/ptzone-"+c.name+".1.gz")
	}
	for _, w := range want {
		if !slices.Contains(files, w) {
			t.Errorf("the package lacks %s", w)
		}
	}

	lint := exec.CommandContext(ctx, "lintian", "--tag-display-limit", "0", deb)
	report, _ := lint.CombinedOutput() // exit 1 on errors and on warnings alike: the lines tell
	for _, line := range strings.Split(string(report), "\n") {
		if strings.HasPrefix(line, "E:") {
			t.Errorf("lintian: %s", line)
		}
	}
	if lint.ProcessState == nil || !lint.ProcessState.Exited() {
		t.Fatalf("lintian did not run:\n%s", report)
	}
	t.Logf("lintian:\n%s", report)

	root := t.TempDir()
	runIn(t, ctx, nil, "dpkg-deb", "--extract", deb, root)
	if v := runIn(t, ctx, nil, filepath.Join(root, "usr/bin/ptzone"), "version"); !strings.Contains(v, "(rev "+head[:12]) {
		t.Errorf("the packaged binary says %q, not revision %s", v, head[:12])
	}
	unit, err := os.ReadFile(filepath.Join(root, "lib/systemd/system/ptzone.service"))
	if err != nil {
		t.Fatal(err)
	}
	if !regexp.MustCompile(`(?m)^ExecStart=/usr/bin/ptzone daemon `).Match(unit) || !strings.Contains(string(unit), "\nType=notify\n") {
		t.Errorf("the packaged unit does not run /usr/bin/ptzone daemon as Type=notify:\n%s", unit)
	}
	if analyze, err := exec.LookPath("systemd-analyze"); err == nil {
		// systemd checks the unit's Documentation= pages with man: the
		// package's own pages must be there.
		copy := filepath.Join(t.TempDir(), "ptzone.service")
		os.WriteFile(copy, []byte(strings.ReplaceAll(string(unit), "/usr/bin/ptzone", "/bin/true")), 0o644)
		cmd := exec.CommandContext(ctx, analyze, "verify", copy)
		cmd.Env = append(os.Environ(), "MANPATH="+filepath.Join(root, "usr/share/man"))
		out, _ := cmd.CombinedOutput()
		for _, line := range strings.Split(string(out), "\n") {
			if strings.Contains(line, "ptzone.service") {
				t.Errorf("systemd-analyze verify, packaged unit: %s", line)
			}
		}
	}
}
