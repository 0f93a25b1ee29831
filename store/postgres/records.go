package postgres

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"

	"github.com/ptzone/ptzone/store"
	"github.com/ptzone/ptzone/store/internal/rowcodec"
)

const registrarColumns = `id, name, email, token_hash, created`

func scanRegistrar(row pgx.Row) (store.Registrar, error) {
	var r store.Registrar
	err := row.Scan(&r.ID, &r.Name, &r.Email, &r.TokenHash, &r.Created)
	r.Created = r.Created.UTC()
	return r, err
}

// PutRegistrar implements store.RegistrarStore.
func (db *DB) PutRegistrar(ctx context.Context, r store.Registrar) error {
	_, err := db.pool.Exec(ctx, `
		INSERT INTO registrars (id, name, email) VALUES ($1, $2, $3)
		ON CONFLICT (id) DO UPDATE SET name = excluded.name, email = excluded.email`,
		r.ID, r.Name, r.Email)
	if err != nil {
		return fmt.Errorf("postgres: writing registrar %s: %w", r.ID, err)
	}
	return nil
}

// SetRegistrarToken implements store.RegistrarStore.
func (db *DB) SetRegistrarToken(ctx context.Context, id string, hash []byte) error {
	tag, err := db.pool.Exec(ctx, `UPDATE registrars SET token_hash = $2 WHERE id = $1`, id, hash)
	if err != nil {
		return fmt.Errorf("postgres: setting token of registrar %s: %w", id, err)
	}
	if tag.RowsAffected() == 0 {
		return fmt.Errorf("registrar %s: %w", id, store.ErrNotFound)
	}
	return nil
}

// Registrar implements store.RegistrarStore.
func (db *DB) Registrar(ctx context.Context, id string) (store.Registrar, error) {
	r, err := scanRegistrar(db.pool.QueryRow(ctx, `SELECT `+registrarColumns+` FROM registrars WHERE id = $1`, id))
	if errors.Is(err, pgx.ErrNoRows) {
		return r, fmt.Errorf("registrar %s: %w", id, store.ErrNotFound)
	}
	if err != nil {
		return r, fmt.Errorf("postgres: reading registrar %s: %w", id, err)
	}
	return r, nil
}

// RegistrarByTokenHash implements store.RegistrarStore.
func (db *DB) RegistrarByTokenHash(ctx context.Context, hash []byte) (store.Registrar, error) {
	r, err := scanRegistrar(db.pool.QueryRow(ctx, `SELECT `+registrarColumns+` FROM registrars WHERE token_hash = $1`, hash))
	if errors.Is(err, pgx.ErrNoRows) {
		return r, fmt.Errorf("registrar token: %w", store.ErrNotFound)
	}
	if err != nil {
		return r, fmt.Errorf("postgres: looking up registrar token: %w", err)
	}
	return r, nil
}

// Registrars implements store.RegistrarStore.
func (db *DB) Registrars(ctx context.Context) ([]store.Registrar, error) {
	rows, err := db.pool.Query(ctx, `SELECT `+registrarColumns+` FROM registrars ORDER BY id`)
	if err != nil {
		return nil, fmt.Errorf("postgres: listing registrars: %w", err)
	}
	out, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (store.Registrar, error) { return scanRegistrar(row) })
	if err != nil {
		return nil, fmt.Errorf("postgres: listing registrars: %w", err)
	}
	return out, nil
}

// RecordCheck implements store.CheckStore.
func (db *DB) RecordCheck(ctx context.Context, r store.CheckResult, s store.DelegationState) (int64, error) {
	var id int64
	err := db.inTx(ctx, pgx.TxOptions{}, func(tx pgx.Tx) (err error) {
		id, err = recordCheck(ctx, tx, store.CheckRecord{Result: r, State: s})
		return err
	})
	return id, err
}

