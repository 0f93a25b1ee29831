package atomicfile

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
)

// Write replaces path with what write produces.
func Write(path string, mode os.FileMode, write func(w io.Writer) error) error {
	return replace(path, mode, func(w *Rewriter) error { return write(w) }, true)
}

// WriteRewriting replaces path as Write does, with a writer that can also
// go back over what it wrote (Rewrite): for a file whose first bytes are
// known only once the rest is written.
func WriteRewriting(path string, mode os.FileMode, write func(w *Rewriter) error) error {
	return replace(path, mode, write, true)
}

// Rewriter writes a replacement file: at its end, and with Rewrite over
// bytes already written.
type Rewriter struct {
	f  *os.File
	bw *bufio.Writer
	n  int64
}

func (w *Rewriter) Write(p []byte) (int, error) {
	n, err := w.bw.Write(p)
	w.n += int64(n)
	return n, err
}

// Rewrite writes p over the bytes at off, which must all have been
// written already.
func (w *Rewriter) Rewrite(off int64, p []byte) error {
	if off < 0 || off+int64(len(p)) > w.n {
		return fmt.Errorf("rewriting %d octets at %d of %s: only %d written", len(p), off, w.f.Name(), w.n)
	}
	if err := w.bw.Flush(); err != nil {
		return err
	}
	_, err := w.f.WriteAt(p, off)
	return err
}

// WriteCache replaces path as Write does, but syncs nothing: readers
// still see the old file or the new one whole, but after a crash the file
// may be the old one, or even empty or partial. Only for files whose
// reader detects that (a checksum) and can do without them: syncing a
// cache of tens of megabytes at every publication costs more than
// rebuilding it after the rare crash.
func WriteCache(path string, mode os.FileMode, write func(w io.Writer) error) error {
	return replace(path, mode, func(w *Rewriter) error { return write(w) }, false)
}

func replace(path string, mode os.FileMode, write func(w *Rewriter) error, durable bool) error {
	p, err := prepare(path, mode, write, durable)
	if err != nil {
		return err
	}
	return p.Commit()
}

// Pending is a replacement written beside its target and not yet in
// place: Commit puts it there, Discard removes it.
type Pending struct {
	path, tmp string
	durable   bool
	done      bool
}

// Prepare writes what write produces beside path, synced as Write does,
// and leaves it for Commit: a caller can then mark the moment just
// before the file takes its place.
func Prepare(path string, mode os.FileMode, write func(w io.Writer) error) (*Pending, error) {
	return prepare(path, mode, func(w *Rewriter) error { return write(w) }, true)
}

// PrepareCache writes what write produces beside path, unsynced as
// WriteCache does, and leaves it for Commit: a large cache file can then
// be written while other work goes on and put in place after it.
func PrepareCache(path string, mode os.FileMode, write func(w io.Writer) error) (*Pending, error) {
	return prepare(path, mode, func(w *Rewriter) error { return write(w) }, false)
}

func prepare(path string, mode os.FileMode, write func(w *Rewriter) error, durable bool) (*Pending, error) {
	dir := filepath.Dir(path)
	tmp, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return nil, err
	}
	fail := func(err error) (*Pending, error) {
		tmp.Close()
		os.Remove(tmp.Name())
		return nil, err
	}
	bw := bufio.NewWriterSize(tmp, 1<<20)
	if err := write(&Rewriter{f: tmp, bw: bw}); err != nil {
		return fail(err)
	}
	if err := bw.Flush(); err != nil {
		return fail(fmt.Errorf("writing %s: %w", path, err))
	}
	if err := tmp.Chmod(mode); err != nil {
		return fail(err)
	}
	if durable {
		if err := tmp.Sync(); err != nil {
			return fail(fmt.Errorf("syncing %s: %w", path, err))
		}
	}
	if err := tmp.Close(); err != nil {
		os.Remove(tmp.Name())
		return nil, err
	}
	return &Pending{path: path, tmp: tmp.Name(), durable: durable}, nil
}

// Commit renames the file into place (and, if durable, syncs the
// directory). It can be called once.
func (p *Pending) Commit() error {
	if p.done {
		return fmt.Errorf("%s: already committed or discarded", p.path)
	}
	p.done = true
	if err := os.Rename(p.tmp, p.path); err != nil {
		os.Remove(p.tmp)
		return err
	}
	if !p.durable {
		return nil
	}
	return SyncDir(filepath.Dir(p.path))
}

// Discard removes the file unless it was committed.
func (p *Pending) Discard() {
	if !p.done {
		p.done = true
		os.Remove(p.tmp)
	}
}

// RemoveStale removes from dir the temporary files a crash left behind
// (a prepared file never committed, a write cut short). Only for a
// directory no one else is writing into at the time.
func RemoveStale(dir string) error {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return err
	}
	for _, e := range entries {
		if n := e.Name(); e.Type().IsRegular() && strings.HasPrefix(n, ".") && strings.Contains(n, ".tmp-") {
			if err := os.Remove(filepath.Join(dir, n)); err != nil && !errors.Is(err, os.ErrNotExist) {
				return err
			}
		}
	}
	return nil
}

// WriteBytes replaces path with data.
func WriteBytes(path string, mode os.FileMode, data []byte) error {
	return Write(path, mode, func(w io.Writer) error {
		_, err := w.Write(data)
		return err
	})
}

// SyncDir syncs a directory, so that a file created in it survives a
// crash.
func SyncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("syncing directory %s: %w", dir, err)
	}
	return nil
}
