package postgres

import (
	"context"
	"errors"
	"fmt"
	"iter"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/ptzone/ptzone/store"
	"github.com/ptzone/ptzone/store/internal/sqlcore"
)

// Import implements store.DomainWriter. Records are COPYed into a staging
// table first, so that conflicts can be reported by input line and the set
// operations of ImportReplace run in SQL; then everything moves into the
// registry tables within the same transaction.
//
// The import runs under Options.ImportTimeout rather than the statement
// timeout: a whole registry goes through one COPY.
func (db *DB) Import(ctx context.Context, src iter.Seq2[store.ImportRecord, error], mode store.ImportMode) (store.ImportResult, error) {
	limit := db.opts.importTimeout()
	if limit > 0 {
		var cancel context.CancelFunc
		ctx, cancel = bound(ctx, withMargin(limit))
		defer cancel()
	}
	res, err := db.importInTx(ctx, src, mode, limit)
	if err != nil {
		return store.ImportResult{}, err
	}
	// Vacuum the fresh rows now, while the operator waits for the import,
	// rather than in the first zone build: that build would set the hint
	// bit of every row, and autovacuum would then scan the whole table
	// during the builds that follow. Best effort: the rows are committed
	// and analyzed, and autovacuum does it later if this fails.
	_, _ = db.pool.Exec(ctx, `VACUUM domains`)
	return res, nil
}

// importInTx stages, checks and moves the records in one transaction.
func (db *DB) importInTx(ctx context.Context, src iter.Seq2[store.ImportRecord, error], mode store.ImportMode, limit time.Duration) (store.ImportResult, error) {
	var res store.ImportResult
	err := db.inTx(ctx, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `SELECT set_config('statement_timeout', $1, true)`, strconv.FormatInt(limit.Milliseconds(), 10)); err != nil {
			return fmt.Errorf("postgres: import: %w", unanswered(ctx, err))
		}
		if err := stage(ctx, tx, src); err != nil {
			return err
		}
		if err := checkStagedDuplicates(ctx, tx); err != nil {
			return err
		}
		if mode == store.ImportInsert {
			if err := checkConflicts(ctx, tx); err != nil {
				return err
			}
		}
		if err := moveStaged(ctx, tx, mode, &res); err != nil {
			return err
		}
		// A bulk load leaves the planner without statistics until
		// autovacuum comes by: it would guess a few thousand rows and walk
		// an index where a scan of the table is seconds faster. ANALYZE
		// counts this transaction's own rows.
		if _, err := tx.Exec(ctx, `ANALYZE domains`); err != nil {
			return fmt.Errorf("postgres: import: analyzing domains: %w", err)
		}
		return nil
	})
	return res, err
}

// stage COPYs the records into the transaction's staging table.
func stage(ctx context.Context, tx pgx.Tx, src iter.Seq2[store.ImportRecord, error]) error {
	if _, err := tx.Exec(ctx, `
		CREATE TEMP TABLE import_domains (
			line integer NOT NULL, name text NOT NULL, zone text NOT NULL, status text NOT NULL,
			registrar text NOT NULL, expires date NOT NULL, tech_email text NOT NULL, geo_authority boolean NOT NULL,
			ns_hosts text[] NOT NULL, ns_addrs text[] NOT NULL,
			ds_tags integer[] NOT NULL, ds_algs integer[] NOT NULL, ds_types integer[] NOT NULL, ds_digests text[] NOT NULL
		) ON COMMIT DROP`); err != nil {
		return fmt.Errorf("postgres: import: %w", err)
	}
	source := newCopySource(src)
	defer source.stop()
	if _, err := tx.CopyFrom(ctx, pgx.Identifier{"import_domains"}, importColumns, source); err != nil {
		if source.err != nil {
			return source.err
		}
		return fmt.Errorf("postgres: import: copying records: %w", err)
	}
	return nil
}

var importColumns = []string{"line", "name", "zone", "status", "registrar", "expires", "tech_email", "geo_authority",
	"ns_hosts", "ns_addrs", "ds_tags", "ds_algs", "ds_types", "ds_digests"}

// copySource adapts an import sequence to pgx.CopyFromSource, validating
// each record on the way.
type copySource struct {
	next func() (store.ImportRecord, error, bool)
	stop func()
	row  []any
	err  error
}

func newCopySource(src iter.Seq2[store.ImportRecord, error]) *copySource {
	next, stop := iter.Pull2(src)
	return &copySource{next: next, stop: stop}
}

