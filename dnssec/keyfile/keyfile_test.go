package keyfile_test

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ptzone/ptzone/dnssec"
	"github.com/ptzone/ptzone/dnssec/keyfile"
	"github.com/ptzone/ptzone/internal/testkit"
	"github.com/ptzone/ptzone/internal/tooltest"
	"github.com/ptzone/ptzone/zone"
)

var (
	pt  = zone.MustParseName("pt.")
	now = testkit.FixedTime
)

func TestSaveLoad(t *testing.T) {
	dir := t.TempDir()
	keys := testkit.GenerateKeys(t, pt, now.Add(-time.Hour), dnssec.GenerateOptions{SEP: true}, dnssec.GenerateOptions{},
		dnssec.GenerateOptions{Algorithm: dnssec.RSASHA256, SEP: true}, dnssec.GenerateOptions{Algorithm: dnssec.ED25519})
	for _, k := range keys {
		if err := keyfile.Save(k, dir); err != nil {
			t.Fatal(err)
		}
		info, err := os.Stat(k.File + ".private")
		if err != nil || info.Mode().Perm() != 0o600 {
			t.Errorf("%s.private: mode %v (%v), want 0600", k.File, info.Mode().Perm(), err)
		}
		if got, want := filepath.Base(k.File), fmt.Sprintf("Kpt.+%03d+%05d", k.Algorithm(), k.Tag); got != want {
			t.Errorf("file name %s, want %s", got, want)
		}
	}
	loaded, err := keyfile.Load(dir, pt)
	if err != nil {
		t.Fatal(err)
	}
	if len(loaded) != len(keys) {
		t.Fatalf("loaded %d keys, saved %d", len(loaded), len(keys))
	}
	for _, k := range loaded {
		if !k.Timing.Activate.Equal(now.Add(-time.Hour)) || !k.Active(now) {
			t.Errorf("%s: timing %+v", k, k.Timing)
		}
	}
	// Loaded keys sign a zone that verifies, canaries signed by the saved
	// ones included.
	b := zone.NewBuilder(pt, 4)
	soa := zone.SOA{MName: zone.MustParseName("a.dns.pt."), RName: zone.MustParseName("h.dns.pt."), Serial: 1, Minimum: 60}
	b.Add(pt, zone.TypeSOA, 60, soa.Rdata())
	b.Add(pt, zone.TypeNS, 60, zone.MustParseName("a.dns.pt.").Wire())
	unsigned, _ := b.Zone()
	signed, err := dnssec.Sign(unsigned, loaded, dnssec.DefaultSignOptions(now))
	if err != nil {
		t.Fatal(err)
	}
	if r := dnssec.Verify(signed, dnssec.VerifyOptions{Now: now, Keys: keys}); !r.OK() {
		t.Errorf("%v", r.Problems)
	}

	// A private file swapped with another key's is refused.
	otherDir := t.TempDir()
	other := testkit.GenerateKeys(t, pt, now.Add(-time.Hour), dnssec.GenerateOptions{})[0]
	keyfile.Save(other, otherDir)
	priv, _ := os.ReadFile(other.File + ".private")
	os.WriteFile(keys[1].File+".private", priv, 0o600)
	if _, err := keyfile.Load(dir, pt); err == nil || !strings.Contains(err.Error(), "does not match") {
		t.Errorf("a mismatched pair loaded: %v", err)
	}
	// A private file others can read is refused.
	os.Chmod(keys[0].File+".private", 0o644)
	if _, err := keyfile.LoadKey(keys[0].File); err == nil || !strings.Contains(err.Error(), "chmod 600") {
		t.Errorf("a world-readable private key loaded: %v", err)
	}
}

// TestBINDKeys: keys made by BIND's dnssec-keygen load, and ours are files
// BIND reads (dnssec-signzone signs with them).
func TestBINDKeys(t *testing.T) {
	dir := t.TempDir()
	for _, args := range [][]string{{"-a", "ECDSAP256SHA256", "-f", "KSK"}, {"-a", "ECDSAP256SHA256"}, {"-a", "ED25519"}, {"-a", "RSASHA256", "-b", "2048"}} {
		r := tooltest.Run(t, time.Minute, "dnssec-keygen", append(append([]string{"-K", dir}, args...), "pt.")...)
		if r.Err != nil {
			t.Fatalf("dnssec-keygen: %v\n%s", r.Err, r.Output)
		}
	}
	keys, err := keyfile.Load(dir, pt)
	if err != nil {
		t.Fatalf("BIND's keys do not load: %v", err)
	}
	if len(keys) != 4 || !keys[0].Active(time.Now()) {
		t.Errorf("loaded %d keys; first active %v", len(keys), len(keys) > 0 && keys[0].Active(time.Now()))
	}

	ours := t.TempDir()
	for _, k := range testkit.GenerateKeys(t, pt, now.Add(-time.Hour), dnssec.GenerateOptions{SEP: true}, dnssec.GenerateOptions{}) {
		keyfile.Save(k, ours)
	}
	zonePath := filepath.Join(ours, "pt.zone")
	os.WriteFile(zonePath, []byte("pt. 60 IN SOA a.dns.pt. h.dns.pt. 1 60 60 60 60\npt. 60 IN NS a.dns.pt.\na.dns.pt. 60 IN A 192.0.2.1\n"), 0o644)
	r := tooltest.Run(t, time.Minute, "dnssec-signzone", "-K", ours, "-S", "-d", filepath.Dir(zonePath), "-o", "pt.", "-f", zonePath+".signed", zonePath)
	if r.Err != nil || !strings.Contains(r.Output, "Zone fully signed") {
		t.Errorf("dnssec-signzone cannot sign with our key files: %v\n%s", r.Err, r.Output)
	}
}
