package testkit_test

import (
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ptzone/ptzone/dnssec"
	"github.com/ptzone/ptzone/dnssec/keyfile"
	"github.com/ptzone/ptzone/internal/testkit"
	"github.com/ptzone/ptzone/zone"
)

var pt = zone.MustParseName("pt.")

// TestClock: a clock reads what it was set to and moved by, while other
// goroutines read it (run with -race).
func TestClock(t *testing.T) {
	c := testkit.NewClock(testkit.FixedTime)
	if !c.Now().Equal(testkit.FixedTime) {
		t.Fatalf("new clock reads %v", c.Now())
	}
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			for range 100 {
				if c.Now().Before(testkit.FixedTime) {
					t.Error("the clock went back")
				}
			}
		})
	}
	for range 100 {
		c.Add(time.Second)
	}
	wg.Wait()
	if want := testkit.FixedTime.Add(100 * time.Second); !c.Now().Equal(want) {
		t.Errorf("after 100 moves of a second: %v, want %v", c.Now(), want)
	}
	c.Set(testkit.FixedTime)
	if !c.Now().Equal(testkit.FixedTime) {
		t.Errorf("set back: %v", c.Now())
	}
	var zero testkit.Clock
	if !zero.Now().IsZero() {
		t.Errorf("zero clock reads %v", zero.Now())
	}
}

// TestGenerateKeys: no layout gives a KSK and a ZSK active from the time
// given; a layout gives its keys in its order.
func TestGenerateKeys(t *testing.T) {
	at := testkit.FixedTime.Add(-time.Hour)
	keys := testkit.GenerateKeys(t, pt, at)
	if len(keys) != 2 || !keys[0].SEP() || keys[1].SEP() || keys[0].Tag == keys[1].Tag {
		t.Fatalf("default layout: %v", keys)
	}
	for _, k := range keys {
		if k.Zone != pt || !k.Timing.Activate.Equal(at) || k.Algorithm() != dnssec.ECDSAP256SHA256 {
			t.Errorf("%s: zone %s, timing %+v", k, k.Zone, k.Timing)
		}
	}
	keys = testkit.GenerateKeys(t, pt, at, dnssec.GenerateOptions{Algorithm: dnssec.ED25519, SEP: true})
	if len(keys) != 1 || keys[0].Algorithm() != dnssec.ED25519 || !keys[0].SEP() {
		t.Errorf("an Ed25519 CSK: %v", keys)
	}
}

// TestGenerateKeyFiles: keyfile.Load finds a KSK and a ZSK for each zone
// named, with or without its final dot.
func TestGenerateKeyFiles(t *testing.T) {
	dir := t.TempDir()
	testkit.GenerateKeyFiles(t, dir, testkit.FixedTime, "pt", "com.pt.")
	for _, z := range []string{"pt.", "com.pt."} {
		keys, err := keyfile.Load(dir, zone.MustParseName(z))
		if err != nil || len(keys) != 2 || keys[0].SEP() == keys[1].SEP() {
			t.Errorf("%s: %v, %v", z, keys, err)
		}
	}
}

// TestFixedKeys: pt's fixed keys are the KSK 29457 and the ZSK 34048,
// whose tags tables of expected answers name; the copy of testdata/keys
// keeps the private files to their owner.
func TestFixedKeys(t *testing.T) {
	keys := testkit.FixedKeys(t, pt)
	if len(keys) != 2 || keys[0].Tag != 29457 || !keys[0].SEP() || keys[1].Tag != 34048 || keys[1].SEP() {
		t.Errorf("pt's fixed keys: %v", keys)
	}
	for _, k := range keys {
		if !k.Active(testkit.FixedTime.Add(-time.Hour)) {
			t.Errorf("%s is not active an hour before FixedTime: %+v", k, k.Timing)
		}
	}
	dir := testkit.FixedKeysDir(t)
	privates, _ := filepath.Glob(filepath.Join(dir, "*.private"))
	if len(privates) != 16 {
		t.Errorf("%d private files, want a KSK and a ZSK for each of 8 zones", len(privates))
	}
	for _, p := range privates {
		if info, err := os.Stat(p); err != nil || info.Mode().Perm() != 0o600 {
			t.Errorf("%s: %v %v", p, info.Mode(), err)
		}
	}
}

