package ptzone_test

import (
	"context"
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ptzone/ptzone/internal/testkit/testdb"
	"github.com/ptzone/ptzone/policy"
	"github.com/ptzone/ptzone/store/postgres/pgtest"
)

func TestMain(m *testing.M) { os.Exit(pgtest.Main(m)) }

const module = "github.com/ptzone/ptzone"

// layers is the import DAG as built (docs/design.md), bottom up: each
// package (path below the module) with exactly the project packages its
// non-test files import. A package may import only packages listed before
// it, so imports flow one way; a package missing from the list, an import
// the list does not name, an entry naming an import the package no longer
// uses, and an entry for a package that does not exist all fail the test:
// every change of the layering is a deliberate edit here.
var layers = []struct {
	pkg     string
	imports []string
}{
	// The bottom: the domain model, the zone, and leaves.
	{"", nil}, // the embedded fixtures
	{"store", nil},
	{"zone", nil},
	{"internal/atomicfile", nil},
	{"internal/storedsn", nil},
	{"internal/buildinfo", nil},
	{"internal/sdnotify", nil},
	{"internal/failpoint", nil},
	{"internal/tooltest", nil},
	{"internal/dnstest", nil},
	{"delegation/resolve", nil},
	{"delegation/lab", nil},
	{"store/storetest", nil}, // its suite is test files
	// The Rules as code, over the model.
	{"policy", []string{"store"}},
	// The stores.
	{"store/internal/sqlcore", []string{"store", "policy"}},
	{"store/postgres", []string{"store", "store/internal/sqlcore"}},
	{"store/sqlite", []string{"store", "store/internal/sqlcore"}},
	{"store/postgres/pgtest", []string{"store/postgres"}},
	{"store/synth", []string{"store", "policy"}},
	{"interchange", []string{"store", "policy"}},
	// The pipeline's pure steps and the servers.
	{"zonegen", []string{"store", "policy", "zone"}},
	{"dnssec", []string{"zone"}},
	{"dnssec/keyfile", []string{"dnssec", "zone", "internal/atomicfile"}},
	{"delegation", []string{"store", "delegation/resolve"}},
	{"authserver", []string{"zone", "dnssec"}},
	{"datadir", []string{"zone", "zonegen", "authserver", "internal/atomicfile", "internal/failpoint"}},
	// One publication cycle.
	{"publish", []string{"store", "policy", "zone", "zonegen", "dnssec", "dnssec/keyfile", "internal/atomicfile", "datadir"}},
	// Taking a zone over from the signer before ptzone.
	{"adopt", []string{"store", "zone", "dnssec", "dnssec/keyfile", "internal/atomicfile", "datadir", "publish"}},
	// The edges: notices, the web API, the daemon, the demo's world.
	{"notify", []string{"store"}},
	{"httpapi", []string{"store", "publish", "datadir"}},
	{"daemon", []string{"store", "policy", "zonegen", "dnssec", "delegation", "delegation/resolve", "authserver", "datadir",
		"publish", "notify", "httpapi", "zone", "internal/storedsn", "internal/buildinfo"}},
	{"internal/demo", []string{"", "store", "policy", "interchange", "delegation/lab"}},
	// Helpers that tests of several packages share: no entry lists them,
	// so only _test.go files may import them.
	{"internal/testkit", []string{"zone", "dnssec", "dnssec/keyfile"}},
	{"internal/testkit/testdb", []string{"", "store", "store/sqlite", "policy", "interchange"}},
	// The one binary, on top.
	{"cmd/ptzone", []string{"store", "store/postgres", "store/sqlite", "store/synth", "policy", "interchange", "zone", "zonegen",
		"dnssec", "dnssec/keyfile", "delegation", "delegation/resolve", "authserver", "datadir", "publish", "adopt", "httpapi", "daemon",
		"internal/atomicfile", "internal/storedsn", "internal/demo", "internal/buildinfo", "internal/sdnotify"}},
}

// pure packages do no I/O and do not log (docs/design.md).
var pure = []string{"store", "policy", "zone", "zonegen", "dnssec", "interchange", "store/synth", "internal/storedsn"}

// impure lists what a pure package must not import: these standard
// packages exactly (net/netip and net/mail only parse), and these modules
// with their subpackages.
var (
	impureStd     = []string{"os", "os/exec", "net", "net/http", "database/sql", "log", "log/slog", "syscall"}
	impureModules = []string{"go.uber.org/zap", "github.com/jackc/pgx/v5", "modernc.org/sqlite"}
)

// drivers may only be imported by the store backends.
var drivers = map[string][]string{
	"github.com/jackc/pgx/v5": {"store/postgres", "store/postgres/pgtest"},
	"modernc.org/sqlite":      {"store/sqlite"},
}

type pkgInfo struct {
	imports map[string]bool
}

