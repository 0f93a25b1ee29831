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

	_ "modernc.org/sqlite" // the "sqlite" driver

	"github.com/ptzone/ptzone/store"
	"github.com/ptzone/ptzone/store/internal/sqlcore"
)

//go:embed migrations/*.sql
var migrationFiles embed.FS

// DB is the SQLite registry. It is safe for concurrent use within one
// process; SQLite serializes writers, and readers see consistent snapshots
// (WAL mode).
type DB struct {
	*sqlcore.Core
	db   *sql.DB
	path string
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
	db := &DB{Core: &sqlcore.Core{DB: database{querier{sdb}, sdb}, D: dialect, Now: time.Now}, db: sdb, path: path}
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
	ms, err := sqlcore.LoadMigrations(migrationFiles, "migrations")
	if err != nil {
		return err
	}
	_, err = sqlcore.Migrate(ctx, db.Core.DB, dialect, ms, `CREATE TABLE IF NOT EXISTS schema_migrations (
		version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied INTEGER NOT NULL) STRICT`, db.Now())
	if err != nil {
		return fmt.Errorf("sqlite: %s: %w", db.path, err)
	}
	return nil
}

// inTx runs fn in one (immediate) transaction of database/sql's own, for
// the domain writers' prepared statements.
func (db *DB) inTx(ctx context.Context, fn func(*sql.Tx) error) error {
	return sqlcore.InTx(ctx, db.Core.DB, dialect, func(q sqlcore.Querier) error { return fn(q.(tx).t) })
}

// micros is how times are stored: microseconds since the epoch, UTC.
func micros(t time.Time) int64 { return t.UnixMicro() }
