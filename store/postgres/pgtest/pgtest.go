package pgtest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/ptzone/ptzone/store/postgres"
)

// EnvURL names a server to use instead of a throwaway cluster. The role
// must be allowed to create databases.
const EnvURL = "PTZONE_TEST_DATABASE_URL"

var (
	mainCalled bool
	once       sync.Once
	shared     *cluster
	sharedErr  error
)

// Main runs the package's tests and then stops the cluster if one was
// started. Call it from TestMain: os.Exit(pgtest.Main(m)).
func Main(m *testing.M) int {
	mainCalled = true
	code := m.Run()
	if shared != nil {
		if err := shared.stop(); err != nil {
			fmt.Fprintln(os.Stderr, "pgtest:", err)
			if code == 0 {
				code = 1
			}
		}
	}
	return code
}

// NewMigrated creates a database as NewDatabase does, migrated to the
// schema this binary knows, and returns its postgres:// URL.
func NewMigrated(t testing.TB) string {
	t.Helper()
	dsn := NewDatabase(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if _, err := postgres.Migrate(ctx, dsn); err != nil {
		t.Fatalf("pgtest: migrating %s: %v", redactURL(dsn), err)
	}
	return dsn
}

// Open returns the registry of a new migrated database, closed when the
// test ends, and the database's URL (for a second handle on it).
func Open(t testing.TB) (*postgres.DB, string) {
	t.Helper()
	dsn := NewMigrated(t)
	db, err := postgres.Open(context.Background(), dsn)
	if err != nil {
		t.Fatalf("pgtest: opening %s: %v", redactURL(dsn), err)
	}
	t.Cleanup(func() { db.Close() })
	return db, dsn
}

// NewDatabase creates an empty database for this test and returns its
// postgres:// URL. The database is dropped when the test ends.
func NewDatabase(t testing.TB) string {
	t.Helper()
	if !mainCalled {
		t.Fatal("pgtest: the package's TestMain must call pgtest.Main, or the cluster would outlive the tests")
	}
	admin := os.Getenv(EnvURL)
	if admin == "" {
		once.Do(func() { shared, sharedErr = startCluster(false) })
		if sharedErr != nil {
			unavailable(t, sharedErr)
		}
		admin = shared.url("postgres")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, admin)
	if err != nil {
		t.Fatalf("pgtest: connecting to %s: %v", redactURL(admin), err)
	}
	defer conn.Close(ctx)

	var suffix [6]byte
	rand.Read(suffix[:])
	name := "ptzone_test_" + hex.EncodeToString(suffix[:])
	if _, err := conn.Exec(ctx, "CREATE DATABASE "+name); err != nil {
		t.Fatalf("pgtest: creating database: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		conn, err := pgx.Connect(ctx, admin)
		if err != nil {
			t.Errorf("pgtest: dropping %s: %v", name, err)
			return
		}
		defer conn.Close(ctx)
		if _, err := conn.Exec(ctx, "DROP DATABASE "+name+" WITH (FORCE)"); err != nil {
			t.Errorf("pgtest: dropping %s: %v", name, err)
		}
	})
	u, err := url.Parse(admin)
	if err != nil {
		t.Fatalf("pgtest: %s is not a URL: %v", EnvURL, err)
	}
	u.Path = "/" + name
	return u.String()
}

func unavailable(t testing.TB, err error) {
	t.Helper()
	msg := fmt.Sprintf("pgtest: no PostgreSQL for this test: %v (install the postgresql package, or set %s)", err, EnvURL)
	if os.Getenv("CI") == "true" {
		t.Fatal(msg)
	}
	t.Skip(msg)
}

func redactURL(s string) string {
	u, err := url.Parse(s)
	if err != nil {
		return "(unparsable URL)"
	}
	return u.Redacted()
}

// cluster is a PostgreSQL cluster in a temporary directory, listening only
// on a Unix socket in that directory.
type cluster struct {
	bin  string
	base string // socket directory; the data directory is base/data
	cred *syscall.Credential
	// durable: commits survive the server's crash (Cluster.Stop).
	durable bool
}

func (c *cluster) url(db string) string {
	q := url.Values{"host": {c.base}, "sslmode": {"disable"}}
	return (&url.URL{Scheme: "postgres", User: url.User("ptzone"), Path: "/" + db, RawQuery: q.Encode()}).String()
}

// findBinaries returns the directory holding initdb, pg_ctl and postgres:
// pg_config's bindir, else the newest /usr/lib/postgresql/*/bin.
func findBinaries() (string, error) {
	var dirs []string
	if out, err := exec.Command("pg_config", "--bindir").Output(); err == nil {
		dirs = append(dirs, strings.TrimSpace(string(out)))
	}
	versioned, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	sort.Slice(versioned, func(i, j int) bool { return versionOf(versioned[i]) > versionOf(versioned[j]) })
	dirs = append(dirs, versioned...)
	for _, d := range dirs {
		ok := true
		for _, b := range []string{"initdb", "pg_ctl", "postgres"} {
			if _, err := os.Stat(filepath.Join(d, b)); err != nil {
				ok = false
			}
		}
		if ok {
			return d, nil
		}
	}
	return "", errors.New("no PostgreSQL server binaries (initdb, pg_ctl, postgres) in pg_config --bindir or /usr/lib/postgresql/*/bin")
}

func versionOf(binDir string) int {
	v, _ := strconv.Atoi(filepath.Base(filepath.Dir(binDir)))
	return v
}

// serverUser returns the credentials to run the server with: initdb refuses
// to run as root, so root runs it as the postgres (or nobody) user.
func serverUser() (*syscall.Credential, error) {
	if os.Geteuid() != 0 {
		return nil, nil
	}
	for _, name := range []string{"postgres", "nobody"} {
		u, err := user.Lookup(name)
		if err != nil {
			continue
		}
		uid, _ := strconv.Atoi(u.Uid)
		gid, _ := strconv.Atoi(u.Gid)
		return &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}, nil
	}
	return nil, errors.New("running as root and there is neither a postgres nor a nobody user to run the server as")
}

