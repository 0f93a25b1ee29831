package sqlcore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// Querier runs statements: a pool, a connection or a transaction. SQL is
// written with PostgreSQL's $1, $2 ... placeholders; an adapter whose
// driver wants others rewrites them.
type Querier interface {
	// Exec runs a statement and returns how many rows it touched.
	Exec(ctx context.Context, sql string, args ...any) (int64, error)
	Query(ctx context.Context, sql string, args ...any) (Rows, error)
	// QueryRow's Scan returns ErrNoRows when there is no row.
	QueryRow(ctx context.Context, sql string, args ...any) Row
}

// Rows is a result set read row by row.
type Rows interface {
	Next() bool
	Scan(dest ...any) error
	Err() error
	Close()
}

// Row is the first row of a result.
type Row interface {
	Scan(dest ...any) error
}

// Tx is a transaction. Rollback after Commit, or twice, returns nil.
type Tx interface {
	Querier
	Commit(ctx context.Context) error
	Rollback(ctx context.Context) error
}

// DB is a database: statements outside a transaction, and transactions.
type DB interface {
	Querier
	Begin(ctx context.Context) (Tx, error)
}

// ErrNoRows is what an adapter's Row.Scan returns for no row.
var ErrNoRows = errors.New("no rows in result set")

// RowOf adapts a driver's row: scan is its Scan, which returns noRows
// when there is no row.
func RowOf(scan func(dest ...any) error, noRows error) Row { return row{scan, noRows} }

type row struct {
	scan   func(dest ...any) error
	noRows error
}

func (r row) Scan(dest ...any) error {
	err := r.scan(dest...)
	if errors.Is(err, r.noRows) {
		return ErrNoRows
	}
	return err
}

// Dialect is what the SQL of the two backends differs in.
type Dialect struct {
	// Name prefixes the backend's error messages: "postgres", "sqlite".
	Name string
	// Time encodes a time as the backend's columns hold it; the zero time
	// is NULL.
	Time func(time.Time) any
	// NameserversText and DSText are the columns of a domains row (alias
	// d) holding its nameservers and DS records in the text form
	// DecodeNameservers and DecodeDS read.
	NameserversText, DSText string
	// HasNameservers is the condition, over the domains row d, that the
	// domain has name servers.
	HasNameservers string
	// RowLocks: the database locks rows and tables (PostgreSQL), so
	// writers that must take turns lock what they read, and claims skip
	// the rows another is claiming. Without it (SQLite) every write
	// transaction holds the whole database, which serializes them.
	RowLocks bool
	// JSONFunc, when set, is the SQL function a JSON value is written
	// through (SQLite's json() stores it minified, as PostgreSQL's jsonb
	// does by itself).
	JSONFunc string
	// Greatest is the SQL function of the larger of two values:
	// PostgreSQL's greatest, SQLite's two-argument max.
	Greatest string
	// Unindexed prefixes a column the planner must not pick an index for
	// in the change feed's query (SQLite's unary +): without statistics it
	// would rather walk a whole zone in name order than sort the few rows
	// the index on changed finds.
	Unindexed string
}

// errorf formats an error of the backend, prefixed with its name.
func (d *Dialect) errorf(format string, args ...any) error {
	return fmt.Errorf(d.Name+": "+format, args...)
}

// wrap prefixes err, if any, with the backend's name and what failed.
func (d *Dialect) wrap(what string, err error) error {
	if err == nil {
		return nil
	}
	return d.errorf("%s: %w", what, err)
}

// json returns the SQL of a JSON parameter.
func (d *Dialect) json(placeholder string) string {
	if d.JSONFunc == "" {
		return placeholder
	}
	return d.JSONFunc + "(" + placeholder + ")"
}

// Timestamp encodes a time for a timestamp column (PostgreSQL's
// timestamptz), to the microsecond both backends keep; zero is NULL.
func Timestamp(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return t.Truncate(time.Microsecond).UTC()
}

// Micros encodes a time as microseconds since the epoch (SQLite's
// integer times); zero is NULL.
func Micros(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return t.UnixMicro()
}

// TimeCol scans a time column of either backend: PostgreSQL's timestamptz
// and date come as time.Time, SQLite's times as microseconds since the
// epoch; NULL is the zero time.
type TimeCol struct{ T time.Time }

// Scan implements sql.Scanner.
func (c *TimeCol) Scan(src any) error {
	switch v := src.(type) {
	case nil:
		c.T = time.Time{}
	case time.Time:
		c.T = v.UTC()
	case int64:
		c.T = time.UnixMicro(v).UTC()
	default:
		return fmt.Errorf("time column holds %T", src)
	}
	return nil
}

// dateCol scans a date column: PostgreSQL's date as time.Time, SQLite's as
// YYYY-MM-DD text.
type dateCol struct{ T time.Time }

func (c *dateCol) Scan(src any) error {
	var err error
	switch v := src.(type) {
	case time.Time:
		c.T = time.Date(v.Year(), v.Month(), v.Day(), 0, 0, 0, 0, time.UTC)
	case string:
		c.T, err = ParseDate(v)
	case []byte:
		c.T, err = ParseDate(string(v))
	default:
		err = fmt.Errorf("date column holds %T", src)
	}
	return err
}

var (
	_ sql.Scanner = (*TimeCol)(nil)
	_ sql.Scanner = (*dateCol)(nil)
)
