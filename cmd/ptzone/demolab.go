package main

import (
	"fmt"
	"net/netip"
	"slices"
	"strings"

	"github.com/miekg/dns"

	"github.com/ptzone/ptzone/delegation/lab"
	"github.com/ptzone/ptzone/store"
)

// demoFault is a fault the demo's lab puts in one domain's delegation on
// purpose, for the checker to find and the registrar pages to explain.
type demoFault struct {
	domain string
	what   string
	// servers are the faults of the domain's name servers, by their
	// place in its NS list; a domain faulted this way has servers of its
	// own in the sample.
	servers map[int]lab.Fault
	// zone changes the data its servers serve.
	zone func(z *lab.Zone)
	// sampleDS keeps the sample's DS, which names no key the lab made.
	sampleDS bool
}

// demoFaults are all REG-2's: its token, printed by the demo, shows them.
var demoFaults = []demoFault{
	{domain: "geladaria-fresca.pt", what: "both name servers are silent", servers: map[int]lab.Fault{0: lab.Timeout, 1: lab.Timeout}},
	{domain: "jf-alvalade.pt", what: "ns2 answers REFUSED (lame)", servers: map[int]lab.Fault{1: lab.Refused}},
	{domain: "galeria-de-arte-contemporanea.pt", what: "the servers answer without authority (AA clear)",
		servers: map[int]lab.Fault{0: lab.NotAuthoritative, 1: lab.NotAuthoritative}},
	{domain: "mobiliario-moderno.com.pt", what: "ns2 serves another SOA serial", servers: map[int]lab.Fault{1: lab.SerialAhead}},
	{domain: "perfumaria-exemplo.com.pt", what: "ns1 is an open resolver", servers: map[int]lab.Fault{0: lab.OpenRecursion}},
	{domain: "sapatos-conforto.com.pt", what: "no server answers over TCP", servers: map[int]lab.Fault{0: lab.NoTCP, 1: lab.NoTCP}},
	{domain: "colegio-sao-jose-exemplo.edu.pt", what: "the zone's NS RRset is not the delegation's", zone: func(z *lab.Zone) {
		z.NS = append(z.NS[:1:1], "ns3."+z.Name)
		z.Addrs["ns3."+z.Name] = z.Addrs[z.NS[0]]
	}},
	{domain: "hostel-exemplo.pt", what: "the DS names no key of the zone", sampleDS: true},
	{domain: "malas-e-acessorios.com.pt", what: "the zone's signatures have expired", zone: func(z *lab.Zone) { z.Expired = true }},
}

// demoRegistrar is the registrar whose token the demo prints.
const demoRegistrar = "REG-2"

// demoLab is the sample registry made to point into the lab: every name
// server at a loopback address of its own, the servers of each active
// domain serving its zone (signed where it has a DS), and a stand-in for
// a recursive resolver that knows the addresses of the servers given
// without glue (outside .pt, say).
type demoLab struct {
	records  []store.ImportRecord // rewritten
	hosts    map[string]netip.Addr
	serving  map[string][]*lab.Zone // by host: the zones it serves
	faults   map[string]lab.Fault   // by host
	resolver netip.Addr
	// resolverZones hold the addresses of the hosts named without glue.
	resolverZones []*lab.Zone
	v6Dropped     int
}

// newDemoLab rewrites the sample's records for the lab: each name
// server's documentation addresses become the loopback address of its
// lab server (IPv4 only: loopback has one IPv6 address), and each signed
// domain's DS becomes its lab zone's.
func newDemoLab(records []store.ImportRecord) (*demoLab, error) {
	faults := map[string]demoFault{}
	for _, f := range demoFaults {
		faults[f.domain] = f
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
	l := &demoLab{hosts: map[string]netip.Addr{}, serving: map[string][]*lab.Zone{}, faults: map[string]lab.Fault{}}
	for i, h := range names {
		// A /24 each: a domain's servers are on different networks, as
		// the redundancy rules want them (Art 23.1).
		l.hosts[h] = lab.Addr(1 + 256*i)
	}
	l.resolver = lab.Addr(1 + 256*len(names))

	withoutGlue := map[string]bool{}
	found := map[string]bool{}
	for i := range records {
		d := &records[i].Domain
		f, faulty := faults[d.Name]
		if faulty {
			found[d.Name] = true
			if d.Status != store.StatusActive || d.Registrar != demoRegistrar {
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
					l.v6Dropped++
				}
			}
			ns.Addrs = []netip.Addr{l.hosts[ns.Name]}
		}
		if d.Status != store.StatusActive || len(d.Nameservers) == 0 {
			continue
		}
		z := &lab.Zone{Name: d.Name, Serial: 2026112201, Addrs: map[string][]netip.Addr{}, Signed: len(d.DS) > 0, KeySeed: d.Name}
		for _, ns := range d.Nameservers {
			z.NS = append(z.NS, ns.Name)
			if dns.IsSubDomain(d.Name, ns.Name) {
				z.Addrs[ns.Name] = []netip.Addr{l.hosts[ns.Name]}
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
			l.serving[ns.Name] = append(l.serving[ns.Name], z)
			if faulty {
				if len(f.servers) > 0 && !strings.HasSuffix(ns.Name, "."+d.Name) {
					return nil, fmt.Errorf("demo: %s is to have faulty servers, but %s serves other domains too", d.Name, ns.Name)
				}
				l.faults[ns.Name] |= f.servers[i]
			}
		}
	}
	for _, f := range demoFaults {
		if !found[f.domain] {
			return nil, fmt.Errorf("demo: %s, to be broken on purpose, is not in the sample", f.domain)
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
			l.resolverZones = append(l.resolverZones, z)
		}
		z.NS = append(z.NS, h)
		z.Addrs[h] = []netip.Addr{l.hosts[h]}
	}
	l.records = records
	return l, nil
}

// start runs the lab's servers: one for each name server an active
// domain names, and the resolver.
func (l *demoLab) start() (*lab.Lab, error) {
	lb, err := lab.New()
	if err != nil {
		return nil, err
	}
	hosts := make([]string, 0, len(l.serving))
	for h := range l.serving {
		hosts = append(hosts, h)
	}
	slices.Sort(hosts)
	for _, h := range hosts {
		if _, err := lb.Serve(l.hosts[h], l.faults[h], 0, l.serving[h]...); err != nil {
			lb.Close()
			return nil, fmt.Errorf("demo: the lab server of %s: %w", h, err)
		}
	}
	if _, err := lb.Serve(l.resolver, 0, 0, l.resolverZones...); err != nil {
		lb.Close()
		return nil, fmt.Errorf("demo: the lab's resolver: %w", err)
	}
	return lb, nil
}

// servers is how many name servers the lab runs, the resolver aside.
func (l *demoLab) servers() int { return len(l.serving) }
