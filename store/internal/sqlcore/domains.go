package sqlcore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/ptzone/ptzone/store"
)

// domainSelect reads whole candidates: each domain row carries its
// nameservers and DS records (in the text form DecodeNameservers and
// DecodeDS read), and the delegation state is joined.
func (c *Core) domainSelect() string {
	return `
SELECT d.name, d.zone, CAST(d.status AS text), d.registrar_id, d.expires, d.tech_email, d.geo_authority,
       ` + c.D.NameserversText + `, ` + c.D.DSText + `,
       CAST(st.last_verdict AS text), st.last_checked, st.last_passed, st.first_failure,
       st.consecutive_failures, st.withheld, st.reason, st.updated
FROM domains d
LEFT JOIN delegation_state st ON st.domain_id = d.id`
}

// leanSelect is domainSelect for store.Filter's DelegationOnly.
func (c *Core) leanSelect() string {
	return `
SELECT d.name, d.zone, CAST(d.status AS text), ` + c.D.NameserversText + `, ` + c.D.DSText + `, st.last_passed, st.withheld
FROM domains d
LEFT JOIN delegation_state st ON st.domain_id = d.id`
}

// stateColumns are the joined state's columns of domainSelect, as
// DelegationState reads them alone.
const stateColumns = `CAST(st.last_verdict AS text), st.last_checked, st.last_passed, st.first_failure,
       st.consecutive_failures, st.withheld, st.reason, st.updated`

// stateRow is a delegation state's columns; its fields are reused across
// rows.
type stateRow struct {
	verdict, reason                                sql.NullString
	lastChecked, lastPassed, firstFailure, updated TimeCol
	failures                                       sql.NullInt64
	withheld                                       sql.NullBool
}

func (r *stateRow) dest() []any {
	return []any{&r.verdict, &r.lastChecked, &r.lastPassed, &r.firstFailure, &r.failures, &r.withheld, &r.reason, &r.updated}
}

// state returns the state of domain, nil when the row has none.
func (r *stateRow) state(domain string) *store.DelegationState {
	if !r.verdict.Valid {
		return nil
	}
	return &store.DelegationState{
		Domain:              domain,
		LastVerdict:         store.Verdict(r.verdict.String),
		LastChecked:         r.lastChecked.T,
		LastPassed:          r.lastPassed.T,
		FirstFailure:        r.firstFailure.T,
		ConsecutiveFailures: int(r.failures.Int64),
		Withheld:            r.withheld.Bool,
		Reason:              r.reason.String,
		Updated:             r.updated.T,
	}
}

// candidateRow is one row of domainSelect; its fields are reused across
// rows.
type candidateRow struct {
	name, zone, status, registrar, techEmail string
	expires                                  dateCol
	geo                                      bool
	nsText, dsText                           string
	st                                       stateRow
	dest                                     []any // the fields above, made once
}

func (r *candidateRow) scan(row Row) error {
	if r.dest == nil {
		r.dest = append([]any{&r.name, &r.zone, &r.status, &r.registrar, &r.expires, &r.techEmail, &r.geo,
			&r.nsText, &r.dsText}, r.st.dest()...)
	}
	return row.Scan(r.dest...)
}

func (r *candidateRow) candidate() (store.Candidate, error) {
	d := store.Domain{
		Name:         r.name,
		Zone:         r.zone,
		Status:       store.Status(r.status),
		Registrar:    r.registrar,
		Expires:      r.expires.T,
		TechEmail:    r.techEmail,
		GeoAuthority: r.geo,
	}
	var err error
	if d.Nameservers, err = DecodeNameservers(r.nsText); err != nil {
		return store.Candidate{}, fmt.Errorf("domain %s: %w", r.name, err)
	}
	if d.DS, err = DecodeDS(r.dsText); err != nil {
		return store.Candidate{}, fmt.Errorf("domain %s: %w", r.name, err)
	}
	return store.Candidate{Domain: d, State: r.st.state(r.name)}, nil
}

// LeanRow is one row of the delegation-only select: what a zone build
// reads of each domain.
type LeanRow struct {
	Name, Zone, Status, NameserversText, DSText string
	// Checked: the domain has a delegation state, of which LastPassed
	// and Withheld are read.
	Checked    bool
	LastPassed TimeCol
	Withheld   bool
	withheld   sql.NullBool
	dest       []any // Scan's destinations, made once
}

// Scan reads the row rows is on, in any backend.
func (r *LeanRow) Scan(rows Rows) error {
	if r.dest == nil {
		r.dest = []any{&r.Name, &r.Zone, &r.Status, &r.NameserversText, &r.DSText, &r.LastPassed, &r.withheld}
	}
	if err := rows.Scan(r.dest...); err != nil {
		return err
	}
	r.Checked, r.Withheld = r.withheld.Valid, r.withheld.Bool
	return nil
}

// Candidate builds the row's candidate.
func (r *LeanRow) Candidate() (store.Candidate, error) {
	d := store.Domain{Name: r.Name, Zone: r.Zone, Status: store.Status(r.Status)}
	var err error
	if d.Nameservers, err = DecodeNameservers(r.NameserversText); err != nil {
		return store.Candidate{}, fmt.Errorf("domain %s: %w", r.Name, err)
	}
	if d.DS, err = DecodeDS(r.DSText); err != nil {
		return store.Candidate{}, fmt.Errorf("domain %s: %w", r.Name, err)
	}
	c := store.Candidate{Domain: d}
	if r.Checked {
		c.State = &store.DelegationState{Domain: r.Name, LastPassed: r.LastPassed.T, Withheld: r.Withheld}
	}
	return c, nil
}

// Domain implements store.DomainReader.
func (c *Core) Domain(ctx context.Context, name string) (store.Domain, error) {
	var r candidateRow
	err := r.scan(c.DB.QueryRow(ctx, c.domainSelect()+` WHERE d.name = $1`, name))
	if errors.Is(err, ErrNoRows) {
		return store.Domain{}, notFound("domain %s", name)
	}
	if err != nil {
		return store.Domain{}, c.D.errorf("reading domain %s: %w", name, err)
	}
	cand, err := r.candidate()
	if err != nil {
		return store.Domain{}, c.D.errorf("%w", err)
	}
	return cand.Domain, nil
}

// Counts implements store.DomainReader.
func (c *Core) Counts(ctx context.Context) ([]store.ZoneCount, error) {
	return list(ctx, c.D, c.DB, "counting domains", func(r Rows) (zc store.ZoneCount, err error) {
		return zc, r.Scan(&zc.Zone, &zc.Status, &zc.Count)
	}, `SELECT zone, CAST(status AS text), count(*) FROM domains GROUP BY zone, status ORDER BY zone, status`)
}

// SetStatus implements store.DomainWriter.
func (c *Core) SetStatus(ctx context.Context, name string, status store.Status) error {
	if !status.Valid() {
		return c.D.errorf("%q is not a status", status)
	}
	return c.update(ctx, "setting status of "+name, "domain "+name,
		`UPDATE domains SET status = $1, updated = $2 WHERE name = $3`, string(status), c.D.Time(c.Now()), name)
}
