package sqlcore

import (
	"context"
	"time"

	"github.com/ptzone/ptzone/store"
)

// RecordPublication implements store.PublicationLog. An entry fenced
// by a generation is inserted only if that generation is the
// publisher's lock's latest, in the same statement: on PostgreSQL, the
// lock's row is read FOR SHARE, so that a taking of the lock committed
// meanwhile is seen (and one under way waits for the insert).
func (c *Core) RecordPublication(ctx context.Context, p store.Publication) (int64, error) {
	if !p.Outcome.Valid() {
		return 0, c.D.errorf("publication of %s: %q is not an outcome", p.Zone, p.Outcome)
	}
	if p.Generation < 0 {
		return 0, c.D.errorf("publication of %s: generation %d", p.Zone, p.Generation)
	}
	details := string(p.Details)
	if details == "" {
		details = "{}"
	}
	var generation any // NULL: recorded without the lock
	if p.Generation > 0 {
		generation = p.Generation
	}
	lock := ""
	if c.D.RowLocks {
		lock = " FOR SHARE"
	}
	var id int64
	err := c.DB.QueryRow(ctx, `
		INSERT INTO publications (zone, serial, published_at, outcome, triggered_by, reason, records, delegations, digest, details, lock_generation)
		SELECT $1, $2, $3, $4, $5, $6, $7, $8, $9, `+c.D.json("$10")+`, CAST($11 AS bigint)
		WHERE CAST($11 AS bigint) IS NULL OR EXISTS (
			SELECT 1 FROM lock_generations WHERE name = $12 AND generation = CAST($11 AS bigint)`+lock+`)
		RETURNING id`,
		p.Zone, int64(p.Serial), c.D.Time(p.Time), string(p.Outcome), p.TriggeredBy, p.Reason,
		p.Records, p.Delegations, p.Digest, details, generation, store.PublisherLock).Scan(&id)
	if err == ErrNoRows {
		return 0, c.D.errorf("recording publication of %s serial %d under generation %d of the publisher's lock: %w",
			p.Zone, p.Serial, p.Generation, store.ErrFenced)
	}
	if err != nil {
		return 0, c.D.errorf("recording publication of %s serial %d: %w", p.Zone, p.Serial, err)
	}
	return id, nil
}

// publicationColumns are the columns scanPublication reads.
const publicationColumns = `id, zone, serial, published_at, CAST(outcome AS text), triggered_by, reason, records, delegations, digest, details,
	coalesce(lock_generation, 0)`

func scanPublication(r Rows) (store.Publication, error) {
	var p store.Publication
	var serial int64
	var at TimeCol
	err := r.Scan(&p.ID, &p.Zone, &serial, &at, &p.Outcome, &p.TriggeredBy, &p.Reason,
		&p.Records, &p.Delegations, &p.Digest, &p.Details, &p.Generation)
	p.Serial, p.Time = uint32(serial), at.T
	return p, err
}

// Publications implements store.PublicationLog.
func (c *Core) Publications(ctx context.Context, zone string, limit int) ([]store.Publication, error) {
	return list(ctx, c.D, c.DB, "reading publication log", scanPublication, `
		SELECT `+publicationColumns+`
		FROM publications WHERE $1 = '' OR zone = $1
		ORDER BY id DESC LIMIT $2`, zone, Limit(limit))
}

// PublishedSince implements store.PublicationLog. The index on (zone,
// published_at) keeps it to the window's rows however long the log.
func (c *Core) PublishedSince(ctx context.Context, zone string, since time.Time) ([]store.Publication, error) {
	return list(ctx, c.D, c.DB, "reading publication log of "+zone, scanPublication, `
		SELECT `+publicationColumns+`
		FROM publications WHERE zone = $1 AND published_at >= $2 AND outcome = 'published'
		ORDER BY published_at, id`, zone, c.D.Time(since))
}
