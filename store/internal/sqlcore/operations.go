package sqlcore

import (
	"context"
	"errors"
	"slices"
	"strings"

	"github.com/ptzone/ptzone/store"
)

func (c *Core) insertAudit(ctx context.Context, q Querier, e store.AuditEntry) (int64, error) {
	detail := string(e.Detail)
	if detail == "" {
		detail = "{}"
	}
	var id int64
	err := q.QueryRow(ctx, `INSERT INTO audit_log (at, actor, action, target, reason, detail) VALUES ($1, $2, $3, $4, $5, $6) RETURNING id`,
		c.D.Time(e.Time), e.Actor, e.Action, e.Target, e.Reason, detail).Scan(&id)
	if err != nil {
		return 0, c.D.errorf("audit log: %s by %s: %w", e.Action, e.Actor, err)
	}
	return id, nil
}

// Audit implements store.Operations.
func (c *Core) Audit(ctx context.Context, e store.AuditEntry) (int64, error) {
	return c.insertAudit(ctx, c.DB, e)
}

// AuditLog implements store.Operations.
func (c *Core) AuditLog(ctx context.Context, limit int) ([]store.AuditEntry, error) {
	return list(ctx, c.D, c.DB, "reading the audit log", func(r Rows) (store.AuditEntry, error) {
		var e store.AuditEntry
		var at TimeCol
		err := r.Scan(&e.ID, &at, &e.Actor, &e.Action, &e.Target, &e.Reason, &e.Detail)
		e.Time = at.T
		return e, err
	}, `SELECT id, at, actor, action, target, reason, detail FROM audit_log ORDER BY id DESC LIMIT $1`, limit)
}

// Freeze implements store.Operations.
func (c *Core) Freeze(ctx context.Context, f store.Freeze) error {
	err := c.inTx(ctx, func(tx Querier) error {
		n, err := tx.Exec(ctx, `INSERT INTO publishing_freeze (zone, at, actor, reason) VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING`,
			f.Zone, c.D.Time(f.Time), f.Actor, f.Reason)
		if err != nil {
			return err
		}
		if n == 0 {
			return store.ErrFrozen
		}
		_, err = c.insertAudit(ctx, tx, store.AuditEntry{Time: f.Time, Actor: f.Actor, Action: "freeze", Target: f.Zone, Reason: f.Reason})
		return err
	})
	if err != nil {
		return c.D.errorf("freezing publishing%s: %w", ofZone(f.Zone), err)
	}
	return nil
}

// Thaw implements store.Operations.
func (c *Core) Thaw(ctx context.Context, zone string, e store.AuditEntry) (store.Freeze, error) {
	var f store.Freeze
	err := c.inTx(ctx, func(tx Querier) error {
		var at TimeCol
		err := tx.QueryRow(ctx, `DELETE FROM publishing_freeze WHERE zone = $1 RETURNING zone, at, actor, reason`, zone).Scan(&f.Zone, &at, &f.Actor, &f.Reason)
		if errors.Is(err, ErrNoRows) {
			return store.ErrNotFound
		}
		if err != nil {
			return err
		}
		f.Time = at.T
		e.Target = zone
		_, err = c.insertAudit(ctx, tx, e)
		return err
	})
	if err != nil {
		return f, c.D.errorf("thawing publishing%s: %w", ofZone(zone), err)
	}
	return f, nil
}

// Freezes implements store.Operations.
func (c *Core) Freezes(ctx context.Context) ([]store.Freeze, error) {
	out, err := list(ctx, c.D, c.DB, "reading the publishing freezes", func(r Rows) (store.Freeze, error) {
		var f store.Freeze
		var at TimeCol
		err := r.Scan(&f.Zone, &at, &f.Actor, &f.Reason)
		f.Time = at.T
		return f, err
	}, `SELECT zone, at, actor, reason FROM publishing_freeze`)
	// Sorted here, byte by byte, whatever the database's collation: ''
	// first, the freeze of every zone.
	slices.SortFunc(out, func(a, b store.Freeze) int { return strings.Compare(a.Zone, b.Zone) })
	return out, err
}

func ofZone(zone string) string {
	if zone == "" {
		return ""
	}
	return " of " + zone
}
