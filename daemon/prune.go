package daemon

import (
	"time"

	"github.com/ptzone/ptzone/publish"
	"github.com/ptzone/ptzone/store"
)

// pruneCut is what the prune job removes at now: check results, sent
// notices, finished sweeps and the change feed's deleted domains older
// than keep_history; publication log entries older than keep_history
// or the longest of the zones' guard windows, whichever is longer, so
// that the guard still finds the publications of its window (each
// zone's last publication is kept whatever its age, store.PruneCut). A
// publisher whose last change token is older than the deletions removed
// (one frozen for longer than keep_history, say) then builds from the
// whole registry: the store refuses the token rather than answer
// without them.
func (c *Config) pruneCut(now time.Time) store.PruneCut {
	keep := c.KeepHistory()
	window := publish.DefaultWindow
	_, perZone := c.ZoneBuild()
	for _, o := range perZone {
		window = max(window, o.Guard.Window)
	}
	return store.PruneCut{History: now.Add(-keep), Publications: now.Add(-max(keep, window)), Deletions: now.Add(-keep)}
}
