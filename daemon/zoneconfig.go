package daemon

import (
	"cmp"
	"fmt"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/miekg/dns"

	"github.com/ptzone/ptzone/dnssec"
	"github.com/ptzone/ptzone/publish"
	"github.com/ptzone/ptzone/store"
	"github.com/ptzone/ptzone/zonegen"
)

// ZoneSection is one zone's [zone."NAME"] section: what its builds,
// signatures and guard depend on besides the registry. A setting left
// out is taken from [zone_defaults], and else from ptzone's defaults.
type ZoneSection struct {
	// Serial is the serial policy: unixtime, dateserial or increment.
	Serial      string        `toml:"serial"`
	Nameservers []HostConfig  `toml:"nameservers"`
	SOA         SOAConfig     `toml:"soa"`
	TTL         TTLConfig     `toml:"ttl"`
	Signing     SigningConfig `toml:"signing"`
	Guard       GuardConfig   `toml:"guard"`
	// Delegations are static delegations the registry does not hold
	// (gov.pt, run by CEGER), each a child of the zone.
	Delegations []DelegationConfig `toml:"delegation"`
}

// HostConfig is a name server: its name, and its addresses when the zone
// must carry them (a name inside the zone).
type HostConfig struct {
	Name  string   `toml:"name"`
	Addrs []string `toml:"addrs"`
}

// SOAConfig holds the SOA fields besides the serial.
type SOAConfig struct {
	MName   string   `toml:"mname"`
	RName   string   `toml:"rname"`
	Refresh Duration `toml:"refresh"`
	Retry   Duration `toml:"retry"`
	Expire  Duration `toml:"expire"`
	Minimum Duration `toml:"minimum"`
}

// TTLConfig holds the TTL of each kind of record.
type TTLConfig struct {
	SOA          Duration `toml:"soa"`
	ApexNS       Duration `toml:"apex_ns"`
	ApexAddr     Duration `toml:"apex_addr"`
	DelegationNS Duration `toml:"delegation_ns"`
	DS           Duration `toml:"ds"`
	Glue         Duration `toml:"glue"`
	DNSKEY       Duration `toml:"dnskey"`
	// NSEC3 may only restate what RFC 9077 fixes: the lesser of the
	// SOA's TTL and its minimum.
	NSEC3 Duration `toml:"nsec3"`
}

// SigningConfig holds the zone's DNSSEC signing options.
type SigningConfig struct {
	Validity        Duration `toml:"validity"`
	Refresh         Duration `toml:"refresh"`
	Jitter          Duration `toml:"jitter"`
	InceptionOffset Duration `toml:"inception_offset"`
	NSEC3OptOut     bool     `toml:"nsec3_opt_out"`
	NSEC3Iterations int      `toml:"nsec3_iterations"`
	NSEC3Salt       string   `toml:"nsec3_salt"`
	ZONEMD          bool     `toml:"zonemd"`
}

// GuardConfig holds the publish guard's limits: per category a count and
// a percentage of the zone's delegations (a change is refused past both),
// and the window the cumulative limit is counted over.
type GuardConfig struct {
	DelegationsRemoved LimitConfig `toml:"delegations_removed"`
	NSChanged          LimitConfig `toml:"ns_changed"`
	GlueChanged        LimitConfig `toml:"glue_changed"`
	DSChanged          LimitConfig `toml:"ds_changed"`
	Window             Duration    `toml:"window"`
}

// LimitConfig is one category's limit.
type LimitConfig struct {
	Count   int     `toml:"count"`
	Percent float64 `toml:"percent"`
}

// DelegationConfig is one static delegation.
type DelegationConfig struct {
	Name        string       `toml:"name"`
	Nameservers []HostConfig `toml:"nameservers"`
	// DS records in presentation form: "KEYTAG ALGORITHM DIGESTTYPE DIGEST".
	DS []string `toml:"ds"`
}

