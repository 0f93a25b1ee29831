package sqlcore

import (
	"strings"
	"testing"
	"testing/fstest"
)

func TestLoadMigrations(t *testing.T) {
	fsys := fstest.MapFS{
		"m/0002_more.sql":  {Data: []byte("two")},
		"m/0001_first.sql": {Data: []byte("one")},
		"m/README":         {Data: []byte("ignored")},
	}
	ms, err := LoadMigrations(fsys, "m")
	if err != nil {
		t.Fatal(err)
	}
	if len(ms) != 2 || ms[0].Version != 1 || ms[0].SQL != "one" || ms[1].Name != "0002_more.sql" {
		t.Errorf("Load = %+v", ms)
	}
	for name, bad := range map[string]fstest.MapFS{
		"gap":        {"m/0001_a.sql": {}, "m/0003_c.sql": {}},
		"repeat":     {"m/0001_a.sql": {}, "m/001_b.sql": {}},
		"unnumbered": {"m/first.sql": {}},
	} {
		if _, err := LoadMigrations(bad, "m"); err == nil || !strings.Contains(err.Error(), "migration") {
			t.Errorf("%s: Load = %v, want an error naming the migration", name, err)
		}
	}
}
