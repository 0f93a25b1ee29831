package postgres

import (
	"context"
	"errors"
	"fmt"
	"iter"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/ptzone/ptzone/store"
	"github.com/ptzone/ptzone/store/internal/rowcodec"
)

// domainSelect reads whole candidates: each domain row carries its
// nameservers and DS records (as generated text in rowcodec's format), and
// the delegation state is joined.
const domainSelect = `
SELECT d.name, d.zone, d.status::text, d.registrar_id, d.expires, d.tech_email, d.geo_authority,
       d.ns_text, d.ds_text,
       st.last_verdict::text, st.last_checked, st.last_passed, st.first_failure,
       st.consecutive_failures, st.withheld, st.reason, st.updated
FROM domains d
LEFT JOIN delegation_state st ON st.domain_id = d.id`

// leanSelect is domainSelect for Filter.DelegationOnly.
const leanSelect = `
SELECT d.name, d.zone, d.status::text, d.ns_text, d.ds_text, st.last_passed, st.withheld
FROM domains d
LEFT JOIN delegation_state st ON st.domain_id = d.id`

// leanRow is one row of leanSelect.
type leanRow struct {
	name, zone, status, nsAgg, dsAgg string
	lastPassed                       pgtype.Timestamptz
	withheld                         pgtype.Bool
}

// scan reads one row. A zone build reads millions: the text columns are
// taken from the row's raw values (the same octets in text and binary
// format), and zone and status, alike from row to row, keep the previous
// row's string. The state's columns, NULL for a domain never checked,
// are decoded by pgx's own codecs.
func (r *leanRow) scan(rows pgx.Rows) error {
	vals := rows.RawValues()
	if len(vals) != 7 || vals[0] == nil || vals[1] == nil || vals[2] == nil || vals[3] == nil || vals[4] == nil {
		return rows.Scan(&r.name, &r.zone, &r.status, &r.nsAgg, &r.dsAgg, &r.lastPassed, &r.withheld) // pgx's error
	}
	r.name = string(vals[0])
	if string(vals[1]) != r.zone {
		r.zone = string(vals[1])
	}
	if string(vals[2]) != r.status {
		r.status = string(vals[2])
	}
	r.nsAgg, r.dsAgg = string(vals[3]), string(vals[4])
	r.lastPassed, r.withheld = pgtype.Timestamptz{}, pgtype.Bool{}
	fds := rows.FieldDescriptions()
	types := rows.Conn().TypeMap()
	if vals[5] != nil {
		if err := types.Scan(fds[5].DataTypeOID, fds[5].Format, vals[5], &r.lastPassed); err != nil {
			return fmt.Errorf("last_passed of %s: %w", r.name, err)
		}
	}
	if vals[6] != nil {
		if err := types.Scan(fds[6].DataTypeOID, fds[6].Format, vals[6], &r.withheld); err != nil {
			return fmt.Errorf("withheld of %s: %w", r.name, err)
		}
	}
	return nil
}

func (r *leanRow) candidate() (store.Candidate, error) {
	c, err := rowcodec.Lean(r.name, r.zone, r.status, r.nsAgg, r.dsAgg)
	if err != nil {
		return c, fmt.Errorf("postgres: %w", err)
	}
	if r.withheld.Valid {
		c.State = &store.DelegationState{Domain: r.name, LastPassed: tsTime(r.lastPassed), Withheld: r.withheld.Bool}
	}
	return c, nil
}

// candidateRow holds one scanned row; its fields are reused across rows.
type candidateRow struct {
	name, zone, status, registrar, techEmail string
	expires                                  time.Time
	geo                                      bool
	nsAgg, dsAgg                             string
	verdict, reason                          pgtype.Text
	lastChecked, lastPassed, firstFailure    pgtype.Timestamptz
	updated                                  pgtype.Timestamptz
	failures                                 pgtype.Int4
	withheld                                 pgtype.Bool
}

func (r *candidateRow) scan(rows pgx.Row) error {
	return rows.Scan(&r.name, &r.zone, &r.status, &r.registrar, &r.expires, &r.techEmail, &r.geo,
		&r.nsAgg, &r.dsAgg,
		&r.verdict, &r.lastChecked, &r.lastPassed, &r.firstFailure,
		&r.failures, &r.withheld, &r.reason, &r.updated)
}

