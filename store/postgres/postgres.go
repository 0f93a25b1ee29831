package postgres

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/ptzone/ptzone/store"
	"github.com/ptzone/ptzone/store/internal/sqlcore"
)

//go:embed migrations/*.sql
var migrationFiles embed.FS

func migrations() ([]sqlcore.Migration, error) {
	return sqlcore.LoadMigrations(migrationFiles, "migrations")
}

// SchemaVersion is the schema version this binary expects.
func SchemaVersion() int {
	ms, err := migrations()
	if err != nil {
		panic(err)
	}
	return len(ms)
}

// DB is the PostgreSQL registry. It is safe for concurrent use.
type DB struct {
	*sqlcore.Core
	pool   *pgxpool.Pool
	server string // user@host:port/database, for messages
}

var _ store.Registry = (*DB)(nil)

// Open connects to the database at dsn (a postgres:// URL or key=value
// string) and checks that its schema is current; it returns an error
// wrapping store.ErrSchema when "ptzone db migrate" is needed.
func Open(ctx context.Context, dsn string) (*DB, error) {
	db, err := connect(ctx, dsn)
	if err != nil {
		return nil, err
	}
	if err := db.checkSchema(ctx); err != nil {
		db.Close()
		return nil, err
	}
	return db, nil
}

func connect(ctx context.Context, dsn string) (*DB, error) {
	db, err := newDB(ctx, dsn, nil)
	if err != nil {
		return nil, err
	}
	if err := db.pool.Ping(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("postgres: connecting to %s: %w", db.server, err)
	}
	return db, nil
}

// newDB makes the store and its pool, which connects when first used;
// adjust, when not nil, amends the pool's configuration first.
func newDB(ctx context.Context, dsn string, adjust func(*pgxpool.Config)) (*DB, error) {
	cfg, err := pgxpool.ParseConfig(dsn)
	if err != nil {
		return nil, fmt.Errorf("postgres: parsing connection string: %w", err)
	}
	cfg.ConnConfig.RuntimeParams["application_name"] = "ptzone"
	if adjust != nil {
		adjust(cfg)
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("postgres: %w", err)
	}
	return &DB{Core: &sqlcore.Core{DB: newDatabase(pool), D: dialect, Now: time.Now}, pool: pool, server: redact(cfg)}, nil
}

// DefaultConnectTimeout bounds each connection attempt of a store opened
// by OpenLazy when the DSN sets no connect_timeout.
const DefaultConnectTimeout = 5 * time.Second

// OpenLazy returns the store at dsn without connecting to it: the daemon
// serves its zones whatever the database's state, and reaches the
// database in the background. The pool connects when first used; Ping
// says whether the database answers, with the schema this binary knows.
// Each connection attempt gives up after the DSN's connect_timeout, else
// DefaultConnectTimeout, so that a server that does not answer (stopped
// behind a firewall that drops, a machine gone) fails the calls that
// need a new connection rather than holding them for minutes. Only a
// malformed DSN is an error.
func OpenLazy(dsn string) (*DB, error) {
	return newDB(context.Background(), dsn, func(cfg *pgxpool.Config) {
		if cfg.ConnConfig.ConnectTimeout == 0 {
			cfg.ConnConfig.ConnectTimeout = DefaultConnectTimeout
		}
	})
}

// Ping connects if need be and checks that the database answers with the
// schema this binary knows: an error names the server (without
// credentials) and wraps store.ErrSchema when "ptzone db migrate" is
// needed.
func (db *DB) Ping(ctx context.Context) error {
	if err := db.pool.Ping(ctx); err != nil {
		return fmt.Errorf("postgres: connecting to %s: %w", db.server, err)
	}
	return db.checkSchema(ctx)
}

// redact names the server without credentials, for error messages.
func redact(cfg *pgxpool.Config) string {
	c := cfg.ConnConfig
	return fmt.Sprintf("%s@%s:%d/%s", c.User, c.Host, c.Port, c.Database)
}

// Close releases the pool.
func (db *DB) Close() error {
	db.pool.Close()
	return nil
}

func (db *DB) checkSchema(ctx context.Context) error {
	var v int
	err := db.pool.QueryRow(ctx, `SELECT coalesce(max(version), 0) FROM schema_migrations`).Scan(&v)
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) && pgErr.Code == "42P01" { // undefined_table
		v, err = 0, nil
	}
	if err != nil {
		return fmt.Errorf("postgres: reading schema version: %w", err)
	}
	want := SchemaVersion()
	switch {
	case v < want:
		return fmt.Errorf("postgres: schema version %d, this binary needs %d; run \"ptzone db migrate\": %w", v, want, store.ErrSchema)
	case v > want:
		return fmt.Errorf("postgres: schema version %d is newer than this binary knows (%d); upgrade ptzone: %w", v, want, store.ErrSchema)
	}
	return nil
}

// migrateLockID is the advisory lock that serializes concurrent migrations.
const migrateLockID = 0x70747a6f6e65 // "ptzone"

// Migrate connects to dsn and applies every migration not yet applied, each
// in its own transaction. It is idempotent and safe to run from several
// processes at once. It returns the versions applied.
func Migrate(ctx context.Context, dsn string) ([]int, error) {
	db, err := connect(ctx, dsn)
	if err != nil {
		return nil, err
	}
	defer db.Close()
	ms, err := migrations()
	if err != nil {
		return nil, err
	}
	conn, err := db.pool.Acquire(ctx)
	if err != nil {
		return nil, fmt.Errorf("postgres: %w", err)
	}
	defer conn.Release()
	if _, err := conn.Exec(ctx, `SELECT pg_advisory_lock($1)`, int64(migrateLockID)); err != nil {
		return nil, fmt.Errorf("postgres: taking the migration lock: %w", err)
	}
	defer conn.Exec(context.WithoutCancel(ctx), `SELECT pg_advisory_unlock($1)`, int64(migrateLockID))
	applied, err := sqlcore.Migrate(ctx, newDatabase(conn), dialect, ms, `CREATE TABLE IF NOT EXISTS schema_migrations (
		version integer PRIMARY KEY,
		name    text NOT NULL,
		applied timestamptz NOT NULL DEFAULT now())`, time.Now())
	if err != nil {
		return applied, fmt.Errorf("postgres: %w", err)
	}
	return applied, nil
}

// inTx runs fn in one transaction of pgx's own, for what only pgx does
// (COPY).
func (db *DB) inTx(ctx context.Context, fn func(pgx.Tx) error) error {
	return sqlcore.InTx(ctx, db.Core.DB, dialect, func(q sqlcore.Querier) error { return fn(q.(tx).t) })
}
