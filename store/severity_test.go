package store

import "testing"

// TestSeverityRank: severities rank from notice to error; one not known
// ranks as a notice, never above a warning.
func TestSeverityRank(t *testing.T) {
	order := []Severity{"", "unheard-of", SeverityNotice, SeverityWarning, SeverityError}
	want := []int{0, 0, 0, 1, 2}
	for i, s := range order {
		if got := s.Rank(); got != want[i] {
			t.Errorf("%q ranks %d, want %d", s, got, want[i])
		}
	}
}
