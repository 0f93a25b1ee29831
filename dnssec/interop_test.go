package dnssec_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ptzone/ptzone/dnssec"
	"github.com/ptzone/ptzone/internal/testkit"
	"github.com/ptzone/ptzone/internal/tooltest"
	"github.com/ptzone/ptzone/zone"
)

// writeZone writes a zone to a file for the tools.
func writeZone(t *testing.T, z *zone.Zone) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "pt.zone")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := z.WriteTo(f); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	return path
}

// toolTime is the signing time the tools judge the zone at: they use the
// real clock, so the zone is signed now rather than at the fixed test time.
func toolTime() time.Time { return time.Now().UTC().Truncate(time.Second) }

// TestInteropValidators: a signed zone is accepted by ldns, BIND and Knot,
// for each key layout ptzone supports.
func TestInteropValidators(t *testing.T) {
	layouts := map[string][]dnssec.GenerateOptions{
		"ecdsa-ksk-zsk": kskZsk,
		"ecdsa-csk":     {{SEP: true}},
		"rsa-ksk-zsk":   {{SEP: true, Algorithm: dnssec.RSASHA256}, {Algorithm: dnssec.RSASHA256}},
		"ed25519-csk":   {{SEP: true, Algorithm: dnssec.ED25519}},
	}
	for name, spec := range layouts {
		t.Run(name, func(t *testing.T) {
			when := toolTime()
			keys := testkit.GenerateKeys(t, pt, when.Add(-time.Hour), spec...)
			unsigned := testZone(t, 500)
			signed := testkit.Sign(t, unsigned, keys, when)
			csk := len(spec) == 1
			CheckWithTools(t, signed, csk, func() *zone.Zone {
				return testkit.Sign(t, unsigned, keys, when, func(o *dnssec.SignOptions) { o.ZONEMD = false })
			})
		})
	}
}

// CheckWithTools writes a signed zone and has ldns-verify-zone, BIND's
// dnssec-verify and named-checkzone, and Knot's kzonecheck check it.
// ldns-verify-zone before 1.9.0 hangs on some NSEC3 zones that carry
// ZONEMD (NLnetLabs/ldns#287, fixed in 1.9.0; Debian 12 ships 1.8.3): with
// such an ldns, it checks the zone signed the same way without ZONEMD,
// which withoutZONEMD returns. csk says the zone is signed by combined
// keys, which dnssec-verify accepts only with -z.
func CheckWithTools(t *testing.T, signed *zone.Zone, csk bool, withoutZONEMD func() *zone.Zone) {
	t.Helper()
	path := writeZone(t, signed)
	ldnsPath := path
	if v := tooltest.LDNSVersion(t); v < 10900 {
		t.Logf("ldns %d.%d.%d predates the ZONEMD fix of 1.9.0: ldns checks the zone without ZONEMD", v/10000, v/100%100, v%100)
		ldnsPath = writeZone(t, withoutZONEMD())
	}
	verifyArgs := []string{"-o", "pt.", path}
	if csk {
		verifyArgs = append([]string{"-z"}, verifyArgs...)
	}
	tools := []struct {
		name string
		args []string
		ok   func(out string) bool
	}{
		{"ldns-verify-zone", []string{ldnsPath}, func(out string) bool { return strings.Contains(out, "Zone is verified and complete") }},
		{"dnssec-verify", verifyArgs, func(out string) bool { return strings.Contains(out, "Zone fully signed") }},
		// -i local: the full modes look out-of-zone names up through the
		// system resolver, which points off this machine.
		{"named-checkzone", []string{"-i", "local", "-k", "fail", "-n", "fail", "pt.", path}, func(out string) bool { return strings.Contains(out, "OK") }},
		{"kzonecheck", []string{"-o", "pt.", "-d", "on", path}, func(string) bool { return true }},
	}
	for _, tool := range tools {
		r := tooltest.Run(t, 5*time.Minute, tool.name, tool.args...)
		if r.Err != nil || !tool.ok(r.Output) {
			t.Errorf("%s refuses the zone (%v):\n%s", tool.name, r.Err, tooltest.Tail(r.Output, 40))
		}
	}
}
