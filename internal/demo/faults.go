package demo

import (
	"slices"

	"github.com/ptzone/ptzone/delegation/lab"
)

// Registrar is the registrar every broken domain belongs to: the demo
// prints its token, and its pages show the faults.
const Registrar = "REG-2"

// Fault is a fault the lab puts in one domain's delegation on purpose.
type Fault struct {
	Domain string
	// What says what is broken, in a few words.
	What string
	// servers are the faults of the domain's name servers, by their
	// place in its NS list; a domain faulted this way has servers of its
	// own in the sample.
	servers map[int]lab.Fault
	// zone changes the data its servers serve.
	zone func(z *lab.Zone)
	// sampleDS keeps the sample's DS, which names no key the lab made.
	sampleDS bool
}

// faults is the catalogue; every domain in it is Registrar's and active
// in the sample, which NewWorld checks.
var faults = []Fault{
	{Domain: "geladaria-fresca.pt", What: "both name servers are silent", servers: map[int]lab.Fault{0: lab.Timeout, 1: lab.Timeout}},
	{Domain: "jf-alvalade.pt", What: "ns2 answers REFUSED (lame)", servers: map[int]lab.Fault{1: lab.Refused}},
	{Domain: "galeria-de-arte-contemporanea.pt", What: "the servers answer without authority (AA clear)",
		servers: map[int]lab.Fault{0: lab.NotAuthoritative, 1: lab.NotAuthoritative}},
	{Domain: "mobiliario-moderno.com.pt", What: "ns2 serves another SOA serial", servers: map[int]lab.Fault{1: lab.SerialAhead}},
	{Domain: "perfumaria-exemplo.com.pt", What: "ns1 is an open resolver", servers: map[int]lab.Fault{0: lab.OpenRecursion}},
	{Domain: "sapatos-conforto.com.pt", What: "no server answers over TCP", servers: map[int]lab.Fault{0: lab.NoTCP, 1: lab.NoTCP}},
	{Domain: "colegio-sao-jose-exemplo.edu.pt", What: "the zone's NS RRset is not the delegation's", zone: func(z *lab.Zone) {
		z.NS = append(z.NS[:1:1], "ns3."+z.Name)
		z.Addrs["ns3."+z.Name] = z.Addrs[z.NS[0]]
	}},
	{Domain: "hostel-exemplo.pt", What: "the DS names no key of the zone", sampleDS: true},
	{Domain: "malas-e-acessorios.com.pt", What: "the zone's signatures have expired", zone: func(z *lab.Zone) { z.Expired = true }},
}

// Faults returns the catalogue of domains broken on purpose, in the
// order the demo shows them.
func Faults() []Fault { return slices.Clone(faults) }
