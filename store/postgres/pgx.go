package postgres

import (
	"context"
	"errors"

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
}

// pgxQuerier is what a pool, a connection and a transaction of pgx share.
type pgxQuerier interface {
	Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error)
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}

// querier adapts pgx to sqlcore.Querier.
type querier struct{ q pgxQuerier }

func (q querier) Exec(ctx context.Context, sql string, args ...any) (int64, error) {
	tag, err := q.q.Exec(ctx, sql, args...)
	return tag.RowsAffected(), err
}

func (q querier) Query(ctx context.Context, sql string, args ...any) (sqlcore.Rows, error) {
	return q.q.Query(ctx, sql, args...)
}

func (q querier) QueryRow(ctx context.Context, sql string, args ...any) sqlcore.Row {
	return sqlcore.RowOf(q.q.QueryRow(ctx, sql, args...).Scan, pgx.ErrNoRows)
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

func newDatabase(b beginner) database { return database{querier{b}, b} }

func (db database) Begin(ctx context.Context) (sqlcore.Tx, error) {
	t, err := db.b.Begin(ctx)
	if err != nil {
		return nil, err
	}
	return tx{querier{t}, t}, nil
}

type tx struct {
	querier
	t pgx.Tx
}

func (t tx) Commit(ctx context.Context) error { return t.t.Commit(ctx) }

func (t tx) Rollback(ctx context.Context) error {
	if err := t.t.Rollback(ctx); !errors.Is(err, pgx.ErrTxClosed) {
		return err
	}
	return nil
}