const testPT = `
pt.              3600   IN SOA  a.dns.pt. hostmaster.dns.pt. 1763812800 1800 900 604800 600
pt.              172800 IN NS   a.dns.pt.
a.dns.pt.        172800 IN A    192.0.2.53
seguro.pt.       86400  IN NS   ns1.seguro.pt.
seguro.pt.       86400  IN DS   12345 13 2 ABABABABABABABABABABABABABABABABABABABABABABABABABABABABABABABAB
ns1.seguro.pt.   86400  IN A    198.51.100.1
`

func signedPT(t *testing.T) (*zone.Zone, []*dnssec.Key) {
	t.Helper()
	keys := testkit.GenerateKeys(t, pt, testkit.FixedTime.Add(-time.Hour))
	z := testkit.Sign(t, testkit.ReadZone(t, pt, testPT), keys, testkit.FixedTime)
	return z, keys
}

// zoneLines returns a zone's master-file lines, sorted.
func zoneLines(t *testing.T, z *zone.Zone) []string {
	t.Helper()
	var b strings.Builder
	if _, err := z.WriteTo(&b); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(b.String()), "\n")
	slices.Sort(lines)
	return lines
}

// TestSign: the zone signed is the text read, signed with the options
// changed as asked, and it verifies.
func TestSign(t *testing.T) {
	z, keys := signedPT(t)
	if r := dnssec.Verify(z, dnssec.VerifyOptions{Now: testkit.FixedTime, Keys: keys}); !r.OK() {
		t.Fatalf("%v", r.Problems)
	}
	if _, ok := z.Get(zone.MustParseName("ns1.seguro.pt."), zone.TypeA); !ok {
		t.Error("the glue of seguro.pt. is not in the zone")
	}
	if _, ok := z.Get(pt, zone.TypeNSEC3PARAM); !ok {
		t.Error("no NSEC3PARAM with the default options")
	}
	noZONEMD := testkit.Sign(t, testkit.ReadZone(t, pt, testPT), keys, testkit.FixedTime, func(o *dnssec.SignOptions) { o.ZONEMD = false })
	if _, ok := noZONEMD.Get(pt, zone.TypeZONEMD); ok {
		t.Error("ZONEMD made although an option took it off")
	}
}

// TestReplaceRRset: only the RRset named changes, keeping its TTL; a new
// one has TTL 3600, an emptied one goes; the zone given is left as it was.
func TestReplaceRRset(t *testing.T) {
	z, _ := signedPT(t)
	before := zoneLines(t, z)
	glue := zone.MustParseName("ns1.seguro.pt.")
	_, other := zone.AddrRdata(netip.MustParseAddr("198.51.100.2"))

	added := testkit.ReplaceRRset(t, z, "ns1.seguro.pt.", zone.TypeA, 0, func(rds [][]byte) [][]byte { return append(rds, other) })
	if set, ok := added.Get(glue, zone.TypeA); !ok || set.Len() != 2 || set.TTL() != 86400 {
		t.Errorf("glue with an address added: %v %v", set, ok)
	}
	after := zoneLines(t, added)
	var extra []string
	for _, l := range after {
		if _, found := slices.BinarySearch(before, l); !found {
			extra = append(extra, l)
		}
	}
	if len(after) != len(before)+1 || len(extra) != 1 || !strings.Contains(extra[0], "198.51.100.2") {
		t.Errorf("adding one address: %d lines, then %d; new ones %q", len(before), len(after), extra)
	}
	if !slices.Equal(before, zoneLines(t, z)) {
		t.Error("ReplaceRRset changed the zone it was given")
	}

	gone := testkit.ReplaceRRset(t, z, "seguro.pt.", zone.TypeDS, 0, func([][]byte) [][]byte { return nil })
	if _, ok := gone.Get(zone.MustParseName("seguro.pt."), zone.TypeDS); ok {
		t.Error("an emptied DS RRset is still there")
	}
	if rds := testkit.Rdatas(t, gone, "seguro.pt.", zone.TypeRRSIG, zone.TypeDS); len(rds) != 1 {
		t.Errorf("removing the DS RRset left %d signatures over DS, want the 1 it had", len(rds))
	}

	sig := testkit.Rdatas(t, z, "pt.", zone.TypeRRSIG, zone.TypeSOA)
	made := testkit.ReplaceRRset(t, z, "a.dns.pt.", zone.TypeRRSIG, zone.TypeSOA, func(rds [][]byte) [][]byte {
		if rds != nil {
			t.Errorf("a.dns.pt. already has signatures over SOA: %d", len(rds))
		}
		return sig
	})
	set, ok := made.GetSig(mustFind(t, made, "a.dns.pt."), zone.TypeSOA)
	if !ok || set.TTL() != 3600 {
		t.Errorf("a new RRSIG RRset: %v, TTL %d", ok, set.TTL())
	}
}

