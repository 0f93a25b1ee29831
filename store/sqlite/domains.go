package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"iter"
	"strconv"
	"strings"
	"time"

	"github.com/ptzone/ptzone/store"
	"github.com/ptzone/ptzone/store/internal/rowcodec"
)

const dateLayout = "2006-01-02"

// domainSelect mirrors the PostgreSQL backend's: one row per domain, which
// holds its nameservers and DS records in rowcodec's format, with the
// delegation state joined.
const domainSelect = `
SELECT d.name, d.zone, d.status, d.registrar_id, d.expires, d.tech_email, d.geo_authority,
       d.nameservers, d.ds,
       st.last_verdict, st.last_checked, st.last_passed, st.first_failure,
       st.consecutive_failures, st.withheld, st.reason, st.updated
FROM domains d
LEFT JOIN delegation_state st ON st.domain_id = d.id`

// leanSelect is domainSelect for Filter.DelegationOnly.
const leanSelect = `
SELECT d.name, d.zone, d.status, d.nameservers, d.ds, st.last_passed, st.withheld
FROM domains d
LEFT JOIN delegation_state st ON st.domain_id = d.id`

// leanRow is one row of leanSelect.
type leanRow struct {
	name, zone, status, nsAgg, dsAgg string
	lastPassed                       sql.NullInt64
	withheld                         sql.NullBool
}

func (r *leanRow) scan(s scanner) error {
	return s.Scan(&r.name, &r.zone, &r.status, &r.nsAgg, &r.dsAgg, &r.lastPassed, &r.withheld)
}

func (r *leanRow) candidate() (store.Candidate, error) {
	c, err := rowcodec.Lean(r.name, r.zone, r.status, r.nsAgg, r.dsAgg)
	if err != nil {
		return c, fmt.Errorf("sqlite: %w", err)
	}
	if r.withheld.Valid {
		c.State = &store.DelegationState{Domain: r.name, LastPassed: fromNullMicros(r.lastPassed), Withheld: r.withheld.Bool}
	}
	return c, nil
}

type candidateRow struct {
	name, zone, status, registrar, expires, techEmail string
	geo                                               bool
	nsAgg, dsAgg                                      string
	verdict, reason                                   sql.NullString
	lastChecked, lastPassed, firstFailure, updated    sql.NullInt64
	failures                                          sql.NullInt64
	withheld                                          sql.NullBool
}

type scanner interface{ Scan(...any) error }

func (r *candidateRow) scan(s scanner) error {
	return s.Scan(&r.name, &r.zone, &r.status, &r.registrar, &r.expires, &r.techEmail, &r.geo,
		&r.nsAgg, &r.dsAgg,
		&r.verdict, &r.lastChecked, &r.lastPassed, &r.firstFailure,
		&r.failures, &r.withheld, &r.reason, &r.updated)
}

func (r *candidateRow) candidate() (store.Candidate, error) {
	exp, err := rowcodec.ParseDate(r.expires)
	if err != nil {
		return store.Candidate{}, fmt.Errorf("sqlite: domain %s: %w", r.name, err)
	}
	d := store.Domain{
		Name:         r.name,
		Zone:         r.zone,
		Status:       store.Status(r.status),
		Registrar:    r.registrar,
		Expires:      exp,
		TechEmail:    r.techEmail,
		GeoAuthority: r.geo,
	}
	if d.Nameservers, err = rowcodec.DecodeNameservers(r.nsAgg); err != nil {
		return store.Candidate{}, fmt.Errorf("sqlite: domain %s: %w", r.name, err)
	}
	if d.DS, err = rowcodec.DecodeDS(r.dsAgg); err != nil {
		return store.Candidate{}, fmt.Errorf("sqlite: domain %s: %w", r.name, err)
	}
	return store.Candidate{Domain: d, State: r.state()}, nil
}

// state returns the joined delegation state, nil when there is none.
func (r *candidateRow) state() *store.DelegationState {
	if !r.verdict.Valid {
		return nil
	}
	return &store.DelegationState{
		Domain:              r.name,
		LastVerdict:         store.Verdict(r.verdict.String),
		LastChecked:         fromNullMicros(r.lastChecked),
		LastPassed:          fromNullMicros(r.lastPassed),
		FirstFailure:        fromNullMicros(r.firstFailure),
		ConsecutiveFailures: int(r.failures.Int64),
		Withheld:            r.withheld.Bool,
		Reason:              r.reason.String,
		Updated:             fromNullMicros(r.updated),
	}
}

