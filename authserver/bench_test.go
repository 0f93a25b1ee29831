package authserver

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/miekg/dns"
)

// BenchmarkRespond: a resolver's mix of queries to a TLD, answered and
// packed as the UDP path does (referrals with and without DS, names below
// delegations, NXDOMAIN, DS, apex data; all with DO).
func BenchmarkRespond(b *testing.B) {
	text, delegations := differentialPT(2000)
	tz := signedPT(b, text)
	srv := New(Config{RateLimit: RateLimit{Off: true}}, nil)
	srv.Swap(tz.snap)
	rng := rand.New(rand.NewPCG(1, 2))
	var queries [][]byte
	for range 1000 {
		q := new(dns.Msg)
		d := delegations[rng.IntN(len(delegations))]
		switch r := rng.Float64(); {
		case r < 0.6:
			q.SetQuestion(d, dns.TypeA)
		case r < 0.75:
			q.SetQuestion("www."+d, dns.TypeAAAA)
		case r < 0.85:
			q.SetQuestion(fmt.Sprintf("nx%d.pt.", rng.IntN(1e9)), dns.TypeA)
		case r < 0.95:
			q.SetQuestion(d, dns.TypeDS)
		default:
			q.SetQuestion("pt.", dns.TypeDNSKEY)
		}
		q.SetEdns0(1232, true)
		w, _ := q.Pack()
		queries = append(queries, w)
	}
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		q := new(dns.Msg)
		if err := q.Unpack(queries[i%len(queries)]); err != nil {
			b.Fatal(err)
		}
		r := srv.Respond(q, true)
		if _, err := r.Pack(); err != nil {
			b.Fatal(err)
		}
		i++
	}
}
