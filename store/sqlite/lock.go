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
type lock struct {
	mu sync.Mutex
	f  *os.File
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
	return &lock{f: f}, true, nil
}

func (l *lock) Held(context.Context) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.f != nil
}

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
