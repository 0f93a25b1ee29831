package httpapi

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"testing"

	"github.com/ptzone/ptzone/datadir"
	"github.com/ptzone/ptzone/store"
)

// busy is an error of the kind a lower package defines for its state,
// as the daemon's ErrNotPublisher and ErrFrozen.
type busy struct{}

func (busy) Error() string { return "another daemon is the publisher" }
func (busy) Conflict()     {}

// TestStatusOf: each kind of error has one status, whoever returns it
// and however wrapped; a state conflict keeps its message, an internal
// error does not show it.
func TestStatusOf(t *testing.T) {
	for _, c := range []struct {
		err     error
		status  int
		code    string
		message string
	}{
		{fmt.Errorf("publish: %w", busy{}), http.StatusConflict, "conflict", "publish: another daemon is the publisher"},
		{fmt.Errorf("rolling back pt: %w", datadir.ErrNoEarlierVersion), http.StatusConflict, "conflict",
			"rolling back pt: no earlier version of the zone is kept"},
		{fmt.Errorf("reading: %w", store.ErrNotFound), http.StatusNotFound, "not_found", errNoSuchDomain.message},
		{badRequest("limit %q: want 1 to 10000", "x"), http.StatusBadRequest, "bad_request", `limit "x": want 1 to 10000`},
		{fmt.Errorf("waiting: %w", context.DeadlineExceeded), http.StatusServiceUnavailable, "unavailable", "the request ran out of time"},
		{errors.New("disk full at /var/lib/ptzone"), http.StatusInternalServerError, "internal", "internal error (logged)"},
	} {
		got := statusOf(c.err)
		if got.status != c.status || got.code != c.code || got.message != c.message {
			t.Errorf("%v: %d %s %q, want %d %s %q", c.err, got.status, got.code, got.message, c.status, c.code, c.message)
		}
	}
}
