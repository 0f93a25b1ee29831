package publish_test

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"go.uber.org/zap"

	"github.com/ptzone/ptzone/dnssec"
	"github.com/ptzone/ptzone/internal/atomicfile"
	"github.com/ptzone/ptzone/internal/testkit"
	"github.com/ptzone/ptzone/internal/testkit/testdb"
	"github.com/ptzone/ptzone/publish"
	"github.com/ptzone/ptzone/zonegen"
)

var update = flag.Bool("update", false, "rewrite testdata/golden/*.zone from the zones TestGolden builds")

const goldenDir = "../testdata/golden"

// goldenNow is the build's clock: SOA serials, signature inception and
// expiration derive from it.
var goldenNow = testkit.FixedTime

// TestGolden builds, signs and verifies every zone of the sample registry
// as 'ptzone zone build --all --assume-checked --now 2026-11-22T12:00:00Z'
// does, with the test keys of testdata/keys, and compares each master
// file byte for byte with testdata/golden/<zone>.zone. The delegation
// gate is open for every active domain (AssumeChecked): no check results
// enter the build. Signing is deterministic (RFC 6979 ECDSA, jitter from
// the owner name), so any change of a zone's bytes is a change of
// behaviour, to be understood and then accepted with
// 'go test ./publish -run TestGolden -update'.
func TestGolden(t *testing.T) {
	db := testdb.Sample(t)
	cfg := zonegen.DefaultConfig()
	cfg.AssumeChecked = true
	sign := dnssec.DefaultSignOptions(time.Time{})
	p := publish.New(publish.Config{Zones: cfg, Sign: sign, KeysDir: testkit.FixedKeysDir(t), OutDir: t.TempDir(),
		Guard: publish.Guard{Thresholds: publish.DefaultThresholds(), Refresh: sign.Refresh}}, db, pol, zap.NewNop())
	set, err := p.Build(context.Background(), publish.BuildRequest{Now: goldenNow})
	if err != nil {
		t.Fatal(err)
	}
	out := t.TempDir()
	var built []string
	for _, b := range set.Zones {
		name := b.Result.Name
		built = append(built, name+".zone")
		if b.Err != nil {
			t.Errorf("%s: not signed: %v", name, b.Err)
			continue
		}
		if !b.Report.OK() {
			t.Errorf("%s: the verifier refuses the zone: %v", name, b.Report.Problems)
			continue
		}
		path := filepath.Join(out, name+".zone")
		if err := atomicfile.WriteRewriting(path, 0o644, b.WriteZone); err != nil {
			t.Fatal(err)
		}
		got, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		golden := filepath.Join(goldenDir, name+".zone")
		if *update {
			if err := os.WriteFile(golden, got, 0o644); err != nil {
				t.Fatal(err)
			}
			continue
		}
		want, err := os.ReadFile(golden)
		if err != nil {
			t.Errorf("%s: %v (go test ./publish -run TestGolden -update writes it)", name, err)
			continue
		}
		if !bytes.Equal(got, want) {
			t.Errorf("%s differs from %s:\n%s", name, golden, firstDifference(want, got))
		}
	}
	if want := zonegen.DefaultConfig().Zones; len(built) != len(want) {
		t.Errorf("built %d zones (%v), the configuration has %d (%v)", len(built), built, len(want), want)
	}
	// A golden file no zone is built for is stale.
	files, err := filepath.Glob(filepath.Join(goldenDir, "*.zone"))
	if err != nil {
		t.Fatal(err)
	}
	for _, file := range files {
		if base := filepath.Base(file); !slices.Contains(built, base) {
			if *update {
				if err := os.Remove(file); err != nil {
					t.Fatal(err)
				}
				continue
			}
			t.Errorf("%s: no zone is built for it (go test ./publish -run TestGolden -update removes it)", file)
		}
	}
}

// firstDifference shows where two master files part: the first line that
// differs with a few lines of context from each, and the line counts.
func firstDifference(want, got []byte) string {
	const context = 3
	lines := func(b []byte) []string {
		l := strings.SplitAfter(string(b), "\n")
		if l[len(l)-1] == "" {
			l = l[:len(l)-1]
		}
		return l
	}
	w, g := lines(want), lines(got)
	i := 0
	for i < len(w) && i < len(g) && w[i] == g[i] {
		i++
	}
	show := func(lines []string) string {
		var b strings.Builder
		for j := max(0, i-context); j < min(len(lines), i+context+1); j++ {
			mark := " "
			if j == i {
				mark = ">"
			}
			fmt.Fprintf(&b, "  %s%6d  %s", mark, j+1, strings.TrimSuffix(lines[j], "\n")+"\n")
		}
		return b.String()
	}
	return fmt.Sprintf("first difference at line %d (golden %d lines, built %d)\n golden:\n%s built:\n%s",
		i+1, len(w), len(g), show(w), show(g))
}
