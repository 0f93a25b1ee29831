package postgres

import (
	"context"
	"fmt"
	"hash/fnv"
	"sync"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/ptzone/ptzone/store"
)

// lock is a session-level advisory lock held on a connection of its own,
// taken out of the pool: the lock lives as long as that session, so a
// daemon that dies, or whose connection breaks, holds it no more. Its
// generation is numbered in that session once the lock is taken.
type lock struct {
	db   *DB
	name string
	key  int64
	gen  int64
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
	ctx, cancel := db.bound(ctx)
	defer cancel()
	conn, err := db.pool.Acquire(ctx)
	if err != nil {
		return nil, false, fmt.Errorf("postgres: lock %s: %w", name, unanswered(ctx, err))
	}
	key := lockKey(name)
	var ok bool
	if err := conn.QueryRow(ctx, `SELECT pg_try_advisory_lock($1)`, key).Scan(&ok); err != nil {
		conn.Release()
		return nil, false, fmt.Errorf("postgres: lock %s: %w", name, unanswered(ctx, err))
	}
	if !ok {
		conn.Release()
		return nil, false, nil
	}
	l := &lock{db: db, name: name, key: key, conn: conn}
	if l.gen, err = db.NextGeneration(ctx, querier{conn, db.opts.callTimeout()}, name, time.Now()); err != nil {
		l.Release(context.WithoutCancel(ctx))
		return nil, false, fmt.Errorf("postgres: lock %s: %w", name, err)
	}
	return l, true, nil
}

// Held asks the lock's own session whether it still holds the lock, and
// whether the lock's latest generation is still its own: a broken
// connection, or a session ended by the server, does not hold it. A lock
// found lost is let go.
func (l *lock) Held(ctx context.Context) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.conn == nil {
		return false
	}
	ctx, cancel := l.db.bound(ctx)
	defer cancel()
	var held, latest bool
	err := l.conn.QueryRow(ctx, `
		SELECT EXISTS (SELECT 1 FROM pg_locks WHERE locktype = 'advisory' AND pid = pg_backend_pid() AND granted
		               AND objsubid = 1 AND ((classid::bigint << 32) | objid::bigint) = $1),
		       EXISTS (SELECT 1 FROM lock_generations WHERE name = $2 AND generation = $3)`, l.key, l.name, l.gen).Scan(&held, &latest)
	if err != nil || !held || !latest {
		// Whatever the cause, the session cannot be trusted with the
		// lock any more: ending it ends the lock, if it still has it.
		l.drop()
		return false
	}
	return true
}

// Generation implements store.Lock.
func (l *lock) Generation() int64 { return l.gen }

// drop ends the lock's session, and the lock with it. Called with mu
// held.
func (l *lock) drop() {
	conn := l.conn
	l.conn = nil
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	conn.Conn().Close(ctx)
	conn.Release()
}

// Release lets the lock go and returns its connection to the pool (or
// drops a broken one).
func (l *lock) Release(ctx context.Context) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.conn == nil {
		return nil
	}
	ctx, cancel := l.db.bound(ctx)
	defer cancel()
	if _, err := l.conn.Exec(ctx, `SELECT pg_advisory_unlock($1)`, l.key); err != nil {
		l.drop() // the session, and the lock, end with it
		return fmt.Errorf("postgres: releasing lock %s: %w", l.name, unanswered(ctx, err))
	}
	conn := l.conn
	l.conn = nil
	conn.Release()
	return nil
}
