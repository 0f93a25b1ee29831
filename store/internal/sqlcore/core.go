package sqlcore

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/ptzone/ptzone/policy"
	"github.com/ptzone/ptzone/store"
)

// Core implements the store.Registry methods both backends share. A
// backend embeds it, so that its own type satisfies store.Registry with
// what it adds (opening, import, locks, snapshots).
type Core struct {
	DB DB
	D  *Dialect
	// Now is the clock of the times the store stamps itself (a
	// registrar's creation, a status change).
	Now func() time.Time
}

// InTx runs fn in one transaction and commits it when fn returns nil. A
// failed rollback is reported together with fn's error, never instead of
// it.
func InTx(ctx context.Context, db DB, d *Dialect, fn func(Querier) error) (err error) {
	tx, err := db.Begin(ctx)
	if err != nil {
		return d.errorf("begin: %w", err)
	}
	defer func() {
		if err == nil {
			return
		}
		if rbErr := tx.Rollback(context.WithoutCancel(ctx)); rbErr != nil {
			err = errors.Join(err, d.errorf("rollback: %w", rbErr))
		}
	}()
	if err := fn(tx); err != nil {
		return err
	}
	if err := tx.Commit(ctx); err != nil {
		return d.errorf("commit: %w", err)
	}
	return nil
}

func (c *Core) inTx(ctx context.Context, fn func(Querier) error) error {
	return InTx(ctx, c.DB, c.D, fn)
}

// notFound wraps store.ErrNotFound for what was asked for.
func notFound(format string, args ...any) error {
	return fmt.Errorf(format+": %w", append(args, store.ErrNotFound)...)
}

// placeholders returns "$first, $first+1, ..." for n parameters.
func placeholders(first, n int) string {
	var b strings.Builder
	for i := range n {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteByte('$')
		b.WriteString(strconv.Itoa(first + i))
	}
	return b.String()
}

// delegatable is the condition, over the domains row d, that a domain is
// a candidate for delegation: in a status policy.Publishable accepts,
// with name servers. The check queue and the dashboards' counts ask it in
// SQL; the statuses come from policy, the one place that decides them.
func (c *Core) delegatable() string {
	var quoted []string
	for _, s := range policy.PublishableStatuses() {
		quoted = append(quoted, "'"+string(s)+"'")
	}
	return "d.status IN (" + strings.Join(quoted, ", ") + ") AND " + c.D.HasNameservers
}

// Limit clamps a caller's row limit to a sane range.
func Limit(n int) int {
	switch {
	case n <= 0:
		return 100
	case n > 10000:
		return 10000
	}
	return n
}

// Zones implements store.Registry.
func (c *Core) Zones(ctx context.Context) ([]string, error) {
	return list(ctx, c.D, c.DB, "listing zones", func(r Rows) (z string, err error) { return z, r.Scan(&z) },
		`SELECT name FROM zones ORDER BY name`)
}

// list runs a query on q and scans every row; what names the query in
// an error.
func list[T any](ctx context.Context, d *Dialect, q Querier, what string, scan func(Rows) (T, error), sql string, args ...any) ([]T, error) {
	rows, err := q.Query(ctx, sql, args...)
	if err == nil {
		var out []T
		if out, err = collect(rows, scan); err == nil {
			return out, nil
		}
	}
	return nil, d.errorf("%s: %w", what, err)
}

// update runs a statement that must touch a row: ErrNotFound, naming
// missing, when it touches none.
func (c *Core) update(ctx context.Context, what, missing string, sql string, args ...any) error {
	n, err := c.DB.Exec(ctx, sql, args...)
	if err != nil {
		return c.D.errorf("%s: %w", what, err)
	}
	if n == 0 {
		return notFound("%s", missing)
	}
	return nil
}

// collect reads every row with scan and closes rows.
func collect[T any](rows Rows, scan func(Rows) (T, error)) ([]T, error) {
	defer rows.Close()
	var out []T
	for rows.Next() {
		v, err := scan(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, rows.Err()
}
