package sqlite

import (
	"context"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ptzone/ptzone/store"
)

// TestChangesUseTheIndex: an incremental publication reads the few
// domains changed since the last one. Without ANALYZE statistics SQLite
// preferred walking all domains in name order to sorting the few the
// domains_changed index finds: 0.34 s per publication at 1,400,000
// domains instead of milliseconds.
func TestChangesUseTheIndex(t *testing.T) {
	db, err := Open(context.Background(), filepath.Join(t.TempDir(), "r.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	for _, f := range []store.Filter{{}, {DelegationOnly: true}, {Zone: "pt"}, {Zone: "pt", DelegationOnly: true}} {
		q, _, args := db.ChangesQueries(f, changedCond, []any{int64(1)})
		rows, err := db.db.Query("EXPLAIN QUERY PLAN "+rebind(q), args...)
		if err != nil {
			t.Fatal(err)
		}
		var plan []string
		for rows.Next() {
			var id, parent, unused int
			var detail string
			if err := rows.Scan(&id, &parent, &unused, &detail); err != nil {
				t.Fatal(err)
			}
			plan = append(plan, detail)
		}
		rows.Close()
		all := strings.Join(plan, "\n")
		if !strings.Contains(all, "SEARCH d USING INDEX domains_changed") {
			t.Errorf("filter %+v: the changes are not found through domains_changed:\n%s", f, all)
		}
	}
}