// TestDamageSignatures: every signature over the RRset named fails
// verification, and none other.
func TestDamageSignatures(t *testing.T) {
	z, keys := signedPT(t)
	damaged := testkit.DamageSignatures(t, z, "seguro.pt.", zone.TypeDS)
	r := dnssec.Verify(damaged, dnssec.VerifyOptions{Now: testkit.FixedTime, Keys: keys})
	var bad []string
	for _, p := range r.Problems {
		if p.Code == dnssec.ProblemBadSignature {
			bad = append(bad, p.Owner)
		}
	}
	if !slices.Equal(bad, []string{"seguro.pt."}) {
		t.Errorf("bad signatures at %q, want at seguro.pt. alone; problems %v", bad, r.Problems)
	}
}

// TestEnvInt: a positive number from the environment, the default when
// the variable is unset or empty.
func TestEnvInt(t *testing.T) {
	const name = "PTZONE_TESTKIT_SIZE"
	t.Setenv(name, "")
	if got := testkit.EnvInt(t, name, 7); got != 7 {
		t.Errorf("empty: %d, want the default 7", got)
	}
	t.Setenv(name, "2000000")
	if got := testkit.EnvInt(t, name, 7); got != 2000000 {
		t.Errorf("2000000: %d", got)
	}
}

// TestFailuresNameTheInput: a helper given bad input fails the test with
// a message naming it.
func TestFailuresNameTheInput(t *testing.T) {
	z, _ := signedPT(t)
	for _, c := range []struct {
		name string
		call func(t testing.TB)
		want string
	}{
		{"a variable that is not a number", func(t testing.TB) {
			t.(*failure).TB.Setenv("PTZONE_TESTKIT_SIZE", "lots")
			testkit.EnvInt(t, "PTZONE_TESTKIT_SIZE", 7)
		}, `PTZONE_TESTKIT_SIZE="lots" is not a positive number`},
		{"a zero size", func(t testing.TB) {
			t.(*failure).TB.Setenv("PTZONE_TESTKIT_SIZE", "0")
			testkit.EnvInt(t, "PTZONE_TESTKIT_SIZE", 7)
		}, `PTZONE_TESTKIT_SIZE="0"`},
		{"an owner the zone lacks", func(t testing.TB) {
			testkit.ReplaceRRset(t, z, "nada.pt.", zone.TypeA, 0, func(rds [][]byte) [][]byte { return rds })
		}, "no owner nada.pt."},
		{"no signature to damage", func(t testing.TB) {
			testkit.DamageSignatures(t, z, "ns1.seguro.pt.", zone.TypeA)
		}, "ns1.seguro.pt. has no signature over A"},
		{"a zone name that is not one", func(t testing.TB) {
			testkit.GenerateKeyFiles(t, t.(*failure).TB.TempDir(), testkit.FixedTime, "pt..")
		}, `zone name "pt.."`},
		{"zone text that does not read", func(t testing.TB) {
			testkit.ReadZone(t, pt, "pt. 3600 IN SOA nonsense")
		}, "reading the test zone pt."},
	} {
		t.Run(c.name, func(t *testing.T) {
			if got := failureOf(t, c.call); !strings.Contains(got, c.want) {
				t.Errorf("failed with %q, want it to say %q", got, c.want)
			}
		})
	}
}

// failure is a testing.TB whose Fatal records the message and ends the
// goroutine, as testing's does.
type failure struct {
	testing.TB
	msg string
}

func (f *failure) Helper() {}

func (f *failure) Fatal(args ...any) { f.msg = fmt.Sprint(args...); runtime.Goexit() }

func (f *failure) Fatalf(format string, args ...any) {
	f.msg = fmt.Sprintf(format, args...)
	runtime.Goexit()
}

// failureOf runs call and returns the message it failed with; a call
// that does not fail fails the test.
func failureOf(t *testing.T, call func(testing.TB)) string {
	t.Helper()
	f := &failure{TB: t}
	done := make(chan bool)
	go func() {
		defer close(done)
		call(f)
		done <- true
	}()
	if <-done {
		t.Fatal("the helper did not fail")
	}
	return f.msg
}

func mustFind(t *testing.T, z *zone.Zone, owner string) int {
	t.Helper()
	i, ok := z.Find(zone.MustParseName(owner))
	if !ok {
		t.Fatalf("no owner %s", owner)
	}
	return i
}