// RecordChecks implements store.CheckStore.
func (db *DB) RecordChecks(ctx context.Context, records []store.CheckRecord, sweep *store.Sweep) ([]int64, error) {
	ids := make([]int64, len(records))
	err := db.inTx(ctx, pgx.TxOptions{}, func(tx pgx.Tx) error {
		for i, rec := range records {
			id, err := recordCheck(ctx, tx, rec)
			if err != nil && !errors.Is(err, store.ErrNotFound) {
				return err
			}
			ids[i] = id
		}
		if sweep == nil {
			return nil
		}
		tag, err := tx.Exec(ctx, `UPDATE sweeps SET cursor = $1, checked = $2, failed = $3, finished = $4 WHERE id = $5`,
			sweep.Cursor, sweep.Checked, sweep.Failed, tsArg(sweep.Finished), sweep.ID)
		if err != nil {
			return fmt.Errorf("postgres: recording progress of sweep %d: %w", sweep.ID, err)
		}
		if tag.RowsAffected() == 0 {
			return fmt.Errorf("sweep %d: %w", sweep.ID, store.ErrNotFound)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return ids, nil
}

// recordCheck writes one check, its state and its notices.
func recordCheck(ctx context.Context, tx pgx.Tx, rec store.CheckRecord) (int64, error) {
	r, s := rec.Result, rec.State
	resultFindings, stateFindings, err := rowcodec.CheckRecord(r, s)
	if err != nil {
		return 0, fmt.Errorf("%s: %w", "postgres", err)
	}
	var domainID, id int64
	// The domain's row is locked: its state's writers (a sweep's batch, a
	// registrar's check) take turns, so a conditional write sees the
	// state it replaces.
	err = tx.QueryRow(ctx, `SELECT id FROM domains WHERE name = $1 FOR NO KEY UPDATE`, r.Domain).Scan(&domainID)
	if errors.Is(err, pgx.ErrNoRows) {
		return 0, fmt.Errorf("domain %s: %w", r.Domain, store.ErrNotFound)
	}
	if err != nil {
		return 0, fmt.Errorf("postgres: recording check of %s: %w", r.Domain, err)
	}
	err = tx.QueryRow(ctx, `
		INSERT INTO check_results (domain_id, checked_at, duration_us, trigger, verdict, findings)
		VALUES ($1, $2, $3, $4, $5, $6) RETURNING id`,
		domainID, tsArg(r.Time), r.Duration.Microseconds(), r.Trigger, string(r.Verdict), resultFindings).Scan(&id)
	if err != nil {
		return 0, fmt.Errorf("postgres: recording check of %s: %w", r.Domain, err)
	}
	if q := rec.Request; q != nil {
		if _, err := tx.Exec(ctx, `DELETE FROM check_queue WHERE domain_id = $1 AND version = $2`, domainID, q.Version); err != nil {
			return 0, fmt.Errorf("postgres: taking %s off the check queue: %w", r.Domain, err)
		}
	}
	if rec.Base != nil {
		var updated pgtype.Timestamptz
		err := tx.QueryRow(ctx, `SELECT updated FROM delegation_state WHERE domain_id = $1`, domainID).Scan(&updated)
		if err != nil && !errors.Is(err, pgx.ErrNoRows) {
			return 0, fmt.Errorf("postgres: reading delegation state of %s: %w", r.Domain, err)
		}
		if !tsTime(updated).Equal(store.TruncateTime(*rec.Base)) {
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
		domainID, string(s.LastVerdict), tsArg(s.LastChecked), tsArg(s.LastPassed), tsArg(s.FirstFailure),
		s.ConsecutiveFailures, s.Withheld, s.Reason, stateFindings, tsArg(s.Updated))
	if err != nil {
		return 0, fmt.Errorf("postgres: recording delegation state of %s: %w", r.Domain, err)
	}
	for _, n := range rec.Notices {
		findings, err := rowcodec.NoticeRow(r.Domain, n)
		if err != nil {
			return 0, fmt.Errorf("postgres: %w", err)
		}
		_, err = tx.Exec(ctx, `
			INSERT INTO outbox (created, domain, kind, role, recipient, deadline, findings) VALUES ($1, $2, $3, $4, $5, $6, $7)`,
			tsArg(n.Created), n.Domain, string(n.Kind), n.Role, n.Recipient, tsArg(n.Deadline), findings)
		if err != nil {
			return 0, fmt.Errorf("postgres: queueing %s notice for %s: %w", n.Kind, r.Domain, err)
		}
	}
	return id, nil
}

// OpenSweep implements store.CheckStore.
func (db *DB) OpenSweep(ctx context.Context, started time.Time) (store.Sweep, bool, error) {
	var sw store.Sweep
	resumed := false
	err := db.inTx(ctx, pgx.TxOptions{}, func(tx pgx.Tx) error {
		// One opener at a time: two daemons starting together must not
		// both start a sweep (the unique index would fail the second).
		if _, err := tx.Exec(ctx, `LOCK TABLE sweeps IN SHARE ROW EXCLUSIVE MODE`); err != nil {
			return fmt.Errorf("postgres: locking sweeps: %w", err)
		}
		rows, err := tx.Query(ctx, `SELECT `+sweepColumns+` FROM sweeps WHERE finished IS NULL`)
		if err != nil {
			return fmt.Errorf("postgres: reading the running sweep: %w", err)
		}
		list, err := collectSweeps(rows)
		if err != nil {
			return err
		}
		if len(list) > 0 {
			sw, resumed = list[0], true
			return nil
		}
		sw = store.Sweep{Started: store.TruncateTime(started)}
		if err := tx.QueryRow(ctx, `INSERT INTO sweeps (started) VALUES ($1) RETURNING id`, tsArg(started)).Scan(&sw.ID); err != nil {
			return fmt.Errorf("postgres: starting a sweep: %w", err)
		}
		return nil
	})
	return sw, resumed, err
}

const sweepColumns = `id, started, finished, cursor, checked, failed`

func collectSweeps(rows pgx.Rows) ([]store.Sweep, error) {
	out, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (store.Sweep, error) {
		var s store.Sweep
		var started, finished pgtype.Timestamptz
		err := row.Scan(&s.ID, &started, &finished, &s.Cursor, &s.Checked, &s.Failed)
		s.Started, s.Finished = tsTime(started), tsTime(finished)
		return s, err
	})
	if err != nil {
		return nil, fmt.Errorf("postgres: reading sweeps: %w", err)
	}
	return out, nil
}

// Sweeps implements store.CheckStore.
func (db *DB) Sweeps(ctx context.Context, limit int) ([]store.Sweep, error) {
	rows, err := db.pool.Query(ctx, `SELECT `+sweepColumns+` FROM sweeps ORDER BY id DESC LIMIT $1`, rowcodec.Limit(limit))
	if err != nil {
		return nil, fmt.Errorf("postgres: reading sweeps: %w", err)
	}
	return collectSweeps(rows)
}

// RequestCheck implements store.CheckQueue.
func (db *DB) RequestCheck(ctx context.Context, domain, reason string, at time.Time) error {
	tag, err := db.pool.Exec(ctx, `
		INSERT INTO check_queue (domain_id, requested, reason) SELECT id, $1, $2 FROM domains WHERE name = $3
		ON CONFLICT (domain_id) DO UPDATE
			SET requested = excluded.requested, reason = excluded.reason, version = check_queue.version + 1`,
		at, reason, domain)
	if err != nil {
		return fmt.Errorf("postgres: queueing a check of %s: %w", domain, err)
	}
	if tag.RowsAffected() == 0 {
		return fmt.Errorf("domain %s: %w", domain, store.ErrNotFound)
	}
	return nil
}

// ClaimChecks implements store.CheckQueue. Checkers sharing the database
// skip the requests another is claiming rather than wait for them.
func (db *DB) ClaimChecks(ctx context.Context, now time.Time, lease time.Duration, limit int) ([]store.CheckRequest, error) {
	rows, err := db.pool.Query(ctx, `
		WITH claimed AS (
			UPDATE check_queue q SET claimed_until = $1
			FROM (SELECT q.domain_id FROM check_queue q JOIN domains d ON d.id = q.domain_id
			      WHERE (q.claimed_until IS NULL OR q.claimed_until <= $2)
			        AND d.status = 'active' AND cardinality(d.nameservers) > 0
			      ORDER BY q.requested, q.domain_id LIMIT $3 FOR UPDATE OF q SKIP LOCKED) c
			WHERE q.domain_id = c.domain_id
			RETURNING q.domain_id, q.reason, q.requested, q.version)
		SELECT d.name, c.reason, c.requested, c.version FROM claimed c JOIN domains d ON d.id = c.domain_id
		ORDER BY c.requested, d.name`, now.Add(lease), now, rowcodec.Limit(limit))
	if err != nil {
		return nil, fmt.Errorf("postgres: claiming checks: %w", err)
	}
	out, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (store.CheckRequest, error) {
		var q store.CheckRequest
		err := row.Scan(&q.Domain, &q.Reason, &q.Requested, &q.Version)
		return q, err
	})
	if err != nil {
		return nil, fmt.Errorf("postgres: claiming checks: %w", err)
	}
	return out, nil
}

const noticeColumns = `id, created, domain, kind, role, recipient, deadline, findings, sent, attempts, last_error`

// Notices implements store.CheckStore.
func (db *DB) Notices(ctx context.Context, pending bool, limit int) ([]store.Notice, error) {
	rows, err := db.pool.Query(ctx, `SELECT `+noticeColumns+` FROM outbox
		WHERE sent IS NULL OR NOT $1 ORDER BY id LIMIT $2`, pending, rowcodec.Limit(limit))
	if err != nil {
		return nil, fmt.Errorf("postgres: reading the outbox: %w", err)
	}
	return collectNotices(rows)
}

// ClaimNotices implements store.Outbox. Notifiers sharing the database
// skip the rows another is claiming rather than wait for them.
func (db *DB) ClaimNotices(ctx context.Context, now time.Time, lease time.Duration, limit int, roles ...string) ([]store.Notice, error) {
	rows, err := db.pool.Query(ctx, `
		UPDATE outbox SET claimed_until = $1
		WHERE id IN (SELECT id FROM outbox
		             WHERE sent IS NULL AND (next_attempt IS NULL OR next_attempt <= $2)
		               AND (claimed_until IS NULL OR claimed_until <= $2)
		               AND (cardinality($4::text[]) = 0 OR role = ANY($4))
		             ORDER BY id LIMIT $3 FOR UPDATE SKIP LOCKED)
		RETURNING `+noticeColumns, now.Add(lease), now, rowcodec.Limit(limit), append([]string{}, roles...))
	if err != nil {
		return nil, fmt.Errorf("postgres: claiming notices: %w", err)
	}
	out, err := collectNotices(rows)
	slices.SortFunc(out, func(a, b store.Notice) int { return cmp.Compare(a.ID, b.ID) })
	return out, err
}

// NoticeSent implements store.Outbox.
func (db *DB) NoticeSent(ctx context.Context, id int64, at time.Time) error {
	tag, err := db.pool.Exec(ctx, `UPDATE outbox SET sent = $1, claimed_until = NULL WHERE id = $2 AND sent IS NULL`, at, id)
	if err != nil {
		return fmt.Errorf("postgres: marking notice %d sent: %w", id, err)
	}
	return db.noticeTouched(ctx, tag.RowsAffected(), id)
}

// NoticeFailed implements store.Outbox.
func (db *DB) NoticeFailed(ctx context.Context, id int64, reason string, retry time.Time) error {
	tag, err := db.pool.Exec(ctx, `
		UPDATE outbox SET attempts = attempts + 1, last_error = $1, next_attempt = $2, claimed_until = NULL
		WHERE id = $3 AND sent IS NULL`, reason, retry, id)
	if err != nil {
		return fmt.Errorf("postgres: recording notice %d's failure: %w", id, err)
	}
	return db.noticeTouched(ctx, tag.RowsAffected(), id)
}

// noticeTouched returns ErrNotFound when an update of notice id touched
// nothing because there is no such notice.
func (db *DB) noticeTouched(ctx context.Context, touched int64, id int64) error {
	if touched > 0 {
		return nil
	}
	var one int
	err := db.pool.QueryRow(ctx, `SELECT 1 FROM outbox WHERE id = $1`, id).Scan(&one)
	if errors.Is(err, pgx.ErrNoRows) {
		return fmt.Errorf("notice %d: %w", id, store.ErrNotFound)
	}
	return err
}

func collectNotices(rows pgx.Rows) ([]store.Notice, error) {
	out, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (store.Notice, error) {
		var n store.Notice
		var created, deadline, sent pgtype.Timestamptz
		var findings []byte
		if err := row.Scan(&n.ID, &created, &n.Domain, &n.Kind, &n.Role, &n.Recipient, &deadline, &findings, &sent,
			&n.Attempts, &n.LastError); err != nil {
			return n, err
		}
		n.Created, n.Deadline, n.Sent = tsTime(created), tsTime(deadline), tsTime(sent)
		var err error
		n.Findings, err = rowcodec.DecodeFindings(findings)
		return n, err
	})
	if err != nil {
		return nil, fmt.Errorf("postgres: reading the outbox: %w", err)
	}
	return out, nil
}

// DelegationState implements store.CheckStore.
func (db *DB) DelegationState(ctx context.Context, domain string) (store.DelegationState, error) {
	var r candidateRow
	var findings []byte
	err := db.pool.QueryRow(ctx, `
		SELECT st.last_verdict::text, st.last_checked, st.last_passed, st.first_failure,
		       st.consecutive_failures, st.withheld, st.reason, st.updated, st.findings
		FROM delegation_state st JOIN domains d ON d.id = st.domain_id
		WHERE d.name = $1`, domain).Scan(&r.verdict, &r.lastChecked, &r.lastPassed, &r.firstFailure,
		&r.failures, &r.withheld, &r.reason, &r.updated, &findings)
	if errors.Is(err, pgx.ErrNoRows) {
		return store.DelegationState{}, fmt.Errorf("delegation state of %s: %w", domain, store.ErrNotFound)
	}
	if err != nil {
		return store.DelegationState{}, fmt.Errorf("postgres: reading delegation state of %s: %w", domain, err)
	}
	r.name = domain
	st := r.state()
	if st.Findings, err = rowcodec.DecodeFindings(findings); err != nil {
		return store.DelegationState{}, fmt.Errorf("postgres: delegation state of %s: %w", domain, err)
	}
	return *st, nil
}

// CheckHistory implements store.CheckStore.
func (db *DB) CheckHistory(ctx context.Context, domain string, limit int) ([]store.CheckResult, error) {
	rows, err := db.pool.Query(ctx, `
		SELECT c.id, c.checked_at, c.duration_us, c.trigger, c.verdict::text, c.findings
		FROM check_results c JOIN domains d ON d.id = c.domain_id
		WHERE d.name = $1 ORDER BY c.checked_at DESC, c.id DESC LIMIT $2`, domain, rowcodec.Limit(limit))
	if err != nil {
		return nil, fmt.Errorf("postgres: reading check history of %s: %w", domain, err)
	}
	out, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (store.CheckResult, error) {
		r := store.CheckResult{Domain: domain}
		var us int64
		var findings []byte
		if err := row.Scan(&r.ID, &r.Time, &us, &r.Trigger, &r.Verdict, &findings); err != nil {
			return r, err
		}
		r.Time = r.Time.UTC()
		r.Duration = time.Duration(us) * time.Microsecond
		var err error
		r.Findings, err = rowcodec.DecodeFindings(findings)
		return r, err
	})
	if err != nil {
		return nil, fmt.Errorf("postgres: reading check history of %s: %w", domain, err)
	}
	return out, nil
}

