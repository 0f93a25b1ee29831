package synth

import (
	"fmt"
	"hash/fnv"
	"iter"
	"math/rand/v2"
	"net/netip"
	"strconv"
	"time"

	"github.com/ptzone/ptzone/policy"
	"github.com/ptzone/ptzone/store"
)

// Options shape a synthetic registry.
type Options struct {
	Domains int
	Seed    uint64
	// Providers is the number of shared hosting providers (default 300).
	Providers int
	// Registrars is the number of registrars (default 120).
	Registrars int
	// V4 and V6 are where glue addresses are drawn from. The defaults are
	// the documentation prefixes: the three IPv4 TEST-NETs and 2001:db8::/32.
	V4 []netip.Prefix
	V6 netip.Prefix
	// Base is the date expiries are spread after (default 2026-01-01).
	Base time.Time
}

func (o *Options) defaults() {
	if o.Providers <= 0 {
		o.Providers = 300
	}
	if o.Registrars <= 0 {
		o.Registrars = 120
	}
	if len(o.V4) == 0 {
		o.V4 = []netip.Prefix{
			netip.MustParsePrefix("192.0.2.0/24"),
			netip.MustParsePrefix("198.51.100.0/24"),
			netip.MustParsePrefix("203.0.113.0/24"),
		}
	}
	if !o.V6.IsValid() {
		o.V6 = netip.MustParsePrefix("2001:db8::/32")
	}
	if o.Base.IsZero() {
		o.Base = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	}
}

// weighted picks from choices with the given weights (in any unit).
type weighted[T any] struct {
	items   []T
	cumul   []int
	weights int
}

func newWeighted[T any](pairs ...struct {
	v T
	w int
}) *weighted[T] {
	w := &weighted[T]{}
	for _, p := range pairs {
		w.weights += p.w
		w.items = append(w.items, p.v)
		w.cumul = append(w.cumul, w.weights)
	}
	return w
}

func (w *weighted[T]) pick(r *rand.Rand) T {
	n := r.IntN(w.weights)
	for i, c := range w.cumul {
		if n < c {
			return w.items[i]
		}
	}
	return w.items[len(w.items)-1]
}

type pair[T any] = struct {
	v T
	w int
}

// Shares of .pt's hierarchies and statuses (rounded, from the registry's
// public statistics: the ccTLD itself dominates, com.pt is second, the
// legacy hierarchies are a residue).
var (
	zoneShares = newWeighted(
		pair[string]{"pt", 7800}, pair[string]{"com.pt", 1700}, pair[string]{"org.pt", 250},
		pair[string]{"edu.pt", 50}, pair[string]{"gov.pt", 30}, pair[string]{"net.pt", 80},
		pair[string]{"publ.pt", 30}, pair[string]{"int.pt", 20}, pair[string]{"nome.pt", 40})
	statusShares = newWeighted(
		pair[store.Status]{store.StatusActive, 910}, pair[store.Status]{store.StatusReserved, 40},
		pair[store.Status]{store.StatusPendingDelete, 30}, pair[store.Status]{store.StatusSuspended, 10},
		pair[store.Status]{store.StatusRemoved, 10})
	// DS algorithms in use, legacy RSASHA1 (5) and its NSEC3 variant (7) included.
	dsAlgorithms = newWeighted(
		pair[uint8]{13, 700}, pair[uint8]{8, 240}, pair[uint8]{15, 30}, pair[uint8]{7, 20}, pair[uint8]{5, 10})
	providerTLDs = newWeighted(
		pair[string]{"pt", 55}, pair[string]{"com", 25}, pair[string]{"net", 10}, pair[string]{"eu", 5}, pair[string]{"com.pt", 5})
)

// provider is a shared hosting provider and its nameservers.
type provider struct {
	domain string
	ns     []store.Nameserver
	// registered: the provider's own domain lies in a hierarchy we hold,
	// so it is emitted as a domain with in-bailiwick glue.
	registered bool
}

type generator struct {
	opt        Options
	r          *rand.Rand
	pol        *policy.Policy
	providers  []provider
	popularity *rand.Zipf
	registrars *rand.Zipf
	seen       map[uint64]struct{}
}

// Generate yields opt.Domains valid domains (store.Domain.Validate and the
// Rules in policy.Existing mode), providers' own domains first.
func Generate(opt Options) iter.Seq[store.Domain] {
	return func(yield func(store.Domain) bool) {
		opt.defaults()
		g := &generator{
			opt:  opt,
			r:    rand.New(rand.NewPCG(opt.Seed, 0x7074_7a6f_6e65)),
			pol:  policy.New(policy.Lists{}),
			seen: make(map[uint64]struct{}, opt.Domains),
		}
		g.popularity = rand.NewZipf(g.r, 1.2, 2, uint64(opt.Providers-1))
		g.registrars = rand.NewZipf(g.r, 1.3, 1, uint64(opt.Registrars-1))
		g.makeProviders()
		n := 0
		for _, p := range g.providers {
			if n >= opt.Domains {
				return
			}
			if !p.registered {
				continue
			}
			d := g.base(p.domain, mustZone(p.domain))
			d.Status = store.StatusActive
			d.Nameservers = p.ns
			if !yield(d) {
				return
			}
			n++
		}
		for ; n < opt.Domains; n++ {
			if !yield(g.domain()) {
				return
			}
		}
	}
}