func (r *candidateRow) candidate() (store.Candidate, error) {
	d := store.Domain{
		Name:         r.name,
		Zone:         r.zone,
		Status:       store.Status(r.status),
		Registrar:    r.registrar,
		Expires:      time.Date(r.expires.Year(), r.expires.Month(), r.expires.Day(), 0, 0, 0, 0, time.UTC),
		TechEmail:    r.techEmail,
		GeoAuthority: r.geo,
	}
	var err error
	if d.Nameservers, err = rowcodec.DecodeNameservers(r.nsAgg); err != nil {
		return store.Candidate{}, fmt.Errorf("postgres: domain %s: %w", r.name, err)
	}
	if d.DS, err = rowcodec.DecodeDS(r.dsAgg); err != nil {
		return store.Candidate{}, fmt.Errorf("postgres: domain %s: %w", r.name, err)
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
		LastChecked:         tsTime(r.lastChecked),
		LastPassed:          tsTime(r.lastPassed),
		FirstFailure:        tsTime(r.firstFailure),
		ConsecutiveFailures: int(r.failures.Int32),
		Withheld:            r.withheld.Bool,
		Reason:              r.reason.String,
		Updated:             tsTime(r.updated),
	}
}

func tsTime(t pgtype.Timestamptz) time.Time {
	if !t.Valid {
		return time.Time{}
	}
	return t.Time.UTC()
}

func tsArg(t time.Time) pgtype.Timestamptz {
	if t.IsZero() {
		return pgtype.Timestamptz{}
	}
	return pgtype.Timestamptz{Time: store.TruncateTime(t), Valid: true}
}

// Domain implements store.DomainReader.
func (db *DB) Domain(ctx context.Context, name string) (store.Domain, error) {
	var r candidateRow
	err := r.scan(db.pool.QueryRow(ctx, domainSelect+` WHERE d.name = $1`, name))
	if errors.Is(err, pgx.ErrNoRows) {
		return store.Domain{}, fmt.Errorf("domain %s: %w", name, store.ErrNotFound)
	}
	if err != nil {
		return store.Domain{}, fmt.Errorf("postgres: reading domain %s: %w", name, err)
	}
	c, err := r.candidate()
	return c.Domain, err
}

// Counts implements store.DomainReader.
func (db *DB) Counts(ctx context.Context) ([]store.ZoneCount, error) {
	rows, err := db.pool.Query(ctx, `SELECT zone, status::text, count(*) FROM domains GROUP BY zone, status ORDER BY zone, status`)
	if err != nil {
		return nil, fmt.Errorf("postgres: counting domains: %w", err)
	}
	out, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (store.ZoneCount, error) {
		var c store.ZoneCount
		err := row.Scan(&c.Zone, &c.Status, &c.Count)
		return c, err
	})
	if err != nil {
		return nil, fmt.Errorf("postgres: counting domains: %w", err)
	}
	return out, nil
}

// snapshot is one REPEATABLE READ, READ ONLY transaction on its own
// connection.
type snapshot struct {
	tx    pgx.Tx
	conn  *pgxpool.Conn // nil once closed
	at    time.Time
	token string
}

// Snapshot implements store.DomainReader.
func (db *DB) Snapshot(ctx context.Context) (store.Snapshot, error) {
	conn, err := db.pool.Acquire(ctx)
	if err != nil {
		return nil, fmt.Errorf("postgres: snapshot: %w", err)
	}
	tx, err := conn.BeginTx(ctx, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly})
	if err != nil {
		conn.Release()
		return nil, fmt.Errorf("postgres: snapshot: %w", err)
	}
	s := &snapshot{tx: tx, conn: conn}
	// The first statement fixes the snapshot; read the clock and the
	// snapshot's place in the change feed with it.
	var epoch, snap string
	if err := tx.QueryRow(ctx, `SELECT transaction_timestamp(), (SELECT epoch FROM change_feed), pg_current_snapshot()::text`).Scan(&s.at, &epoch, &snap); err != nil {
		s.Close()
		return nil, fmt.Errorf("postgres: snapshot: %w", err)
	}
	s.at = s.at.UTC()
	s.token = "pg:" + epoch + ":" + snap
	// A snapshot's queries stream whole zones through simple expressions:
	// compiling them costs more (up to a second at registry scale, once
	// the planner knows the table's size) than it ever saves.
	if _, err := tx.Exec(ctx, `SET LOCAL jit = off`); err != nil {
		s.Close()
		return nil, fmt.Errorf("postgres: snapshot: %w", err)
	}
	return s, nil
}

