package delegation

import (
	"testing"
	"time"

	"github.com/ptzone/ptzone/store"
)

// TestVerdict: a report's verdict is its worst finding's severity,
// whatever their order, and the stored check result fails on an error,
// warns on a warning and passes on notices alone; each finding is stored
// with its severity as the registry keeps it.
func TestVerdict(t *testing.T) {
	notice := Finding{Code: NoEDNS, Severity: store.SeverityNotice}
	warning := Finding{Code: OneNetwork, Severity: store.SeverityWarning, args: []any{"192.0.2.0/24"}}
	failure := Finding{Code: TooFewNS, Severity: store.SeverityError, args: []any{1}}
	for _, c := range []struct {
		findings []Finding
		worst    store.Severity
		verdict  store.Verdict
	}{
		{nil, "", store.VerdictPass},
		{[]Finding{notice}, store.SeverityNotice, store.VerdictPass},
		{[]Finding{notice, warning, notice}, store.SeverityWarning, store.VerdictWarning},
		{[]Finding{warning, failure, notice}, store.SeverityError, store.VerdictFail},
		{[]Finding{failure, warning}, store.SeverityError, store.VerdictFail},
	} {
		r := Report{Domain: "exemplo.pt", Findings: c.findings}
		worst, any := r.Verdict()
		if any != (len(c.findings) > 0) || worst != c.worst {
			t.Errorf("%v: verdict %q %v, want %q", c.findings, worst, any, c.worst)
		}
		res := r.Result(time.Unix(0, 0), time.Second, "test")
		if res.Verdict != c.verdict || len(res.Findings) != len(c.findings) {
			t.Errorf("%v: stored %s with %d findings, want %s", c.findings, res.Verdict, len(res.Findings), c.verdict)
		}
		for i, f := range res.Findings {
			if f.Severity != c.findings[i].Severity || f.Code != c.findings[i].Code {
				t.Errorf("stored finding %d: %s %s, want %s %s", i, f.Code, f.Severity, c.findings[i].Code, c.findings[i].Severity)
			}
		}
	}
}
