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

// domainSelect reads domains with their nameservers and DS records
// aggregated into one text column each (rowcodec's format) and the
// delegation state joined, so that one row is one whole candidate.
const domainSelect = `
SELECT d.name, d.zone, d.status::text, d.registrar_id, d.expires, d.tech_email, d.geo_authority,
       coalesce(n.agg, ''), coalesce(s.agg, ''),
       st.last_verdict::text, st.last_checked, st.last_passed, st.first_failure,
       st.consecutive_failures, st.withheld, st.reason, st.updated
FROM domains d
LEFT JOIN LATERAL (
    SELECT string_agg(host || CASE WHEN cardinality(addrs) > 0 THEN ' ' || array_to_string(addrs, ' ') ELSE '' END,
                      ',' ORDER BY position) AS agg
    FROM nameservers WHERE domain_id = d.id) n ON true
LEFT JOIN LATERAL (
    SELECT string_agg(key_tag || ' ' || algorithm || ' ' || digest_type || ' ' || digest, ',' ORDER BY position) AS agg
    FROM ds_records WHERE domain_id = d.id) s ON true
LEFT JOIN delegation_state st ON st.domain_id = d.id`

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
	tx   pgx.Tx
	conn *pgxpool.Conn // nil once closed
	at   time.Time
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
	// The first statement fixes the snapshot; read the clock with it.
	if err := tx.QueryRow(ctx, `SELECT transaction_timestamp()`).Scan(&s.at); err != nil {
		s.Close()
		return nil, fmt.Errorf("postgres: snapshot: %w", err)
	}
	s.at = s.at.UTC()
	return s, nil
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
		q := domainSelect
		if len(where) > 0 {
			q += " WHERE " + strings.Join(where, " AND ")
		}
		q += " ORDER BY d.name"
		rows, err := s.tx.Query(ctx, q, args...)
		if err != nil {
			yield(store.Candidate{}, fmt.Errorf("postgres: streaming domains: %w", err))
			return
		}
		defer rows.Close()
		var r candidateRow
		for rows.Next() {
			if err := r.scan(rows); err != nil {
				yield(store.Candidate{}, fmt.Errorf("postgres: streaming domains: %w", err))
				return
			}
			c, err := r.candidate()
			if !yield(c, err) || err != nil {
				return
			}
		}
		if err := rows.Err(); err != nil {
			yield(store.Candidate{}, fmt.Errorf("postgres: streaming domains: %w", err))
		}
	}
}

// PutDomain implements store.DomainWriter.
func (db *DB) PutDomain(ctx context.Context, d store.Domain) error {
	if err := rowcodec.CheckWritable(&d); err != nil {
		return err
	}
	return db.inTx(ctx, pgx.TxOptions{}, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `INSERT INTO registrars (id) VALUES ($1) ON CONFLICT DO NOTHING`, d.Registrar); err != nil {
			return fmt.Errorf("postgres: registrar %s: %w", d.Registrar, err)
		}
		var id int64
		err := tx.QueryRow(ctx, `
			INSERT INTO domains (name, zone, status, registrar_id, expires, tech_email, geo_authority)
			VALUES ($1, $2, $3, $4, $5, $6, $7)
			ON CONFLICT (name) DO UPDATE SET zone = excluded.zone, status = excluded.status,
				registrar_id = excluded.registrar_id, expires = excluded.expires,
				tech_email = excluded.tech_email, geo_authority = excluded.geo_authority, updated = now()
			RETURNING id`,
			d.Name, d.Zone, string(d.Status), d.Registrar, d.Expires, d.TechEmail, d.GeoAuthority).Scan(&id)
		if err != nil {
			return fmt.Errorf("postgres: writing domain %s: %w", d.Name, err)
		}
		if _, err := tx.Exec(ctx, `DELETE FROM nameservers WHERE domain_id = $1`, id); err != nil {
			return fmt.Errorf("postgres: writing domain %s: %w", d.Name, err)
		}
		if _, err := tx.Exec(ctx, `DELETE FROM ds_records WHERE domain_id = $1`, id); err != nil {
			return fmt.Errorf("postgres: writing domain %s: %w", d.Name, err)
		}
		b := &pgx.Batch{}
		for i, ns := range d.Nameservers {
			b.Queue(`INSERT INTO nameservers (domain_id, position, host, addrs) VALUES ($1, $2, $3, $4)`,
				id, i, ns.Name, addrStrings(ns))
		}
		for i, ds := range d.DS {
			b.Queue(`INSERT INTO ds_records (domain_id, position, key_tag, algorithm, digest_type, digest) VALUES ($1, $2, $3, $4, $5, $6)`,
				id, i, int(ds.KeyTag), int(ds.Algorithm), int(ds.DigestType), ds.Digest)
		}
		if err := tx.SendBatch(ctx, b).Close(); err != nil {
			return fmt.Errorf("postgres: writing domain %s: %w", d.Name, err)
		}
		return nil
	})
}

func addrStrings(ns store.Nameserver) []string {
	out := make([]string, len(ns.Addrs))
	for i, a := range ns.Addrs {
		out[i] = a.String()
	}
	return out
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
