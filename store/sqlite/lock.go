package sqlite

import (
	"context"
	"errors"
	"fmt"
	"os"
	"sync"
	"syscall"

	"github.com/ptzone/ptzone/store"
)

// lock is an exclusive flock on a file beside the database: the embedded
// store serves one daemon, and a second one started on the same file
// finds the role taken. The kernel drops the lock when its holder dies.
// A flock holds the file, not its name: once the file is removed (or
// replaced), another daemon makes a new one and locks it, and the first
// no longer holds the role, which Held sees from the name and from the
// generation.
type lock struct {
	db   *DB
	name string
	path string
	gen  int64
	mu   sync.Mutex
	f    *os.File
}

// TryLock implements store.Locker.
func (db *DB) TryLock(ctx context.Context, name string) (store.Lock, bool, error) {
	path := db.path + "." + name + ".lock"
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, false, fmt.Errorf("sqlite: lock %s: %w", name, err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			return nil, false, nil
		}
		return nil, false, fmt.Errorf("sqlite: lock %s: %s: %w", name, path, err)
	}
	l := &lock{db: db, name: name, path: path, f: f}
	if !l.named() {
		// Removed between its opening and its locking: another's now.
		f.Close()
		return nil, false, nil
	}
	if l.gen, err = db.NextGeneration(ctx, db.Core.DB, name, db.Now()); err != nil {
		f.Close()
		return nil, false, fmt.Errorf("sqlite: lock %s: %w", name, err)
	}
	return l, true, nil
}

// named reports whether the lock's path still names the file locked.
// Called with mu held, or before the lock is shared.
func (l *lock) named() bool {
	held, err := l.f.Stat()
	if err != nil {
		return false
	}
	now, err := os.Stat(l.path)
	return err == nil && os.SameFile(held, now)
}

// Held implements store.Lock: the file locked is still the lock's, and
// nobody took the lock since. A lock lost is let go.
func (l *lock) Held(ctx context.Context) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.f == nil {
		return false
	}
	if l.named() {
		if gen, err := l.db.LatestGeneration(ctx, l.db.Core.DB, l.name); err == nil && gen == l.gen {
			return true
		}
	}
	l.f.Close()
	l.f = nil
	return false
}

// Generation implements store.Lock.
func (l *lock) Generation() int64 { return l.gen }

func (l *lock) Release(context.Context) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.f == nil {
		return nil
	}
	err := l.f.Close() // closing the last descriptor drops the flock
	l.f = nil
	return err
}
