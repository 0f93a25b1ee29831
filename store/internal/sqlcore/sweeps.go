package sqlcore

import (
	"context"
	"strings"
	"time"

	"github.com/ptzone/ptzone/store"
)

const sweepColumns = `id, started, finished, cursor, checked, failed`

func scanSweep(row Rows) (store.Sweep, error) {
	var s store.Sweep
	var started, finished TimeCol
	err := row.Scan(&s.ID, &started, &finished, &s.Cursor, &s.Checked, &s.Failed)
	s.Started, s.Finished = started.T, finished.T
	return s, err
}

// OpenSweep implements store.CheckStore.
func (c *Core) OpenSweep(ctx context.Context, started time.Time) (store.Sweep, bool, error) {
	var sw store.Sweep
	resumed := false
	err := c.inTx(ctx, func(tx Querier) error {
		// One opener at a time: two daemons starting together must not
		// both start a sweep (the unique index would fail the second).
		// Without row locks, the write transaction holds the database.
		if c.D.RowLocks {
			if _, err := tx.Exec(ctx, `LOCK TABLE sweeps IN SHARE ROW EXCLUSIVE MODE`); err != nil {
				return c.D.errorf("locking sweeps: %w", err)
			}
		}
		running, err := list(ctx, c.D, tx, "reading the running sweep", scanSweep,
			`SELECT `+sweepColumns+` FROM sweeps WHERE finished IS NULL`)
		if err != nil {
			return err
		}
		if len(running) > 0 {
			sw, resumed = running[0], true
			return nil
		}
		sw = store.Sweep{Started: store.TruncateTime(started)}
		if err := tx.QueryRow(ctx, `INSERT INTO sweeps (started) VALUES ($1) RETURNING id`, c.D.Time(started)).Scan(&sw.ID); err != nil {
			return c.D.errorf("starting a sweep: %w", err)
		}
		return nil
	})
	return sw, resumed, err
}

// Sweeps implements store.CheckStore.
func (c *Core) Sweeps(ctx context.Context, limit int) ([]store.Sweep, error) {
	return list(ctx, c.D, c.DB, "reading sweeps", scanSweep,
		`SELECT `+sweepColumns+` FROM sweeps ORDER BY id DESC LIMIT $1`, Limit(limit))
}

// Prune implements store.Pruner.
func (c *Core) Prune(ctx context.Context, cut store.PruneCut) (store.PruneResult, error) {
	var res store.PruneResult
	err := c.inTx(ctx, func(tx Querier) error {
		for _, q := range []struct {
			n    *int64
			from time.Time
			sql  string
		}{
			{&res.Checks, cut.History, `DELETE FROM check_results AS c WHERE checked_at < $1 AND EXISTS (
				SELECT 1 FROM check_results n WHERE n.domain_id = c.domain_id AND (n.checked_at, n.id) > (c.checked_at, c.id))`},
			{&res.Notices, cut.History, `DELETE FROM outbox WHERE sent < $1`},
			{&res.Sweeps, cut.History, `DELETE FROM sweeps WHERE finished < $1 AND id <> (SELECT max(id) FROM sweeps WHERE finished IS NOT NULL)`},
			{&res.Publications, cut.Publications, `DELETE FROM publications AS p WHERE published_at < $1 AND p.id <> coalesce((
				SELECT max(l.id) FROM publications l WHERE l.zone = p.zone AND l.outcome IN ('published', 'adopted')), 0)`},
			// The newest counter (SQLite) or transaction (PostgreSQL) of
			// the deletions that go, before they go: a token from before
			// it would need them (0012_prune_change_feed.sql).
			{nil, cut.Deletions, `UPDATE change_feed SET pruned = ` + c.D.Greatest + `(pruned, coalesce((
				SELECT changed FROM domain_deletions WHERE deleted_at < $1 ORDER BY changed DESC LIMIT 1), pruned))`},
			{&res.Deletions, cut.Deletions, `DELETE FROM domain_deletions WHERE deleted_at < $1`},
		} {
			if q.from.IsZero() {
				continue
			}
			n, err := tx.Exec(ctx, q.sql, c.D.Time(q.from))
			if err != nil {
				return err
			}
			if q.n != nil {
				*q.n = n
			}
		}
		return nil
	})
	if err != nil {
		return res, c.D.errorf("pruning history (%s): %w", describeCut(cut), err)
	}
	return res, nil
}

// describeCut names a cut's times, for errors.
func describeCut(cut store.PruneCut) string {
	var parts []string
	for _, p := range []struct {
		what string
		t    time.Time
	}{{"history", cut.History}, {"publications", cut.Publications}, {"deletions", cut.Deletions}} {
		if !p.t.IsZero() {
			parts = append(parts, p.what+" before "+p.t.UTC().Format(time.RFC3339))
		}
	}
	return strings.Join(parts, ", ")
}
