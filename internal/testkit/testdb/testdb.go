package testdb

import (
	"bytes"
	"context"
	"path/filepath"
	"testing"

	"github.com/ptzone/ptzone"
	"github.com/ptzone/ptzone/interchange"
	"github.com/ptzone/ptzone/policy"
	"github.com/ptzone/ptzone/store"
	"github.com/ptzone/ptzone/store/sqlite"
)

// Open opens a new, empty embedded registry, closed when the test ends.
func Open(t testing.TB) *sqlite.DB {
	t.Helper()
	path := filepath.Join(t.TempDir(), "registry.db")
	db, err := sqlite.Open(context.Background(), path)
	if err != nil {
		t.Fatalf("opening the test registry %s: %v", path, err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// Sample opens a new embedded registry holding the sample registry
// (ptzone.SampleRegistry), its domains imported as existing ones under
// the policy with the bundled lists; closed when the test ends.
func Sample(t testing.TB) *sqlite.DB {
	t.Helper()
	db := Open(t)
	ImportSample(t, db)
	return db
}

// ImportSample imports the sample registry into db as Sample does: for
// a test that runs on another backend too.
func ImportSample(t testing.TB, db store.DomainWriter) {
	t.Helper()
	v := interchange.Validator{Policy: policy.New(policy.Lists{}), Mode: policy.Existing}
	records := interchange.Records(bytes.NewReader(ptzone.SampleRegistry), "sample", v)
	if _, err := db.Import(context.Background(), records, store.ImportInsert); err != nil {
		t.Fatalf("importing the sample registry: %v", err)
	}
}
