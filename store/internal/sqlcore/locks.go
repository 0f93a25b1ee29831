package sqlcore

import (
	"context"
	"time"
)

// NextGeneration numbers a new taking of the lock named: one more than
// the last, 1 for the first. q is the session that took the lock, so
// that the number and the lock go together.
func (c *Core) NextGeneration(ctx context.Context, q Querier, name string, at time.Time) (int64, error) {
	var gen int64
	err := q.QueryRow(ctx, `
		INSERT INTO lock_generations (name, generation, taken_at) VALUES ($1, 1, $2)
		ON CONFLICT (name) DO UPDATE SET generation = lock_generations.generation + 1, taken_at = excluded.taken_at
		RETURNING generation`, name, c.D.Time(at)).Scan(&gen)
	if err != nil {
		return 0, c.D.errorf("numbering the lock %s: %w", name, err)
	}
	return gen, nil
}

// LatestGeneration is the number of the last taking of the lock named; 0
// when it was never taken.
func (c *Core) LatestGeneration(ctx context.Context, q Querier, name string) (int64, error) {
	var gen int64
	err := q.QueryRow(ctx, `SELECT generation FROM lock_generations WHERE name = $1`, name).Scan(&gen)
	if err == ErrNoRows {
		return 0, nil
	}
	if err != nil {
		return 0, c.D.errorf("reading the generation of the lock %s: %w", name, err)
	}
	return gen, nil
}