func (s *snapshot) ChangeToken() string { return s.token }

// changesSelect reads the changed rows as leanSelect or domainSelect do:
// those written by a transaction the earlier snapshot ($2) did not see.
const changesWhere = ` WHERE d.changed >= pg_snapshot_xmin($1::pg_snapshot) AND NOT pg_visible_in_snapshot(d.changed, $1::pg_snapshot)`

func (s *snapshot) Changes(ctx context.Context, since string, f store.Filter) iter.Seq2[store.DomainChange, error] {
	return func(yield func(store.DomainChange, error) bool) {
		prev, ok := s.sinceSnapshot(since)
		if !ok {
			yield(store.DomainChange{}, fmt.Errorf("postgres: changes since %q: %w", since, store.ErrChangeToken))
			return
		}
		// A token from the future (a database restored from an older
		// backup) would hide changes: refuse it.
		var future bool
		if err := s.tx.QueryRow(ctx, `SELECT pg_snapshot_xmax($1::pg_snapshot) > pg_snapshot_xmax(pg_current_snapshot())`, prev).Scan(&future); err != nil {
			yield(store.DomainChange{}, fmt.Errorf("postgres: changes since %q: %v: %w", since, err, store.ErrChangeToken))
			return
		}
		if future {
			yield(store.DomainChange{}, fmt.Errorf("postgres: changes since %q: the token is newer than the database: %w", since, store.ErrChangeToken))
			return
		}
		zoneCond, args := "", []any{prev}
		if f.Zone != "" {
			args = append(args, f.Zone)
			zoneCond = " AND zone = $2"
		}
		rows, err := s.tx.Query(ctx, `SELECT name, zone FROM domain_deletions
			WHERE changed >= pg_snapshot_xmin($1::pg_snapshot) AND NOT pg_visible_in_snapshot(changed, $1::pg_snapshot)`+zoneCond+` ORDER BY name`, args...)
		if err != nil {
			yield(store.DomainChange{}, fmt.Errorf("postgres: reading deletions: %w", err))
			return
		}
		var gone []store.DomainChange
		for rows.Next() {
			var c store.DomainChange
			if err := rows.Scan(&c.Name, &c.Zone); err != nil {
				rows.Close()
				yield(store.DomainChange{}, fmt.Errorf("postgres: reading deletions: %w", err))
				return
			}
			gone = append(gone, c)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			yield(store.DomainChange{}, fmt.Errorf("postgres: reading deletions: %w", err))
			return
		}
		for _, c := range gone {
			if !yield(c, nil) {
				return
			}
		}
		q := domainSelect
		if f.DelegationOnly {
			q = leanSelect
		}
		q += changesWhere
		if f.Zone != "" {
			q += " AND d.zone = $2"
		}
		q += " ORDER BY d.name"
		for c, err := range s.stream(ctx, q, args, f.DelegationOnly, "postgres: reading changes") {
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

// sinceSnapshot checks that a token is this database's and returns its
// pg_snapshot.
func (s *snapshot) sinceSnapshot(token string) (string, bool) {
	rest, ok := strings.CutPrefix(token, "pg:")
	if !ok {
		return "", false
	}
	epoch, snap, ok := strings.Cut(rest, ":")
	mine, _ := strings.CutPrefix(s.token, "pg:")
	myEpoch, _, _ := strings.Cut(mine, ":")
	return snap, ok && epoch == myEpoch && snap != ""
}

func (s *snapshot) Time() time.Time { return s.at }

func (s *snapshot) Close() error {
	if s.conn == nil {
		return nil
	}
	err := s.tx.Rollback(context.Background())
	s.conn.Release()
	s.conn = nil
	if err != nil && !errors.Is(err, pgx.ErrTxClosed) {
		return fmt.Errorf("postgres: closing snapshot: %w", err)
	}
	return nil
}

func (s *snapshot) Domains(ctx context.Context, f store.Filter) iter.Seq2[store.Candidate, error] {
	return func(yield func(store.Candidate, error) bool) {
		var where []string
		var args []any
		if f.Zone != "" {
			args = append(args, f.Zone)
			where = append(where, fmt.Sprintf("d.zone = $%d", len(args)))
		}
		if len(f.Statuses) > 0 {
			st := make([]string, len(f.Statuses))
			for i, x := range f.Statuses {
				st[i] = string(x)
			}
			args = append(args, st)
			where = append(where, fmt.Sprintf("d.status = ANY($%d::domain_status[])", len(args)))
		}
		if f.Registrar != "" {
			args = append(args, f.Registrar)
			where = append(where, fmt.Sprintf("d.registrar_id = $%d", len(args)))
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
		for c, err := range s.stream(ctx, q, args, f.DelegationOnly, "postgres: streaming domains") {
			if !yield(c, err) || err != nil {
				return
			}
		}
	}
}

// stream runs a query of domainSelect or leanSelect and yields its rows.
func (s *snapshot) stream(ctx context.Context, q string, args []any, lean bool, what string) iter.Seq2[store.Candidate, error] {
	return func(yield func(store.Candidate, error) bool) {
		rows, err := s.tx.Query(ctx, q, args...)
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

// delegationArgs flattens nameservers and DS into the arrays that
// ptz_make_nameservers and ptz_make_ds take.
func delegationArgs(d *store.Domain) (hosts, addrs []string, tags, algs, types []int32, digests []string) {
	hosts = make([]string, len(d.Nameservers))
	addrs = make([]string, len(d.Nameservers))
	for i, ns := range d.Nameservers {
		hosts[i] = ns.Name
		addrs[i] = rowcodec.JoinAddrs(ns.Addrs)
	}
	tags = make([]int32, len(d.DS))
	algs = make([]int32, len(d.DS))
	types = make([]int32, len(d.DS))
	digests = make([]string, len(d.DS))
	for i, ds := range d.DS {
		tags[i], algs[i], types[i], digests[i] = int32(ds.KeyTag), int32(ds.Algorithm), int32(ds.DigestType), ds.Digest
	}
	return
}

// PutDomain implements store.DomainWriter.
func (db *DB) PutDomain(ctx context.Context, d store.Domain) error {
	if err := rowcodec.CheckWritable(&d); err != nil {
		return err
	}
	hosts, addrs, tags, algs, types, digests := delegationArgs(&d)
	return db.inTx(ctx, pgx.TxOptions{}, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `INSERT INTO registrars (id) VALUES ($1) ON CONFLICT DO NOTHING`, d.Registrar); err != nil {
			return fmt.Errorf("postgres: registrar %s: %w", d.Registrar, err)
		}
		_, err := tx.Exec(ctx, `
			INSERT INTO domains (name, zone, status, registrar_id, expires, tech_email, geo_authority, nameservers, ds)
			VALUES ($1, $2, $3, $4, $5, $6, $7, ptz_make_nameservers($8, $9), ptz_make_ds($10, $11, $12, $13))
			ON CONFLICT (name) DO UPDATE SET zone = excluded.zone, status = excluded.status,
				registrar_id = excluded.registrar_id, expires = excluded.expires,
				tech_email = excluded.tech_email, geo_authority = excluded.geo_authority,
				nameservers = excluded.nameservers, ds = excluded.ds, updated = now()`,
			d.Name, d.Zone, string(d.Status), d.Registrar, d.Expires, d.TechEmail, d.GeoAuthority,
			hosts, addrs, tags, algs, types, digests)
		if err != nil {
			return fmt.Errorf("postgres: writing domain %s: %w", d.Name, err)
		}
		return nil
	})
}

// SetStatus implements store.DomainWriter.
func (db *DB) SetStatus(ctx context.Context, name string, status store.Status) error {
	if !status.Valid() {
		return fmt.Errorf("postgres: %q is not a status", status)
	}
	tag, err := db.pool.Exec(ctx, `UPDATE domains SET status = $2, updated = now() WHERE name = $1`, name, string(status))
	if err != nil {
		return fmt.Errorf("postgres: setting status of %s: %w", name, err)
	}
	if tag.RowsAffected() == 0 {
		return fmt.Errorf("domain %s: %w", name, store.ErrNotFound)
	}
	return nil
}
