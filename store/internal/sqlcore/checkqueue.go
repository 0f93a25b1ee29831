package sqlcore

import (
	"cmp"
	"context"
	"slices"
	"time"

	"github.com/ptzone/ptzone/store"
)

// RequestCheck implements store.CheckQueue.
func (c *Core) RequestCheck(ctx context.Context, domain, reason string, at time.Time) error {
	return c.update(ctx, "queueing a check of "+domain, "domain "+domain, `
		INSERT INTO check_queue (domain_id, requested, reason) SELECT id, $1, $2 FROM domains WHERE name = $3
		ON CONFLICT (domain_id) DO UPDATE
			SET requested = excluded.requested, reason = excluded.reason, version = check_queue.version + 1`,
		c.D.Time(at), reason, domain)
}

// ClaimChecks implements store.CheckQueue. Checkers sharing a database
// with row locks skip the requests another is claiming rather than wait
// for them.
func (c *Core) ClaimChecks(ctx context.Context, now time.Time, lease time.Duration, limit int) ([]store.CheckRequest, error) {
	skipLocked := ""
	if c.D.RowLocks {
		skipLocked = ` FOR UPDATE OF q SKIP LOCKED`
	}
	var out []store.CheckRequest
	err := c.inTx(ctx, func(tx Querier) (err error) {
		out, err = list(ctx, c.D, tx, "claiming checks", func(r Rows) (store.CheckRequest, error) {
			var q store.CheckRequest
			var requested TimeCol
			err := r.Scan(&q.Domain, &q.Reason, &requested, &q.Version)
			q.Requested = requested.T
			return q, err
		}, `
			UPDATE check_queue SET claimed_until = $1
			WHERE domain_id IN (SELECT q.domain_id FROM check_queue q JOIN domains d ON d.id = q.domain_id
			                    WHERE (q.claimed_until IS NULL OR q.claimed_until <= $2) AND `+c.delegatable()+`
			                    ORDER BY q.requested, q.domain_id LIMIT $3`+skipLocked+`)
			RETURNING (SELECT name FROM domains WHERE id = check_queue.domain_id), reason, requested, version`,
			c.D.Time(now.Add(lease)), c.D.Time(now), Limit(limit))
		return err
	})
	if err != nil {
		return nil, err
	}
	slices.SortFunc(out, func(a, b store.CheckRequest) int {
		return cmp.Or(a.Requested.Compare(b.Requested), cmp.Compare(a.Domain, b.Domain))
	})
	return out, nil
}
