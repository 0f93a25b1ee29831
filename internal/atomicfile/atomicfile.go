// Package atomicfile replaces files atomically: the content goes to a
// temporary file in the target's directory, which is synced, given its
// mode and renamed over the target, and the directory is synced. A crash
// or an error leaves the old file or the new one, never a part of either.
package atomicfile

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"path/filepath"
)

// Write replaces path with what write produces.
func Write(path string, mode os.FileMode, write func(w io.Writer) error) error {
	return replace(path, mode, write, true)
}

// WriteCache replaces path as Write does, but syncs nothing: readers
// still see the old file or the new one whole, but after a crash the file
// may be the old one, or even empty or partial. Only for files whose
// reader detects that (a checksum) and can do without them: syncing a
// cache of tens of megabytes at every publication costs more than
// rebuilding it after the rare crash.
func WriteCache(path string, mode os.FileMode, write func(w io.Writer) error) error {
	return replace(path, mode, write, false)
}

func replace(path string, mode os.FileMode, write func(w io.Writer) error, durable bool) error {
	dir := filepath.Dir(path)
	tmp, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name()) // no-op once renamed
	bw := bufio.NewWriterSize(tmp, 1<<20)
	if err := write(bw); err != nil {
		tmp.Close()
		return err
	}
	if err := bw.Flush(); err != nil {
		tmp.Close()
		return fmt.Errorf("writing %s: %w", path, err)
	}
	if err := tmp.Chmod(mode); err != nil {
		tmp.Close()
		return err
	}
	if durable {
		if err := tmp.Sync(); err != nil {
			tmp.Close()
			return fmt.Errorf("syncing %s: %w", path, err)
		}
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return err
	}
	if !durable {
		return nil
	}
	return SyncDir(dir)
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