// Domain implements store.DomainReader.
func (db *DB) Domain(ctx context.Context, name string) (store.Domain, error) {
	var r candidateRow
	err := r.scan(db.db.QueryRowContext(ctx, domainSelect+` WHERE d.name = ?`, name))
	if errors.Is(err, sql.ErrNoRows) {
		return store.Domain{}, fmt.Errorf("domain %s: %w", name, store.ErrNotFound)
	}
	if err != nil {
		return store.Domain{}, fmt.Errorf("sqlite: reading domain %s: %w", name, err)
	}
	c, err := r.candidate()
	return c.Domain, err
}

// Counts implements store.DomainReader.
func (db *DB) Counts(ctx context.Context) ([]store.ZoneCount, error) {
	rows, err := db.db.QueryContext(ctx, `SELECT zone, status, count(*) FROM domains GROUP BY zone, status ORDER BY zone, status`)
	if err != nil {
		return nil, fmt.Errorf("sqlite: counting domains: %w", err)
	}
	defer rows.Close()
	var out []store.ZoneCount
	for rows.Next() {
		var c store.ZoneCount
		if err := rows.Scan(&c.Zone, &c.Status, &c.Count); err != nil {
			return nil, fmt.Errorf("sqlite: counting domains: %w", err)
		}
		out = append(out, c)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlite: counting domains: %w", err)
	}
	return out, nil
}

// snapshot is one read transaction on its own connection; in WAL mode it
// sees the database as of its first read, whatever is committed later.
type snapshot struct {
	conn  *sql.Conn
	tx    *sql.Tx // nil once closed
	at    time.Time
	epoch string
	token int64
}

// Snapshot implements store.DomainReader.
func (db *DB) Snapshot(ctx context.Context) (store.Snapshot, error) {
	// Move the change feed's counter on first, in a transaction of its own:
	// every write stamped below the new value has then committed, and the
	// value is this snapshot's token (0002_change_feed.sql).
	if _, err := db.db.ExecContext(ctx, `UPDATE change_feed SET counter = counter + 1`); err != nil {
		return nil, fmt.Errorf("sqlite: snapshot: moving the change feed on: %w", err)
	}
	conn, err := db.db.Conn(ctx)
	if err != nil {
		return nil, fmt.Errorf("sqlite: snapshot: %w", err)
	}
	tx, err := conn.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		conn.Close()
		return nil, fmt.Errorf("sqlite: snapshot: %w", err)
	}
	s := &snapshot{conn: conn, tx: tx, at: db.now().UTC()}
	// A deferred transaction takes its snapshot at the first read: read now.
	if err := tx.QueryRowContext(ctx, `SELECT epoch, counter FROM change_feed`).Scan(&s.epoch, &s.token); err != nil {
		s.Close()
		return nil, fmt.Errorf("sqlite: snapshot: %w", err)
	}
	return s, nil
}

func (s *snapshot) ChangeToken() string { return fmt.Sprintf("sqlite:%s:%d", s.epoch, s.token) }

func (s *snapshot) Changes(ctx context.Context, since string, f store.Filter) iter.Seq2[store.DomainChange, error] {
	return func(yield func(store.DomainChange, error) bool) {
		from, ok := s.sinceCounter(since)
		if !ok {
			yield(store.DomainChange{}, fmt.Errorf("sqlite: changes since %q: %w", since, store.ErrChangeToken))
			return
		}
		zoneCond, args := "", []any{from}
		if f.Zone != "" {
			zoneCond, args = " AND zone = ?", append(args, f.Zone)
		}
		rows, err := s.tx.QueryContext(ctx, `SELECT name, zone FROM domain_deletions WHERE changed >= ?`+zoneCond+` ORDER BY name`, args...)
		if err != nil {
			yield(store.DomainChange{}, fmt.Errorf("sqlite: reading deletions: %w", err))
			return
		}
		var gone []store.DomainChange
		for rows.Next() {
			var c store.DomainChange
			if err := rows.Scan(&c.Name, &c.Zone); err != nil {
				rows.Close()
				yield(store.DomainChange{}, fmt.Errorf("sqlite: reading deletions: %w", err))
				return
			}
			gone = append(gone, c)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			yield(store.DomainChange{}, fmt.Errorf("sqlite: reading deletions: %w", err))
			return
		}
		for _, c := range gone {
			if !yield(c, nil) {
				return
			}
		}
		for c, err := range s.stream(ctx, changesQuery(f), args, f.DelegationOnly, "sqlite: reading changes") {
			if err != nil {
				yield(store.DomainChange{}, err)
				return
			}
			if !yield(store.DomainChange{Name: c.Domain.Name, Zone: c.Domain.Zone, Candidate: &c}, nil) {
				return
			}
		}
	}
}