// RecordPublication implements store.PublicationLog.
func (db *DB) RecordPublication(ctx context.Context, p store.Publication) (int64, error) {
	if !p.Outcome.Valid() {
		return 0, fmt.Errorf("postgres: publication of %s: %q is not an outcome", p.Zone, p.Outcome)
	}
	details := p.Details
	if len(details) == 0 {
		details = []byte("{}")
	}
	var id int64
	err := db.pool.QueryRow(ctx, `
		INSERT INTO publications (zone, serial, published_at, outcome, triggered_by, reason, records, delegations, digest, details)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) RETURNING id`,
		p.Zone, int64(p.Serial), tsArg(p.Time), string(p.Outcome), p.TriggeredBy, p.Reason,
		p.Records, p.Delegations, p.Digest, details).Scan(&id)
	if err != nil {
		return 0, fmt.Errorf("postgres: recording publication of %s serial %d: %w", p.Zone, p.Serial, err)
	}
	return id, nil
}

// Publications implements store.PublicationLog.
func (db *DB) Publications(ctx context.Context, zone string, limit int) ([]store.Publication, error) {
	rows, err := db.pool.Query(ctx, `
		SELECT id, zone, serial, published_at, outcome::text, triggered_by, reason, records, delegations, digest, details
		FROM publications WHERE $1 = '' OR zone = $1
		ORDER BY id DESC LIMIT $2`, zone, rowcodec.Limit(limit))
	if err != nil {
		return nil, fmt.Errorf("postgres: reading publication log: %w", err)
	}
	out, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (store.Publication, error) {
		var p store.Publication
		var serial int64
		err := row.Scan(&p.ID, &p.Zone, &serial, &p.Time, &p.Outcome, &p.TriggeredBy, &p.Reason,
			&p.Records, &p.Delegations, &p.Digest, &p.Details)
		p.Serial = uint32(serial)
		p.Time = p.Time.UTC()
		return p, err
	})
	if err != nil {
		return nil, fmt.Errorf("postgres: reading publication log: %w", err)
	}
	return out, nil
}

