package ptzone_test

import (
	"context"
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

	"github.com/ptzone/ptzone/policy"
	"github.com/ptzone/ptzone/store/postgres"
	"github.com/ptzone/ptzone/store/postgres/pgtest"
	"github.com/ptzone/ptzone/store/sqlite"
)

func TestMain(m *testing.M) { os.Exit(pgtest.Main(m)) }

const module = "github.com/ptzone/ptzone"

// layers is the import DAG of DESIGN.md: for each package (path below the
// module), the project packages its non-test files may import. A package
// missing from the map fails the test, so that every new package takes a
// deliberate place in it. Entries for packages that do not exist yet record
// where they will stand.
var layers = map[string][]string{
	"":                       {}, // the embedded fixtures
	"store":                  {},
	"store/internal/sqlcore": {"store", "policy"},
	"store/postgres":         {"store", "store/internal/sqlcore"},
	"store/postgres/pgtest":  {},
	"store/sqlite":           {"store", "store/internal/sqlcore"},
	"store/storetest":        {},
	"internal/tooltest":      {},
	"internal/atomicfile":    {},
	"internal/dnstest":       {},
	"internal/storedsn":      {},
	"internal/demo":          {"", "store", "policy", "interchange", "delegation/lab"},
	"store/synth":            {"store", "policy"},
	"zone":                   {},
	"policy":                 {"store"},
	"interchange":            {"store", "policy"},
	"zonegen":                {"store", "policy", "zone"},
	"dnssec":                 {"zone"},
	"dnssec/keyfile":         {"dnssec", "zone", "internal/atomicfile"},
	"delegation":             {"store", "policy", "zone", "dnssec", "delegation/resolve"},
	"delegation/resolve":     {},
	"delegation/lab":         {"zone", "dnssec"},
	"authserver":             {"zone", "dnssec"},
	"publish":                {"store", "policy", "zone", "zonegen", "dnssec", "dnssec/keyfile", "internal/atomicfile", "authserver", "delegation", "datadir"},
	"notify":                 {"store"},
	"httpapi":                {"store", "policy", "zone", "zonegen", "dnssec", "delegation", "publish", "notify", "authserver", "datadir"},
	"daemon":                 {"store", "policy", "zone", "zonegen", "dnssec", "delegation", "authserver", "publish", "notify", "httpapi", "interchange", "delegation/resolve", "internal/storedsn", "datadir"},
	"datadir":                {"zone", "zonegen", "authserver", "internal/atomicfile"},
	"cmd/ptzone":             nil, // on top: may import anything
}

// pure packages do no I/O and do not log (DESIGN.md).
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
	doc     bool
	files   int
}

func loadPackages(t *testing.T) map[string]*pkgInfo {
	t.Helper()
	pkgs := map[string]*pkgInfo{}
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
		if !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
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
		p := pkgs[dir]
		if p == nil {
			p = &pkgInfo{imports: map[string]bool{}}
			pkgs[dir] = p
		}
		p.files++
		if f.Doc != nil && strings.TrimSpace(f.Doc.Text()) != "" {
			p.doc = true
		}
		for _, imp := range f.Imports {
			v, _ := strconv.Unquote(imp.Path.Value)
			p.imports[v] = true
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(pkgs) < 5 {
		t.Fatalf("found only %d packages: is the test running at the module root?", len(pkgs))
	}
	return pkgs
}

func TestPackagesHaveDocComments(t *testing.T) {
	for dir, p := range loadPackages(t) {
		if !p.doc {
			t.Errorf("package %q has no doc comment saying what it owns", dir)
		}
	}
}

func TestImportDAG(t *testing.T) {
	for dir, p := range loadPackages(t) {
		allowed, known := layers[dir]
		if !known {
			t.Errorf("package %q is not in the architecture map (arch_test.go): give it a place", dir)
			continue
		}
		for imp := range p.imports {
			if !strings.HasPrefix(imp, module+"/") && imp != module {
				continue
			}
			target := strings.TrimPrefix(strings.TrimPrefix(imp, module), "/")
			if allowed != nil && !slices.Contains(allowed, target) {
				t.Errorf("%q imports %q, which the layering does not allow (allowed: %v)", dir, target, allowed)
			}
		}
	}
}

func TestPurePackagesDoNoIO(t *testing.T) {
	pkgs := loadPackages(t)
	for _, dir := range pure {
		p, ok := pkgs[dir]
		if !ok {
			continue // not written yet
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

	lite, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "r.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer lite.Close()
	got, err := lite.Zones(ctx)
	if err != nil || !slices.Equal(got, want) {
		t.Errorf("sqlite zones = %v (%v), policy hierarchies = %v", got, err, want)
	}

	dsn := pgtest.NewDatabase(t)
	if _, err := postgres.Migrate(ctx, dsn); err != nil {
		t.Fatal(err)
	}
	pg, err := postgres.Open(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer pg.Close()
	got, err = pg.Zones(ctx)
	if err != nil || !slices.Equal(got, want) {
		t.Errorf("postgres zones = %v (%v), policy hierarchies = %v", got, err, want)
	}
}