func (s *copySource) Next() bool {
	rec, err, ok := s.next()
	if !ok {
		return false
	}
	if err != nil {
		s.err = err
		return false
	}
	d := &rec.Domain
	if err := sqlcore.CheckWritable(d); err != nil {
		s.err = fmt.Errorf("line %d: %w", rec.Line, err)
		return false
	}
	hosts, addrs, tags, algs, types, digests := delegationArgs(d)
	s.row = []any{int32(rec.Line), d.Name, d.Zone, string(d.Status), d.Registrar, d.Expires, d.TechEmail, d.GeoAuthority,
		hosts, addrs, tags, algs, types, digests}
	return true
}

func (s *copySource) Values() ([]any, error) { return s.row, nil }

func (s *copySource) Err() error { return s.err }

func checkStagedDuplicates(ctx context.Context, tx pgx.Tx) error {
	var name string
	var first, second int
	err := tx.QueryRow(ctx, `
		SELECT name, min(line), max(line) FROM import_domains
		GROUP BY name HAVING count(*) > 1 ORDER BY min(line) LIMIT 1`).Scan(&name, &first, &second)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("postgres: import: checking duplicates: %w", err)
	}
	return fmt.Errorf("line %d: %s is also on line %d", second, name, first)
}

func checkConflicts(ctx context.Context, tx pgx.Tx) error {
	rows, err := tx.Query(ctx, `
		SELECT i.line, i.name, count(*) OVER ()
		FROM import_domains i JOIN domains d ON d.name = i.name
		ORDER BY i.line LIMIT $1`, sqlcore.MaxConflictsReported)
	if err != nil {
		return fmt.Errorf("postgres: import: checking conflicts: %w", err)
	}
	ce := &store.ConflictError{}
	for rows.Next() {
		var c store.Conflict
		if err := rows.Scan(&c.Line, &c.Name, &ce.Total); err != nil {
			rows.Close()
			return fmt.Errorf("postgres: import: checking conflicts: %w", err)
		}
		ce.Conflicts = append(ce.Conflicts, c)
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("postgres: import: checking conflicts: %w", err)
	}
	if ce.Total > 0 {
		return ce
	}
	return nil
}

// moveStaged writes the staged records into the registry tables.
func moveStaged(ctx context.Context, tx pgx.Tx, mode store.ImportMode, res *store.ImportResult) error {
	exec := func(what, sql string) (int, error) {
		tag, err := tx.Exec(ctx, sql)
		if err != nil {
			return 0, fmt.Errorf("postgres: import: %s: %w", what, err)
		}
		return int(tag.RowsAffected()), nil
	}
	var err error
	if res.RegistrarsCreated, err = exec("creating registrars", `
		INSERT INTO registrars (id) SELECT DISTINCT registrar FROM import_domains ORDER BY 1
		ON CONFLICT DO NOTHING`); err != nil {
		return err
	}
	if mode == store.ImportReplace {
		if _, err := exec("indexing staged names", `CREATE INDEX ON import_domains (name)`); err != nil {
			return err
		}
		if res.Deleted, err = exec("deleting absent domains", `
			DELETE FROM domains d WHERE NOT EXISTS (SELECT 1 FROM import_domains i WHERE i.name = d.name)`); err != nil {
			return err
		}
		if res.Updated, err = exec("updating domains", `
			UPDATE domains d SET zone = i.zone, status = i.status::domain_status, registrar_id = i.registrar,
				expires = i.expires, tech_email = i.tech_email, geo_authority = i.geo_authority,
				nameservers = ptz_make_nameservers(i.ns_hosts, i.ns_addrs),
				ds = ptz_make_ds(i.ds_tags, i.ds_algs, i.ds_types, i.ds_digests), updated = now()
			FROM import_domains i WHERE i.name = d.name
			-- A row the same as before is left alone: not stamped for the
			-- change feed, not queued for a check, not counted as updated.
			AND (d.zone, d.status, d.registrar_id, d.expires, d.tech_email, d.geo_authority, d.nameservers, d.ds)
				IS DISTINCT FROM (i.zone, i.status::domain_status, i.registrar, i.expires, i.tech_email, i.geo_authority,
					ptz_make_nameservers(i.ns_hosts, i.ns_addrs), ptz_make_ds(i.ds_tags, i.ds_algs, i.ds_types, i.ds_digests))`); err != nil {
			return err
		}
	}
	if res.Inserted, err = exec("inserting domains", `
		INSERT INTO domains (name, zone, status, registrar_id, expires, tech_email, geo_authority, nameservers, ds)
		SELECT name, zone, status::domain_status, registrar, expires, tech_email, geo_authority,
			ptz_make_nameservers(ns_hosts, ns_addrs), ptz_make_ds(ds_tags, ds_algs, ds_types, ds_digests)
		FROM import_domains i
		WHERE NOT EXISTS (SELECT 1 FROM domains d WHERE d.name = i.name)
		ORDER BY line`); err != nil {
		return err
	}
	return nil
}
