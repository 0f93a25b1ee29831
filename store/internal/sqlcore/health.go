package sqlcore

import (
	"context"

	"github.com/ptzone/ptzone/store"
)

// Health implements store.Operations.
func (c *Core) Health(ctx context.Context) (store.Health, error) {
	h := store.NewHealth()
	type count struct {
		state, verdict string
		n              int
	}
	counts, err := list(ctx, c.D, c.DB, "counting delegations", func(r Rows) (n count, err error) {
		return n, r.Scan(&n.state, &n.verdict, &n.n)
	}, `
		SELECT CASE WHEN s.domain_id IS NULL THEN '`+store.GateUnchecked+`'
		            WHEN s.withheld THEN '`+store.GateWithheld+`'
		            WHEN s.last_passed IS NULL THEN '`+store.GateRefused+`'
		            WHEN s.first_failure IS NOT NULL THEN '`+store.GateFailing+`'
		            ELSE '`+store.GatePassing+`' END,
		       coalesce(CAST(s.last_verdict AS text), ''), count(*)
		FROM domains d LEFT JOIN delegation_state s ON s.domain_id = d.id
		WHERE `+c.delegatable()+`
		GROUP BY 1, 2`)
	if err != nil {
		return h, err
	}
	for _, n := range counts {
		h.Delegations[n.state] += n.n
		if n.verdict != "" {
			h.Verdicts[store.Verdict(n.verdict)] += n.n
		}
	}
	var oldest TimeCol
	if err := c.DB.QueryRow(ctx, `SELECT count(*), min(created) FROM outbox WHERE sent IS NULL`).Scan(&h.OutboxPending, &oldest); err != nil {
		return h, c.D.errorf("counting the outbox: %w", err)
	}
	h.OutboxOldest = oldest.T
	return h, nil
}
