package sqlcore

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/ptzone/ptzone/store"
)

// RecordCheck implements store.CheckStore.
func (c *Core) RecordCheck(ctx context.Context, r store.CheckResult, s store.DelegationState) (int64, error) {
	var id int64
	err := c.inTx(ctx, func(tx Querier) (err error) {
		id, err = c.recordCheck(ctx, tx, store.CheckRecord{Result: r, State: s})
		return err
	})
	return id, err
}

// RecordChecks implements store.CheckStore.
func (c *Core) RecordChecks(ctx context.Context, records []store.CheckRecord, sweep *store.Sweep) ([]int64, error) {
	ids := make([]int64, len(records))
	err := c.inTx(ctx, func(tx Querier) error {
		for i, rec := range records {
			id, err := c.recordCheck(ctx, tx, rec)
			if err != nil && !errors.Is(err, store.ErrNotFound) {
				return err
			}
			ids[i] = id
		}
		if sweep == nil {
			return nil
		}
		n, err := tx.Exec(ctx, `UPDATE sweeps SET cursor = $1, checked = $2, failed = $3, finished = $4 WHERE id = $5`,
			sweep.Cursor, sweep.Checked, sweep.Failed, c.D.Time(sweep.Finished), sweep.ID)
		if err != nil {
			return c.D.errorf("recording progress of sweep %d: %w", sweep.ID, err)
		}
		if n == 0 {
			return notFound("sweep %d", sweep.ID)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return ids, nil
}

// recordCheck writes one check, its state and its notices.
func (c *Core) recordCheck(ctx context.Context, tx Querier, rec store.CheckRecord) (int64, error) {
	r, s := rec.Result, rec.State
	resultFindings, stateFindings, err := checkRow(r, s)
	if err != nil {
		return 0, c.D.errorf("%w", err)
	}
	var domainID, id int64
	// The domain's row is locked: its state's writers (a sweep's batch, a
	// registrar's check) take turns, so a conditional write sees the
	// state it replaces.
	q := `SELECT id FROM domains WHERE name = $1`
	if c.D.RowLocks {
		q += ` FOR NO KEY UPDATE`
	}
	err = tx.QueryRow(ctx, q, r.Domain).Scan(&domainID)
	if errors.Is(err, ErrNoRows) {
		return 0, notFound("domain %s", r.Domain)
	}
	if err != nil {
		return 0, c.D.errorf("recording check of %s: %w", r.Domain, err)
	}
	err = tx.QueryRow(ctx, `
		INSERT INTO check_results (domain_id, checked_at, duration_us, trigger, verdict, findings)
		VALUES ($1, $2, $3, $4, $5, $6) RETURNING id`,
		domainID, c.D.Time(r.Time), r.Duration.Microseconds(), r.Trigger, string(r.Verdict), string(resultFindings)).Scan(&id)
	if err != nil {
		return 0, c.D.errorf("recording check of %s: %w", r.Domain, err)
	}
	if q := rec.Request; q != nil {
		if _, err := tx.Exec(ctx, `DELETE FROM check_queue WHERE domain_id = $1 AND version = $2`, domainID, q.Version); err != nil {
			return 0, c.D.errorf("taking %s off the check queue: %w", r.Domain, err)
		}
	}
	if rec.Base != nil {
		var updated TimeCol
		err := tx.QueryRow(ctx, `SELECT updated FROM delegation_state WHERE domain_id = $1`, domainID).Scan(&updated)
		if err != nil && !errors.Is(err, ErrNoRows) {
			return 0, c.D.errorf("reading delegation state of %s: %w", r.Domain, err)
		}
		if !updated.T.Equal(store.TruncateTime(*rec.Base)) {
			return id, nil // a newer check holds the state
		}
	}
	_, err = tx.Exec(ctx, `
		INSERT INTO delegation_state (domain_id, last_verdict, last_checked, last_passed, first_failure,
			consecutive_failures, withheld, reason, findings, updated)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
		ON CONFLICT (domain_id) DO UPDATE SET last_verdict = excluded.last_verdict,
			last_checked = excluded.last_checked, last_passed = excluded.last_passed,
			first_failure = excluded.first_failure, consecutive_failures = excluded.consecutive_failures,
			withheld = excluded.withheld, reason = excluded.reason, findings = excluded.findings,
			updated = excluded.updated`,
		domainID, string(s.LastVerdict), c.D.Time(s.LastChecked), c.D.Time(s.LastPassed), c.D.Time(s.FirstFailure),
		s.ConsecutiveFailures, s.Withheld, s.Reason, string(stateFindings), c.D.Time(s.Updated))
	if err != nil {
		return 0, c.D.errorf("recording delegation state of %s: %w", r.Domain, err)
	}
	for _, n := range rec.Notices {
		findings, err := noticeRow(r.Domain, n)
		if err != nil {
			return 0, c.D.errorf("%w", err)
		}
		_, err = tx.Exec(ctx, `
			INSERT INTO outbox (created, domain, kind, role, recipient, deadline, findings)
			VALUES ($1, $2, $3, $4, $5, $6, $7)`,
			c.D.Time(n.Created), n.Domain, string(n.Kind), n.Role, n.Recipient, c.D.Time(n.Deadline), string(findings))
		if err != nil {
			return 0, c.D.errorf("queueing %s notice for %s: %w", n.Kind, r.Domain, err)
		}
	}
	return id, nil
}

// checkRow validates a check result and the state it leads to, and
// returns their findings as JSON.
func checkRow(r store.CheckResult, s store.DelegationState) (resultFindings, stateFindings []byte, err error) {
	if !r.Verdict.Valid() || !s.LastVerdict.Valid() {
		return nil, nil, fmt.Errorf("check of %s: verdicts %q/%q are not valid", r.Domain, r.Verdict, s.LastVerdict)
	}
	if s.Domain != r.Domain {
		return nil, nil, fmt.Errorf("check of %s carries the state of %s", r.Domain, s.Domain)
	}
	if resultFindings, err = EncodeFindings(r.Findings); err != nil {
		return nil, nil, err
	}
	if stateFindings, err = EncodeFindings(s.Findings); err != nil {
		return nil, nil, err
	}
	return resultFindings, stateFindings, nil
}

// noticeRow validates a notice a check queues and returns its findings
// encoded.
func noticeRow(domain string, n store.Notice) ([]byte, error) {
	switch {
	case !n.Kind.Valid():
		return nil, fmt.Errorf("notice for %s: %q is not a notice kind", domain, n.Kind)
	case n.Role != store.RoleTech && n.Role != store.RoleRegistrar && n.Role != store.RoleWebhook:
		return nil, fmt.Errorf("notice for %s: %q is not a recipient role", domain, n.Role)
	case n.Recipient == "":
		return nil, fmt.Errorf("notice for %s: no recipient", domain)
	case n.Domain != domain:
		return nil, fmt.Errorf("check of %s carries a notice for %s", domain, n.Domain)
	}
	return EncodeFindings(n.Findings)
}

// DelegationState implements store.CheckStore.
func (c *Core) DelegationState(ctx context.Context, domain string) (store.DelegationState, error) {
	var r stateRow
	var findings []byte
	err := c.DB.QueryRow(ctx, `
		SELECT `+stateColumns+`, st.findings
		FROM delegation_state st JOIN domains d ON d.id = st.domain_id
		WHERE d.name = $1`, domain).Scan(append(r.dest(), &findings)...)
	if errors.Is(err, ErrNoRows) {
		return store.DelegationState{}, notFound("delegation state of %s", domain)
	}
	if err != nil {
		return store.DelegationState{}, c.D.errorf("reading delegation state of %s: %w", domain, err)
	}
	st := r.state(domain)
	if st.Findings, err = DecodeFindings(findings); err != nil {
		return store.DelegationState{}, c.D.errorf("delegation state of %s: %w", domain, err)
	}
	return *st, nil
}

// CheckHistory implements store.CheckStore.
func (c *Core) CheckHistory(ctx context.Context, domain string, limit int) ([]store.CheckResult, error) {
	return list(ctx, c.D, c.DB, "reading check history of "+domain, func(row Rows) (store.CheckResult, error) {
		r := store.CheckResult{Domain: domain}
		var at TimeCol
		var us int64
		var findings []byte
		if err := row.Scan(&r.ID, &at, &us, &r.Trigger, &r.Verdict, &findings); err != nil {
			return r, err
		}
		r.Time = at.T
		r.Duration = time.Duration(us) * time.Microsecond
		var err error
		r.Findings, err = DecodeFindings(findings)
		return r, err
	}, `
		SELECT c.id, c.checked_at, c.duration_us, c.trigger, CAST(c.verdict AS text), c.findings
		FROM check_results c JOIN domains d ON d.id = c.domain_id
		WHERE d.name = $1 ORDER BY c.checked_at DESC, c.id DESC LIMIT $2`, domain, Limit(limit))
}
