package postgres

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/ptzone/ptzone/store"
	"github.com/ptzone/ptzone/store/internal/sqlcore"
)

// scanLean reads one row of the delegation-only select. A zone build reads
// millions: the text columns are taken from the row's raw values (the
// same octets in text and binary format), and zone and status, alike from
// row to row, keep the previous row's string. The state's columns, NULL
// for a domain never checked, are decoded by pgx's own codecs.
func scanLean(rs sqlcore.Rows, r *sqlcore.LeanRow) error {
	rows := rs.(pgx.Rows)
	vals := rows.RawValues()
	if len(vals) != 7 || vals[0] == nil || vals[1] == nil || vals[2] == nil || vals[3] == nil || vals[4] == nil {
		return r.Scan(rows) // pgx's error
	}
	r.Name = string(vals[0])
	if string(vals[1]) != r.Zone {
		r.Zone = string(vals[1])
	}
	if string(vals[2]) != r.Status {
		r.Status = string(vals[2])
	}
	r.NameserversText, r.DSText = string(vals[3]), string(vals[4])
	r.Checked, r.Withheld, r.LastPassed = false, false, sqlcore.TimeCol{}
	fds := rows.FieldDescriptions()
	types := rows.Conn().TypeMap()
	if vals[5] != nil {
		if err := types.Scan(fds[5].DataTypeOID, fds[5].Format, vals[5], &r.LastPassed.T); err != nil {
			return fmt.Errorf("last_passed of %s: %w", r.Name, err)
		}
		r.LastPassed.T = r.LastPassed.T.UTC()
	}
	if vals[6] != nil {
		if err := types.Scan(fds[6].DataTypeOID, fds[6].Format, vals[6], &r.Withheld); err != nil {
			return fmt.Errorf("withheld of %s: %w", r.Name, err)
		}
		r.Checked = true
	}
	return nil
}

// snapshot is one REPEATABLE READ, READ ONLY transaction on its own
// connection.
type snapshot struct {
	sqlcore.Snapshot
	timeout time.Duration // the store's call timeout
	tx      pgx.Tx
	conn    *pgxpool.Conn // nil once closed
	at      time.Time
	token   string
}

// Snapshot implements store.DomainReader.
func (db *DB) Snapshot(ctx context.Context) (store.Snapshot, error) {
	s, err := db.snapshot(ctx)
	if err != nil {
		return nil, err
	}
	return s, nil
}

// snapshot opens the snapshot's transaction under the call timeout; its
// queries are each bounded by it.
func (db *DB) snapshot(ctx context.Context) (*snapshot, error) {
	ctx, cancel := db.bound(ctx)
	defer cancel()
	conn, err := db.pool.Acquire(ctx)
	if err != nil {
		return nil, fmt.Errorf("postgres: snapshot: %w", unanswered(ctx, err))
	}
	tx, err := conn.BeginTx(ctx, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly})
	if err != nil {
		conn.Release()
		return nil, fmt.Errorf("postgres: snapshot: %w", unanswered(ctx, err))
	}
	s := &snapshot{tx: tx, conn: conn, timeout: db.opts.callTimeout()}
	s.Snapshot = sqlcore.Snapshot{Core: db.Core, Tx: querier{tx, db.opts.callTimeout()}, ChangedSince: s.changedSince, ScanLean: scanLean}
	// The first statement fixes the snapshot; read the clock and the
	// snapshot's place in the change feed with it.
	var epoch, snap string
	if err := tx.QueryRow(ctx, `SELECT transaction_timestamp(), (SELECT epoch FROM change_feed), pg_current_snapshot()::text`).Scan(&s.at, &epoch, &snap); err != nil {
		s.Close()
		return nil, fmt.Errorf("postgres: snapshot: %w", unanswered(ctx, err))
	}
	s.at = s.at.UTC()
	s.token = "pg:" + epoch + ":" + snap
	// A snapshot's queries stream whole zones through simple expressions:
	// compiling them costs more (up to a second at registry scale, once
	// the planner knows the table's size) than it ever saves.
	if _, err := tx.Exec(ctx, `SET LOCAL jit = off`); err != nil {
		s.Close()
		return nil, fmt.Errorf("postgres: snapshot: %w", unanswered(ctx, err))
	}
	return s, nil
}

func (s *snapshot) ChangeToken() string { return s.token }

// changedSince selects the rows written by a transaction the snapshot of
// token since did not see.
func (s *snapshot) changedSince(ctx context.Context, since string) (string, []any, error) {
	prev, ok := s.sinceSnapshot(since)
	if !ok {
		return "", nil, fmt.Errorf("postgres: changes since %q: %w", since, store.ErrChangeToken)
	}
	// A token from the future (a database restored from an older
	// backup) would hide changes: refuse it. So would one from before
	// deletions the prune job removed (0012_prune_change_feed.sql).
	ctx, cancel := bound(ctx, s.timeout)
	defer cancel()
	var future, pruned bool
	if err := s.tx.QueryRow(ctx, `SELECT pg_snapshot_xmax($1::pg_snapshot) > pg_snapshot_xmax(pg_current_snapshot()),
		(SELECT pruned FROM change_feed) >= pg_snapshot_xmin($1::pg_snapshot)`, prev).Scan(&future, &pruned); err != nil {
		return "", nil, fmt.Errorf("postgres: changes since %q: %v: %w", since, err, store.ErrChangeToken)
	}
	if future {
		return "", nil, fmt.Errorf("postgres: changes since %q: the token is newer than the database: %w", since, store.ErrChangeToken)
	}
	if pruned {
		return "", nil, fmt.Errorf("postgres: changes since %q: the token is older than deletions pruned from the change feed: %w", since, store.ErrChangeToken)
	}
	return `d.changed >= pg_snapshot_xmin($1::pg_snapshot) AND NOT pg_visible_in_snapshot(d.changed, $1::pg_snapshot)`, []any{prev}, nil
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
	ctx, cancel := bound(context.Background(), s.timeout)
	defer cancel()
	err := s.tx.Rollback(ctx)
	s.conn.Release()
	s.conn = nil
	if err != nil && !errors.Is(err, pgx.ErrTxClosed) {
		return fmt.Errorf("postgres: closing snapshot: %w", err)
	}
	return nil
}

// delegationArgs flattens nameservers and DS into the arrays that
// ptz_make_nameservers and ptz_make_ds take.
func delegationArgs(d *store.Domain) (hosts, addrs []string, tags, algs, types []int32, digests []string) {
	hosts = make([]string, len(d.Nameservers))
	addrs = make([]string, len(d.Nameservers))
	for i, ns := range d.Nameservers {
		hosts[i] = ns.Name
		addrs[i] = sqlcore.JoinAddrs(ns.Addrs)
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
	if err := sqlcore.CheckWritable(&d); err != nil {
		return err
	}
	hosts, addrs, tags, algs, types, digests := delegationArgs(&d)
	return db.inTx(ctx, func(tx pgx.Tx) error {
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
