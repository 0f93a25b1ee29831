package testdb_test

import (
	"bytes"
	"context"
	"errors"
	"testing"

	"github.com/ptzone/ptzone"
	"github.com/ptzone/ptzone/internal/testkit/testdb"
	"github.com/ptzone/ptzone/store"
)

// TestOpenAndSample: Open gives an empty registry; Sample one holding
// every domain of the sample registry, as its lines give them.
func TestOpenAndSample(t *testing.T) {
	ctx := context.Background()
	if _, err := testdb.Open(t).Domain(ctx, "2go.pt"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("2go.pt in an empty registry: %v", err)
	}
	db := testdb.Sample(t)
	d, err := db.Domain(ctx, "2go.pt")
	if err != nil || d.Status != store.StatusActive || d.Registrar != "REG-4" || len(d.Nameservers) != 2 {
		t.Errorf("2go.pt in the sample registry: %+v, %v", d, err)
	}
	snap, err := db.Snapshot(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer snap.Close()
	n := 0
	for _, err := range snap.Domains(ctx, store.Filter{}) {
		if err != nil {
			t.Fatal(err)
		}
		n++
	}
	if want := bytes.Count(ptzone.SampleRegistry, []byte("\n")); n != want {
		t.Errorf("%d domains in the sample registry, want one for each of its %d lines", n, want)
	}
}
