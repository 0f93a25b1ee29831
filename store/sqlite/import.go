package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"iter"

	"github.com/ptzone/ptzone/store"
	"github.com/ptzone/ptzone/store/internal/sqlcore"
)

// Import implements store.DomainWriter. It writes record by record in one
// transaction, remembering each imported name and its line in a temporary
// table: that finds duplicate names, and in ImportReplace mode the names to
// delete. Any error rolls everything back.
func (db *DB) Import(ctx context.Context, src iter.Seq2[store.ImportRecord, error], mode store.ImportMode) (store.ImportResult, error) {
	var res store.ImportResult
	err := db.inTx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `CREATE TEMP TABLE import_lines (name TEXT PRIMARY KEY, line INTEGER NOT NULL) WITHOUT ROWID`); err != nil {
			return fmt.Errorf("sqlite: import: %w", err)
		}
		// Temporary tables are per connection: drop it whatever happens.
		defer tx.ExecContext(context.WithoutCancel(ctx), `DROP TABLE IF EXISTS temp.import_lines`)
		remember, err := tx.PrepareContext(ctx, `INSERT INTO import_lines (name, line) VALUES (?, ?) ON CONFLICT DO NOTHING`)
		if err != nil {
			return fmt.Errorf("sqlite: import: %w", err)
		}
		defer remember.Close()
		w, err := newDomainWriter(ctx, tx, db.Now())
		if err != nil {
			return err
		}
		defer w.close()

		conflicts := &store.ConflictError{}
		for rec, err := range src {
			if err != nil {
				return err
			}
			d := &rec.Domain
			if err := sqlcore.CheckWritable(d); err != nil {
				return fmt.Errorf("line %d: %w", rec.Line, err)
			}
			r, err := remember.ExecContext(ctx, d.Name, rec.Line)
			if err != nil {
				return fmt.Errorf("sqlite: import: line %d: %w", rec.Line, err)
			}
			if n, _ := r.RowsAffected(); n == 0 {
				var first int
				if err := tx.QueryRowContext(ctx, `SELECT line FROM import_lines WHERE name = ?`, d.Name).Scan(&first); err != nil {
					return fmt.Errorf("sqlite: import: line %d: %w", rec.Line, err)
				}
				return fmt.Errorf("line %d: %s is also on line %d", rec.Line, d.Name, first)
			}
			id, err := w.existing(ctx, d.Name)
			if err != nil {
				return fmt.Errorf("sqlite: import: line %d: %w", rec.Line, err)
			}
			if mode == store.ImportInsert && id != 0 {
				conflicts.Total++
				if len(conflicts.Conflicts) < sqlcore.MaxConflictsReported {
					conflicts.Conflicts = append(conflicts.Conflicts, store.Conflict{Line: rec.Line, Name: d.Name})
				}
			}
			if conflicts.Total > 0 {
				continue // keep reading to count every conflict; write nothing more
			}
			if err := w.put(ctx, d, id); err != nil {
				return fmt.Errorf("sqlite: import: line %d: %s: %w", rec.Line, d.Name, err)
			}
		}
		if conflicts.Total > 0 {
			return conflicts
		}
		if mode == store.ImportReplace {
			r, err := tx.ExecContext(ctx, `DELETE FROM domains WHERE name NOT IN (SELECT name FROM import_lines)`)
			if err != nil {
				return fmt.Errorf("sqlite: import: deleting absent domains: %w", err)
			}
			n, _ := r.RowsAffected()
			res.Deleted = int(n)
		}
		res.Inserted, res.Updated, res.RegistrarsCreated = w.inserted, w.updated, w.registrarsCreated
		return nil
	})
	if err != nil {
		return store.ImportResult{}, err
	}
	return res, nil
}
