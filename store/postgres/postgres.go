// Package postgres is the production registry store: store.Registry on
// PostgreSQL through a pgx/v5 pool. It owns the SQL schema, its numbered
// migrations (embedded in the binary, never edited once released), bulk
// import through COPY, and the consistent snapshot the publisher reads.
package postgres

import (
	"context"
	"embed"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/ptzone/ptzone/store"
	"github.com/ptzone/ptzone/store/internal/schema"
)

//go:embed migrations/*.sql
var migrationFiles embed.FS

func migrations() ([]schema.Migration, error) {
	return schema.Load(migrationFiles, "migrations")
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
	pool *pgxpool.Pool
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
	cfg, err := pgxpool.ParseConfig(dsn)
	if err != nil {
		return nil, fmt.Errorf("postgres: parsing connection string: %w", err)
	}
	cfg.ConnConfig.RuntimeParams["application_name"] = "ptzone"
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("postgres: %w", err)
	}
	if err := pool.Ping(ctx); err != nil {
		pool.Close()
		return nil, fmt.Errorf("postgres: connecting to %s: %w", redact(cfg), err)
	}
	return &DB{pool: pool}, nil
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

	if _, err := conn.Exec(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
		version integer PRIMARY KEY,
		name    text NOT NULL,
		applied timestamptz NOT NULL DEFAULT now())`); err != nil {
		return nil, fmt.Errorf("postgres: creating schema_migrations: %w", err)
	}
	var current int
	if err := conn.QueryRow(ctx, `SELECT coalesce(max(version), 0) FROM schema_migrations`).Scan(&current); err != nil {
		return nil, fmt.Errorf("postgres: reading schema version: %w", err)
	}
	if current > len(ms) {
		return nil, fmt.Errorf("postgres: schema version %d is newer than this binary knows (%d): %w", current, len(ms), store.ErrSchema)
	}
	var applied []int
	for _, m := range ms[current:] {
		err := pgx.BeginFunc(ctx, conn, func(tx pgx.Tx) error {
			if _, err := tx.Exec(ctx, m.SQL); err != nil {
				return err
			}
			_, err := tx.Exec(ctx, `INSERT INTO schema_migrations (version, name) VALUES ($1, $2)`, m.Version, m.Name)
			return err
		})
		if err != nil {
			return applied, fmt.Errorf("postgres: applying migration %s: %w", m.Name, err)
		}
		applied = append(applied, m.Version)
	}
	return applied, nil
}

// inTx runs fn in one transaction and commits it when fn returns nil. A
// failed rollback is reported together with fn's error, never instead of it.
func (db *DB) inTx(ctx context.Context, opts pgx.TxOptions, fn func(pgx.Tx) error) (err error) {
	tx, err := db.pool.BeginTx(ctx, opts)
	if err != nil {
		return fmt.Errorf("postgres: begin: %w", err)
	}
	defer func() {
		if err == nil {
			return
		}
		if rbErr := tx.Rollback(context.WithoutCancel(ctx)); rbErr != nil && !errors.Is(rbErr, pgx.ErrTxClosed) {
			err = errors.Join(err, fmt.Errorf("postgres: rollback: %w", rbErr))
		}
	}()
	if err := fn(tx); err != nil {
		return err
	}
	if err := tx.Commit(ctx); err != nil {
		return fmt.Errorf("postgres: commit: %w", err)
	}
	return nil
}

// Zones implements store.Registry.
func (db *DB) Zones(ctx context.Context) ([]string, error) {
	rows, err := db.pool.Query(ctx, `SELECT name FROM zones ORDER BY name`)
	if err != nil {
		return nil, fmt.Errorf("postgres: listing zones: %w", err)
	}
	zones, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return nil, fmt.Errorf("postgres: listing zones: %w", err)
	}
	return zones, nil
}

// isUniqueViolation reports a unique_violation (23505).
func isUniqueViolation(err error) bool {
	var pgErr *pgconn.PgError
	return errors.As(err, &pgErr) && pgErr.Code == "23505"
}
