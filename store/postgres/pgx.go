package postgres

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/ptzone/ptzone/store/internal/sqlcore"
)

// dialect is PostgreSQL's for the shared SQL: timestamptz times, a domain's
// nameservers and DS records in typed arrays with generated text columns
// beside them, row locks.
var dialect = &sqlcore.Dialect{
	Name:            "postgres",
	Time:            sqlcore.Timestamp,
	NameserversText: "d.ns_text",
	DSText:          "d.ds_text",
	HasNameservers:  "cardinality(d.nameservers) > 0",
	RowLocks:        true,
	Greatest:        "greatest",
}

// pgxQuerier is what a pool, a connection and a transaction of pgx share.
type pgxQuerier interface {
	Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error)
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}

// querier adapts pgx to sqlcore.Querier. Each statement is bounded by
// the store's call timeout: a database that stops answering altogether
// (a black hole, which statement_timeout cannot end) fails the call
// instead of hanging it.
type querier struct {
	q       pgxQuerier
	timeout time.Duration
}

func (q querier) Exec(ctx context.Context, sql string, args ...any) (int64, error) {
	ctx, cancel := bound(ctx, q.timeout)
	defer cancel()
	tag, err := q.q.Exec(ctx, sql, args...)
	return tag.RowsAffected(), unanswered(ctx, err)
}

func (q querier) Query(ctx context.Context, sql string, args ...any) (sqlcore.Rows, error) {
	ctx, cancel := bound(ctx, q.timeout)
	rows, err := q.q.Query(ctx, sql, args...)
	if err != nil {
		cancel()
		return nil, unanswered(ctx, err)
	}
	return boundRows{rows, ctx, cancel}, nil
}

func (q querier) QueryRow(ctx context.Context, sql string, args ...any) sqlcore.Row {
	ctx, cancel := bound(ctx, q.timeout)
	row := q.q.QueryRow(ctx, sql, args...)
	return sqlcore.RowOf(func(dest ...any) error {
		defer cancel()
		return unanswered(ctx, row.Scan(dest...))
	}, pgx.ErrNoRows)
}

// boundRows are rows read under a call timeout, which ends when they are
// closed. They are pgx's rows still, for scanLean.
type boundRows struct {
	pgx.Rows
	ctx    context.Context
	cancel context.CancelFunc
}

func (r boundRows) Close() {
	r.Rows.Close()
	r.cancel()
}

func (r boundRows) Err() error { return unanswered(r.ctx, r.Rows.Err()) }

// bound gives ctx the call timeout d, unless its own deadline is sooner;
// d <= 0 bounds nothing.
func bound(ctx context.Context, d time.Duration) (context.Context, context.CancelFunc) {
	if d <= 0 {
		return ctx, func() {}
	}
	return context.WithTimeoutCause(ctx, d, &noAnswerError{d})
}

// noAnswerError is the cause of a call ended by the call timeout rather
// than by its caller.
type noAnswerError struct{ timeout time.Duration }

func (e *noAnswerError) Error() string {
	return fmt.Sprintf("no answer from the database within %s", e.timeout)
}

// unanswered says so when a call failed for the call timeout.
func unanswered(ctx context.Context, err error) error {
	var na *noAnswerError
	if err != nil && errors.As(context.Cause(ctx), &na) {
		return fmt.Errorf("%w: %w", na, err)
	}
	return err
}

// beginner is a pool or a connection.
type beginner interface {
	pgxQuerier
	Begin(ctx context.Context) (pgx.Tx, error)
}

// database adapts a pool or a connection to sqlcore.DB.
type database struct {
	querier
	b beginner
}

func newDatabase(b beginner, timeout time.Duration) database {
	return database{querier{b, timeout}, b}
}

// Begin starts a transaction; the call timeout bounds each of its
// statements, not the whole.
func (db database) Begin(ctx context.Context) (sqlcore.Tx, error) {
	bctx, cancel := bound(ctx, db.timeout)
	defer cancel()
	t, err := db.b.Begin(bctx)
	if err != nil {
		return nil, unanswered(bctx, err)
	}
	return tx{querier{t, db.timeout}, t}, nil
}

type tx struct {
	querier
	t pgx.Tx
}

func (t tx) Commit(ctx context.Context) error {
	ctx, cancel := bound(ctx, t.timeout)
	defer cancel()
	return unanswered(ctx, t.t.Commit(ctx))
}

func (t tx) Rollback(ctx context.Context) error {
	ctx, cancel := bound(ctx, t.timeout)
	defer cancel()
	if err := t.t.Rollback(ctx); !errors.Is(err, pgx.ErrTxClosed) {
		return unanswered(ctx, err)
	}
	return nil
}
