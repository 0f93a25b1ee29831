package sqlcore

import (
	"context"
	"errors"

	"github.com/ptzone/ptzone/store"
)

const registrarColumns = `id, name, email, token_hash, created`

func scanRegistrar(row Row) (store.Registrar, error) {
	var r store.Registrar
	var created TimeCol
	err := row.Scan(&r.ID, &r.Name, &r.Email, &r.TokenHash, &created)
	r.Created = created.T
	return r, err
}

// PutRegistrar implements store.RegistrarStore.
func (c *Core) PutRegistrar(ctx context.Context, r store.Registrar) error {
	_, err := c.DB.Exec(ctx, `
		INSERT INTO registrars (id, name, email, created) VALUES ($1, $2, $3, $4)
		ON CONFLICT (id) DO UPDATE SET name = excluded.name, email = excluded.email`,
		r.ID, r.Name, r.Email, c.D.Time(c.Now()))
	if err != nil {
		return c.D.errorf("writing registrar %s: %w", r.ID, err)
	}
	return nil
}

// SetRegistrarToken implements store.RegistrarStore.
func (c *Core) SetRegistrarToken(ctx context.Context, id string, hash []byte) error {
	return c.update(ctx, "setting token of registrar "+id, "registrar "+id,
		`UPDATE registrars SET token_hash = $1 WHERE id = $2`, hash, id)
}

// Registrar implements store.RegistrarStore.
func (c *Core) Registrar(ctx context.Context, id string) (store.Registrar, error) {
	r, err := scanRegistrar(c.DB.QueryRow(ctx, `SELECT `+registrarColumns+` FROM registrars WHERE id = $1`, id))
	if errors.Is(err, ErrNoRows) {
		return r, notFound("registrar %s", id)
	}
	if err != nil {
		return r, c.D.errorf("reading registrar %s: %w", id, err)
	}
	return r, nil
}

// RegistrarByTokenHash implements store.RegistrarStore.
func (c *Core) RegistrarByTokenHash(ctx context.Context, hash []byte) (store.Registrar, error) {
	r, err := scanRegistrar(c.DB.QueryRow(ctx, `SELECT `+registrarColumns+` FROM registrars WHERE token_hash = $1`, hash))
	if errors.Is(err, ErrNoRows) {
		return r, notFound("registrar token")
	}
	if err != nil {
		return r, c.D.errorf("looking up registrar token: %w", err)
	}
	return r, nil
}

// Registrars implements store.RegistrarStore.
func (c *Core) Registrars(ctx context.Context) ([]store.Registrar, error) {
	return list(ctx, c.D, c.DB, "listing registrars", func(r Rows) (store.Registrar, error) { return scanRegistrar(r) },
		`SELECT `+registrarColumns+` FROM registrars ORDER BY id`)
}