// Prune implements store.Pruner.
func (db *DB) Prune(ctx context.Context, before time.Time) (store.PruneResult, error) {
	var res store.PruneResult
	err := pgx.BeginFunc(ctx, db.pool, func(tx pgx.Tx) error {
		for _, q := range []struct {
			n   *int64
			sql string
		}{
			{&res.Checks, `DELETE FROM check_results c WHERE checked_at < $1 AND EXISTS (
				SELECT 1 FROM check_results n WHERE n.domain_id = c.domain_id AND (n.checked_at, n.id) > (c.checked_at, c.id))`},
			{&res.Notices, `DELETE FROM outbox WHERE sent < $1`},
			{&res.Sweeps, `DELETE FROM sweeps WHERE finished < $1 AND id <> (SELECT max(id) FROM sweeps WHERE finished IS NOT NULL)`},
		} {
			tag, err := tx.Exec(ctx, q.sql, before)
			if err != nil {
				return err
			}
			*q.n = tag.RowsAffected()
		}
		return nil
	})
	if err != nil {
		return res, fmt.Errorf("postgres: pruning history before %s: %w", before.Format(time.RFC3339), err)
	}
	return res, nil
}

func auditDetail(e store.AuditEntry) []byte {
	if len(e.Detail) == 0 {
		return []byte("{}")
	}
	return e.Detail
}

