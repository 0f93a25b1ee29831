package sqlcore

import (
	"context"
	"fmt"
	"io/fs"
	"path"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/ptzone/ptzone/store"
)

// Migration is one numbered schema step: a file NNNN_name.sql of a
// backend's embedded directory. Each backend keeps its own files (its own
// dialect); released ones are never edited.
type Migration struct {
	Version int
	Name    string // the file name, recorded with the version
	SQL     string
}

// LoadMigrations reads the migrations in dir of fsys, sorted by version, and checks
// that they are numbered 1, 2, 3... without gaps or repeats.
func LoadMigrations(fsys fs.FS, dir string) ([]Migration, error) {
	entries, err := fs.ReadDir(fsys, dir)
	if err != nil {
		return nil, err
	}
	var out []Migration
	for _, e := range entries {
		if !strings.HasSuffix(e.Name(), ".sql") {
			continue
		}
		num, _, ok := strings.Cut(e.Name(), "_")
		v, err := strconv.Atoi(num)
		if !ok || err != nil {
			return nil, fmt.Errorf("migration file %s: name must start with a number and '_'", e.Name())
		}
		b, err := fs.ReadFile(fsys, path.Join(dir, e.Name()))
		if err != nil {
			return nil, err
		}
		out = append(out, Migration{Version: v, Name: e.Name(), SQL: string(b)})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Version < out[j].Version })
	for i, m := range out {
		if m.Version != i+1 {
			return nil, fmt.Errorf("migration %s: expected version %d", m.Name, i+1)
		}
	}
	return out, nil
}

// Migrate applies to db the migrations it has not applied yet, each in a
// transaction of its own that records it in schema_migrations (which
// createTable creates when missing), and returns the versions applied.
func Migrate(ctx context.Context, db DB, d *Dialect, ms []Migration, createTable string, now time.Time) ([]int, error) {
	if _, err := db.Exec(ctx, createTable); err != nil {
		return nil, fmt.Errorf("creating schema_migrations: %w", err)
	}
	var current int
	if err := db.QueryRow(ctx, `SELECT coalesce(max(version), 0) FROM schema_migrations`).Scan(&current); err != nil {
		return nil, fmt.Errorf("reading schema version: %w", err)
	}
	if current > len(ms) {
		return nil, fmt.Errorf("schema version %d is newer than this binary knows (%d): %w", current, len(ms), store.ErrSchema)
	}
	var applied []int
	for _, m := range ms[current:] {
		err := InTx(ctx, db, d, func(tx Querier) error {
			if _, err := tx.Exec(ctx, m.SQL); err != nil {
				return err
			}
			_, err := tx.Exec(ctx, `INSERT INTO schema_migrations (version, name, applied) VALUES ($1, $2, $3)`,
				m.Version, m.Name, d.Time(now))
			return err
		})
		if err != nil {
			return applied, fmt.Errorf("applying migration %s: %w", m.Name, err)
		}
		applied = append(applied, m.Version)
	}
	return applied, nil
}
