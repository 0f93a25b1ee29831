package storedsn

import (
	"errors"
	"path/filepath"
	"strings"
	"testing"
)

// TestParse: the DSNs the command line and the configuration file accept,
// and the words for those they refuse, each naming the DSN without its
// password.
func TestParse(t *testing.T) {
	for _, c := range []struct {
		in   string
		want DSN
		err  string
	}{
		{in: "postgres://ptzone@db.example/registry", want: DSN{Postgres, "postgres://ptzone@db.example/registry"}},
		{in: "postgresql://ptzone@db.example/registry?sslmode=verify-full", want: DSN{Postgres, "postgresql://ptzone@db.example/registry?sslmode=verify-full"}},
		{in: "sqlite:/var/lib/ptzone/registry.db", want: DSN{SQLite, "/var/lib/ptzone/registry.db"}},
		{in: "sqlite:relative/r.db", want: DSN{SQLite, "relative/r.db"}},
		{in: "sqlite:", err: `"sqlite:": needs a file path, as in sqlite:/var/lib/ptzone/registry.db`},
		{in: "mysql://x", err: `"mysql://x": want postgres://… or sqlite:PATH`},
		{in: "", err: `"": want postgres://… or sqlite:PATH`},
		{in: "/var/lib/ptzone/registry.db", err: `"/var/lib/ptzone/registry.db": want postgres://… or sqlite:PATH`},
		{in: "POSTGRES://x/db", err: `"POSTGRES://x/db": want postgres://`},
		{in: "mysql://ops:hunter2@db.example/r", err: `"mysql://ops:xxxxx@db.example/r": want postgres://`},
		{in: "mysql://ops:hunter2%zz@db.example/r", err: `"…@db.example/r": want postgres://`},
		{in: "mysql://ops@db.example/r?sslmode=require&password=hunter2&x=1", err: `"mysql://ops@db.example/r?sslmode=require&password=xxxxx&x=1": want postgres://`},
		{in: "host=db.example user=ops password=hunter2 dbname=r", err: `"host=db.example user=ops password=xxxxx dbname=r": want postgres://`},
		{in: "host=db.example PASSWORD = 'hunter2 \\' hunter2' dbname=r", err: `"host=db.example PASSWORD = xxxxx dbname=r": want postgres://`},
	} {
		got, err := Parse(c.in)
		if c.err == "" {
			if err != nil || got != c.want {
				t.Errorf("Parse(%q) = %+v, %v; want %+v", c.in, got, err, c.want)
			}
			continue
		}
		var de *Error
		if err == nil || !errors.As(err, &de) || de.DSN != c.in || !strings.Contains(err.Error(), c.err) {
			t.Errorf("Parse(%q) = %+v, %v; want an *Error saying %s", c.in, got, err, c.err)
		}
		if strings.Contains(err.Error(), "hunter2") {
			t.Errorf("Parse(%q): the error shows the password: %v", c.in, err)
		}
	}
}

// TestString: a DSN prints as it may be logged.
func TestString(t *testing.T) {
	for _, c := range []struct {
		dsn  DSN
		want string
	}{
		{DSN{SQLite, "/var/lib/ptzone/registry.db"}, "sqlite:/var/lib/ptzone/registry.db"},
		{DSN{Postgres, "postgres://ptzone:hunter2@db.example/registry"}, "postgres://ptzone:xxxxx@db.example/registry"},
		{DSN{Postgres, "postgres://ptzone@db.example/registry"}, "postgres://ptzone@db.example/registry"},
		{DSN{Postgres, "postgres://ptzone:hunter2%zz@db.example/registry"}, "postgres database"},
		{DSN{Postgres, "postgres://ptzone@db.example/registry?password=hunter2&sslmode=verify-full"},
			"postgres://ptzone@db.example/registry?password=xxxxx&sslmode=verify-full"},
		{DSN{Postgres, "postgresql://ptzone:hunter2@db.example/registry?Password=hunter2"}, "postgresql://ptzone:xxxxx@db.example/registry?Password=xxxxx"},
	} {
		if got := c.dsn.String(); got != c.want {
			t.Errorf("%+v prints %q, want %q", c.dsn, got, c.want)
		}
	}
}

// TestDefault: no DSN names the embedded store in the data directory.
func TestDefault(t *testing.T) {
	dir := t.TempDir()
	if got, want := Default(dir), (DSN{SQLite, filepath.Join(dir, "registry.db")}); got != want {
		t.Errorf("Default(%q) = %+v, want %+v", dir, got, want)
	}
}