// changesQuery selects the domains stamped at or after a counter.
func changesQuery(f store.Filter) string {
	q := domainSelect
	if f.DelegationOnly {
		q = leanSelect
	}
	// The unary pluses keep the planner off the name and zone indexes:
	// without statistics it would rather walk a whole zone in name order
	// than sort the few domains the domains_changed index finds.
	q += " WHERE d.changed >= ?"
	if f.Zone != "" {
		q += " AND +d.zone = ?"
	}
	return q + " ORDER BY +d.name"
}

// sinceCounter checks that a token is this database's and not ahead of
// it, and returns its counter.
func (s *snapshot) sinceCounter(token string) (int64, bool) {
	rest, ok := strings.CutPrefix(token, "sqlite:")
	if !ok {
		return 0, false
	}
	epoch, num, ok := strings.Cut(rest, ":")
	n, err := strconv.ParseInt(num, 10, 64)
	return n, ok && err == nil && epoch == s.epoch && n > 0 && n <= s.token
}

func (s *snapshot) Time() time.Time { return store.TruncateTime(s.at) }

func (s *snapshot) Close() error {
	if s.tx == nil {
		return nil
	}
	err := s.tx.Rollback()
	s.tx = nil
	if cerr := s.conn.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("sqlite: closing snapshot: %w", err)
	}
	return nil
}

func (s *snapshot) Domains(ctx context.Context, f store.Filter) iter.Seq2[store.Candidate, error] {
	return func(yield func(store.Candidate, error) bool) {
		var where []string
		var args []any
		if f.Zone != "" {
			where = append(where, "d.zone = ?")
			args = append(args, f.Zone)
		}
		if len(f.Statuses) > 0 {
			where = append(where, "d.status IN (?"+strings.Repeat(", ?", len(f.Statuses)-1)+")")
			for _, st := range f.Statuses {
				args = append(args, string(st))
			}
		}
		if f.Registrar != "" {
			where = append(where, "d.registrar_id = ?")
			args = append(args, f.Registrar)
		}
		q := domainSelect
		if f.DelegationOnly {
			q = leanSelect
		}
		if len(where) > 0 {
			q += " WHERE " + strings.Join(where, " AND ")
		}
		if !f.AnyOrder {
			q += " ORDER BY d.name"
		}
		for c, err := range s.stream(ctx, q, args, f.DelegationOnly, "sqlite: streaming domains") {
			if !yield(c, err) || err != nil {
				return
			}
		}
	}
}

// stream runs a query of domainSelect or leanSelect and yields its rows.
func (s *snapshot) stream(ctx context.Context, q string, args []any, lean bool, what string) iter.Seq2[store.Candidate, error] {
	return func(yield func(store.Candidate, error) bool) {
		rows, err := s.tx.QueryContext(ctx, q, args...)
		if err != nil {
			yield(store.Candidate{}, fmt.Errorf("%s: %w", what, err))
			return
		}
		defer rows.Close()
		var r candidateRow
		var lr leanRow
		rowcodec.Stream(yield, rows, func() (store.Candidate, error) {
			if lean {
				if err := lr.scan(rows); err != nil {
					return store.Candidate{}, err
				}
				return lr.candidate()
			}
			if err := r.scan(rows); err != nil {
				return store.Candidate{}, err
			}
			return r.candidate()
		}, what)
	}
}

// domainWriter holds the prepared statements that write one domain; Import
// reuses them for every record of a transaction.
type domainWriter struct {
	tx                                   *sql.Tx
	now                                  int64
	nextID                               int64 // 0 until the first insert reads it
	registrar, find, insert, update      *sql.Stmt
	knownRegistrars                      map[string]bool
	registrarsCreated, inserted, updated int
}