// eachGoFile parses the package clause, comments and imports of every Go
// file of the module, tests included (but testdata and hidden folders),
// and hands each to fn with its package's folder ("" for the root).
func eachGoFile(t *testing.T, fn func(dir, path string, f *ast.File)) {
	t.Helper()
	fset := token.NewFileSet()
	err := filepath.WalkDir(".", func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			name := d.Name()
			if path != "." && (strings.HasPrefix(name, ".") || strings.HasPrefix(name, "_") || name == "testdata") {
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(path, ".go") {
			return nil
		}
		f, err := parser.ParseFile(fset, path, nil, parser.ImportsOnly|parser.ParseComments)
		if err != nil {
			return err
		}
		dir := filepath.ToSlash(filepath.Dir(path))
		if dir == "." {
			dir = ""
		}
		fn(dir, path, f)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// loadPackages returns every package with the imports of its non-test
// files.
func loadPackages(t *testing.T) map[string]*pkgInfo {
	t.Helper()
	pkgs := map[string]*pkgInfo{}
	eachGoFile(t, func(dir, path string, f *ast.File) {
		if strings.HasSuffix(path, "_test.go") {
			return
		}
		p := pkgs[dir]
		if p == nil {
			p = &pkgInfo{imports: map[string]bool{}}
			pkgs[dir] = p
		}
		for _, imp := range f.Imports {
			v, _ := strconv.Unquote(imp.Path.Value)
			p.imports[v] = true
		}
	})
	if len(pkgs) < 5 {
		t.Fatalf("found only %d packages: is the test running at the module root?", len(pkgs))
	}
	return pkgs
}

func TestImportDAG(t *testing.T) {
	pkgs := loadPackages(t)
	below := map[string]bool{} // the packages listed so far
	listed := map[string]bool{}
	for _, l := range layers {
		if listed[l.pkg] {
			t.Errorf("package %q is listed twice in layers", l.pkg)
		}
		listed[l.pkg] = true
		p, ok := pkgs[l.pkg]
		if !ok {
			t.Errorf("layers lists %q, which is not a package (any more): remove it", l.pkg)
			below[l.pkg] = true
			continue
		}
		used := map[string]bool{}
		for imp := range p.imports {
			if imp == module || strings.HasPrefix(imp, module+"/") {
				used[strings.TrimPrefix(strings.TrimPrefix(imp, module), "/")] = true
			}
		}
		for _, imp := range l.imports {
			switch {
			case !below[imp]:
				t.Errorf("%q may import %q, which is not listed below it: imports flow one way", l.pkg, imp)
			case !used[imp]:
				t.Errorf("%q no longer imports %q: remove the stale allowance", l.pkg, imp)
			}
		}
		for imp := range used {
			if !slices.Contains(l.imports, imp) {
				t.Errorf("%q imports %q, which the layering does not list for it", l.pkg, imp)
			}
		}
		below[l.pkg] = true
	}
	for dir := range pkgs {
		if !listed[dir] {
			t.Errorf("package %q is not in the architecture map (arch_test.go): give it a place", dir)
		}
	}
}

func TestPurePackagesDoNoIO(t *testing.T) {
	pkgs := loadPackages(t)
	for _, dir := range pure {
		p, ok := pkgs[dir]
		if !ok {
			t.Errorf("pure lists %q, which is not a package (any more)", dir)
			continue
		}
		for imp := range p.imports {
			bad := slices.Contains(impureStd, imp)
			for _, m := range impureModules {
				bad = bad || imp == m || strings.HasPrefix(imp, m+"/")
			}
			if bad {
				t.Errorf("pure package %q imports %q", dir, imp)
			}
		}
	}
}

func TestDatabaseDriversStayInStore(t *testing.T) {
	for dir, p := range loadPackages(t) {
		for imp := range p.imports {
			for driver, owners := range drivers {
				if (imp == driver || strings.HasPrefix(imp, driver+"/")) && !slices.Contains(owners, dir) {
					t.Errorf("%q imports the database driver %q; only %v may", dir, imp, owners)
				}
			}
		}
	}
}

// TestSchemasKnowThePolicyHierarchies: the zones table both migrations
// seed must be exactly the hierarchies of the Rules.
func TestSchemasKnowThePolicyHierarchies(t *testing.T) {
	var want []string
	for _, h := range policy.Hierarchies() {
		want = append(want, h.Zone)
	}
	sort.Strings(want)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()

	got, err := testdb.Open(t).Zones(ctx)
	if err != nil || !slices.Equal(got, want) {
		t.Errorf("sqlite zones = %v (%v), policy hierarchies = %v", got, err, want)
	}

	pg, _ := pgtest.Open(t)
	got, err = pg.Zones(ctx)
	if err != nil || !slices.Equal(got, want) {
		t.Errorf("postgres zones = %v (%v), policy hierarchies = %v", got, err, want)
	}
}
