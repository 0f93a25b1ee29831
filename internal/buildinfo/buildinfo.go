package buildinfo

import (
	"fmt"
	"runtime/debug"
	"strings"
	"sync"
	"time"
)

// Set with -ldflags "-X github.com/ptzone/ptzone/internal/buildinfo.revision=..."
// (the Makefile does) for builds the toolchain does not stamp; the
// toolchain's stamp wins where there is one.
var (
	revision   string // full commit hash
	commitTime string // RFC 3339, UTC
	modified   string // "true" when the work tree had uncommitted changes
)

// Info is what a binary knows of its build.
type Info struct {
	// Version is the main module's version: a tag (v1.2.0), a Go
	// pseudo-version (v0.0.0-20261203180000-1a2b3c4d5e6f, +dirty when
	// modified), or "(devel)" when nothing is known.
	Version string
	// Revision is the full commit hash, "" when unknown.
	Revision string
	// Time is the commit's time, zero when unknown.
	Time time.Time
	// Modified reports uncommitted changes in the tree built.
	Modified bool
	// GoVersion is the toolchain's release, go1.26.8.
	GoVersion string
}

// FromBuildInfo reads a build's facts from what the toolchain stamped,
// completed with the linker-set fallbacks when it stamped no revision.
func FromBuildInfo(bi *debug.BuildInfo) Info {
	var i Info
	if bi != nil {
		i.Version, i.GoVersion = bi.Main.Version, bi.GoVersion
		for _, s := range bi.Settings {
			switch s.Key {
			case "vcs.revision":
				i.Revision = s.Value
			case "vcs.time":
				i.Time, _ = time.Parse(time.RFC3339, s.Value)
			case "vcs.modified":
				i.Modified = s.Value == "true"
			}
		}
	}
	if i.Revision == "" && revision != "" {
		i.Revision, i.Modified = revision, modified == "true"
		i.Time, _ = time.Parse(time.RFC3339, commitTime)
	}
	if (i.Version == "" || i.Version == "(devel)") && i.Revision != "" && !i.Time.IsZero() {
		i.Version = pseudoVersion(i)
	}
	if i.Version == "" {
		i.Version = "(devel)"
	}
	return i
}

// pseudoVersion writes the version the Go toolchain gives an untagged
// commit, so that a build stamped by the Makefile reads like one stamped
// by the toolchain.
func pseudoVersion(i Info) string {
	rev := i.Revision
	if len(rev) > 12 {
		rev = rev[:12]
	}
	v := "v0.0.0-" + i.Time.UTC().Format("20060102150405") + "-" + rev
	if i.Modified {
		v += "+dirty"
	}
	return v
}

// ShortRevision is the revision's first 12 hex digits, as Go versions
// and git abbreviate it.
func (i Info) ShortRevision() string {
	if len(i.Revision) > 12 {
		return i.Revision[:12]
	}
	return i.Revision
}

// String is the build on one line:
//
//	ptzone v0.0.0-20261203180000-1a2b3c4d5e6f (rev 1a2b3c4d5e6f, 2026-12-03T18:00:00Z, modified) go1.26.8
func (i Info) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "ptzone %s", i.Version)
	if i.Revision != "" {
		var parts []string
		parts = append(parts, "rev "+i.ShortRevision())
		if !i.Time.IsZero() {
			parts = append(parts, i.Time.UTC().Format(time.RFC3339))
		}
		if i.Modified {
			parts = append(parts, "modified")
		}
		fmt.Fprintf(&b, " (%s)", strings.Join(parts, ", "))
	}
	if i.GoVersion != "" {
		fmt.Fprintf(&b, " %s", i.GoVersion)
	}
	return b.String()
}

var read = sync.OnceValue(func() Info {
	bi, _ := debug.ReadBuildInfo()
	return FromBuildInfo(bi)
})

// Read returns the running binary's build.
func Read() Info { return read() }

// Version is the running binary's module version.
func Version() string { return Read().Version }

// Revision is the commit the running binary was built from, "" when
// unknown.
func Revision() string { return Read().Revision }

// String is the running binary's build on one line.
func String() string { return Read().String() }
