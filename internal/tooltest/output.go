package tooltest

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

// LDNSVersion returns the version of the installed ldns as one number,
// 10803 for 1.8.3, or 0 when ldns-verify-zone does not say it. Tests
// need it because ldns-verify-zone before 1.9.0 can hang on an NSEC3
// zone that carries ZONEMD (NLnetLabs/ldns#287).
func LDNSVersion(t testing.TB) int {
	t.Helper()
	r := Run(t, time.Minute, "ldns-verify-zone", "-v")
	var major, minor, patch int
	if i := strings.Index(r.Output, "ldns version "); i >= 0 {
		fmt.Sscanf(r.Output[i:], "ldns version %d.%d.%d", &major, &minor, &patch)
	}
	return major*10000 + minor*100 + patch
}

// Tail returns the last n lines of a tool's output, for a failure
// message that shows why the tool refused without all it said.
func Tail(output string, n int) string {
	lines := strings.Split(strings.TrimRight(output, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
