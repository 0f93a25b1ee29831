package daemon

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ptzone/ptzone/zonegen"
)

// goodZone is a zone section that passes; each refusal case below breaks
// one setting of it.
const goodZone = `[zone."pt"]
serial = "dateserial"
nameservers = [
  { name = "a.dns.pt", addrs = ["185.39.208.1", "2a04:6d80::1"] },
  { name = "ns2.nic.fr" },
]
[zone."pt".soa]
refresh = "30m"
retry = "15m"
expire = "14d"
minimum = "1h"
[zone."pt".signing]
validity = "14d"
refresh = "7d"
`

// TestZoneSettingsRefused: each setting the Rules or an RFC bounds is
// refused outside its bounds, with the file, the line that sets it, the
// setting and why.
func TestZoneSettingsRefused(t *testing.T) {
	for _, c := range []struct {
		name, replace, with string
		want                string // the whole "file:line: setting: why" prefix that must appear
	}{
		{"serial policy", `serial = "dateserial"`, `serial = "monotonic"`, `bad.toml:2: zone.pt.serial: "monotonic": want`},
		{"one name server", `  { name = "ns2.nic.fr" },`, ``, `bad.toml:3: zone.pt.nameservers: 1 name servers: a zone needs at least two (Art 1.2`},
		{"in-zone server without glue", `{ name = "ns2.nic.fr" }`, `{ name = "b.dns.pt" }`, `bad.toml:3: zone.pt.nameservers.1.addrs: b.dns.pt is inside pt: give its addresses`},
		{"bad address", `"2a04:6d80::1"`, `"2a04:6d80::g"`, `zone.pt.nameservers.0.addrs: a.dns.pt: "2a04:6d80::g" is not an IP address`},
		{"expire shorter than refresh", `expire = "14d"`, `expire = "20m"`, `bad.toml:10: zone.pt.soa.expire: 20m0s is shorter than refresh (30m0s)`},
		{"retry longer than refresh", `retry = "15m"`, `retry = "1h"`, `bad.toml:9: zone.pt.soa.retry: 1h0m0s is longer than refresh`},
		{"minimum over a day", `minimum = "1h"`, `minimum = "2d"`, `bad.toml:11: zone.pt.soa.minimum: 48h0m0s: negative answers would be cached more than a day (RFC 2308`},
		{"rname with @", `[zone."pt".soa]`, "[zone.\"pt\".soa]\nrname = \"hostmaster@dns.pt\"", `bad.toml:8: zone.pt.soa.rname: "hostmaster@dns.pt": write the mailbox with a dot`},
		{"refresh window longer than validity", `refresh = "7d"`, `refresh = "15d"`, `bad.toml:14: zone.pt.signing.refresh: 360h0m0s is not shorter than the validity (336h0m0s)`},
		{"refresh plus jitter", `refresh = "7d"`, "refresh = \"7d\"\njitter = \"7d\"", `bad.toml:15: zone.pt.signing.jitter: refresh (168h0m0s) plus jitter (168h0m0s) must be shorter than the validity`},
		{"validity too long", `validity = "14d"`, `validity = "120d"`, `bad.toml:13: zone.pt.signing.validity: 2880h0m0s: longer than 2160h0m0s`},
		{"nsec3 iterations", `validity = "14d"`, "validity = \"14d\"\nnsec3_iterations = 10", `bad.toml:14: zone.pt.signing.nsec3_iterations: 10: RFC 9276 section 3.1 wants 0`},
		{"nsec3 salt", `validity = "14d"`, "validity = \"14d\"\nnsec3_salt = \"AABB\"", `zone.pt.signing.nsec3_salt: "AABB": RFC 9276 section 3.1 wants no salt`},
		{"nsec3 ttl", `[zone."pt".signing]`, "[zone.\"pt\".ttl]\nnsec3 = \"1d\"\n[zone.\"pt\".signing]", `bad.toml:13: zone.pt.ttl.nsec3: 24h0m0s: RFC 9077 fixes the NSEC3 TTL at the lesser of the SOA's TTL and its minimum, here 1h0m0s`},
		{"ttl beyond RFC 2181", `[zone."pt".signing]`, "[zone.\"pt\".ttl]\nds = \"4000w\"\n[zone.\"pt\".signing]", `bad.toml:13: zone.pt.ttl.ds: 672000h0m0s is beyond the largest TTL (2^31-1 s, RFC 2181`},
		{"guard percent", `[zone."pt".signing]`, "[zone.\"pt\".guard]\nds_changed = { count = 5, percent = 150 }\n[zone.\"pt\".signing]", `bad.toml:13: zone.pt.guard.ds_changed: count 5, percent 150`},
		{"static delegation elsewhere", `[zone."pt".signing]`, "[[zone.\"pt\".delegation]]\nname = \"gov.com.pt\"\nnameservers = [{ name = \"ns1.gov.pt\", addrs = [\"193.47.185.1\"] }, { name = \"ns.gov.example\" }]\n[zone.\"pt\".signing]",
			`bad.toml:13: zone.pt.delegation.0.name: gov.com.pt is not a child of pt`},
		{"static delegation with one server", `[zone."pt".signing]`, "[[zone.\"pt\".delegation]]\nname = \"gov.pt\"\nnameservers = [{ name = \"ns1.gov.pt\", addrs = [\"193.47.185.1\"] }]\n[zone.\"pt\".signing]",
			`bad.toml:14: zone.pt.delegation.0.nameservers: gov.pt: 1 name servers; a delegation needs at least two (Art 1.2)`},
		{"static delegation bad DS", `[zone."pt".signing]`, "[[zone.\"pt\".delegation]]\nname = \"gov.pt\"\nnameservers = [{ name = \"ns1.gov.pt\", addrs = [\"193.47.185.1\"] }, { name = \"ns.gov.example\" }]\nds = [\"12345 13 2 ABCD\"]\n[zone.\"pt\".signing]",
			`bad.toml:15: zone.pt.delegation.0.ds.0: gov.pt: "12345 13 2 ABCD": `},
		{"built but not served", `[zone."pt"]`, "zones = [\"com.pt\"]\n[zone.\"pt\"]", `bad.toml:1: zones: pt is built and published but not served`},
		{"duration", `expire = "14d"`, `expire = "fortnight"`, `bad.toml:10: time: invalid duration "fortnight"`},
		{"unknown zone setting", `minimum = "1h"`, "minimum = \"1h\"\nminimun = \"1h\"", `bad.toml:12: unknown setting zone.pt.soa.minimun`},
	} {
		t.Run(c.name, func(t *testing.T) {
			text := strings.Replace(goodZone, c.replace, c.with, 1)
			if text == goodZone {
				t.Fatalf("the case changes nothing: %q not in the good section", c.replace)
			}
			_, err := ParseConfig("bad.toml", text)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Errorf("got %v\nwant an error containing %q", err, c.want)
			}
		})
	}
	if _, err := ParseConfig("good.toml", goodZone); err != nil {
		t.Fatalf("the good section is refused: %v", err)
	}
}