// defaultZoneSection is a zone's section before its file says anything:
// zonegen's and dnssec's defaults, and the guard's.
func defaultZoneSection() ZoneSection {
	p := zonegen.DefaultParams()
	sign := dnssec.DefaultSignOptions(time.Time{})
	limit := publish.DefaultThresholds().DelegationsRemoved
	l := LimitConfig{Count: limit.Count, Percent: limit.Percent}
	s := ZoneSection{
		Serial: string(p.Serial),
		SOA: SOAConfig{MName: p.MName, RName: p.RName, Refresh: seconds(p.Refresh), Retry: seconds(p.Retry),
			Expire: seconds(p.Expire), Minimum: seconds(p.Minimum)},
		TTL: TTLConfig{SOA: seconds(p.TTL.SOA), ApexNS: seconds(p.TTL.ApexNS), ApexAddr: seconds(p.TTL.ApexAddr),
			DelegationNS: seconds(p.TTL.NS), DS: seconds(p.TTL.DS), Glue: seconds(p.TTL.Glue), DNSKEY: seconds(sign.DNSKEYTTL)},
		Signing: SigningConfig{Validity: Duration{sign.Validity}, Refresh: Duration{sign.Refresh}, Jitter: Duration{sign.Jitter},
			InceptionOffset: Duration{sign.InceptionOffset}, NSEC3OptOut: sign.NSEC3.OptOut, ZONEMD: sign.ZONEMD},
		Guard: GuardConfig{DelegationsRemoved: l, NSChanged: l, GlueChanged: l, DSChanged: l, Window: Duration{publish.DefaultWindow}},
	}
	for _, h := range p.Nameservers {
		hc := HostConfig{Name: h.Name}
		for _, a := range h.Addrs {
			hc.Addrs = append(hc.Addrs, a.String())
		}
		s.Nameservers = append(s.Nameservers, hc)
	}
	return s
}

func seconds(s uint32) Duration { return Duration{time.Duration(s) * time.Second} }

// Limits set by the RFCs and by what a TLD can live with.
const (
	maxTTL         = time.Duration(1<<31-1) * time.Second // RFC 2181 section 8
	maxNegativeTTL = 24 * time.Hour                       // RFC 2308 section 5 recommends 1-3 h
	maxValidity    = 90 * 24 * time.Hour
	maxWindow      = 31 * 24 * time.Hour
)

