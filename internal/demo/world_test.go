package demo

import (
	"net/netip"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/miekg/dns"
	"github.com/ptzone/ptzone/store"
)

func sample(t *testing.T) []store.ImportRecord {
	t.Helper()
	recs, err := SampleRecords()
	if err != nil {
		t.Fatal(err)
	}
	return recs
}

// TestWorldRewritesTheSample: every address of the sample's glue becomes
// one loopback address of the lab, a /24 of its own per name server
// (IPv6 left out and counted); the signed domains' DS become their lab
// zones', except where the DS is meant not to match; every broken domain
// is REG-2's and active, and its servers carry its faults.
func TestWorldRewritesTheSample(t *testing.T) {
	before := sample(t)
	v6 := 0
	dsBefore := map[string][]store.DS{}
	for _, r := range before {
		for _, ns := range r.Domain.Nameservers {
			for _, a := range ns.Addrs {
				if a.Is6() {
					v6++
				}
			}
		}
		dsBefore[r.Domain.Name] = slices.Clone(r.Domain.DS)
	}
	w, err := NewWorld(before)
	if err != nil {
		t.Fatal(err)
	}
	if len(w.Records) != len(before) || v6 == 0 || w.V6Dropped != v6 {
		t.Errorf("%d records, %d IPv6 addresses dropped; want %d and %d", len(w.Records), w.V6Dropped, len(before), v6)
	}
	network := map[netip.Prefix]string{}
	for _, r := range w.Records {
		d := r.Domain
		for _, ns := range d.Nameservers {
			if len(ns.Addrs) == 0 {
				continue
			}
			a := ns.Addrs[0]
			if len(ns.Addrs) != 1 || !a.Is4() || !a.IsLoopback() || a == netip.MustParseAddr("127.0.0.1") || a == w.Resolver {
				t.Errorf("%s of %s: %v, want one lab address of its own", ns.Name, d.Name, ns.Addrs)
				continue
			}
			p := netip.PrefixFrom(a, 24).Masked()
			if other, ok := network[p]; ok && other != ns.Name {
				t.Errorf("%s and %s share the network %s", ns.Name, other, p)
			}
			network[p] = ns.Name
		}
		if len(d.DS) == 0 || d.Status != store.StatusActive {
			continue
		}
		kept := slices.Equal(d.DS, dsBefore[d.Name])
		if want := d.Name == "hostel-exemplo.pt"; kept != want {
			t.Errorf("%s: DS %v, sample's %v; want kept %v", d.Name, d.DS, dsBefore[d.Name], want)
		}
	}

	byName := map[string]store.Domain{}
	for _, r := range w.Records {
		byName[r.Domain.Name] = r.Domain
	}
	for _, f := range Faults() {
		d, ok := byName[f.Domain]
		if !ok || d.Registrar != Registrar || d.Status != store.StatusActive || f.What == "" {
			t.Errorf("%s: %+v in the world, want an active domain of %s", f.Domain, d, Registrar)
			continue
		}
		for i, want := range f.servers {
			if got := w.faults[d.Nameservers[i].Name]; got != want {
				t.Errorf("%s: server %s has faults %b, want %b", f.Domain, d.Nameservers[i].Name, got, want)
			}
		}
	}
	serving := map[string]bool{}
	for _, d := range byName {
		for _, ns := range d.Nameservers {
			serving[ns.Name] = serving[ns.Name] || d.Status == store.StatusActive
		}
	}
	want := 0
	for _, active := range serving {
		if active {
			want++
		}
	}
	if w.Servers() != want {
		t.Errorf("%d lab servers, want one for each of the %d name servers of active domains", w.Servers(), want)
	}
}

// TestWorldRefusesABadSample: a broken domain missing from the sample, or
// not the demo registrar's, is an error naming it.
func TestWorldRefusesABadSample(t *testing.T) {
	without := slices.DeleteFunc(sample(t), func(r store.ImportRecord) bool { return r.Domain.Name == "jf-alvalade.pt" })
	if _, err := NewWorld(without); err == nil || !strings.Contains(err.Error(), "jf-alvalade.pt, to be broken on purpose, is not in the sample") {
		t.Errorf("a broken domain missing: %v", err)
	}
	other := sample(t)
	for i := range other {
		if other[i].Domain.Name == "hostel-exemplo.pt" {
			other[i].Domain.Registrar = "REG-9"
		}
	}
	if _, err := NewWorld(other); err == nil || !strings.Contains(err.Error(), "hostel-exemplo.pt is to be broken on purpose, but the sample has it active, of REG-9") {
		t.Errorf("a broken domain of another registrar: %v", err)
	}
}

// TestWorldServes: the lab answers for a healthy domain with authority,
// with the DS the world put in the registry, and not at all for the
// domain whose servers are silent.
func TestWorldServes(t *testing.T) {
	w, err := NewWorld(sample(t))
	if err != nil {
		t.Fatal(err)
	}
	lb, err := w.Start()
	if err != nil {
		t.Fatal(err)
	}
	defer lb.Close()
	servers := map[string]netip.Addr{}
	for _, r := range w.Records {
		for _, ns := range r.Domain.Nameservers {
			if _, ok := servers[r.Domain.Name]; !ok && len(ns.Addrs) > 0 {
				servers[r.Domain.Name] = ns.Addrs[0]
			}
		}
	}
	ask := func(domain string, qtype uint16) (*dns.Msg, error) {
		q := new(dns.Msg)
		q.SetQuestion(dns.Fqdn(domain), qtype)
		q.SetEdns0(1232, true)
		c := &dns.Client{Timeout: 500 * time.Millisecond}
		r, _, err := c.Exchange(q, netip.AddrPortFrom(servers[domain], uint16(lb.Port)).String())
		return r, err
	}
	r, err := ask("jf-alvalade.pt", dns.TypeSOA)
	if err != nil || !r.Authoritative || len(r.Answer) == 0 || r.Answer[0].(*dns.SOA).Serial != labSerial {
		t.Errorf("jf-alvalade.pt's first server: %v %v", r, err)
	}
	if r, err := ask("geladaria-fresca.pt", dns.TypeSOA); err == nil {
		t.Errorf("geladaria-fresca.pt's silent server answered: %v", r)
	}
	var signed store.Domain
	for _, rec := range w.Records {
		if d := rec.Domain; d.Status == store.StatusActive && len(d.DS) > 0 && d.Name != "hostel-exemplo.pt" && servers[d.Name].IsValid() {
			signed = d
			break
		}
	}
	r, err = ask(signed.Name, dns.TypeDNSKEY)
	if err != nil {
		t.Fatalf("%s DNSKEY: %v", signed.Name, err)
	}
	matched := false
	for _, rr := range r.Answer {
		if k, ok := rr.(*dns.DNSKEY); ok && k.Flags&dns.SEP != 0 {
			ds := k.ToDS(signed.DS[0].DigestType)
			matched = matched || (ds != nil && strings.EqualFold(ds.Digest, signed.DS[0].Digest) && ds.KeyTag == signed.DS[0].KeyTag)
		}
	}
	if !matched {
		t.Errorf("%s: the registry's DS %+v names no key its lab server serves: %v", signed.Name, signed.DS, r.Answer)
	}
}
