package postgres

import (
	"context"
	"fmt"
	"hash/fnv"
	"sync"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/ptzone/ptzone/store"
)

// lock is a session-level advisory lock held on a connection of its own,
// taken out of the pool: the lock lives as long as that session, so a
// daemon that dies, or whose connection breaks, holds it no more.
type lock struct {
	name string
	key  int64
	mu   sync.Mutex
	conn *pgxpool.Conn
}

// lockKey is the advisory lock key of a role: a 64-bit hash of its name
// under ptzone's own prefix, apart from other applications' keys.
func lockKey(name string) int64 {
	h := fnv.New64a()
	h.Write([]byte("ptzone:" + name))
	return int64(h.Sum64())
}

// TryLock implements store.Locker with pg_try_advisory_lock.
func (db *DB) TryLock(ctx context.Context, name string) (store.Lock, bool, error) {
	conn, err := db.pool.Acquire(ctx)
	if err != nil {
		return nil, false, fmt.Errorf("postgres: lock %s: %w", name, err)
	}
	key := lockKey(name)
	var ok bool
	if err := conn.QueryRow(ctx, `SELECT pg_try_advisory_lock($1)`, key).Scan(&ok); err != nil {
		conn.Release()
		return nil, false, fmt.Errorf("postgres: lock %s: %w", name, err)
	}
	if !ok {
		conn.Release()
		return nil, false, nil
	}
	return &lock{name: name, key: key, conn: conn}, true, nil
}

// Held asks the lock's own session whether it still holds the lock: a
// broken connection, or a session ended by the server, does not.
func (l *lock) Held(ctx context.Context) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.conn == nil {
		return false
	}
	var held bool
	err := l.conn.QueryRow(ctx, `
		SELECT EXISTS (SELECT 1 FROM pg_locks WHERE locktype = 'advisory' AND pid = pg_backend_pid() AND granted
		               AND objsubid = 1 AND ((classid::bigint << 32) | objid::bigint) = $1)`, l.key).Scan(&held)
	return err == nil && held
}

// Release lets the lock go and returns its connection to the pool (or
// drops a broken one).
func (l *lock) Release(ctx context.Context) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.conn == nil {
		return nil
	}
	conn := l.conn
	l.conn = nil
	if _, err := conn.Exec(ctx, `SELECT pg_advisory_unlock($1)`, l.key); err != nil {
		conn.Conn().Close(ctx) // the session, and the lock, end with it
		conn.Release()
		return fmt.Errorf("postgres: releasing lock %s: %w", l.name, err)
	}
	conn.Release()
	return nil
}