// checkZone checks one zone's section; bad reports a problem at a key
// below the zone's.
func (s *ZoneSection) checkZone(name string, bad func(key string, format string, args ...any)) {
	switch zonegen.SerialPolicy(s.Serial) {
	case zonegen.SerialUnixTime, zonegen.SerialDate, zonegen.SerialIncrement:
	default:
		bad("serial", "%q: want %q, %q or %q", s.Serial, zonegen.SerialUnixTime, zonegen.SerialDate, zonegen.SerialIncrement)
	}
	if len(s.Nameservers) < 2 {
		bad("nameservers", "%d name servers: a zone needs at least two (Art 1.2 holds for the registry too)", len(s.Nameservers))
	}
	checkHosts(name, "nameservers", s.Nameservers, bad)

	soa := s.SOA
	for _, n := range []struct{ key, v string }{{"soa.mname", soa.MName}, {"soa.rname", soa.RName}} {
		if strings.Contains(n.v, "@") {
			bad(n.key, "%q: write the mailbox with a dot for the @ (hostmaster.dns.pt)", n.v)
		} else if err := store.CheckHostname(n.v); err != nil {
			bad(n.key, "%v", err)
		}
	}
	for _, t := range []keyed{{"soa.refresh", soa.Refresh}, {"soa.retry", soa.Retry}, {"soa.expire", soa.Expire}, {"soa.minimum", soa.Minimum}} {
		checkSeconds(t.key, t.d.Duration, "what an SOA field holds", bad)
	}
	if soa.Expire.Duration < soa.Refresh.Duration || soa.Expire.Duration < soa.Retry.Duration {
		bad("soa.expire", "%s is shorter than refresh (%s) or retry (%s): secondaries would expire the zone before they next ask for it (RFC 1912 section 2.2)",
			soa.Expire, soa.Refresh, soa.Retry)
	}
	if soa.Retry.Duration > soa.Refresh.Duration {
		bad("soa.retry", "%s is longer than refresh (%s): a failed refresh would be retried later than a good one (RFC 1912 section 2.2)", soa.Retry, soa.Refresh)
	}
	if soa.Minimum.Duration > maxNegativeTTL {
		bad("soa.minimum", "%s: negative answers would be cached more than a day (RFC 2308 section 5)", soa.Minimum)
	}

	ttl := s.TTL
	for _, t := range []keyed{{"ttl.soa", ttl.SOA}, {"ttl.apex_ns", ttl.ApexNS}, {"ttl.apex_addr", ttl.ApexAddr},
		{"ttl.delegation_ns", ttl.DelegationNS}, {"ttl.ds", ttl.DS}, {"ttl.glue", ttl.Glue}, {"ttl.dnskey", ttl.DNSKEY}} {
		checkSeconds(t.key, t.d.Duration, "the largest TTL", bad)
	}
	if want := min(ttl.SOA.Duration, soa.Minimum.Duration); ttl.NSEC3.Duration != 0 && ttl.NSEC3.Duration != want {
		bad("ttl.nsec3", "%s: RFC 9077 fixes the NSEC3 TTL at the lesser of the SOA's TTL and its minimum, here %s; leave it out", ttl.NSEC3, want)
	}

	sg := s.Signing
	switch {
	case sg.Validity.Duration <= 0:
		bad("signing.validity", "must be positive")
	case sg.Validity.Duration > maxValidity:
		bad("signing.validity", "%s: longer than %s leaves a replayed signature valid too long (RFC 6781 section 4.4.2)", sg.Validity, maxValidity)
	}
	if sg.Refresh.Duration >= sg.Validity.Duration {
		bad("signing.refresh", "%s is not shorter than the validity (%s): every signature would be due for refresh as soon as made", sg.Refresh, sg.Validity)
	} else if sg.Refresh.Duration+sg.Jitter.Duration >= sg.Validity.Duration {
		bad("signing.jitter", "refresh (%s) plus jitter (%s) must be shorter than the validity (%s)", sg.Refresh, sg.Jitter, sg.Validity)
	}
	if sg.InceptionOffset.Duration > 24*time.Hour {
		bad("signing.inception_offset", "%s: more than a day backdates signatures beyond any clock skew", sg.InceptionOffset)
	}
	if sg.NSEC3Iterations != 0 {
		bad("signing.nsec3_iterations", "%d: RFC 9276 section 3.1 wants 0 additional iterations (validators treat more as insecure)", sg.NSEC3Iterations)
	}
	if sg.NSEC3Salt != "" && sg.NSEC3Salt != "-" {
		bad("signing.nsec3_salt", "%q: RFC 9276 section 3.1 wants no salt", sg.NSEC3Salt)
	}

	g := s.Guard
	for _, l := range []struct {
		key string
		l   LimitConfig
	}{{"guard.delegations_removed", g.DelegationsRemoved}, {"guard.ns_changed", g.NSChanged}, {"guard.glue_changed", g.GlueChanged}, {"guard.ds_changed", g.DSChanged}} {
		if l.l.Count < 0 || l.l.Percent < 0 || l.l.Percent > 100 {
			bad(l.key, "count %d, percent %g: want a count of 0 or more and a percent within 0-100", l.l.Count, l.l.Percent)
		}
	}
	if g.Window.Duration > maxWindow {
		bad("guard.window", "%s: longer than %s", g.Window, maxWindow)
	}

	seen := map[string]bool{}
	for i, d := range s.Delegations {
		key := fmt.Sprintf("delegation.%d", i)
		n := strings.ToLower(strings.TrimSuffix(d.Name, "."))
		if err := store.CheckHostname(n); err != nil {
			bad(key+".name", "%v", err)
			continue
		}
		if !store.IsSubdomain(n, name) || strings.Count(n, ".") != strings.Count(name, ".")+1 {
			bad(key+".name", "%s is not a child of %s", n, name)
			continue
		}
		if seen[n] {
			bad(key+".name", "%s is delegated twice", n)
		}
		seen[n] = true
		if len(d.Nameservers) < 2 {
			bad(key+".nameservers", "%s: %d name servers; a delegation needs at least two (Art 1.2)", n, len(d.Nameservers))
		}
		checkHosts(n, key+".nameservers", d.Nameservers, bad)
		for j, text := range d.DS {
			if _, err := parseDS(text); err != nil {
				bad(fmt.Sprintf("%s.ds.%d", key, j), "%s: %v", n, err)
			}
		}
	}
}

// keyed is a duration with its setting's key, in the order checked.
type keyed struct {
	key string
	d   Duration
}

// checkSeconds checks a TTL or an SOA timer: a positive whole number of
// seconds that an RR's 32 bits hold as RFC 2181 section 8 reads them.
func checkSeconds(key string, d time.Duration, what string, bad func(string, string, ...any)) {
	switch {
	case d <= 0:
		bad(key, "must be positive")
	case d > maxTTL:
		bad(key, "%s is beyond %s (2^31-1 s, RFC 2181 section 8)", d, what)
	case d%time.Second != 0:
		bad(key, "%s is not a whole number of seconds", d)
	}
}

