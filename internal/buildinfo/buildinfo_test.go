package buildinfo

import (
	"runtime/debug"
	"testing"
)

func stamped(version string, settings ...string) *debug.BuildInfo {
	bi := &debug.BuildInfo{GoVersion: "go1.26.8", Main: debug.Module{Path: "github.com/ptzone/ptzone", Version: version}}
	for i := 0; i+1 < len(settings); i += 2 {
		bi.Settings = append(bi.Settings, debug.BuildSetting{Key: settings[i], Value: settings[i+1]})
	}
	return bi
}

// withFallback sets the linker-set values for one test.
func withFallback(t *testing.T, rev, when, mod string) {
	old := [3]string{revision, commitTime, modified}
	revision, commitTime, modified = rev, when, mod
	t.Cleanup(func() { revision, commitTime, modified = old[0], old[1], old[2] })
}

const rev = "1a2b3c4d5e6f708192a3b4c5d6e7f80912345678"

// TestString: the one line names the version, the short revision, the
// commit's time, whether the tree was modified, and the Go release; what
// is unknown is left out rather than printed empty.
func TestString(t *testing.T) {
	for _, c := range []struct {
		name string
		bi   *debug.BuildInfo
		want string
	}{
		{"stamped, modified", stamped("v0.0.0-20261203180000-1a2b3c4d5e6f+dirty", "vcs", "git", "vcs.revision", rev,
			"vcs.time", "2026-12-03T18:00:00Z", "vcs.modified", "true"),
			"ptzone v0.0.0-20261203180000-1a2b3c4d5e6f+dirty (rev 1a2b3c4d5e6f, 2026-12-03T18:00:00Z, modified) go1.26.8"},
		{"stamped, clean", stamped("v1.2.0", "vcs.revision", rev, "vcs.time", "2026-12-03T18:00:00Z", "vcs.modified", "false"),
			"ptzone v1.2.0 (rev 1a2b3c4d5e6f, 2026-12-03T18:00:00Z) go1.26.8"},
		// The toolchain stamped the revision but could not make a
		// version of it (-buildvcs with a dirty tree before Go 1.24).
		{"devel with a revision", stamped("(devel)", "vcs.revision", rev, "vcs.time", "2026-12-03T18:00:00Z"),
			"ptzone v0.0.0-20261203180000-1a2b3c4d5e6f (rev 1a2b3c4d5e6f, 2026-12-03T18:00:00Z) go1.26.8"},
		{"nothing known", stamped("(devel)"), "ptzone (devel) go1.26.8"},
		{"no build info", nil, "ptzone (devel)"},
	} {
		if got := FromBuildInfo(c.bi).String(); got != c.want {
			t.Errorf("%s:\n got %s\nwant %s", c.name, got, c.want)
		}
	}
}

// TestFallback: a build the toolchain did not stamp (a git worktree)
// takes the revision, time and modified flag the Makefile set, and its
// version reads as the toolchain's pseudo-version would; a stamp, where
// there is one, wins over them.
func TestFallback(t *testing.T) {
	withFallback(t, rev, "2026-12-03T18:00:00Z", "true")
	i := FromBuildInfo(stamped("(devel)"))
	if i.Revision != rev || !i.Modified || i.Time.Format("2006-01-02 15:04:05") != "2026-12-03 18:00:00" ||
		i.Version != "v0.0.0-20261203180000-1a2b3c4d5e6f+dirty" {
		t.Errorf("from the linker's values: %+v", i)
	}
	other := "ffeeddccbbaa99887766554433221100ffeeddcc"
	i = FromBuildInfo(stamped("v0.0.0-20261101000000-ffeeddccbbaa", "vcs.revision", other, "vcs.time", "2026-11-01T00:00:00Z",
		"vcs.modified", "false"))
	if i.Revision != other || i.Modified || i.Version != "v0.0.0-20261101000000-ffeeddccbbaa" {
		t.Errorf("the toolchain's stamp does not win: %+v", i)
	}
}

// TestReadThisBinary: the package-level functions read the running
// binary (a test binary: no revision, Go's release known).
func TestReadThisBinary(t *testing.T) {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		t.Skip("no build info in this binary")
	}
	if got, want := String(), FromBuildInfo(bi).String(); got != want {
		t.Errorf("String() = %q, want %q", got, want)
	}
	if Version() == "" || Read().GoVersion != bi.GoVersion {
		t.Errorf("Version() = %q, Go %q", Version(), Read().GoVersion)
	}
}
