package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"strings"
	"sync"

	"github.com/ptzone/ptzone/store/internal/sqlcore"
)

// dialect is SQLite's for the shared SQL: times as microseconds since the
// epoch, a domain's nameservers and DS records as text, writers
// serialized by the database.
var dialect = &sqlcore.Dialect{
	Name:            "sqlite",
	Time:            sqlcore.Micros,
	NameserversText: "d.nameservers",
	DSText:          "d.ds",
	HasNameservers:  "d.nameservers <> ''",
	JSONFunc:        "json",
	Greatest:        "max",
	Unindexed:       "+",
}

// rebound caches each statement with its $n placeholders turned into
// SQLite's ?n, which number the arguments the same way.
var rebound sync.Map

func rebind(q string) string {
	if v, ok := rebound.Load(q); ok {
		return v.(string)
	}
	var b strings.Builder
	for i := 0; i < len(q); i++ {
		if q[i] == '$' && i+1 < len(q) && q[i+1] >= '0' && q[i+1] <= '9' {
			b.WriteByte('?')
			continue
		}
		b.WriteByte(q[i])
	}
	rebound.Store(q, b.String())
	return b.String()
}

// sqlQuerier is what *sql.DB, *sql.Conn and *sql.Tx share.
type sqlQuerier interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// querier adapts database/sql to sqlcore.Querier.
type querier struct{ q sqlQuerier }

func (q querier) Exec(ctx context.Context, query string, args ...any) (int64, error) {
	if len(args) > 0 {
		query = rebind(query)
	}
	res, err := q.q.ExecContext(ctx, query, args...)
	if err != nil {
		return 0, err
	}
	return res.RowsAffected()
}

func (q querier) Query(ctx context.Context, query string, args ...any) (sqlcore.Rows, error) {
	rows, err := q.q.QueryContext(ctx, rebind(query), args...)
	if err != nil {
		return nil, err
	}
	return sqlRows{rows}, nil
}

func (q querier) QueryRow(ctx context.Context, query string, args ...any) sqlcore.Row {
	return sqlcore.RowOf(q.q.QueryRowContext(ctx, rebind(query), args...).Scan, sql.ErrNoRows)
}

type sqlRows struct{ *sql.Rows }

func (r sqlRows) Close() { r.Rows.Close() }

// database adapts *sql.DB to sqlcore.DB. Its transactions are immediate
// (the DSN's _txlock): a writer takes the database's write lock at once.
type database struct {
	querier
	db *sql.DB
}

func (db database) Begin(ctx context.Context) (sqlcore.Tx, error) {
	t, err := db.db.BeginTx(ctx, nil)
	if err != nil {
		return nil, err
	}
	return tx{querier{t}, t}, nil
}

type tx struct {
	querier
	t *sql.Tx
}

func (t tx) Commit(context.Context) error { return t.t.Commit() }

func (t tx) Rollback(context.Context) error {
	if err := t.t.Rollback(); !errors.Is(err, sql.ErrTxDone) {
		return err
	}
	return nil
}
