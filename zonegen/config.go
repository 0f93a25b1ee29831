package zonegen

import (
	"errors"
	"fmt"
	"net/netip"
	"strings"

	"github.com/ptzone/ptzone/policy"
	"github.com/ptzone/ptzone/store"
	"github.com/ptzone/ptzone/zone"
)

// Host is a name server with its addresses.
type Host struct {
	Name  string
	Addrs []netip.Addr
}

// StaticDelegation is a delegation the registry does not hold, such as
// gov.pt (run by CEGER, Art 14) inside pt.
type StaticDelegation struct {
	Name        string
	Nameservers []Host
	DS          []store.DS
}

// TTLs per record type, in seconds.
type TTLs struct {
	SOA, ApexNS, ApexAddr, NS, DS, Glue uint32
}

// ZoneParams is what one zone's build depends on besides the registry
// and the static delegations: its apex, its serial policy, its TTLs.
type ZoneParams struct {
	// SOA fields other than the serial.
	MName, RName                    string
	Refresh, Retry, Expire, Minimum uint32
	Serial                          SerialPolicy
	TTL                             TTLs
	Nameservers                     []Host // the apex NS, with their addresses
}

// Config describes the zones to build.
type Config struct {
	// Zones are the zones we build; each holds the delegations of the
	// domains registered in it. A hierarchy not listed (gov.pt) is not ours.
	Zones []string
	// ZoneParams apply to every zone PerZone does not name.
	ZoneParams
	// PerZone holds the parameters of zones configured one by one.
	PerZone map[string]ZoneParams
	// StaticDelegations go into the zone of ours that is their parent.
	StaticDelegations []StaticDelegation
	// AssumeChecked treats every candidate as having passed its delegation
	// check: for building zones before the checker has run.
	AssumeChecked bool
}

// Params returns the parameters zone z is built with.
func (c *Config) Params(z string) ZoneParams {
	if p, ok := c.PerZone[z]; ok {
		return p
	}
	return c.ZoneParams
}

// DefaultParams are a zone's parameters unless configured: .pt-like SOA
// timers, unixtime serials, and name servers in documentation ranges.
func DefaultParams() ZoneParams {
	return ZoneParams{
		MName: "a.dns.pt", RName: "hostmaster.dns.pt",
		Refresh: 1800, Retry: 900, Expire: 1209600, Minimum: 3600,
		Serial: SerialUnixTime,
		TTL:    TTLs{SOA: 3600, ApexNS: 172800, ApexAddr: 172800, NS: 86400, DS: 86400, Glue: 86400},
		Nameservers: []Host{
			{Name: "a.dns.pt", Addrs: []netip.Addr{netip.MustParseAddr("192.0.2.53"), netip.MustParseAddr("2001:db8::53")}},
			{Name: "b.dns.pt", Addrs: []netip.Addr{netip.MustParseAddr("198.51.100.53"), netip.MustParseAddr("2001:db8:1::53")}},
			{Name: "c.dns.pt", Addrs: []netip.Addr{netip.MustParseAddr("203.0.113.53"), netip.MustParseAddr("2001:db8:2::53")}},
		},
	}
}

// DefaultZones are the zones built unless configured: every hierarchy
// of the Rules but gov.pt, which CEGER runs.
func DefaultZones() []string {
	var zones []string
	for _, h := range policy.Hierarchies() {
		if h.Zone != "gov.pt" {
			zones = append(zones, h.Zone)
		}
	}
	return zones
}

// DefaultConfig returns the configuration of the .pt zones with the
// default parameters.
func DefaultConfig() Config {
	return Config{Zones: DefaultZones(), ZoneParams: DefaultParams()}
}

// Validate checks the configuration without building anything.
func (c *Config) Validate() error {
	var errs []error
	if len(c.Zones) == 0 {
		errs = append(errs, errors.New("no zones to build"))
	}
	seen := map[string]bool{}
	for _, z := range c.Zones {
		if _, err := zone.ParseName(z+".", zone.Root); err != nil || store.CheckHostname(z) != nil {
			errs = append(errs, fmt.Errorf("zone %q is not a domain name", z))
		}
		if seen[z] {
			errs = append(errs, fmt.Errorf("zone %q is listed twice", z))
		}
		seen[z] = true
	}
	for z := range c.PerZone {
		if !seen[z] {
			errs = append(errs, fmt.Errorf("zone %q has parameters but is not built", z))
		}
	}
	for _, z := range c.Zones {
		p := c.Params(z)
		if err := p.validate(z); err != nil {
			errs = append(errs, fmt.Errorf("zone %s: %w", z, err))
		}
	}
	for _, d := range c.StaticDelegations {
		if err := store.CheckHostname(d.Name); err != nil || len(d.Nameservers) == 0 {
			errs = append(errs, fmt.Errorf("static delegation %q: needs a name and nameservers", d.Name))
			continue
		}
		parent := parentZone(d.Name, c.Zones)
		if parent == "" || strings.Count(d.Name, ".") != strings.Count(parent, ".")+1 {
			errs = append(errs, fmt.Errorf("static delegation %s: not a child of any zone built (%s)", d.Name, strings.Join(c.Zones, ", ")))
		}
		if seen[d.Name] {
			errs = append(errs, fmt.Errorf("static delegation %s: a zone of ours already", d.Name))
		}
	}
	return errors.Join(errs...)
}

// validate checks the parameters of zone z.
func (p *ZoneParams) validate(z string) error {
	var errs []error
	for _, n := range []struct{ what, v string }{{"mname", p.MName}, {"rname", p.RName}} {
		if err := store.CheckHostname(n.v); err != nil {
			errs = append(errs, fmt.Errorf("SOA %s: %v", n.what, err))
		}
	}
	switch p.Serial {
	case SerialUnixTime, SerialDate, SerialIncrement:
	default:
		errs = append(errs, fmt.Errorf("serial policy %q: want %q, %q or %q", p.Serial, SerialUnixTime, SerialDate, SerialIncrement))
	}
	if len(p.Nameservers) < 2 {
		errs = append(errs, errors.New("the zone needs at least two nameservers (Art 1.2 holds for us too)"))
	}
	for _, h := range p.Nameservers {
		if err := store.CheckHostname(h.Name); err != nil {
			errs = append(errs, fmt.Errorf("nameserver: %v", err))
		} else if store.IsSubdomain(h.Name, z) && len(h.Addrs) == 0 {
			errs = append(errs, fmt.Errorf("nameserver %s is inside %s and needs addresses (glue)", h.Name, z))
		}
	}
	if p.Minimum > 86400 {
		errs = append(errs, fmt.Errorf("SOA minimum %d s: negative answers would be cached more than a day", p.Minimum))
	}
	return errors.Join(errs...)
}
