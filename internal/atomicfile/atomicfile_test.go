package atomicfile

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestWrite(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "f")
	if err := WriteBytes(path, 0o640, []byte("one")); err != nil {
		t.Fatal(err)
	}
	// A failing writer leaves the old content and no temporary file.
	boom := errors.New("boom")
	err := Write(path, 0o640, func(w io.Writer) error {
		w.Write([]byte("half of two"))
		return boom
	})
	if !errors.Is(err, boom) {
		t.Fatalf("error = %v", err)
	}
	if b, _ := os.ReadFile(path); string(b) != "one" {
		t.Errorf("content after a failed write: %q", b)
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 {
		t.Errorf("%d files left in the directory, want 1", len(entries))
	}
	if err := WriteBytes(path, 0o600, []byte("two")); err != nil {
		t.Fatal(err)
	}
	info, _ := os.Stat(path)
	if b, _ := os.ReadFile(path); string(b) != "two" || info.Mode().Perm() != 0o600 {
		t.Errorf("content %q mode %v", b, info.Mode().Perm())
	}
}

// TestWriteCache: unsynced, but still whole or not at all for readers.
func TestWriteCache(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "cache")
	write := func(content string, fail error) error {
		return WriteCache(path, 0o644, func(w io.Writer) error {
			w.Write([]byte(content))
			return fail
		})
	}
	if err := write("one", nil); err != nil {
		t.Fatal(err)
	}
	if err := write("half", errors.New("boom")); err == nil {
		t.Fatal("a failing writer's error was lost")
	}
	if b, _ := os.ReadFile(path); string(b) != "one" {
		t.Errorf("content after a failed write: %q", b)
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 1 {
		t.Errorf("%d files left in the directory, want 1", len(entries))
	}
}

// TestPrepareCache: a prepared file, synced (Prepare) or not
// (PrepareCache), is not in place until committed, and a discarded one
// leaves nothing behind.
func TestPrepareCache(t *testing.T) {
	for name, prep := range map[string]func(string, os.FileMode, func(io.Writer) error) (*Pending, error){
		"Prepare": Prepare, "PrepareCache": PrepareCache,
	} {
		t.Run(name, func(t *testing.T) { testPrepare(t, prep) })
	}
}

func testPrepare(t *testing.T, prep func(string, os.FileMode, func(io.Writer) error) (*Pending, error)) {
	dir := t.TempDir()
	path := filepath.Join(dir, "state")
	if err := WriteBytes(path, 0o644, []byte("old")); err != nil {
		t.Fatal(err)
	}
	prepare := func(content string) *Pending {
		p, err := prep(path, 0o644, func(w io.Writer) error {
			_, err := w.Write([]byte(content))
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		return p
	}
	p := prepare("new")
	if b, _ := os.ReadFile(path); string(b) != "old" {
		t.Errorf("before Commit the file holds %q", b)
	}
	if err := p.Commit(); err != nil {
		t.Fatal(err)
	}
	p.Discard() // after Commit: nothing
	if b, _ := os.ReadFile(path); string(b) != "new" {
		t.Errorf("after Commit the file holds %q", b)
	}
	if err := p.Commit(); err == nil {
		t.Error("a second Commit succeeded")
	}
	prepare("dropped").Discard()
	if b, _ := os.ReadFile(path); string(b) != "new" {
		t.Errorf("after Discard the file holds %q", b)
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 1 {
		t.Errorf("%d files left in the directory, want 1", len(entries))
	}
	if _, err := prep(path, 0o644, func(w io.Writer) error { return errors.New("boom") }); err == nil {
		t.Error("a failing writer's error was lost")
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 1 {
		t.Errorf("a failed prepare left %d files, want 1", len(entries))
	}
}

// TestRemoveStale: what a crash leaves between PrepareCache and Commit
// goes; the files in place stay.
func TestRemoveStale(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "pt.state")
	if err := WriteBytes(path, 0o644, []byte("published")); err != nil {
		t.Fatal(err)
	}
	if err := WriteBytes(filepath.Join(dir, ".hidden"), 0o644, []byte("not ours")); err != nil {
		t.Fatal(err)
	}
	if _, err := PrepareCache(path, 0o644, func(w io.Writer) error { _, err := w.Write([]byte("cut short")); return err }); err != nil {
		t.Fatal(err) // neither committed nor discarded: as after a crash
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 3 {
		t.Fatalf("%d files before, want 3", len(entries))
	}
	if err := RemoveStale(dir); err != nil {
		t.Fatal(err)
	}
	var names []string
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		names = append(names, e.Name())
	}
	if len(names) != 2 || names[0] != ".hidden" || names[1] != "pt.state" {
		t.Errorf("left %v, want [.hidden pt.state]", names)
	}
	if b, _ := os.ReadFile(path); string(b) != "published" {
		t.Errorf("the file in place holds %q", b)
	}
}

// TestWriteRewriting: bytes written can be written over before the file
// is put in place, and not past what was written.
func TestWriteRewriting(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "zone")
	err := WriteRewriting(path, 0o644, func(w *Rewriter) error {
		fmt.Fprintf(w, "apex placeholder\n%s", strings.Repeat("rest\n", 300000)) // past the buffer
		return w.Rewrite(0, []byte("APEX"))
	})
	if err != nil {
		t.Fatal(err)
	}
	b, _ := os.ReadFile(path)
	if want := "APEX placeholder\n" + strings.Repeat("rest\n", 300000); string(b) != want {
		t.Errorf("file starts %q, %d octets; want %d", b[:20], len(b), len(want))
	}
	err = WriteRewriting(path, 0o644, func(w *Rewriter) error {
		w.Write([]byte("short"))
		return w.Rewrite(2, []byte("long!"))
	})
	if err == nil {
		t.Error("a rewrite past what was written passed")
	}
	if b2, _ := os.ReadFile(path); string(b2) != string(b) {
		t.Error("a failed rewrite replaced the file")
	}
}
