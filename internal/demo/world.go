package demo

import (
	"fmt"
	"net/netip"
	"slices"
	"strings"

	"github.com/miekg/dns"

	"github.com/ptzone/ptzone/delegation/lab"
	"github.com/ptzone/ptzone/store"
)

// World is a registry made to point into the lab: every name server at a
// loopback address of its own, the servers of each active domain serving
// its zone (signed where it has a DS), and a stand-in for a recursive
// resolver that knows the addresses of the servers given without glue
// (outside .pt, say).
type World struct {
	// Records are the registry's records, rewritten for the lab.
	Records []store.ImportRecord
	// Resolver is the address of the lab's recursive resolver, on the
	// lab's port.
	Resolver netip.Addr
	// V6Dropped counts the IPv6 glue addresses left out: loopback has
	// only one.
	V6Dropped int

	hosts   map[string]netip.Addr
	serving map[string][]*lab.Zone // by host: the zones it serves
	faults  map[string]lab.Fault   // by host
	// resolverZones hold the addresses of the hosts named without glue.
	resolverZones []*lab.Zone
}

// labSerial is the SOA serial of every domain's lab zone.
const labSerial = 2026112201

// NewWorld rewrites a registry's records for the lab, in place: each name
// server's addresses become the loopback address of its lab server (IPv4
// only: loopback has one IPv6 address), and each signed domain's DS
// becomes its lab zone's. Every domain of the fault catalogue must be in
// the records, active and Registrar's.
func NewWorld(records []store.ImportRecord) (*World, error) {
	byDomain := map[string]Fault{}
	for _, f := range faults {
		byDomain[f.Domain] = f
	}
	var names []string
	seen := map[string]bool{}
	for _, r := range records {
		for _, ns := range r.Domain.Nameservers {
			if !seen[ns.Name] {
				seen[ns.Name] = true
				names = append(names, ns.Name)
			}
		}
	}
	slices.Sort(names)
	w := &World{hosts: map[string]netip.Addr{}, serving: map[string][]*lab.Zone{}, faults: map[string]lab.Fault{}}
	for i, h := range names {
		// A /24 each: a domain's servers are on different networks, as
		// the redundancy rules want them (Art 23.1).
		w.hosts[h] = lab.Addr(1 + 256*i)
	}
	w.Resolver = lab.Addr(1 + 256*len(names))

	withoutGlue := map[string]bool{}
	found := map[string]bool{}
	for i := range records {
		d := &records[i].Domain
		f, faulty := byDomain[d.Name]
		if faulty {
			found[d.Name] = true
			if d.Status != store.StatusActive || d.Registrar != Registrar {
				return nil, fmt.Errorf("demo: %s is to be broken on purpose, but the sample has it %s, of %s", d.Name, d.Status, d.Registrar)
			}
		}
		for j := range d.Nameservers {
			ns := &d.Nameservers[j]
			if len(ns.Addrs) == 0 {
				withoutGlue[ns.Name] = true
				continue
			}
			for _, a := range ns.Addrs {
				if a.Is6() {
					w.V6Dropped++
				}
			}
			ns.Addrs = []netip.Addr{w.hosts[ns.Name]}
		}
		if d.Status != store.StatusActive || len(d.Nameservers) == 0 {
			continue
		}
		z := &lab.Zone{Name: d.Name, Serial: labSerial, Addrs: map[string][]netip.Addr{}, Signed: len(d.DS) > 0, KeySeed: d.Name}
		for _, ns := range d.Nameservers {
			z.NS = append(z.NS, ns.Name)
			if dns.IsSubDomain(d.Name, ns.Name) {
				z.Addrs[ns.Name] = []netip.Addr{w.hosts[ns.Name]}
			}
		}
		if faulty && f.zone != nil {
			f.zone(z)
		}
		if err := z.Check(); err != nil {
			return nil, fmt.Errorf("demo: the lab zone of %s: %w", d.Name, err)
		}
		if z.Signed && !(faulty && f.sampleDS) {
			ds, err := z.DS()
			if err != nil {
				return nil, err
			}
			d.DS = []store.DS{{KeyTag: ds.KeyTag, Algorithm: ds.Algorithm, DigestType: ds.DigestType, Digest: strings.ToUpper(ds.Digest)}}
		}
		for i, ns := range d.Nameservers {
			w.serving[ns.Name] = append(w.serving[ns.Name], z)
			if faulty {
				if len(f.servers) > 0 && !strings.HasSuffix(ns.Name, "."+d.Name) {
					return nil, fmt.Errorf("demo: %s is to have faulty servers, but %s serves other domains too", d.Name, ns.Name)
				}
				w.faults[ns.Name] |= f.servers[i]
			}
		}
	}
	for _, f := range faults {
		if !found[f.Domain] {
			return nil, fmt.Errorf("demo: %s, to be broken on purpose, is not in the sample", f.Domain)
		}
	}
	// The resolver answers for the zones of the hosts given without glue,
	// each zone holding the addresses of those in it.
	byZone := map[string]*lab.Zone{}
	for _, h := range names {
		if !withoutGlue[h] {
			continue
		}
		parent := h[strings.IndexByte(h, '.')+1:]
		z := byZone[parent]
		if z == nil {
			z = &lab.Zone{Name: parent, Serial: 1, Addrs: map[string][]netip.Addr{}}
			byZone[parent] = z
			w.resolverZones = append(w.resolverZones, z)
		}
		z.NS = append(z.NS, h)
		z.Addrs[h] = []netip.Addr{w.hosts[h]}
	}
	w.Records = records
	return w, nil
}

// Start runs the lab's servers: one for each name server an active
// domain names, and the resolver. Closing the lab stops them.
func (w *World) Start() (*lab.Lab, error) {
	lb, err := lab.New()
	if err != nil {
		return nil, err
	}
	hosts := make([]string, 0, len(w.serving))
	for h := range w.serving {
		hosts = append(hosts, h)
	}
	slices.Sort(hosts)
	for _, h := range hosts {
		if _, err := lb.Serve(w.hosts[h], w.faults[h], 0, w.serving[h]...); err != nil {
			lb.Close()
			return nil, fmt.Errorf("demo: the lab server of %s: %w", h, err)
		}
	}
	if _, err := lb.Serve(w.Resolver, 0, 0, w.resolverZones...); err != nil {
		lb.Close()
		return nil, fmt.Errorf("demo: the lab's resolver: %w", err)
	}
	return lb, nil
}

// Servers is how many name servers the lab runs, the resolver aside.
func (w *World) Servers() int { return len(w.serving) }
