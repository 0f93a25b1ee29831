package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/miekg/dns"

	"github.com/ptzone/ptzone"
	"github.com/ptzone/ptzone/internal/tooltest"
	"github.com/ptzone/ptzone/store"
	"github.com/ptzone/ptzone/store/sqlite"
)

// registryWithKeys imports a registry file and generates keys for every
// zone, in a private data directory.
func registryWithKeys(t *testing.T, registry []byte) (home string, dataFlag []string) {
	t.Helper()
	home = t.TempDir()
	dataFlag = []string{"--data-dir", filepath.Join(home, "data")}
	file := writeFile(t, home, "registry.jsonl", registry)
	cli(t, home, append([]string{"db", "import", file}, dataFlag...)...).want(t, exitOK)
	cli(t, home, append([]string{"keys", "generate", "--all"}, dataFlag...)...).want(t, exitOK)
	return home, dataFlag
}

// buildAt is a time after the keys were made, so that they are active.
func buildAt() string { return time.Now().UTC().Add(time.Minute).Format(time.RFC3339) }

func TestKeysCommands(t *testing.T) {
	home, data := registryWithKeys(t, ptzone.SampleRegistry)
	r := cli(t, home, append([]string{"keys", "list"}, data...)...).want(t, exitOK)
	if strings.Count(r.stdout, " KSK ") != 8 || strings.Count(r.stdout, " ZSK ") != 8 {
		t.Errorf("keys list:\n%s", r.stdout)
	}
	r = cli(t, home, append([]string{"keys", "ds", "--zone", "pt"}, data...)...).want(t, exitOK)
	if !strings.HasPrefix(r.stdout, "pt.\tIN\tDS\t") || strings.Count(r.stdout, "\n") != 1 {
		t.Errorf("keys ds: %q", r.stdout)
	}
	cli(t, home, append([]string{"keys", "generate", "--zone", "gov.pt"}, data...)...).want(t, exitUsage)
	cli(t, home, append([]string{"keys", "generate", "--zone", "pt", "--type", "big"}, data...)...).want(t, exitUsage)
	cli(t, home, append([]string{"keys", "generate", "--zone", "pt", "--all"}, data...)...).want(t, exitUsage)
}

func TestZoneBuildVerifyDiff(t *testing.T) {
	home, data := registryWithKeys(t, ptzone.SampleRegistry)
	at := buildAt()
	out := filepath.Join(home, "out")
	build := func(dir string) {
		cli(t, home, append([]string{"zone", "build", "--all", "--assume-checked", "--now", at, "--out", dir}, data...)...).want(t, exitOK)
	}
	build(out)
	build(filepath.Join(home, "again"))
	// Without verification, the zone is written while its ZONEMD digest
	// is computed, and its apex written again: the same file.
	cli(t, home, append([]string{"zone", "build", "--all", "--assume-checked", "--now", at, "--no-verify", "--out", filepath.Join(home, "unverified")}, data...)...).want(t, exitOK)
	for _, z := range []string{"pt", "com.pt", "nome.pt"} {
		a, _ := os.ReadFile(filepath.Join(out, z+".zone"))
		for _, again := range []string{"again", "unverified"} {
			b, _ := os.ReadFile(filepath.Join(home, again, z+".zone"))
			if len(a) == 0 || string(a) != string(b) {
				t.Errorf("%s: two builds (%s) with the same registry, keys and --now differ", z, again)
			}
		}
	}
	r := cli(t, home, "zone", "verify", "--now", at, filepath.Join(out, "pt.zone")).want(t, exitOK)
	if !strings.Contains(r.stdout, "valid") {
		t.Errorf("verify: %s", r.stdout)
	}
	// Verifying long after: every signature has expired.
	r = cli(t, home, "zone", "verify", "--now", time.Now().Add(30*24*time.Hour).UTC().Format(time.RFC3339), filepath.Join(out, "pt.zone")).want(t, exitNegative)
	if !strings.Contains(r.stdout, "rrsig.expired") {
		t.Errorf("verify later: %s", r.stdout)
	}
	// A zone with a doctored record.
	text, _ := os.ReadFile(filepath.Join(out, "com.pt.zone"))
	lines := strings.Split(string(text), "\n")
	for i, l := range lines {
		if strings.Contains(l, "\tIN\tDS\t") {
			lines[i] = l[:len(l)-2] + "00"
			break
		}
	}
	bad := writeFile(t, home, "bad.zone", []byte(strings.Join(lines, "\n")))
	r = cli(t, home, "zone", "verify", "--now", at, bad).want(t, exitNegative)
	if !strings.Contains(r.stdout, "rrsig.invalid") {
		t.Errorf("doctored DS: %s", r.stdout)
	}
	r = cli(t, home, "zone", "diff", "--records", filepath.Join(out, "com.pt.zone"), bad).want(t, exitNegative)
	if !strings.Contains(r.stdout, "1 DS changed") || !strings.Contains(r.stdout, "\n- ") || !strings.Contains(r.stdout, "\n+ ") {
		t.Errorf("diff: %s", r.stdout)
	}
	cli(t, home, "zone", "diff", filepath.Join(out, "pt.zone"), filepath.Join(home, "again", "pt.zone")).want(t, exitOK)
	cli(t, home, "zone", "verify", "/nonexistent.zone").want(t, exitUsage)
	cli(t, home, append([]string{"zone", "build", "--all"}, data...)...).want(t, exitUsage) // no --out
}