// checkHosts checks name servers of domain: names, addresses, and the
// addresses a name inside the domain needs.
func checkHosts(domain, key string, hosts []HostConfig, bad func(string, string, ...any)) {
	names := map[string]bool{}
	for i, h := range hosts {
		k := fmt.Sprintf("%s.%d", key, i)
		n := strings.ToLower(strings.TrimSuffix(h.Name, "."))
		if err := store.CheckHostname(n); err != nil {
			bad(k+".name", "%v", err)
			continue
		}
		if names[n] {
			bad(k+".name", "%s is listed twice", n)
		}
		names[n] = true
		for _, a := range h.Addrs {
			if ip, err := netip.ParseAddr(a); err != nil || ip.Zone() != "" {
				bad(k+".addrs", "%s: %q is not an IP address", n, a)
			}
		}
		if store.IsSubdomain(n, domain) && len(h.Addrs) == 0 {
			bad(k+".addrs", "%s is inside %s: give its addresses (the zone carries them as glue)", n, domain)
		}
	}
}

// parseDS reads a DS in presentation form.
func parseDS(text string) (store.DS, error) {
	f := strings.Fields(text)
	if len(f) < 4 {
		return store.DS{}, fmt.Errorf("%q: want \"KEYTAG ALGORITHM DIGESTTYPE DIGEST\"", text)
	}
	tag, err1 := strconv.ParseUint(f[0], 10, 16)
	alg, err2 := strconv.ParseUint(f[1], 10, 8)
	typ, err3 := strconv.ParseUint(f[2], 10, 8)
	if err1 != nil || err2 != nil || err3 != nil {
		return store.DS{}, fmt.Errorf("%q: key tag, algorithm and digest type are numbers", text)
	}
	d := store.Domain{Name: "x.pt", Zone: "pt", Status: store.StatusActive, Registrar: "config", Expires: time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC),
		DS: []store.DS{{KeyTag: uint16(tag), Algorithm: uint8(alg), DigestType: uint8(typ), Digest: strings.ToUpper(strings.Join(f[3:], ""))}}}
	for _, e := range d.Validate() {
		if strings.HasPrefix(e.Field, "ds") {
			return store.DS{}, fmt.Errorf("%q: %s", text, e.Message)
		}
	}
	return d.DS[0], nil
}

// hosts converts name servers that checkZone accepted.
func hosts(hc []HostConfig) []zonegen.Host {
	out := make([]zonegen.Host, len(hc))
	for i, h := range hc {
		out[i].Name = strings.ToLower(strings.TrimSuffix(h.Name, "."))
		for _, a := range h.Addrs {
			out[i].Addrs = append(out[i].Addrs, netip.MustParseAddr(a))
		}
	}
	return out
}

func secs(d Duration) uint32 { return uint32(d.Duration / time.Second) }

// params returns the zone's build parameters.
func (s *ZoneSection) params() zonegen.ZoneParams {
	return zonegen.ZoneParams{
		MName: strings.TrimSuffix(strings.ToLower(s.SOA.MName), "."), RName: strings.TrimSuffix(strings.ToLower(s.SOA.RName), "."),
		Refresh: secs(s.SOA.Refresh), Retry: secs(s.SOA.Retry), Expire: secs(s.SOA.Expire), Minimum: secs(s.SOA.Minimum),
		Serial: zonegen.SerialPolicy(s.Serial),
		TTL: zonegen.TTLs{SOA: secs(s.TTL.SOA), ApexNS: secs(s.TTL.ApexNS), ApexAddr: secs(s.TTL.ApexAddr),
			NS: secs(s.TTL.DelegationNS), DS: secs(s.TTL.DS), Glue: secs(s.TTL.Glue)},
		Nameservers: hosts(s.Nameservers),
	}
}

// staticDelegations returns the zone's static delegations.
func (s *ZoneSection) staticDelegations() []zonegen.StaticDelegation {
	var out []zonegen.StaticDelegation
	for _, d := range s.Delegations {
		sd := zonegen.StaticDelegation{Name: strings.ToLower(strings.TrimSuffix(d.Name, ".")), Nameservers: hosts(d.Nameservers)}
		for _, text := range d.DS {
			ds, _ := parseDS(text)
			sd.DS = append(sd.DS, ds)
		}
		out = append(out, sd)
	}
	return out
}