func insertAudit(ctx context.Context, q interface {
	QueryRow(context.Context, string, ...any) pgx.Row
}, e store.AuditEntry) (int64, error) {
	var id int64
	err := q.QueryRow(ctx, `INSERT INTO audit_log (at, actor, action, target, reason, detail) VALUES ($1, $2, $3, $4, $5, $6) RETURNING id`,
		e.Time, e.Actor, e.Action, e.Target, e.Reason, auditDetail(e)).Scan(&id)
	if err != nil {
		return 0, fmt.Errorf("postgres: audit log: %s by %s: %w", e.Action, e.Actor, err)
	}
	return id, nil
}

// Audit implements store.Operations.
func (db *DB) Audit(ctx context.Context, e store.AuditEntry) (int64, error) {
	return insertAudit(ctx, db.pool, e)
}

// AuditLog implements store.Operations.
func (db *DB) AuditLog(ctx context.Context, limit int) ([]store.AuditEntry, error) {
	rows, err := db.pool.Query(ctx, `SELECT id, at, actor, action, target, reason, detail FROM audit_log ORDER BY id DESC LIMIT $1`, limit)
	if err != nil {
		return nil, fmt.Errorf("postgres: reading the audit log: %w", err)
	}
	defer rows.Close()
	var out []store.AuditEntry
	for rows.Next() {
		var e store.AuditEntry
		if err := rows.Scan(&e.ID, &e.Time, &e.Actor, &e.Action, &e.Target, &e.Reason, &e.Detail); err != nil {
			return nil, fmt.Errorf("postgres: reading the audit log: %w", err)
		}
		e.Time = e.Time.UTC()
		out = append(out, e)
	}
	return out, rows.Err()
}

