package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/ptzone/ptzone/store"
	"github.com/ptzone/ptzone/store/internal/sqlcore"
)

const dateLayout = "2006-01-02"

// snapshot is one read transaction on its own connection; in WAL mode it
// sees the database as of its first read, whatever is committed later.
type snapshot struct {
	sqlcore.Snapshot
	conn  *sql.Conn
	tx    *sql.Tx // nil once closed
	at    time.Time
	epoch string
	token int64
	// pruned is the newest counter of the deletions the prune job
	// removed: a token at or before it would need them.
	pruned int64
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
	s := &snapshot{conn: conn, tx: tx, at: db.Now().UTC()}
	s.Snapshot = sqlcore.Snapshot{Core: db.Core, Tx: querier{tx}, ChangedSince: s.changedSince}
	// A deferred transaction takes its snapshot at the first read: read now.
	if err := tx.QueryRowContext(ctx, `SELECT epoch, counter, pruned FROM change_feed`).Scan(&s.epoch, &s.token, &s.pruned); err != nil {
		s.Close()
		return nil, fmt.Errorf("sqlite: snapshot: %w", err)
	}
	return s, nil
}

func (s *snapshot) ChangeToken() string { return fmt.Sprintf("sqlite:%s:%d", s.epoch, s.token) }

// changedCond selects the rows stamped at or after the counter $1.
const changedCond = "d.changed >= $1"

// changedSince selects the rows stamped at or after the token's counter
// (0002_change_feed.sql).
func (s *snapshot) changedSince(_ context.Context, since string) (string, []any, error) {
	from, ok := s.sinceCounter(since)
	if !ok {
		return "", nil, fmt.Errorf("sqlite: changes since %q: %w", since, store.ErrChangeToken)
	}
	if from <= s.pruned {
		return "", nil, fmt.Errorf("sqlite: changes since %q: the token is older than deletions pruned from the change feed: %w", since, store.ErrChangeToken)
	}
	return changedCond, []any{from}, nil
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
	ns, ds := sqlcore.EncodeNameservers(d.Nameservers), sqlcore.EncodeDS(d.DS)
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
	if err := sqlcore.CheckWritable(&d); err != nil {
		return err
	}
	return db.inTx(ctx, func(tx *sql.Tx) error {
		w, err := newDomainWriter(ctx, tx, db.Now())
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