// TestZoneSectionsInherit: a zone's section takes what it leaves out from
// [zone_defaults], and that from ptzone's defaults; only zones with a
// section are built, parents first.
func TestZoneSectionsInherit(t *testing.T) {
	c, err := ParseConfig("z.toml", `
[zone_defaults]
serial = "increment"
nameservers = [{ name = "a.dns.pt", addrs = ["185.39.208.1"] }, { name = "ns2.nic.fr" }]
[zone_defaults.soa]
expire = "4w"
[zone."com.pt"]
guard = { window = "6h" }
[zone."pt"]
serial = "dateserial"
[zone."pt".ttl]
ds = 7200
`)
	if err != nil {
		t.Fatal(err)
	}
	if got := c.BuiltZones(); !slices.Equal(got, []string{"pt", "com.pt"}) {
		t.Errorf("built zones %q", got)
	}
	if got := c.ServedZones(); !slices.Equal(got, []string{"pt.", "com.pt."}) {
		t.Errorf("served zones %q: by default those built", got)
	}
	zc, opts := c.ZoneBuild()
	pt, com := zc.Params("pt"), zc.Params("com.pt")
	def := zonegen.DefaultParams()
	switch {
	case pt.Serial != zonegen.SerialDate || com.Serial != zonegen.SerialIncrement:
		t.Errorf("serial policies %s, %s", pt.Serial, com.Serial)
	case pt.Expire != 28*86400 || com.Expire != 28*86400 || pt.Refresh != def.Refresh:
		t.Errorf("expire %d, %d; refresh %d", pt.Expire, com.Expire, pt.Refresh)
	case pt.TTL.DS != 7200 || com.TTL.DS != def.TTL.DS:
		t.Errorf("DS TTLs %d, %d", pt.TTL.DS, com.TTL.DS)
	case len(com.Nameservers) != 2 || com.Nameservers[1].Name != "ns2.nic.fr":
		t.Errorf("com.pt name servers %v", com.Nameservers)
	case opts["pt"].Sign.Validity != 14*24*time.Hour || opts["pt"].Guard.Thresholds.DelegationsRemoved.Count != 10 ||
		opts["pt"].Guard.Window != 24*time.Hour || opts["com.pt"].Guard.Window != 6*time.Hour:
		t.Errorf("pt options %+v", opts["pt"])
	}
	if err := zc.Validate(); err != nil {
		t.Errorf("the zones' configuration does not validate: %v", err)
	}
	if _, err := ParseConfig("z.toml", "[zone_defaults]\n[[zone_defaults.delegation]]\nname = \"gov.pt\"\n"); err == nil ||
		!strings.Contains(err.Error(), "zone_defaults.delegation") {
		t.Errorf("a static delegation in zone_defaults: %v", err)
	}
}