func newDomainWriter(ctx context.Context, tx *sql.Tx, now time.Time) (*domainWriter, error) {
	w := &domainWriter{tx: tx, now: micros(now), knownRegistrars: map[string]bool{}}
	stmts := []struct {
		dst **sql.Stmt
		sql string
	}{
		{&w.registrar, `INSERT INTO registrars (id, created) VALUES (?, ?) ON CONFLICT DO NOTHING`},
		{&w.find, `SELECT id FROM domains WHERE name = ?`},
		// Rows are stamped for the change feed here, not by the triggers
		// (0002_change_feed.sql), which would write each row twice.
		{&w.insert, `INSERT INTO domains (name, id, zone, status, registrar_id, expires, tech_email, geo_authority,
			nameservers, ds, created, updated, changed) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, (SELECT counter FROM change_feed))`},
		// A row the same as before is left alone: not stamped for the
		// change feed, not queued for a check, not counted as updated.
		{&w.update, `UPDATE domains SET zone = ?1, status = ?2, registrar_id = ?3, expires = ?4, tech_email = ?5,
			geo_authority = ?6, nameservers = ?7, ds = ?8, updated = ?9, changed = (SELECT counter FROM change_feed)
			WHERE id = ?10 AND (zone IS NOT ?1 OR status IS NOT ?2 OR registrar_id IS NOT ?3 OR expires IS NOT ?4
				OR tech_email IS NOT ?5 OR geo_authority IS NOT ?6 OR nameservers IS NOT ?7 OR ds IS NOT ?8)`},
	}
	for _, s := range stmts {
		st, err := tx.PrepareContext(ctx, s.sql)
		if err != nil {
			w.close()
			return nil, fmt.Errorf("sqlite: preparing statements: %w", err)
		}
		*s.dst = st
	}
	return w, nil
}

func (w *domainWriter) close() {
	for _, st := range []*sql.Stmt{w.registrar, w.find, w.insert, w.update} {
		if st != nil {
			st.Close()
		}
	}
}

// existing returns the id of the domain named name, or 0.
func (w *domainWriter) existing(ctx context.Context, name string) (int64, error) {
	var id int64
	err := w.find.QueryRowContext(ctx, name).Scan(&id)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, nil
	}
	return id, err
}

// put inserts d, or updates the domain with id existingID when it is not 0.
func (w *domainWriter) put(ctx context.Context, d *store.Domain, existingID int64) error {
	if !w.knownRegistrars[d.Registrar] {
		res, err := w.registrar.ExecContext(ctx, d.Registrar, w.now)
		if err != nil {
			return fmt.Errorf("registrar %s: %w", d.Registrar, err)
		}
		if n, _ := res.RowsAffected(); n > 0 {
			w.registrarsCreated++
		}
		w.knownRegistrars[d.Registrar] = true
	}
	expires := d.Expires.Format(dateLayout)
	ns, ds := rowcodec.EncodeNameservers(d.Nameservers), rowcodec.EncodeDS(d.DS)
	if existingID == 0 {
		// The transaction is the only writer: ids can be counted here.
		if w.nextID == 0 {
			if err := w.tx.QueryRowContext(ctx, `SELECT coalesce(max(id), 0) + 1 FROM domains`).Scan(&w.nextID); err != nil {
				return err
			}
		}
		if _, err := w.insert.ExecContext(ctx, d.Name, w.nextID, d.Zone, string(d.Status), d.Registrar, expires,
			d.TechEmail, d.GeoAuthority, ns, ds, w.now, w.now); err != nil {
			return err
		}
		w.nextID++
		w.inserted++
		return nil
	}
	res, err := w.update.ExecContext(ctx, d.Zone, string(d.Status), d.Registrar, expires,
		d.TechEmail, d.GeoAuthority, ns, ds, w.now, existingID)
	if err != nil {
		return err
	}
	if n, _ := res.RowsAffected(); n > 0 {
		w.updated++
	}
	return nil
}

// PutDomain implements store.DomainWriter.
func (db *DB) PutDomain(ctx context.Context, d store.Domain) error {
	if err := rowcodec.CheckWritable(&d); err != nil {
		return err
	}
	return db.inTx(ctx, func(tx *sql.Tx) error {
		w, err := newDomainWriter(ctx, tx, db.now())
		if err != nil {
			return err
		}
		defer w.close()
		id, err := w.existing(ctx, d.Name)
		if err == nil {
			err = w.put(ctx, &d, id)
		}
		if err != nil {
			return fmt.Errorf("sqlite: writing domain %s: %w", d.Name, err)
		}
		return nil
	})
}

// SetStatus implements store.DomainWriter.
func (db *DB) SetStatus(ctx context.Context, name string, status store.Status) error {
	if !status.Valid() {
		return fmt.Errorf("sqlite: %q is not a status", status)
	}
	res, err := db.db.ExecContext(ctx, `UPDATE domains SET status = ?, updated = ?, changed = (SELECT counter FROM change_feed) WHERE name = ?`,
		string(status), micros(db.now()), name)
	if err != nil {
		return fmt.Errorf("sqlite: setting status of %s: %w", name, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("domain %s: %w", name, store.ErrNotFound)
	}
	return nil
}
