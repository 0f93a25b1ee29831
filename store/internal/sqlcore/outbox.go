package sqlcore

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/ptzone/ptzone/store"
)

const noticeColumns = `id, created, domain, kind, role, recipient, deadline, findings, sent, attempts, last_error`

func scanNotice(row Rows) (store.Notice, error) {
	var n store.Notice
	var created, deadline, sent TimeCol
	var findings []byte
	if err := row.Scan(&n.ID, &created, &n.Domain, &n.Kind, &n.Role, &n.Recipient, &deadline, &findings, &sent,
		&n.Attempts, &n.LastError); err != nil {
		return n, err
	}
	n.Created, n.Deadline, n.Sent = created.T, deadline.T, sent.T
	var err error
	n.Findings, err = DecodeFindings(findings)
	return n, err
}

// Notices implements store.CheckStore.
func (c *Core) Notices(ctx context.Context, pending bool, limit int) ([]store.Notice, error) {
	return list(ctx, c.D, c.DB, "reading the outbox", scanNotice, `SELECT `+noticeColumns+` FROM outbox
		WHERE sent IS NULL OR NOT $1 ORDER BY id LIMIT $2`, pending, Limit(limit))
}

// ClaimNotices implements store.Outbox. Notifiers sharing a database with
// row locks skip the rows another is claiming rather than wait for them.
func (c *Core) ClaimNotices(ctx context.Context, now time.Time, lease time.Duration, limit int, roles ...string) ([]store.Notice, error) {
	args := []any{c.D.Time(now.Add(lease)), c.D.Time(now), Limit(limit)}
	ofRoles := ""
	if len(roles) > 0 {
		ofRoles = " AND o.role IN (" + placeholders(len(args)+1, len(roles)) + ")"
		for _, r := range roles {
			args = append(args, r)
		}
	}
	skipLocked := ""
	if c.D.RowLocks {
		skipLocked = ` FOR UPDATE OF o SKIP LOCKED`
	}
	out, err := list(ctx, c.D, c.DB, "claiming notices", scanNotice, `
		UPDATE outbox SET claimed_until = $1
		WHERE id IN (SELECT o.id FROM outbox o
		             WHERE o.sent IS NULL AND (o.next_attempt IS NULL OR o.next_attempt <= $2)
		               AND (o.claimed_until IS NULL OR o.claimed_until <= $2)`+ofRoles+`
		             ORDER BY o.id LIMIT $3`+skipLocked+`)
		RETURNING `+noticeColumns, args...)
	if err != nil {
		return nil, err
	}
	slices.SortFunc(out, func(a, b store.Notice) int { return cmp.Compare(a.ID, b.ID) })
	return out, nil
}

// NoticeSent implements store.Outbox.
func (c *Core) NoticeSent(ctx context.Context, id int64, at time.Time) error {
	return c.noticeUpdate(ctx, id, fmt.Sprintf("marking notice %d sent", id),
		`UPDATE outbox SET sent = $1, claimed_until = NULL WHERE id = $2 AND sent IS NULL`, c.D.Time(at), id)
}

// NoticeFailed implements store.Outbox.
func (c *Core) NoticeFailed(ctx context.Context, id int64, reason string, retry time.Time) error {
	return c.noticeUpdate(ctx, id, fmt.Sprintf("recording notice %d's failure", id), `
		UPDATE outbox SET attempts = attempts + 1, last_error = $1, next_attempt = $2, claimed_until = NULL
		WHERE id = $3 AND sent IS NULL`, reason, c.D.Time(retry), id)
}

// noticeUpdate runs an update of notice id that touches it only while it
// is not sent: ErrNotFound when there is no such notice.
func (c *Core) noticeUpdate(ctx context.Context, id int64, what, sql string, args ...any) error {
	touched, err := c.DB.Exec(ctx, sql, args...)
	if err != nil || touched > 0 {
		return c.D.wrap(what, err)
	}
	var one int
	err = c.DB.QueryRow(ctx, `SELECT 1 FROM outbox WHERE id = $1`, id).Scan(&one)
	if errors.Is(err, ErrNoRows) {
		return notFound("notice %d", id)
	}
	return err
}