func mustZone(name string) string {
	z, ok := policy.ZoneOf(name)
	if !ok {
		panic("synth: no zone for " + name)
	}
	return z
}

func (g *generator) makeProviders() {
	for i := range g.opt.Providers {
		tld := providerTLDs.pick(g.r)
		label := providerWords[g.r.IntN(len(providerWords))] + providerSuffixes[g.r.IntN(len(providerSuffixes))]
		domain := label + "." + tld
		for k := 2; !g.claim(domain); k++ {
			domain = label + strconv.Itoa(k) + "." + tld
		}
		p := provider{domain: domain}
		_, p.registered = policy.HierarchyOf(tld)
		prefixes := [][2]string{{"ns1", "ns2"}, {"dns1", "dns2"}, {"a.ns", "b.ns"}, {"ns", "ns2"}}[g.r.IntN(4)]
		hosts := []string{prefixes[0], prefixes[1]}
		if g.r.IntN(5) == 0 {
			hosts = append(hosts, "ns3")
		}
		// Some providers keep every server in one /24: the redundancy
		// warning of Art 1.2 needs real examples.
		sameNet := g.r.IntN(4) == 0
		net := g.r.IntN(200)
		for k, h := range hosts {
			ns := store.Nameserver{Name: h + "." + domain}
			if p.registered {
				if !sameNet {
					net = g.r.IntN(200)
				}
				ns.Addrs = []netip.Addr{g.v4(net, 10+k)}
				if g.r.IntN(2) == 0 {
					ns.Addrs = append(ns.Addrs, g.v6(i, k))
				}
			}
			p.ns = append(p.ns, ns)
		}
		g.providers = append(g.providers, p)
	}
}

// v4 returns an address in one of the configured IPv4 prefixes; net picks
// the prefix and, with host, a place in whatever room it leaves.
func (g *generator) v4(net, host int) netip.Addr {
	p := g.opt.V4[net%len(g.opt.V4)].Masked()
	b := p.Addr().As4()
	room := uint32(1)<<(32-p.Bits()) - 2
	if room == 0 || room > 1<<31 {
		room = 1
	}
	off := (uint32(net)*256+uint32(host))%room + 1
	v := uint32(b[0])<<24 | uint32(b[1])<<16 | uint32(b[2])<<8 | uint32(b[3])
	v += off
	return netip.AddrFrom4([4]byte{byte(v >> 24), byte(v >> 16), byte(v >> 8), byte(v)})
}

func (g *generator) v6(a, b int) netip.Addr {
	x := g.opt.V6.Masked().Addr().As16()
	x[8], x[9] = byte(a>>8), byte(a)
	x[14], x[15] = byte(b>>8), byte(b)+0x53
	return netip.AddrFrom16(x)
}

// claim records name as used and reports whether it was free. Names are
// remembered by a 64-bit hash: a collision only costs a fresh draw.
func (g *generator) claim(name string) bool {
	h := fnv.New64a()
	h.Write([]byte(name))
	sum := h.Sum64()
	if _, dup := g.seen[sum]; dup {
		return false
	}
	g.seen[sum] = struct{}{}
	return true
}

func (g *generator) base(name, zone string) store.Domain {
	return store.Domain{
		Name:      name,
		Zone:      zone,
		Status:    statusShares.pick(g.r),
		Registrar: fmt.Sprintf("REG-%03d", g.registrars.Uint64()+1),
		Expires:   g.opt.Base.AddDate(0, 0, g.r.IntN(3*365)),
	}
}

func (g *generator) domain() store.Domain {
	// The zone is drawn once: redrawing it on a name collision would drain
	// the crowded hierarchies and skew the shares.
	zone := zoneShares.pick(g.r)
	for attempt := 0; ; attempt++ {
		label := g.label()
		if attempt > 2 {
			label += strconv.Itoa(g.r.IntN(100000))
		}
		res := g.pol.CheckName(label, policy.Options{Zone: zone, Mode: policy.Existing})
		if !res.Valid || !g.claim(res.Name) {
			continue
		}
		d := g.base(res.Name, zone)
		switch {
		case g.r.IntN(10) == 0: // its own nameservers, with glue
			n := g.r.IntN(200)
			for k, h := range []string{"ns1", "ns2"} {
				ns := store.Nameserver{Name: h + "." + d.Name, Addrs: []netip.Addr{g.v4(n+k, 53)}}
				if g.r.IntN(3) == 0 {
					ns.Addrs = append(ns.Addrs, g.v6(n, k))
				}
				d.Nameservers = append(d.Nameservers, ns)
			}
			d.TechEmail = "hostmaster@" + d.Name
		default:
			p := g.providers[g.popularity.Uint64()]
			d.Nameservers = p.ns
			d.TechEmail = "dns@" + p.domain
		}
		if d.Status == store.StatusReserved && g.r.IntN(2) == 0 {
			d.Nameservers = nil // reserved without technical data (Art 1.4)
		}
		if g.r.IntN(100) < 8 {
			d.DS = g.ds()
		}
		return d
	}
}

