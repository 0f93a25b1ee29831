package postgres

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"strconv"
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
	opts   Options
}

var _ store.Registry = (*DB)(nil)

// Options bound how long the store's statements may run.
type Options struct {
	// StatementTimeout is PostgreSQL's statement_timeout on every
	// connection of the pool (replacing any the DSN sets): the server
	// cancels a statement that runs longer, a query waiting on a lock
	// included (SQLSTATE 57014). Each call is also given that long and a
	// margin more (a tenth, at least a second: time for the server to
	// say it cancelled), unless its context ends sooner: a server that
	// does not answer at all cannot cancel anything. Zero is
	// DefaultStatementTimeout; negative, none.
	StatementTimeout time.Duration
	// ImportTimeout replaces StatementTimeout for an import's statements
	// (the COPY of a whole registry) and for the migrations. Zero is
	// DefaultImportTimeout; negative, none.
	ImportTimeout time.Duration
}

// The defaults of Options: the daemon's longest statement, the stream of
// two million domains into a build, takes seconds (4.7 s in
// docs/benchmarks.md); the import of as many, minutes (138 s).
const (
	DefaultStatementTimeout = 5 * time.Minute
	DefaultImportTimeout    = time.Hour
)

func (o Options) statementTimeout() time.Duration {
	return orDefault(o.StatementTimeout, DefaultStatementTimeout)
}
func (o Options) importTimeout() time.Duration {
	return orDefault(o.ImportTimeout, DefaultImportTimeout)
}

// callTimeout is how long one call waits for its answer; 0: no bound.
func (o Options) callTimeout() time.Duration { return withMargin(o.statementTimeout()) }

// withMargin is how long a client waits for a statement the server
// cancels after t: a tenth more, at least a second; 0 for 0.
func withMargin(t time.Duration) time.Duration {
	if t <= 0 {
		return 0
	}
	return t + max(time.Second, t/10)
}

func orDefault(d, def time.Duration) time.Duration {
	switch {
	case d == 0:
		return def
	case d < 0:
		return 0
	}
	return d
}

// Open connects to the database at dsn (a postgres:// URL or key=value
// string) with the default Options and checks that its schema is
// current; it returns an error wrapping store.ErrSchema when "ptzone db
// migrate" is needed.
func Open(ctx context.Context, dsn string) (*DB, error) {
	return OpenWith(ctx, dsn, Options{})
}

// OpenWith is Open with the options given.
func OpenWith(ctx context.Context, dsn string, opts Options) (*DB, error) {
	db, err := connect(ctx, dsn, opts)
	if err != nil {
		return nil, err
	}
	if err := db.checkSchema(ctx); err != nil {
		db.Close()
		return nil, err
	}
	return db, nil
}

func connect(ctx context.Context, dsn string, opts Options) (*DB, error) {
	db, err := newDB(ctx, dsn, opts, nil)
	if err != nil {
		return nil, err
	}
	pctx, cancel := db.bound(ctx)
	defer cancel()
	if err := db.pool.Ping(pctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("postgres: connecting to %s: %w", db.server, unanswered(pctx, err))
	}
	return db, nil
}

// newDB makes the store and its pool, which connects when first used;
// adjust, when not nil, amends the pool's configuration first.
func newDB(ctx context.Context, dsn string, opts Options, adjust func(*pgxpool.Config)) (*DB, error) {
	cfg, err := pgxpool.ParseConfig(dsn)
	if err != nil {
		return nil, fmt.Errorf("postgres: parsing connection string: %w", err)
	}
	cfg.ConnConfig.RuntimeParams["application_name"] = "ptzone"
	// In milliseconds, PostgreSQL's unit; 0 is its "none".
	cfg.ConnConfig.RuntimeParams["statement_timeout"] = strconv.FormatInt(opts.statementTimeout().Milliseconds(), 10)
	if adjust != nil {
		adjust(cfg)
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("postgres: %w", err)
	}
	return &DB{Core: &sqlcore.Core{DB: newDatabase(pool, opts.callTimeout()), D: dialect, Now: time.Now}, pool: pool, server: redact(cfg), opts: opts}, nil
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
func OpenLazy(dsn string) (*DB, error) { return OpenLazyWith(dsn, Options{}) }

// OpenLazyWith is OpenLazy with the options given.
func OpenLazyWith(dsn string, opts Options) (*DB, error) {
	return newDB(context.Background(), dsn, opts, func(cfg *pgxpool.Config) {
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
	pctx, cancel := db.bound(ctx)
	defer cancel()
	if err := db.pool.Ping(pctx); err != nil {
		return fmt.Errorf("postgres: connecting to %s: %w", db.server, unanswered(pctx, err))
	}
	return db.checkSchema(ctx)
}

// bound gives ctx the call timeout, for the calls that go to pgx
// directly.
func (db *DB) bound(ctx context.Context) (context.Context, context.CancelFunc) {
	return bound(ctx, db.opts.callTimeout())
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
	ctx, cancel := db.bound(ctx)
	defer cancel()
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
	// A migration may rewrite or index a whole registry: it runs under
	// the import's timeout.
	db, err := connect(ctx, dsn, Options{StatementTimeout: DefaultImportTimeout})
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
	applied, err := sqlcore.Migrate(ctx, newDatabase(conn, db.opts.callTimeout()), dialect, ms, `CREATE TABLE IF NOT EXISTS schema_migrations (
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