// options returns the zone's signing options and guard.
func (s *ZoneSection) options() publish.ZoneOptions {
	sign := dnssec.DefaultSignOptions(time.Time{})
	sg := s.Signing
	sign.Validity, sign.Refresh, sign.Jitter, sign.InceptionOffset = sg.Validity.Duration, sg.Refresh.Duration, sg.Jitter.Duration, sg.InceptionOffset.Duration
	sign.NSEC3 = dnssec.NSEC3Params{OptOut: sg.NSEC3OptOut}
	sign.ZONEMD = sg.ZONEMD
	sign.DNSKEYTTL = secs(s.TTL.DNSKEY)
	g := s.Guard
	limit := func(l LimitConfig) publish.Limit { return publish.Limit{Count: l.Count, Percent: l.Percent} }
	return publish.ZoneOptions{Sign: sign, Guard: publish.Guard{Refresh: sign.Refresh, Window: g.Window.Duration, Thresholds: publish.Thresholds{
		DelegationsRemoved: limit(g.DelegationsRemoved), NSChanged: limit(g.NSChanged), GlueChanged: limit(g.GlueChanged), DSChanged: limit(g.DSChanged)}}}
}

// zoneOrder sorts zones parents first: pt before com.pt.
func zoneOrder(a, b string) int {
	return cmp.Or(cmp.Compare(strings.Count(a, "."), strings.Count(b, ".")), cmp.Compare(a, b))
}

// BuiltZones returns the zones built and published, parents first: those
// with a [zone."NAME"] section, or without any, ptzone's default zones.
func (c *Config) BuiltZones() []string {
	if len(c.zones) == 0 {
		return zonegen.DefaultZones()
	}
	var out []string
	for z := range c.zones {
		out = append(out, z)
	}
	slices.SortFunc(out, zoneOrder)
	return out
}

// section returns zone z's section with every default filled in.
func (c *Config) section(z string) ZoneSection {
	if s, ok := c.zones[z]; ok {
		return *s
	}
	if c.zoneDefaults != nil {
		return *c.zoneDefaults
	}
	return defaultZoneSection()
}

// ZoneBuild returns the zones' build configuration and each zone's
// signing options and guard.
func (c *Config) ZoneBuild() (zonegen.Config, map[string]publish.ZoneOptions) {
	zones := c.BuiltZones()
	zc := zonegen.Config{Zones: zones, ZoneParams: zonegen.DefaultParams(), PerZone: map[string]zonegen.ZoneParams{},
		AssumeChecked: c.Publish.AssumeChecked}
	opts := map[string]publish.ZoneOptions{}
	for _, z := range zones {
		s := c.section(z)
		zc.PerZone[z] = s.params()
		zc.StaticDelegations = append(zc.StaticDelegations, s.staticDelegations()...)
		opts[z] = s.options()
	}
	return zc, opts
}

// glueWarnings lists the apex addresses a production zone should not
// publish: documentation ranges (the defaults) and loopback.
func (c *Config) glueWarnings() []string {
	var out []string
	for _, z := range c.BuiltZones() {
		s := c.section(z)
		for _, h := range s.Nameservers {
			for _, a := range h.Addrs {
				ip, err := netip.ParseAddr(a)
				if err != nil {
					continue
				}
				if why := unpublishable(ip); why != "" {
					out = append(out, fmt.Sprintf("zone.%s.nameservers: %s has %s, a %s address: set the zone's real name servers before publishing to the world",
						z, h.Name, a, why))
				}
			}
		}
	}
	return out
}

var documentation = []netip.Prefix{
	netip.MustParsePrefix("192.0.2.0/24"), netip.MustParsePrefix("198.51.100.0/24"),
	netip.MustParsePrefix("203.0.113.0/24"), netip.MustParsePrefix("2001:db8::/32"),
}

// unpublishable says why an address has no place in a public zone.
func unpublishable(ip netip.Addr) string {
	for _, p := range documentation {
		if p.Contains(ip) {
			return "documentation-range (RFC 5737, RFC 3849)"
		}
	}
	switch {
	case ip.IsLoopback():
		return "loopback"
	case ip.IsPrivate():
		return "private"
	case ip.IsUnspecified(), ip.IsLinkLocalUnicast(), ip.IsMulticast():
		return "non-routable"
	}
	return ""
}

// zoneKey is the configuration key of a setting of zone z's section.
func zoneKey(z, key string) string { return "zone." + z + "." + key }

// canonicalZone is how a [zone."NAME"] is named: lowercase, no final dot.
func canonicalZone(z string) (string, bool) {
	n := strings.ToLower(strings.TrimSuffix(z, "."))
	if _, ok := dns.IsDomainName(n); !ok || n == "" || store.CheckHostname(n) != nil {
		return n, false
	}
	return n, true
}