// startCluster makes a cluster and starts it. A durable one keeps every
// commit across a crash of its server (synchronous_commit on); the
// others trade that for speed.
func startCluster(durable bool) (*cluster, error) {
	bin, err := findBinaries()
	if err != nil {
		return nil, err
	}
	cred, err := serverUser()
	if err != nil {
		return nil, err
	}
	// A short path: Unix socket paths are limited to about 100 bytes.
	base, err := os.MkdirTemp("/tmp", "ptzpg")
	if err != nil {
		return nil, err
	}
	c := &cluster{bin: bin, base: base, cred: cred, durable: durable}
	if err := c.init(); err != nil {
		os.RemoveAll(base)
		return nil, err
	}
	return c, nil
}

func (c *cluster) init() error {
	if err := os.Chmod(c.base, 0o755); err != nil {
		return err
	}
	if c.cred != nil {
		if err := os.Chown(c.base, int(c.cred.Uid), int(c.cred.Gid)); err != nil {
			return err
		}
	}
	data := filepath.Join(c.base, "data")
	// A Portuguese collation that ignores punctuation, as production
	// locales do: code that forgets byte order (COLLATE "C") then fails
	// here, not only in production. Servers built without ICU get C.
	initdb := []string{"-D", data, "-U", "ptzone", "--auth=trust", "--no-sync", "-E", "UTF8"}
	if out, err := c.run("initdb", append(initdb, "--locale=C.UTF-8", "--locale-provider=icu", "--icu-locale=pt-PT-u-ka-shifted")...); err != nil {
		os.RemoveAll(data)
		if out2, err2 := c.run("initdb", append(initdb, "--locale=C")...); err2 != nil {
			return fmt.Errorf("initdb: %v: %s\n%s", err2, out, out2)
		}
	}
	// Throwaway data: durability is traded for speed, but for a server
	// the test crashes on purpose: a commit there is written to the WAL
	// before it returns (the operating system, which does not crash,
	// keeps it without fsync).
	commit := "off"
	if c.durable {
		commit = "on"
	}
	conf := fmt.Sprintf("\nlisten_addresses = ''\nunix_socket_directories = '%s'\n"+
		"fsync = off\nsynchronous_commit = %s\nfull_page_writes = off\nmax_connections = 60\n", c.base, commit)
	f, err := os.OpenFile(filepath.Join(data, "postgresql.conf"), os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		return err
	}
	_, err = f.WriteString(conf)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return err
	}
	return c.start()
}

// start starts the cluster's server and waits until it accepts
// connections.
func (c *cluster) start() error {
	if out, err := c.run("pg_ctl", "-D", filepath.Join(c.base, "data"), "-l", filepath.Join(c.base, "server.log"), "-w", "-t", "60", "start"); err != nil {
		log, _ := os.ReadFile(filepath.Join(c.base, "server.log"))
		return fmt.Errorf("pg_ctl start: %v: %s\n%s", err, out, log)
	}
	return nil
}

func (c *cluster) run(name string, args ...string) ([]byte, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, filepath.Join(c.bin, name), args...)
	cmd.Dir = c.base
	if c.cred != nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: c.cred}
	}
	return cmd.CombinedOutput()
}

// stop stops the cluster and removes it.
func (c *cluster) stop() error {
	err := c.halt()
	if rmErr := os.RemoveAll(c.base); rmErr != nil && err == nil {
		err = rmErr
	}
	return err
}

// halt stops the cluster's server at once (pg_ctl's immediate mode: the
// sessions end without a word, as when the server crashes or its
// machine goes away), and leaves its files for a start.
func (c *cluster) halt() error {
	if out, err := c.run("pg_ctl", "-D", filepath.Join(c.base, "data"), "-m", "immediate", "-w", "stop"); err != nil {
		return fmt.Errorf("stopping the test cluster: %v: %s", err, out)
	}
	return nil
}
