package sqlcore

import (
	"context"
	"fmt"
	"iter"
	"strings"

	"github.com/ptzone/ptzone/store"
)

// Snapshot streams domains from a backend's snapshot: one read-only
// transaction that sees the registry as it was when it began. The backend
// opens and closes it, and says how its change feed selects rows.
type Snapshot struct {
	Core *Core
	// Tx is the snapshot's transaction.
	Tx Querier
	// ChangedSince returns the condition, over a row d of domains or of
	// domain_deletions, that selects what was written after the snapshot
	// whose change token is since was taken, with its arguments (from $1).
	// A token it cannot answer gives an error wrapping
	// store.ErrChangeToken.
	ChangedSince func(ctx context.Context, since string) (cond string, args []any, err error)
	// ScanLean, when set, reads a row of the delegation-only select in
	// place of LeanRow.Scan: PostgreSQL's reads millions of rows a build
	// and can take their raw values.
	ScanLean func(Rows, *LeanRow) error
}

// Domains implements store.Snapshot.
func (s *Snapshot) Domains(ctx context.Context, f store.Filter) iter.Seq2[store.Candidate, error] {
	return func(yield func(store.Candidate, error) bool) {
		var where []string
		var args []any
		if f.Zone != "" {
			args = append(args, f.Zone)
			where = append(where, fmt.Sprintf("d.zone = $%d", len(args)))
		}
		if len(f.Statuses) > 0 {
			where = append(where, "d.status IN ("+placeholders(len(args)+1, len(f.Statuses))+")")
			for _, st := range f.Statuses {
				args = append(args, string(st))
			}
		}
		if f.Registrar != "" {
			args = append(args, f.Registrar)
			where = append(where, fmt.Sprintf("d.registrar_id = $%d", len(args)))
		}
		q := s.selectFor(f)
		if len(where) > 0 {
			q += " WHERE " + strings.Join(where, " AND ")
		}
		if !f.AnyOrder {
			q += " ORDER BY d.name"
		}
		for c, err := range s.stream(ctx, q, args, f.DelegationOnly, "streaming domains") {
			if !yield(c, err) || err != nil {
				return
			}
		}
	}
}

// Changes implements store.Snapshot.
func (s *Snapshot) Changes(ctx context.Context, since string, f store.Filter) iter.Seq2[store.DomainChange, error] {
	return func(yield func(store.DomainChange, error) bool) {
		cond, args, err := s.ChangedSince(ctx, since)
		if err != nil {
			yield(store.DomainChange{}, err)
			return
		}
		q, delQ, args := s.Core.ChangesQueries(f, cond, args)
		gone, err := s.deletions(ctx, delQ, args)
		if err != nil {
			yield(store.DomainChange{}, err)
			return
		}
		for _, c := range gone {
			if !yield(c, nil) {
				return
			}
		}
		for c, err := range s.stream(ctx, q, args, f.DelegationOnly, "reading changes") {
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

// ChangesQueries returns the queries of the domains and of the deletions
// that cond (a change feed's condition, with its args) selects within
// the filter, and their args.
func (c *Core) ChangesQueries(f store.Filter, cond string, args []any) (domains, deletions string, _ []any) {
	delCond, domCond := cond, cond
	if f.Zone != "" {
		args = append(args, f.Zone)
		delCond += fmt.Sprintf(" AND d.zone = $%d", len(args))
		domCond += fmt.Sprintf(" AND %sd.zone = $%d", c.D.Unindexed, len(args))
	}
	sel := c.domainSelect()
	if f.DelegationOnly {
		sel = c.leanSelect()
	}
	domains = sel + " WHERE " + domCond + " ORDER BY " + c.D.Unindexed + "d.name"
	deletions = `SELECT d.name, d.zone FROM domain_deletions d WHERE ` + delCond + ` ORDER BY d.name`
	return domains, deletions, args
}

// deletions reads the deleted domains of query q, in name order.
func (s *Snapshot) deletions(ctx context.Context, q string, args []any) ([]store.DomainChange, error) {
	return list(ctx, s.Core.D, s.Tx, "reading deletions", func(r Rows) (c store.DomainChange, err error) {
		return c, r.Scan(&c.Name, &c.Zone)
	}, q, args...)
}

func (s *Snapshot) selectFor(f store.Filter) string {
	if f.DelegationOnly {
		return s.Core.leanSelect()
	}
	return s.Core.domainSelect()
}

// stream runs a query of domainSelect or leanSelect and yields a
// candidate a row until the rows end, the consumer stops, or an error
// occurs (yielded once, wrapped with what).
func (s *Snapshot) stream(ctx context.Context, q string, args []any, lean bool, what string) iter.Seq2[store.Candidate, error] {
	return func(yield func(store.Candidate, error) bool) {
		fail := func(err error) { yield(store.Candidate{}, s.Core.D.errorf("%s: %w", what, err)) }
		rows, err := s.Tx.Query(ctx, q, args...)
		if err != nil {
			fail(err)
			return
		}
		defer rows.Close()
		scanLean := s.ScanLean
		if scanLean == nil {
			scanLean = func(rows Rows, r *LeanRow) error { return r.Scan(rows) }
		}
		var full candidateRow
		var lr LeanRow
		for rows.Next() {
			var c store.Candidate
			if lean {
				if err = scanLean(rows, &lr); err == nil {
					c, err = lr.Candidate()
				}
			} else if err = full.scan(rows); err == nil {
				c, err = full.candidate()
			}
			if err != nil {
				fail(err)
				return
			}
			if !yield(c, nil) {
				return
			}
		}
		if err := rows.Err(); err != nil {
			fail(err)
		}
	}
}
