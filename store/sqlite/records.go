package sqlite

import (
	"cmp"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/ptzone/ptzone/store"
	"github.com/ptzone/ptzone/store/internal/rowcodec"
)

const registrarColumns = `id, name, email, token_hash, created`

func scanRegistrar(s scanner) (store.Registrar, error) {
	var r store.Registrar
	var created int64
	err := s.Scan(&r.ID, &r.Name, &r.Email, &r.TokenHash, &created)
	r.Created = fromMicros(created)
	return r, err
}

// PutRegistrar implements store.RegistrarStore.
func (db *DB) PutRegistrar(ctx context.Context, r store.Registrar) error {
	_, err := db.db.ExecContext(ctx, `
		INSERT INTO registrars (id, name, email, created) VALUES (?, ?, ?, ?)
		ON CONFLICT (id) DO UPDATE SET name = excluded.name, email = excluded.email`,
		r.ID, r.Name, r.Email, micros(db.now()))
	if err != nil {
		return fmt.Errorf("sqlite: writing registrar %s: %w", r.ID, err)
	}
	return nil
}

// SetRegistrarToken implements store.RegistrarStore.
func (db *DB) SetRegistrarToken(ctx context.Context, id string, hash []byte) error {
	res, err := db.db.ExecContext(ctx, `UPDATE registrars SET token_hash = ? WHERE id = ?`, hash, id)
	if err != nil {
		return fmt.Errorf("sqlite: setting token of registrar %s: %w", id, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("registrar %s: %w", id, store.ErrNotFound)
	}
	return nil
}

// Registrar implements store.RegistrarStore.
func (db *DB) Registrar(ctx context.Context, id string) (store.Registrar, error) {
	r, err := scanRegistrar(db.db.QueryRowContext(ctx, `SELECT `+registrarColumns+` FROM registrars WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return r, fmt.Errorf("registrar %s: %w", id, store.ErrNotFound)
	}
	if err != nil {
		return r, fmt.Errorf("sqlite: reading registrar %s: %w", id, err)
	}
	return r, nil
}

// RegistrarByTokenHash implements store.RegistrarStore.
func (db *DB) RegistrarByTokenHash(ctx context.Context, hash []byte) (store.Registrar, error) {
	r, err := scanRegistrar(db.db.QueryRowContext(ctx, `SELECT `+registrarColumns+` FROM registrars WHERE token_hash = ?`, hash))
	if errors.Is(err, sql.ErrNoRows) {
		return r, fmt.Errorf("registrar token: %w", store.ErrNotFound)
	}
	if err != nil {
		return r, fmt.Errorf("sqlite: looking up registrar token: %w", err)
	}
	return r, nil
}

// Registrars implements store.RegistrarStore.
func (db *DB) Registrars(ctx context.Context) ([]store.Registrar, error) {
	rows, err := db.db.QueryContext(ctx, `SELECT `+registrarColumns+` FROM registrars ORDER BY id`)
	if err != nil {
		return nil, fmt.Errorf("sqlite: listing registrars: %w", err)
	}
	defer rows.Close()
	var out []store.Registrar
	for rows.Next() {
		r, err := scanRegistrar(rows)
		if err != nil {
			return nil, fmt.Errorf("sqlite: listing registrars: %w", err)
		}
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlite: listing registrars: %w", err)
	}
	return out, nil
}

// RecordCheck implements store.CheckStore.
func (db *DB) RecordCheck(ctx context.Context, r store.CheckResult, s store.DelegationState) (int64, error) {
	var id int64
	err := db.inTx(ctx, func(tx *sql.Tx) (err error) {
		id, err = recordCheck(ctx, tx, store.CheckRecord{Result: r, State: s})
		return err
	})
	return id, err
}

// RecordChecks implements store.CheckStore.
func (db *DB) RecordChecks(ctx context.Context, records []store.CheckRecord, sweep *store.Sweep) ([]int64, error) {
	ids := make([]int64, len(records))
	err := db.inTx(ctx, func(tx *sql.Tx) error {
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
		res, err := tx.ExecContext(ctx, `UPDATE sweeps SET cursor = ?, checked = ?, failed = ?, finished = ? WHERE id = ?`,
			sweep.Cursor, sweep.Checked, sweep.Failed, nullMicros(sweep.Finished), sweep.ID)
		if err != nil {
			return fmt.Errorf("sqlite: recording progress of sweep %d: %w", sweep.ID, err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
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
func recordCheck(ctx context.Context, tx *sql.Tx, rec store.CheckRecord) (int64, error) {
	r, s := rec.Result, rec.State
	resultFindings, stateFindings, err := rowcodec.CheckRecord(r, s)
	if err != nil {
		return 0, fmt.Errorf("%s: %w", "sqlite", err)
	}
	var domainID, id int64
	err = tx.QueryRowContext(ctx, `SELECT id FROM domains WHERE name = ?`, r.Domain).Scan(&domainID)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, fmt.Errorf("domain %s: %w", r.Domain, store.ErrNotFound)
	}
	if err != nil {
		return 0, fmt.Errorf("sqlite: recording check of %s: %w", r.Domain, err)
	}
	err = tx.QueryRowContext(ctx, `
		INSERT INTO check_results (domain_id, checked_at, duration_us, trigger, verdict, findings)
		VALUES (?, ?, ?, ?, ?, ?) RETURNING id`,
		domainID, micros(r.Time), r.Duration.Microseconds(), r.Trigger, string(r.Verdict), string(resultFindings)).Scan(&id)
	if err != nil {
		return 0, fmt.Errorf("sqlite: recording check of %s: %w", r.Domain, err)
	}
	if q := rec.Request; q != nil {
		if _, err := tx.ExecContext(ctx, `DELETE FROM check_queue WHERE domain_id = ? AND version = ?`, domainID, q.Version); err != nil {
			return 0, fmt.Errorf("sqlite: taking %s off the check queue: %w", r.Domain, err)
		}
	}
	if rec.Base != nil {
		var updated sql.NullInt64
		err := tx.QueryRowContext(ctx, `SELECT updated FROM delegation_state WHERE domain_id = ?`, domainID).Scan(&updated)
		if err != nil && !errors.Is(err, sql.ErrNoRows) {
			return 0, fmt.Errorf("sqlite: reading delegation state of %s: %w", r.Domain, err)
		}
		if !fromNullMicros(updated).Equal(store.TruncateTime(*rec.Base)) {
			return id, nil // a newer check holds the state
		}
	}
	_, err = tx.ExecContext(ctx, `
		INSERT INTO delegation_state (domain_id, last_verdict, last_checked, last_passed, first_failure,
			consecutive_failures, withheld, reason, findings, updated)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (domain_id) DO UPDATE SET last_verdict = excluded.last_verdict,
			last_checked = excluded.last_checked, last_passed = excluded.last_passed,
			first_failure = excluded.first_failure, consecutive_failures = excluded.consecutive_failures,
			withheld = excluded.withheld, reason = excluded.reason, findings = excluded.findings,
			updated = excluded.updated`,
		domainID, string(s.LastVerdict), micros(s.LastChecked), nullMicros(s.LastPassed), nullMicros(s.FirstFailure),
		s.ConsecutiveFailures, s.Withheld, s.Reason, string(stateFindings), micros(s.Updated))
	if err != nil {
		return 0, fmt.Errorf("sqlite: recording delegation state of %s: %w", r.Domain, err)
	}
	for _, n := range rec.Notices {
		findings, err := rowcodec.NoticeRow(r.Domain, n)
		if err != nil {
			return 0, fmt.Errorf("sqlite: %w", err)
		}
		_, err = tx.ExecContext(ctx, `
			INSERT INTO outbox (created, domain, kind, role, recipient, deadline, findings) VALUES (?, ?, ?, ?, ?, ?, ?)`,
			micros(n.Created), n.Domain, string(n.Kind), n.Role, n.Recipient, nullMicros(n.Deadline), string(findings))
		if err != nil {
			return 0, fmt.Errorf("sqlite: queueing %s notice for %s: %w", n.Kind, r.Domain, err)
		}
	}
	return id, nil
}

// OpenSweep implements store.CheckStore.
func (db *DB) OpenSweep(ctx context.Context, started time.Time) (store.Sweep, bool, error) {
	var sw store.Sweep
	resumed := false
	err := db.inTx(ctx, func(tx *sql.Tx) error {
		rows, err := tx.QueryContext(ctx, `SELECT `+sweepColumns+` FROM sweeps WHERE finished IS NULL`)
		if err != nil {
			return fmt.Errorf("sqlite: reading the running sweep: %w", err)
		}
		list, err := scanSweeps(rows)
		if err != nil {
			return err
		}
		if len(list) > 0 {
			sw, resumed = list[0], true
			return nil
		}
		sw = store.Sweep{Started: store.TruncateTime(started)}
		err = tx.QueryRowContext(ctx, `INSERT INTO sweeps (started) VALUES (?) RETURNING id`, micros(started)).Scan(&sw.ID)
		if err != nil {
			return fmt.Errorf("sqlite: starting a sweep: %w", err)
		}
		return nil
	})
	return sw, resumed, err
}

const sweepColumns = `id, started, finished, cursor, checked, failed`

func scanSweeps(rows *sql.Rows) ([]store.Sweep, error) {
	defer rows.Close()
	var out []store.Sweep
	for rows.Next() {
		var s store.Sweep
		var started int64
		var finished sql.NullInt64
		if err := rows.Scan(&s.ID, &started, &finished, &s.Cursor, &s.Checked, &s.Failed); err != nil {
			return nil, fmt.Errorf("sqlite: reading sweeps: %w", err)
		}
		s.Started, s.Finished = fromMicros(started), fromNullMicros(finished)
		out = append(out, s)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlite: reading sweeps: %w", err)
	}
	return out, nil
}

// Sweeps implements store.CheckStore.
func (db *DB) Sweeps(ctx context.Context, limit int) ([]store.Sweep, error) {
	rows, err := db.db.QueryContext(ctx, `SELECT `+sweepColumns+` FROM sweeps ORDER BY id DESC LIMIT ?`, rowcodec.Limit(limit))
	if err != nil {
		return nil, fmt.Errorf("sqlite: reading sweeps: %w", err)
	}
	return scanSweeps(rows)
}

// RequestCheck implements store.CheckQueue.
func (db *DB) RequestCheck(ctx context.Context, domain, reason string, at time.Time) error {
	res, err := db.db.ExecContext(ctx, `
		INSERT INTO check_queue (domain_id, requested, reason) SELECT id, ?, ? FROM domains WHERE name = ?
		ON CONFLICT (domain_id) DO UPDATE
			SET requested = excluded.requested, reason = excluded.reason, version = check_queue.version + 1`,
		micros(at), reason, domain)
	if err != nil {
		return fmt.Errorf("sqlite: queueing a check of %s: %w", domain, err)
	}
	if n, err := res.RowsAffected(); err == nil && n == 0 {
		return fmt.Errorf("domain %s: %w", domain, store.ErrNotFound)
	}
	return nil
}

// ClaimChecks implements store.CheckQueue.
func (db *DB) ClaimChecks(ctx context.Context, now time.Time, lease time.Duration, limit int) ([]store.CheckRequest, error) {
	var out []store.CheckRequest
	err := db.inTx(ctx, func(tx *sql.Tx) error {
		rows, err := tx.QueryContext(ctx, `
			UPDATE check_queue SET claimed_until = ?
			WHERE domain_id IN (SELECT q.domain_id FROM check_queue q JOIN domains d ON d.id = q.domain_id
			                    WHERE coalesce(q.claimed_until, 0) <= ? AND d.status = 'active' AND d.nameservers <> ''
			                    ORDER BY q.requested, q.domain_id LIMIT ?)
			RETURNING (SELECT name FROM domains WHERE id = check_queue.domain_id), reason, requested, version`,
			micros(now.Add(lease)), micros(now), rowcodec.Limit(limit))
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var q store.CheckRequest
			var requested int64
			if err := rows.Scan(&q.Domain, &q.Reason, &requested, &q.Version); err != nil {
				return err
			}
			q.Requested = fromMicros(requested)
			out = append(out, q)
		}
		return rows.Err()
	})
	if err != nil {
		return nil, fmt.Errorf("sqlite: claiming checks: %w", err)
	}
	slices.SortFunc(out, func(a, b store.CheckRequest) int {
		return cmp.Or(a.Requested.Compare(b.Requested), cmp.Compare(a.Domain, b.Domain))
	})
	return out, nil
}

const noticeColumns = `id, created, domain, kind, role, recipient, deadline, findings, sent, attempts, last_error`

// Notices implements store.CheckStore.
func (db *DB) Notices(ctx context.Context, pending bool, limit int) ([]store.Notice, error) {
	rows, err := db.db.QueryContext(ctx, `SELECT `+noticeColumns+` FROM outbox
		WHERE sent IS NULL OR NOT ? ORDER BY id LIMIT ?`, pending, rowcodec.Limit(limit))
	if err != nil {
		return nil, fmt.Errorf("sqlite: reading the outbox: %w", err)
	}
	return scanNotices(rows)
}

// ClaimNotices implements store.Outbox.
func (db *DB) ClaimNotices(ctx context.Context, now time.Time, lease time.Duration, limit int, roles ...string) ([]store.Notice, error) {
	args := []any{micros(now.Add(lease)), micros(now), micros(now)}
	ofRoles := ""
	if len(roles) > 0 {
		ofRoles = " AND role IN (?" + strings.Repeat(", ?", len(roles)-1) + ")"
		for _, r := range roles {
			args = append(args, r)
		}
	}
	rows, err := db.db.QueryContext(ctx, `
		UPDATE outbox SET claimed_until = ?
		WHERE id IN (SELECT id FROM outbox
		             WHERE sent IS NULL AND coalesce(next_attempt, 0) <= ? AND coalesce(claimed_until, 0) <= ?`+ofRoles+`
		             ORDER BY id LIMIT ?)
		RETURNING `+noticeColumns, append(args, rowcodec.Limit(limit))...)
	if err != nil {
		return nil, fmt.Errorf("sqlite: claiming notices: %w", err)
	}
	out, err := scanNotices(rows)
	slices.SortFunc(out, func(a, b store.Notice) int { return cmp.Compare(a.ID, b.ID) })
	return out, err
}

// NoticeSent implements store.Outbox.
func (db *DB) NoticeSent(ctx context.Context, id int64, at time.Time) error {
	res, err := db.db.ExecContext(ctx, `UPDATE outbox SET sent = ?, claimed_until = NULL WHERE id = ? AND sent IS NULL`, micros(at), id)
	if err != nil {
		return fmt.Errorf("sqlite: marking notice %d sent: %w", id, err)
	}
	return db.noticeTouched(ctx, res, id)
}

// NoticeFailed implements store.Outbox.
func (db *DB) NoticeFailed(ctx context.Context, id int64, reason string, retry time.Time) error {
	res, err := db.db.ExecContext(ctx, `
		UPDATE outbox SET attempts = attempts + 1, last_error = ?, next_attempt = ?, claimed_until = NULL
		WHERE id = ? AND sent IS NULL`, reason, micros(retry), id)
	if err != nil {
		return fmt.Errorf("sqlite: recording notice %d's failure: %w", id, err)
	}
	return db.noticeTouched(ctx, res, id)
}

// noticeTouched returns ErrNotFound when an update of notice id touched
// nothing because there is no such notice.
func (db *DB) noticeTouched(ctx context.Context, res sql.Result, id int64) error {
	if n, err := res.RowsAffected(); err != nil || n > 0 {
		return err
	}
	var one int
	err := db.db.QueryRowContext(ctx, `SELECT 1 FROM outbox WHERE id = ?`, id).Scan(&one)
	if errors.Is(err, sql.ErrNoRows) {
		return fmt.Errorf("notice %d: %w", id, store.ErrNotFound)
	}
	return err
}

func scanNotices(rows *sql.Rows) ([]store.Notice, error) {
	defer rows.Close()
	var out []store.Notice
	for rows.Next() {
		var n store.Notice
		var created int64
		var deadline, sent sql.NullInt64
		var findings string
		if err := rows.Scan(&n.ID, &created, &n.Domain, &n.Kind, &n.Role, &n.Recipient, &deadline, &findings, &sent,
			&n.Attempts, &n.LastError); err != nil {
			return nil, fmt.Errorf("sqlite: reading the outbox: %w", err)
		}
		n.Created, n.Deadline, n.Sent = fromMicros(created), fromNullMicros(deadline), fromNullMicros(sent)
		var err error
		if n.Findings, err = rowcodec.DecodeFindings([]byte(findings)); err != nil {
			return nil, fmt.Errorf("sqlite: outbox notice %d: %w", n.ID, err)
		}
		out = append(out, n)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlite: reading the outbox: %w", err)
	}
	return out, nil
}

// DelegationState implements store.CheckStore.
func (db *DB) DelegationState(ctx context.Context, domain string) (store.DelegationState, error) {
	var r candidateRow
	var findings string
	err := db.db.QueryRowContext(ctx, `
		SELECT st.last_verdict, st.last_checked, st.last_passed, st.first_failure,
		       st.consecutive_failures, st.withheld, st.reason, st.updated, st.findings
		FROM delegation_state st JOIN domains d ON d.id = st.domain_id
		WHERE d.name = ?`, domain).Scan(&r.verdict, &r.lastChecked, &r.lastPassed, &r.firstFailure,
		&r.failures, &r.withheld, &r.reason, &r.updated, &findings)
	if errors.Is(err, sql.ErrNoRows) {
		return store.DelegationState{}, fmt.Errorf("delegation state of %s: %w", domain, store.ErrNotFound)
	}
	if err != nil {
		return store.DelegationState{}, fmt.Errorf("sqlite: reading delegation state of %s: %w", domain, err)
	}
	r.name = domain
	st := r.state()
	if st.Findings, err = rowcodec.DecodeFindings([]byte(findings)); err != nil {
		return store.DelegationState{}, fmt.Errorf("sqlite: delegation state of %s: %w", domain, err)
	}
	return *st, nil
}

// CheckHistory implements store.CheckStore.
func (db *DB) CheckHistory(ctx context.Context, domain string, limit int) ([]store.CheckResult, error) {
	rows, err := db.db.QueryContext(ctx, `
		SELECT c.id, c.checked_at, c.duration_us, c.trigger, c.verdict, c.findings
		FROM check_results c JOIN domains d ON d.id = c.domain_id
		WHERE d.name = ? ORDER BY c.checked_at DESC, c.id DESC LIMIT ?`, domain, rowcodec.Limit(limit))
	if err != nil {
		return nil, fmt.Errorf("sqlite: reading check history of %s: %w", domain, err)
	}
	defer rows.Close()
	var out []store.CheckResult
	for rows.Next() {
		r := store.CheckResult{Domain: domain}
		var at, us int64
		var findings string
		if err := rows.Scan(&r.ID, &at, &us, &r.Trigger, &r.Verdict, &findings); err != nil {
			return nil, fmt.Errorf("sqlite: reading check history of %s: %w", domain, err)
		}
		r.Time = fromMicros(at)
		r.Duration = time.Duration(us) * time.Microsecond
		if r.Findings, err = rowcodec.DecodeFindings([]byte(findings)); err != nil {
			return nil, fmt.Errorf("sqlite: check history of %s: %w", domain, err)
		}
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlite: reading check history of %s: %w", domain, err)
	}
	return out, nil
}

// RecordPublication implements store.PublicationLog.
func (db *DB) RecordPublication(ctx context.Context, p store.Publication) (int64, error) {
	if !p.Outcome.Valid() {
		return 0, fmt.Errorf("sqlite: publication of %s: %q is not an outcome", p.Zone, p.Outcome)
	}
	details := string(p.Details)
	if details == "" {
		details = "{}"
	}
	var id int64
	err := db.db.QueryRowContext(ctx, `
		INSERT INTO publications (zone, serial, published_at, outcome, triggered_by, reason, records, delegations, digest, details)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, json(?)) RETURNING id`,
		p.Zone, int64(p.Serial), micros(p.Time), string(p.Outcome), p.TriggeredBy, p.Reason,
		p.Records, p.Delegations, p.Digest, details).Scan(&id)
	if err != nil {
		return 0, fmt.Errorf("sqlite: recording publication of %s serial %d: %w", p.Zone, p.Serial, err)
	}
	return id, nil
}

// Publications implements store.PublicationLog.
func (db *DB) Publications(ctx context.Context, zone string, limit int) ([]store.Publication, error) {
	rows, err := db.db.QueryContext(ctx, `
		SELECT id, zone, serial, published_at, outcome, triggered_by, reason, records, delegations, digest, details
		FROM publications WHERE ? = '' OR zone = ?
		ORDER BY id DESC LIMIT ?`, zone, zone, rowcodec.Limit(limit))
	if err != nil {
		return nil, fmt.Errorf("sqlite: reading publication log: %w", err)
	}
	defer rows.Close()
	var out []store.Publication
	for rows.Next() {
		var p store.Publication
		var serial, at int64
		var details string
		if err := rows.Scan(&p.ID, &p.Zone, &serial, &at, &p.Outcome, &p.TriggeredBy, &p.Reason,
			&p.Records, &p.Delegations, &p.Digest, &details); err != nil {
			return nil, fmt.Errorf("sqlite: reading publication log: %w", err)
		}
		p.Serial = uint32(serial)
		p.Time = fromMicros(at)
		p.Details = []byte(details)
		out = append(out, p)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlite: reading publication log: %w", err)
	}
	return out, nil
}

// Prune implements store.Pruner.
func (db *DB) Prune(ctx context.Context, before time.Time) (store.PruneResult, error) {
	var res store.PruneResult
	err := db.inTx(ctx, func(tx *sql.Tx) error {
		for _, q := range []struct {
			n   *int64
			sql string
		}{
			{&res.Checks, `DELETE FROM check_results AS c WHERE checked_at < ? AND EXISTS (
				SELECT 1 FROM check_results n WHERE n.domain_id = c.domain_id AND (n.checked_at, n.id) > (c.checked_at, c.id))`},
			{&res.Notices, `DELETE FROM outbox WHERE sent < ?`},
			{&res.Sweeps, `DELETE FROM sweeps WHERE finished < ? AND id <> (SELECT max(id) FROM sweeps WHERE finished IS NOT NULL)`},
		} {
			r, err := tx.ExecContext(ctx, q.sql, micros(before))
			if err != nil {
				return err
			}
			if *q.n, err = r.RowsAffected(); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return res, fmt.Errorf("sqlite: pruning history before %s: %w", before.Format(time.RFC3339), err)
	}
	return res, nil
}

func insertAudit(ctx context.Context, q interface {
	ExecContext(context.Context, string, ...any) (sql.Result, error)
}, e store.AuditEntry) (int64, error) {
	detail := e.Detail
	if len(detail) == 0 {
		detail = []byte("{}")
	}
	res, err := q.ExecContext(ctx, `INSERT INTO audit_log (at, actor, action, target, reason, detail) VALUES (?, ?, ?, ?, ?, ?)`,
		micros(e.Time), e.Actor, e.Action, e.Target, e.Reason, string(detail))
	if err != nil {
		return 0, fmt.Errorf("sqlite: audit log: %s by %s: %w", e.Action, e.Actor, err)
	}
	return res.LastInsertId()
}

// Audit implements store.Operations.
func (db *DB) Audit(ctx context.Context, e store.AuditEntry) (int64, error) {
	return insertAudit(ctx, db.db, e)
}

// AuditLog implements store.Operations.
func (db *DB) AuditLog(ctx context.Context, limit int) ([]store.AuditEntry, error) {
	rows, err := db.db.QueryContext(ctx, `SELECT id, at, actor, action, target, reason, detail FROM audit_log ORDER BY id DESC LIMIT ?`, limit)
	if err != nil {
		return nil, fmt.Errorf("sqlite: reading the audit log: %w", err)
	}
	defer rows.Close()
	var out []store.AuditEntry
	for rows.Next() {
		var e store.AuditEntry
		var at int64
		var detail string
		if err := rows.Scan(&e.ID, &at, &e.Actor, &e.Action, &e.Target, &e.Reason, &detail); err != nil {
			return nil, fmt.Errorf("sqlite: reading the audit log: %w", err)
		}
		e.Time, e.Detail = fromMicros(at), []byte(detail)
		out = append(out, e)
	}
	return out, rows.Err()
}

// Freeze implements store.Operations.
func (db *DB) Freeze(ctx context.Context, f store.Freeze) error {
	err := db.inTx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `INSERT INTO publishing_freeze (one, at, actor, reason) VALUES (1, ?, ?, ?) ON CONFLICT DO NOTHING`,
			micros(f.Time), f.Actor, f.Reason)
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil || n == 0 {
			return errors.Join(store.ErrFrozen, err)
		}
		_, err = insertAudit(ctx, tx, store.AuditEntry{Time: f.Time, Actor: f.Actor, Action: "freeze", Reason: f.Reason})
		return err
	})
	if err != nil {
		return fmt.Errorf("sqlite: freezing publishing: %w", err)
	}
	return nil
}

// Thaw implements store.Operations.
func (db *DB) Thaw(ctx context.Context, e store.AuditEntry) (store.Freeze, error) {
	var f store.Freeze
	err := db.inTx(ctx, func(tx *sql.Tx) error {
		var at int64
		err := tx.QueryRowContext(ctx, `DELETE FROM publishing_freeze RETURNING at, actor, reason`).Scan(&at, &f.Actor, &f.Reason)
		if errors.Is(err, sql.ErrNoRows) {
			return store.ErrNotFound
		}
		if err != nil {
			return err
		}
		f.Time = fromMicros(at)
		_, err = insertAudit(ctx, tx, e)
		return err
	})
	if err != nil {
		return f, fmt.Errorf("sqlite: thawing publishing: %w", err)
	}
	return f, nil
}

// Frozen implements store.Operations.
func (db *DB) Frozen(ctx context.Context) (store.Freeze, bool, error) {
	var f store.Freeze
	var at int64
	err := db.db.QueryRowContext(ctx, `SELECT at, actor, reason FROM publishing_freeze`).Scan(&at, &f.Actor, &f.Reason)
	if errors.Is(err, sql.ErrNoRows) {
		return f, false, nil
	}
	if err != nil {
		return f, false, fmt.Errorf("sqlite: reading the publishing freeze: %w", err)
	}
	f.Time = fromMicros(at)
	return f, true, nil
}

// Health implements store.Operations.
func (db *DB) Health(ctx context.Context) (store.Health, error) {
	h := store.NewHealth()
	rows, err := db.db.QueryContext(ctx, `
		SELECT CASE WHEN s.domain_id IS NULL THEN 'unchecked'
		            WHEN s.withheld = 1 THEN 'withheld'
		            WHEN s.last_passed IS NULL THEN 'refused'
		            WHEN s.first_failure IS NOT NULL THEN 'failing'
		            ELSE 'passing' END,
		       coalesce(s.last_verdict, ''), count(*)
		FROM domains d LEFT JOIN delegation_state s ON s.domain_id = d.id
		WHERE d.status = 'active' AND d.nameservers <> ''
		GROUP BY 1, 2`)
	if err != nil {
		return h, fmt.Errorf("sqlite: counting delegations: %w", err)
	}
	defer rows.Close()
	if err := rowcodec.AddHealth(rows, &h); err != nil {
		return h, fmt.Errorf("sqlite: counting delegations: %w", err)
	}
	var oldest sql.NullInt64
	if err := db.db.QueryRowContext(ctx, `SELECT count(*), min(created) FROM outbox WHERE sent IS NULL`).Scan(&h.OutboxPending, &oldest); err != nil {
		return h, fmt.Errorf("sqlite: counting the outbox: %w", err)
	}
	h.OutboxOldest = fromNullMicros(oldest)
	return h, nil
}