func (g *generator) ds() []store.DS {
	alg := dsAlgorithms.pick(g.r)
	tag := uint16(g.r.IntN(65536))
	digest := func(n int) string {
		const hexDigits = "0123456789ABCDEF"
		b := make([]byte, 2*n)
		for i := range b {
			b[i] = hexDigits[g.r.IntN(16)]
		}
		return string(b)
	}
	switch {
	case alg == 5 || alg == 7: // legacy keys come with SHA-1 digests
		return []store.DS{{KeyTag: tag, Algorithm: alg, DigestType: 1, Digest: digest(20)}}
	case g.r.IntN(20) == 0:
		return []store.DS{{KeyTag: tag, Algorithm: alg, DigestType: 4, Digest: digest(48)}}
	case g.r.IntN(10) == 0: // SHA-1 and SHA-256 of the same key
		return []store.DS{
			{KeyTag: tag, Algorithm: alg, DigestType: 2, Digest: digest(32)},
			{KeyTag: tag, Algorithm: alg, DigestType: 1, Digest: digest(20)},
		}
	}
	return []store.DS{{KeyTag: tag, Algorithm: alg, DigestType: 2, Digest: digest(32)}}
}

// label makes a name the way people do: one or two words, sometimes with a
// hyphen or a number, now and then with Portuguese letters.
func (g *generator) label() string {
	w := func() string {
		if g.r.IntN(30) == 0 {
			return idnWords[g.r.IntN(len(idnWords))]
		}
		return words[g.r.IntN(len(words))]
	}
	switch n := g.r.IntN(100); {
	case n < 25:
		return w()
	case n < 70:
		return w() + w()
	case n < 92:
		return w() + "-" + w()
	default:
		return w() + strconv.Itoa(g.r.IntN(2030))
	}
}

var words = []string{
	"abrigo", "acao", "agua", "alegria", "amigo", "amor", "aneis", "arte", "atelier", "aula",
	"auto", "azul", "bairro", "balcao", "banda", "barco", "beleza", "bem", "bica", "bicicleta",
	"bolo", "bom", "bosque", "brinquedo", "cabelo", "cafe", "caixa", "calcado", "cama", "caminho",
	"campo", "canto", "carro", "carta", "casa", "castelo", "centro", "cereja", "chave", "cidadao",
	"cinema", "clinica", "cor", "corte", "costa", "cozinha", "criativo", "cristal", "cultura", "dados",
	"danca", "dente", "design", "desporto", "dia", "digital", "doce", "dourado", "ecologia", "escola",
	"espaco", "estrela", "estudio", "facil", "farmacia", "feira", "ferro", "festa", "flor", "floresta",
	"fonte", "forno", "foto", "fresco", "fruta", "futuro", "galeria", "garagem", "gato", "gelado",
	"gente", "grafica", "grupo", "guia", "horizonte", "hotel", "ideia", "imagem", "imovel", "jardim",
	"joia", "jovem", "lar", "leite", "leitura", "letra", "limpeza", "linha", "livro", "loja",
	"lua", "luz", "madeira-nobre", "maquina", "mar", "marca", "mercado", "mesa", "mestre", "metal",
	"moda", "moinho", "montanha", "moto", "movel", "mundo", "musica", "nacional", "natural", "navio",
	"norte", "nova", "novo", "obra", "oficina", "olival", "onda", "ouro", "padaria", "palavra",
	"papel", "parque", "passeio", "pasta", "pedra", "peixe", "pessoa", "pintura", "planeta", "ponte",
	"porta", "praca", "prata", "pratico", "projeto", "quinta", "rapido", "receita", "rede", "relogio",
	"restaurante", "rio-azul", "roda", "rosa", "rota", "rua", "sabor", "saude", "semente", "servico",
	"sistema", "social", "sol", "solar", "som", "sonho", "sorriso", "sul", "tasca", "tecido",
	"tecnica", "telhado", "tempo", "terra", "textil", "tinta", "torre", "trabalho", "turismo", "uva",
	"vale", "vela", "verde", "via", "viagem", "vida", "vidro", "vinho", "vista", "viver",
	"voz", "zona", "zen",
}

var idnWords = []string{
	"açúcar", "água", "coração", "construção", "educação", "férias", "informática", "mãe", "música",
	"pão", "saúde", "café", "ótica", "avó", "limão", "maçã", "orçamento", "serviços", "técnica", "ação",
}

var providerWords = []string{
	"alfa", "atlantico", "byte", "claro", "cubo", "dominio", "eixo", "faro-net", "fibra", "gigante",
	"hiper", "infinito", "lusa", "mega", "nuvem", "onda", "pixel", "ponto", "quadrado", "raio",
	"servidor", "sinal", "tejo-web", "terra", "ultra", "vento", "web", "xisto", "zenite", "luso",
}

var providerSuffixes = []string{"hosting", "net", "dns", "web", "host", "cloud", "servers", "digital", "sistemas", "informatica"}