// Freeze implements store.Operations.
func (db *DB) Freeze(ctx context.Context, f store.Freeze) error {
	err := pgx.BeginFunc(ctx, db.pool, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `INSERT INTO publishing_freeze (at, actor, reason) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING`,
			f.Time, f.Actor, f.Reason)
		if err != nil {
			return err
		}
		if tag.RowsAffected() == 0 {
			return store.ErrFrozen
		}
		_, err = insertAudit(ctx, tx, store.AuditEntry{Time: f.Time, Actor: f.Actor, Action: "freeze", Reason: f.Reason})
		return err
	})
	if err != nil {
		return fmt.Errorf("postgres: freezing publishing: %w", err)
	}
	return nil
}

// Thaw implements store.Operations.
func (db *DB) Thaw(ctx context.Context, e store.AuditEntry) (store.Freeze, error) {
	var f store.Freeze
	err := pgx.BeginFunc(ctx, db.pool, func(tx pgx.Tx) error {
		err := tx.QueryRow(ctx, `DELETE FROM publishing_freeze RETURNING at, actor, reason`).Scan(&f.Time, &f.Actor, &f.Reason)
		if errors.Is(err, pgx.ErrNoRows) {
			return store.ErrNotFound
		}
		if err != nil {
			return err
		}
		f.Time = f.Time.UTC()
		_, err = insertAudit(ctx, tx, e)
		return err
	})
	if err != nil {
		return f, fmt.Errorf("postgres: thawing publishing: %w", err)
	}
	return f, nil
}

