package testkit

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ptzone/ptzone/dnssec"
	"github.com/ptzone/ptzone/dnssec/keyfile"
	"github.com/ptzone/ptzone/zone"
)

// kskAndZSK is the key layout most tests sign with.
var kskAndZSK = []dnssec.GenerateOptions{{SEP: true}, {}}

// GenerateKeys makes new keys for the zone origin, one for each layout
// entry in order, each created, published and active from at; no layout
// means an ECDSA P-256 KSK and ZSK. The keys' tags differ from each other.
func GenerateKeys(t testing.TB, origin zone.Name, at time.Time, layout ...dnssec.GenerateOptions) []*dnssec.Key {
	t.Helper()
	if len(layout) == 0 {
		layout = kskAndZSK
	}
	var keys []*dnssec.Key
	for _, o := range layout {
		k, err := dnssec.Generate(origin, o, at, keys)
		if err != nil {
			t.Fatalf("generating a key for %s (%+v): %v", origin, o, err)
		}
		keys = append(keys, k)
	}
	return keys
}

// GenerateKeyFiles makes a new KSK and ZSK (ECDSA P-256), active from at,
// for each of zones ("pt" or "pt.") and saves them into dir as BIND key
// files, where keyfile.Load finds them.
func GenerateKeyFiles(t testing.TB, dir string, at time.Time, zones ...string) {
	t.Helper()
	for _, z := range zones {
		origin, err := zone.ParseName(z, zone.Root)
		if err != nil {
			t.Fatalf("zone name %q: %v", z, err)
		}
		for _, k := range GenerateKeys(t, origin, at) {
			if err := keyfile.Save(k, dir); err != nil {
				t.Fatalf("saving a key of %s in %s: %v", origin, dir, err)
			}
		}
	}
}

// FixedKeys returns the KSK and the ZSK of the zone origin kept in
// testdata/keys (see its README), in the order of their tags.
func FixedKeys(t testing.TB, origin zone.Name) []*dnssec.Key {
	t.Helper()
	keys, err := keyfile.Load(FixedKeysDir(t), origin)
	if err != nil {
		t.Fatalf("loading the fixed keys of %s: %v", origin, err)
	}
	if len(keys) == 0 {
		t.Fatalf("testdata/keys holds no key of %s", origin)
	}
	return keys
}

// FixedKeysDir returns a copy of testdata/keys in a temporary directory,
// each private file readable by its owner alone, as keyfile.Load demands
// and a checkout does not keep.
func FixedKeysDir(t testing.TB) string {
	t.Helper()
	from := repoPath(t, "testdata", "keys")
	entries, err := os.ReadDir(from)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	for _, e := range entries {
		var mode os.FileMode
		switch filepath.Ext(e.Name()) {
		case ".private":
			mode = 0o600
		case ".key":
			mode = 0o644
		default:
			continue
		}
		data, err := os.ReadFile(filepath.Join(from, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, e.Name()), data, mode); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// repoPath returns a path below the repository's root, which it finds
// from the test's working directory (the directory of the package under
// test) upwards, as the first directory holding go.mod.
func repoPath(t testing.TB, elem ...string) string {
	t.Helper()
	wd, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for dir := wd; ; {
		_, err := os.Stat(filepath.Join(dir, "go.mod"))
		if err == nil {
			return filepath.Join(append([]string{dir}, elem...)...)
		}
		if !errors.Is(err, fs.ErrNotExist) {
			t.Fatal(err)
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatalf("no go.mod in %s or above it: cannot find %s", wd, strings.Join(elem, "/"))
		}
		dir = parent
	}
}
