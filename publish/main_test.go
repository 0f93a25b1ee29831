package publish_test

import (
	"os"
	"testing"

	"github.com/ptzone/ptzone/internal/testkit/testdb"
	"github.com/ptzone/ptzone/store"
	"github.com/ptzone/ptzone/store/postgres/pgtest"
)

func TestMain(m *testing.M) { os.Exit(pgtest.Main(m)) }

// backends are the registries, each holding the sample registry, that
// a test reading the publication log by time runs on.
var backends = []struct {
	name string
	open func(t *testing.T) store.Registry
}{
	{"sqlite", func(t *testing.T) store.Registry { return testdb.Sample(t) }},
	{"postgres", func(t *testing.T) store.Registry {
		db, _ := pgtest.Open(t)
		testdb.ImportSample(t, db)
		return db
	}},
}