// Frozen implements store.Operations.
func (db *DB) Frozen(ctx context.Context) (store.Freeze, bool, error) {
	var f store.Freeze
	err := db.pool.QueryRow(ctx, `SELECT at, actor, reason FROM publishing_freeze`).Scan(&f.Time, &f.Actor, &f.Reason)
	if errors.Is(err, pgx.ErrNoRows) {
		return f, false, nil
	}
	if err != nil {
		return f, false, fmt.Errorf("postgres: reading the publishing freeze: %w", err)
	}
	f.Time = f.Time.UTC()
	return f, true, nil
}

// Health implements store.Operations.
func (db *DB) Health(ctx context.Context) (store.Health, error) {
	h := store.NewHealth()
	rows, err := db.pool.Query(ctx, `
		SELECT CASE WHEN s.domain_id IS NULL THEN 'unchecked'
		            WHEN s.withheld THEN 'withheld'
		            WHEN s.last_passed IS NULL THEN 'refused'
		            WHEN s.first_failure IS NOT NULL THEN 'failing'
		            ELSE 'passing' END,
		       coalesce(s.last_verdict::text, ''), count(*)
		FROM domains d LEFT JOIN delegation_state s ON s.domain_id = d.id
		WHERE d.status = 'active' AND cardinality(d.nameservers) > 0
		GROUP BY 1, 2`)
	if err != nil {
		return h, fmt.Errorf("postgres: counting delegations: %w", err)
	}
	defer rows.Close()
	if err := rowcodec.AddHealth(rows, &h); err != nil {
		return h, fmt.Errorf("postgres: counting delegations: %w", err)
	}
	var oldest pgtype.Timestamptz
	if err := db.pool.QueryRow(ctx, `SELECT count(*), min(created) FROM outbox WHERE sent IS NULL`).Scan(&h.OutboxPending, &oldest); err != nil {
		return h, fmt.Errorf("postgres: counting the outbox: %w", err)
	}
	if oldest.Valid {
		h.OutboxOldest = oldest.Time.UTC()
	}
	return h, nil
}