func TestZonePublish(t *testing.T) {
	home, data := registryWithKeys(t, ptzone.SampleRegistry)
	at := time.Now().UTC().Add(time.Minute)
	publish := func(when time.Time, extra ...string) result {
		args := append([]string{"zone", "publish", "--assume-checked", "--now", when.Format(time.RFC3339)}, data...)
		return cli(t, home, append(args, extra...)...)
	}
	r := publish(at).want(t, exitOK)
	if strings.Count(r.stdout, ": published serial") != 8 {
		t.Errorf("publish:\n%s", r.stdout)
	}
	if _, err := os.Stat(filepath.Join(home, "data", "zones", "pt.zone.bin")); err != nil {
		t.Errorf("no image in DATA-DIR/zones: %v", err)
	}
	// Again, nothing changed: every zone stays as it is.
	r = publish(at).want(t, exitOK)
	if strings.Count(r.stdout, ": unchanged at serial") != 8 {
		t.Errorf("second publish, nothing changed:\n%s", r.stdout)
	}
	// --full publishes every zone again; the same second, the serial still increases.
	r = publish(at, "--full").want(t, exitOK)
	if strings.Count(r.stdout, ": published serial") != 8 || !strings.Contains(r.stdout, fmt.Sprintf("pt: published serial %d,", at.Unix()+1)) {
		t.Errorf("publish --full:\n%s", r.stdout)
	}
	publish(at, "--force-by", "ana").want(t, exitUsage) // no reason
	r = publish(at.Add(time.Minute), "--dry-run", "--full").want(t, exitOK)
	if !strings.Contains(r.stdout, "dry_run") {
		t.Errorf("dry run:\n%s", r.stdout)
	}

	// 20 domains of pt pending deletion at once: refused, each offender
	// on a line of its own with why the registry dropped it.
	var lines []string
	var pending []string
	for _, l := range strings.Split(strings.TrimSpace(string(ptzone.SampleRegistry)), "\n") {
		var d map[string]any
		if err := json.Unmarshal([]byte(l), &d); err != nil {
			t.Fatal(err)
		}
		if name := d["name"].(string); strings.Count(name, ".") == 1 && d["status"] == "active" && len(pending) < 20 {
			d["status"] = "pending_delete"
			pending = append(pending, name)
			b, _ := json.Marshal(d)
			l = string(b)
		}
		lines = append(lines, l)
	}
	file := writeFile(t, home, "pending.jsonl", []byte(strings.Join(lines, "\n")+"\n"))
	cli(t, home, append([]string{"db", "import", "--replace", file}, data...)...).want(t, exitOK)
	r = publish(at.Add(2*time.Minute)).want(t, exitNegative)
	if !strings.Contains(r.stdout, "  refused: delegations-removed: 20 delegations would disappear: 20 of the ") ||
		!strings.Contains(r.stdout, "\n      "+pending[0]+": status pending_delete in the registry\n") {
		t.Errorf("publish with 20 domains pending deletion:\n%s", r.stdout)
	}
	r = publish(at.Add(3*time.Minute), "--force-by", "ana", "--reason", "expiry batch").want(t, exitOK)
	if !strings.Contains(r.stdout, "  forced: delegations-removed: 20 delegations would disappear") {
		t.Errorf("forced:\n%s", r.stdout)
	}

	// An operator's freeze holds for the command as for the daemon.
	db, err := sqlite.Open(context.Background(), filepath.Join(home, "data", "registry.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	freeze := func(zoneName string) {
		t.Helper()
		if err := db.Freeze(context.Background(), store.Freeze{Zone: zoneName, Time: at, Actor: "ana", Reason: "registry repair"}); err != nil {
			t.Fatal(err)
		}
	}
	freeze("com.pt")
	r = publish(at.Add(4*time.Minute), "--full").want(t, exitNegative)
	if !strings.Contains(r.stdout, "com.pt: frozen") || !strings.Contains(r.stdout, "pt: published serial") {
		t.Errorf("with com.pt frozen:\n%s", r.stdout)
	}
	freeze("")
	r = publish(at.Add(5*time.Minute), "--full").want(t, exitNegative)
	if !strings.Contains(r.stderr, "publishing is frozen") || strings.Contains(r.stdout, "published serial") {
		t.Errorf("with every zone frozen:\n%s%s", r.stdout, r.stderr)
	}
}

// TestInteropBuiltZones is the acceptance case: the zones built from the
// sample registry and from a 100,000-domain synthetic registry are
// accepted by ldns-verify-zone, BIND's dnssec-verify and named-checkzone,
// and Knot's kzonecheck.
func TestInteropBuiltZones(t *testing.T) {
	for _, tc := range []struct {
		name  string
		data  func(t *testing.T) []byte
		zones []string
	}{
		{"sample", func(*testing.T) []byte { return ptzone.SampleRegistry }, []string{"pt", "com.pt", "edu.pt", "nome.pt"}},
		{"synthetic-100k", func(t *testing.T) []byte {
			return []byte(cli(t, t.TempDir(), "db", "generate", "--domains", "100000", "--seed", "3").want(t, exitOK).stdout)
		}, []string{"pt", "com.pt"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			home, data := registryWithKeys(t, tc.data(t))
			at := buildAt()
			full, noZONEMD := filepath.Join(home, "full"), filepath.Join(home, "no-zonemd")
			cli(t, home, append([]string{"zone", "build", "--all", "--assume-checked", "--now", at, "--out", full}, data...)...).want(t, exitOK)
			cli(t, home, append([]string{"zone", "build", "--all", "--assume-checked", "--now", at, "--no-zonemd", "--out", noZONEMD}, data...)...).want(t, exitOK)
			ldnsDir := full
			if tooltest.LDNSVersion(t) < 10900 {
				// NLnetLabs/ldns#287: ldns before 1.9.0 can hang on NSEC3
				// zones with ZONEMD; it checks the zone signed without it.
				ldnsDir = noZONEMD
			}
			for _, z := range tc.zones {
				path := filepath.Join(full, z+".zone")
				for _, tool := range []struct {
					name string
					args []string
					ok   string
				}{
					{"ldns-verify-zone", []string{filepath.Join(ldnsDir, z+".zone")}, "Zone is verified and complete"},
					{"dnssec-verify", []string{"-o", z + ".", path}, "Zone fully signed"},
					// -i local: the full modes look out-of-zone names up through the
					// system resolver, which points off this machine.
					{"named-checkzone", []string{"-i", "local", "-k", "fail", "-n", "fail", z + ".", path}, "OK"},
					{"kzonecheck", []string{"-o", z + ".", "-d", "on", path}, ""},
				} {
					r := tooltest.Run(t, 10*time.Minute, tool.name, tool.args...)
					if r.Err != nil || !strings.Contains(r.Output, tool.ok) {
						t.Errorf("%s refuses %s (%v):\n%s", tool.name, z, r.Err, tooltest.Tail(r.Output, 30))
					}
				}
			}
		})
	}
}

// TestZoneBuildFromConfig: the configuration of issue 21, as written in
// testdata/config/pt.toml, passes config check, and pt built from it has
// exactly its apex name servers and their addresses, SOA fields, TTLs,
// serial format, and gov.pt delegated with its DS, while the registry's
// delegations keep coming from the registry.
func TestZoneBuildFromConfig(t *testing.T) {
	config := filepath.Join("..", "..", "testdata", "config", "pt.toml")
	home, data := registryWithKeys(t, ptzone.SampleRegistry)
	r := cli(t, home, "config", "check", config).want(t, exitOK)
	if !strings.Contains(r.stdout, "1 zones built (pt)") {
		t.Errorf("config check: %s", r.stdout)
	}
	at := time.Now().UTC().Add(time.Minute)
	out := filepath.Join(home, "out")
	cli(t, home, append([]string{"zone", "build", "--config", config, "--zone", "pt", "--assume-checked",
		"--now", at.Format(time.RFC3339), "--out", out}, data...)...).want(t, exitOK)
	// com.pt has no section: it is not built.
	cli(t, home, append([]string{"zone", "build", "--config", config, "--zone", "com.pt", "--out", out}, data...)...).want(t, exitUsage)

	text, err := os.ReadFile(filepath.Join(out, "pt.zone"))
	if err != nil {
		t.Fatal(err)
	}
	rrs := map[string][]dns.RR{} // by "owner type"
	zp := dns.NewZoneParser(strings.NewReader(string(text)), "pt.", "pt.zone")
	for rr, ok := zp.Next(); ok; rr, ok = zp.Next() {
		k := rr.Header().Name + " " + dns.TypeToString[rr.Header().Rrtype]
		rrs[k] = append(rrs[k], rr)
	}
	if err := zp.Err(); err != nil {
		t.Fatal(err)
	}
	rdata := func(key string) (ttl uint32, out []string) {
		for _, rr := range rrs[key] {
			ttl = rr.Header().Ttl
			out = append(out, strings.TrimPrefix(rr.String(), rr.Header().String()))
		}
		slices.Sort(out)
		return ttl, out
	}
	want := func(key string, wantTTL uint32, wantData ...string) {
		t.Helper()
		ttl, got := rdata(key)
		slices.Sort(wantData)
		if ttl != wantTTL || !slices.Equal(got, wantData) {
			t.Errorf("%s: TTL %d %q; want TTL %d %q", key, ttl, got, wantTTL, wantData)
		}
	}
	soa := rrs["pt. SOA"][0].(*dns.SOA)
	wantSerial := uint32(at.Year()*1000000 + int(at.Month())*10000 + at.Day()*100)
	if soa.Ns != "a.dns.pt." || soa.Mbox != "hostmaster.dns.pt." || soa.Refresh != 1800 || soa.Retry != 900 ||
		soa.Expire != 14*86400 || soa.Minttl != 3600 || soa.Serial != wantSerial || soa.Hdr.Ttl != 3600 {
		t.Errorf("SOA %s; want a.dns.pt. hostmaster.dns.pt. %d 1800 900 1209600 3600 (dateserial)", soa, wantSerial)
	}
	want("pt. NS", 172800, "a.dns.pt.", "ns2.nic.fr.")
	want("a.dns.pt. A", 172800, "185.39.208.1")
	want("a.dns.pt. AAAA", 172800, "2a04:6d80::1")
	for _, gone := range []string{"b.dns.pt. A", "c.dns.pt. AAAA"} { // the defaults' servers
		if len(rrs[gone]) > 0 {
			t.Errorf("%s: the default name servers are still in the zone", gone)
		}
	}
	want("gov.pt. NS", 86400, "ns1.gov.pt.", "ns2.gov.pt.")
	want("ns1.gov.pt. A", 86400, "193.47.185.1")
	want("ns2.gov.pt. A", 86400, "193.47.185.2")
	want("gov.pt. DS", 3600, "12345 13 2 0123456789ABCDEF0123456789ABCDEF0123456789ABCDEF0123456789ABCDEF")
	// A registry delegation: the configured NS and DS TTLs.
	var delegations, signedDelegations int
	for k, set := range rrs {
		owner, typ, _ := strings.Cut(k, " ")
		if owner == "pt." || owner == "gov.pt." {
			continue
		}
		switch typ {
		case "NS":
			delegations++
			if set[0].Header().Ttl != 86400 {
				t.Errorf("%s: TTL %d; want delegation_ns 1d", k, set[0].Header().Ttl)
			}
		case "DS":
			signedDelegations++
			if set[0].Header().Ttl != 3600 {
				t.Errorf("%s: TTL %d; want ds 1h", k, set[0].Header().Ttl)
			}
		}
	}
	if delegations < 10 || signedDelegations == 0 {
		t.Errorf("%d delegations, %d with DS: the registry's are missing", delegations, signedDelegations)
	}
	cli(t, home, "zone", "verify", "--now", at.Format(time.RFC3339), filepath.Join(out, "pt.zone")).want(t, exitOK)
}