// TestProductionGlueWarning: a PostgreSQL registry is production; zones
// that still name documentation-range or loopback addresses for their
// servers (the defaults) are warned about, with the line; a lab
// (embedded store) is not.
func TestProductionGlueWarning(t *testing.T) {
	c, err := ParseConfig("prod.toml", "[store]\ndsn = \"postgres://ptzone@db/registry\"\n"+
		"[zone.\"pt\"]\nnameservers = [{ name = \"a.dns.pt\", addrs = [\"127.0.0.1\"] }, { name = \"ns2.nic.fr\" }]\n[zone.\"com.pt\"]\n")
	if err != nil {
		t.Fatal(err)
	}
	w := strings.Join(c.Warnings(), "\n")
	for _, want := range []string{
		"prod.toml:4: zone.pt.nameservers: a.dns.pt has 127.0.0.1, a loopback address",
		"prod.toml:5: zone.com.pt.nameservers: a.dns.pt has 192.0.2.53, a documentation-range",
	} {
		if !strings.Contains(w, want) {
			t.Errorf("warnings:\n%s\nwant %q", w, want)
		}
	}
	lab, err := ParseConfig("lab.toml", "[zone.\"pt\"]\n")
	if err != nil || len(lab.Warnings()) > 0 {
		t.Errorf("a lab configuration: %v, warnings %q", err, lab.Warnings())
	}
}

func TestParseDuration(t *testing.T) {
	for in, want := range map[string]time.Duration{
		"14d": 14 * 24 * time.Hour, "1w2d": 9 * 24 * time.Hour, "1d12h": 36 * time.Hour, "3600": time.Hour,
		"90s": 90 * time.Second, "0": 0, "2h30m": 150 * time.Minute,
	} {
		if got, err := parseDuration(in); err != nil || got != want {
			t.Errorf("parseDuration(%q) = %s, %v; want %s", in, got, err, want)
		}
	}
	for _, in := range []string{"", "d", "1x", "14days", "1d-1h"} {
		if got, err := parseDuration(in); err == nil {
			t.Errorf("parseDuration(%q) = %s; want an error", in, got)
		}
	}
}

// TestIssueExampleConfig: the example of issue 21, as the operator's
// manual shows it, is a good configuration.
func TestIssueExampleConfig(t *testing.T) {
	path := filepath.Join("..", "testdata", "config", "pt.toml")
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	c, err := ParseConfig(path, string(b))
	if err != nil {
		t.Fatal(err)
	}
	zc, _ := c.ZoneBuild()
	if len(zc.StaticDelegations) != 1 || zc.StaticDelegations[0].Name != "gov.pt" || len(zc.StaticDelegations[0].DS) != 1 {
		t.Errorf("static delegations %+v", zc.StaticDelegations)
	}
}
