package storedsn

import (
	"fmt"
	"net/url"
	"path/filepath"
	"regexp"
	"strings"
)

// Kind is a registry backend.
type Kind string

// The backends.
const (
	Postgres Kind = "postgres"
	SQLite   Kind = "sqlite"
)

// DSN is a parsed data source name.
type DSN struct {
	Kind Kind
	// Target is what the backend opens: the PostgreSQL URL as given, or
	// the SQLite file's path.
	Target string
}

// DefaultFile is the name of the embedded store's file in the data
// directory.
const DefaultFile = "registry.db"

// Default is the registry used when no DSN is given: SQLite in the data
// directory.
func Default(dataDir string) DSN {
	return DSN{Kind: SQLite, Target: filepath.Join(dataDir, DefaultFile)}
}

// Error is a DSN that names no registry, and why.
type Error struct {
	DSN     string
	Problem string
}

func (e *Error) Error() string { return fmt.Sprintf("%q: %s", redact(e.DSN), e.Problem) }

// Parse reads a DSN: postgres:// or postgresql:// URLs name PostgreSQL,
// sqlite:PATH an SQLite file. Anything else, the empty string included,
// is an *Error naming the DSN (its password hidden).
func Parse(s string) (DSN, error) {
	switch {
	case strings.HasPrefix(s, "postgres://"), strings.HasPrefix(s, "postgresql://"):
		return DSN{Kind: Postgres, Target: s}, nil
	case strings.HasPrefix(s, "sqlite:"):
		path := strings.TrimPrefix(s, "sqlite:")
		if path == "" {
			return DSN{}, &Error{DSN: s, Problem: "needs a file path, as in sqlite:/var/lib/ptzone/" + DefaultFile}
		}
		return DSN{Kind: SQLite, Target: path}, nil
	}
	return DSN{}, &Error{DSN: s, Problem: "want postgres://… or sqlite:PATH"}
}

// String is the DSN as it may be printed and logged: a PostgreSQL URL
// with its password hidden, whether in its user information or in a
// password parameter (which the driver takes as well).
func (d DSN) String() string {
	if d.Kind == SQLite {
		return "sqlite:" + d.Target
	}
	if _, err := url.Parse(d.Target); err != nil {
		return "postgres database"
	}
	return redact(d.Target)
}

// passwordParameter is a password given as a parameter: a URL's
// ?password=… (up to the next parameter), or a key=value connection
// string's password=… (quoted, or up to the next space).
var passwordParameter = regexp.MustCompile(`(?i)(\bpassword\s*=\s*)('(?:[^'\\]|\\.)*'?|[^\s&]*)`)

// redact hides the password of a DSN: a password parameter's value; a
// URL's user password by url.Redacted; and in a DSN that does not parse
// as a URL, whatever comes before its last '@'.
func redact(s string) string {
	s = passwordParameter.ReplaceAllString(s, "${1}xxxxx")
	u, err := url.Parse(s)
	switch {
	case err == nil && u.User != nil:
		return u.Redacted()
	case err != nil && strings.Contains(s, "@"):
		return "…" + s[strings.LastIndexByte(s, '@'):]
	}
	return s
}
