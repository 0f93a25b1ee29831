package sqlcore

import (
	"context"
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
func (c *Core) Prune(ctx context.Context, before time.Time) (store.PruneResult, error) {
	var res store.PruneResult
	err := c.inTx(ctx, func(tx Querier) error {
		for _, q := range []struct {
			n   *int64
			sql string
		}{
			{&res.Checks, `DELETE FROM check_results AS c WHERE checked_at < $1 AND EXISTS (
				SELECT 1 FROM check_results n WHERE n.domain_id = c.domain_id AND (n.checked_at, n.id) > (c.checked_at, c.id))`},
			{&res.Notices, `DELETE FROM outbox WHERE sent < $1`},
			{&res.Sweeps, `DELETE FROM sweeps WHERE finished < $1 AND id <> (SELECT max(id) FROM sweeps WHERE finished IS NOT NULL)`},
		} {
			n, err := tx.Exec(ctx, q.sql, c.D.Time(before))
			if err != nil {
				return err
			}
			*q.n = n
		}
		return nil
	})
	if err != nil {
		return res, c.D.errorf("pruning history before %s: %w", before.Format(time.RFC3339), err)
	}
	return res, nil
}
