// Package sqlite is the embedded registry store: store.Registry on a single
// SQLite file through modernc.org/sqlite (pure Go, no cgo). It is the
// default when no database is configured, for the demo, tests and small
// installations run by one process. It owns its schema and migrations, kept
// semantically equal to store/postgres by the storetest conformance suite.
package sqlite

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"time"

	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/ptzone/ptzone/store"
	"github.com/ptzone/ptzone/store/internal/schema"
)

//go:embed migrations/*.sql
var migrationFiles embed.FS

func migrations() ([]schema.Migration, error) {
	return schema.Load(migrationFiles, "migrations")
}

// DB is the SQLite registry. It is safe for concurrent use within one
// process; SQLite serializes writers, and readers see consistent snapshots
// (WAL mode).
type DB struct {
	db   *sql.DB
	path string
	now  func() time.Time
}

var _ store.Registry = (*DB)(nil)

// Open opens (creating if needed) the registry file at path and brings its
// schema up to date: the embedded store has one owner process, so it
// migrates itself.
func Open(ctx context.Context, path string) (*DB, error) {
	if path == "" {
		return nil, errors.New("sqlite: empty database path")
	}
	if dir := filepath.Dir(path); dir != "" {
		if err := os.MkdirAll(dir, 0o750); err != nil {
			return nil, fmt.Errorf("sqlite: creating %s: %w", dir, err)
		}
	}
	q := url.Values{}
	// A 64 MiB page cache per connection. No mmap: it is a little faster,
	// but every page of the file a stream touches then counts as the
	// process's resident memory (600 MB for 2M domains), and a reader's
	// memory must stay bounded.
	for _, p := range []string{"foreign_keys(1)", "journal_mode(WAL)", "busy_timeout(10000)", "synchronous(NORMAL)",
		"cache_size(-65536)"} {
		q.Add("_pragma", p)
	}
	q.Set("_txlock", "immediate")
	sdb, err := sql.Open("sqlite", "file:"+path+"?"+q.Encode())
	if err != nil {
		return nil, fmt.Errorf("sqlite: opening %s: %w", path, err)
	}
	sdb.SetMaxOpenConns(8)
	db := &DB{db: sdb, path: path, now: time.Now}
	if err := db.migrate(ctx); err != nil {
		sdb.Close()
		return nil, err
	}
	return db, nil
}

// Close closes the database.
func (db *DB) Close() error {
	if err := db.db.Close(); err != nil {
		return fmt.Errorf("sqlite: closing %s: %w", db.path, err)
	}
	return nil
}

// migrate applies the migrations not yet applied, each in a transaction.
func (db *DB) migrate(ctx context.Context) error {
	ms, err := migrations()
	if err != nil {
		return err
	}
	if _, err := db.db.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
		version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied INTEGER NOT NULL) STRICT`); err != nil {
		return fmt.Errorf("sqlite: %s: creating schema_migrations: %w", db.path, err)
	}
	var current int
	if err := db.db.QueryRowContext(ctx, `SELECT coalesce(max(version), 0) FROM schema_migrations`).Scan(&current); err != nil {
		return fmt.Errorf("sqlite: %s: reading schema version: %w", db.path, err)
	}
	if current > len(ms) {
		return fmt.Errorf("sqlite: %s: schema version %d is newer than this binary knows (%d): %w", db.path, current, len(ms), store.ErrSchema)
	}
	for _, m := range ms[current:] {
		err := db.inTx(ctx, func(tx *sql.Tx) error {
			if _, err := tx.ExecContext(ctx, m.SQL); err != nil {
				return err
			}
			_, err := tx.ExecContext(ctx, `INSERT INTO schema_migrations (version, name, applied) VALUES (?, ?, ?)`,
				m.Version, m.Name, micros(db.now()))
			return err
		})
		if err != nil {
			return fmt.Errorf("sqlite: %s: applying migration %s: %w", db.path, m.Name, err)
		}
	}
	return nil
}

// inTx runs fn in one (immediate) transaction and commits it when fn
// returns nil. A failed rollback is reported together with fn's error.
func (db *DB) inTx(ctx context.Context, fn func(*sql.Tx) error) (err error) {
	tx, err := db.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("sqlite: begin: %w", err)
	}
	defer func() {
		if err == nil {
			return
		}
		if rbErr := tx.Rollback(); rbErr != nil && !errors.Is(rbErr, sql.ErrTxDone) {
			err = errors.Join(err, fmt.Errorf("sqlite: rollback: %w", rbErr))
		}
	}()
	if err := fn(tx); err != nil {
		return err
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("sqlite: commit: %w", err)
	}
	return nil
}

// Zones implements store.Registry.
func (db *DB) Zones(ctx context.Context) ([]string, error) {
	rows, err := db.db.QueryContext(ctx, `SELECT name FROM zones ORDER BY name`)
	if err != nil {
		return nil, fmt.Errorf("sqlite: listing zones: %w", err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var z string
		if err := rows.Scan(&z); err != nil {
			return nil, fmt.Errorf("sqlite: listing zones: %w", err)
		}
		out = append(out, z)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlite: listing zones: %w", err)
	}
	return out, nil
}

// micros is how times are stored: microseconds since the epoch, UTC.
func micros(t time.Time) int64 { return t.UnixMicro() }

func fromMicros(us int64) time.Time { return time.UnixMicro(us).UTC() }

func nullMicros(t time.Time) sql.NullInt64 {
	if t.IsZero() {
		return sql.NullInt64{}
	}
	return sql.NullInt64{Int64: micros(t), Valid: true}
}

func fromNullMicros(n sql.NullInt64) time.Time {
	if !n.Valid {
		return time.Time{}
	}
	return fromMicros(n.Int64)
}

// isConstraint reports a constraint violation, such as a duplicate key.
func isConstraint(err error) bool {
	var se *sqlite.Error
	return errors.As(err, &se) && se.Code()&0xff == sqlite3.SQLITE_CONSTRAINT
}
