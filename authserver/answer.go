package authserver

import (
	"github.com/miekg/dns"

	"github.com/ptzone/ptzone/dnssec"
	"github.com/ptzone/ptzone/zone"
)

// query is one question, as the answer needs it.
type query struct {
	name  zone.Name // lowercased
	text  string    // as asked: an owner that is the question's name keeps its case
	qtype uint16
	do    bool // DNSSEC records wanted (RFC 3225)
}

// answerer builds one response from one zone.
type answerer struct {
	sv *served
	q  query
	m  *dns.Msg
	// added notes the RRsets already in the authority section (a proof's
	// NSEC3 records can repeat), by owner index and type.
	added map[[2]int]bool
	// required counts the records at the head of the additional section
	// that a referral cannot do without: the addresses of servers inside
	// the delegated zone (RFC 9471).
	required int
	hashed   []hashedName // the NSEC3 hashes computed so far
}

// respond fills m (made by SetReply) with the zone's answer to q, and
// returns how many records at the head of its additional section are
// required (see answerer.required).
func (sv *served) respond(q query, m *dns.Msg) (required int) {
	a := &answerer{sv: sv, q: q, m: m}
	z := sv.z
	cut, isCut := sv.cut(q.name)
	if isCut && !(q.qtype == dns.TypeDS && z.Owner(cut) == q.name) {
		a.referral(cut)
		return a.required
	}
	m.Authoritative = true
	i, exact := z.Find(q.name)
	switch {
	case exact && !sv.chainOnly(i):
		a.atOwner(i)
	case !exact && i < z.Owners() && z.Owner(i).IsStrictlyBelow(q.name):
		a.noData() // an empty non-terminal: names exist below it
	default:
		a.nameError()
	}
	return 0
}

// chainOnly reports whether owner i holds only the NSEC3 chain: such a
// name does not exist for queries (RFC 5155 §7.2.8).
func (sv *served) chainOnly(i int) bool {
	if sv.chain == nil {
		return false
	}
	for r := range sv.z.RRsets(i) {
		if t := r.Type(); t != zone.TypeNSEC3 && !(t == zone.TypeRRSIG && r.Covered() == zone.TypeNSEC3) {
			return false
		}
	}
	return true
}

// cut returns the topmost delegation point at or above name, below the
// origin: everything at and under it is the child's (RFC 1034 §4.3.2).
func (sv *served) cut(name zone.Name) (int, bool) {
	var above [128]zone.Name
	n := 0
	for a := name; a.IsStrictlyBelow(sv.origin) && n < len(above); a = a.Parent() {
		above[n] = a
		n++
	}
	z := sv.z
	for k := n - 1; k >= 0; k-- {
		i, ok := z.Find(above[k])
		if !ok {
			if i >= z.Owners() || !z.Owner(i).IsStrictlyBelow(above[k]) {
				return 0, false // nothing at or below it: no delegation either
			}
			continue
		}
		if _, ns := z.GetAt(i, zone.TypeNS); ns {
			return i, true
		}
	}
	return 0, false
}

// ownerText returns how owner i is written in the response: as asked if
// it is the question's name.
func (a *answerer) ownerText(i int) string {
	if o := a.sv.z.Owner(i); o == a.q.name {
		return a.q.text
	}
	return a.sv.z.Owner(i).String()
}

// records returns an RRset's records, owned by owner.
func records(r zone.RRset, owner string) []dns.RR {
	out := make([]dns.RR, 0, r.Len())
	for rd := range r.Rdata() {
		hdr := dns.RR_Header{Name: owner, Rrtype: r.Type(), Class: dns.ClassINET, Ttl: r.TTL(), Rdlength: uint16(len(rd))}
		rr, _, err := dns.UnpackRRWithHeader(hdr, rd, 0)
		if err != nil {
			continue // the zone was verified: not reached
		}
		out = append(out, rr)
	}
	return out
}

// set appends owner i's RRset of type typ (and, when DNSSEC records are
// wanted, its signatures) to a section; false if the owner has none.
func (a *answerer) set(section *[]dns.RR, i int, typ uint16, owner string) bool {
	r, ok := a.sv.z.GetAt(i, typ)
	if !ok {
		return false
	}
	*section = append(*section, records(r, owner)...)
	if a.q.do {
		if sig, ok := a.sv.z.GetSig(i, typ); ok {
			*section = append(*section, records(sig, owner)...)
		}
	}
	return true
}

// authority appends an RRset to the authority section once.
func (a *answerer) authority(i int, typ uint16) {
	if a.added == nil {
		a.added = map[[2]int]bool{}
	}
	if k := [2]int{i, int(typ)}; !a.added[k] {
		a.added[k] = true
		a.set(&a.m.Ns, i, typ, a.ownerText(i))
	}
}

// soa appends the zone's SOA to the authority section of a negative
// answer, with the negative-caching TTL (RFC 2308 §3).
func (a *answerer) soa() {
	owner := a.sv.origin.String()
	for _, rr := range records(a.sv.soa, owner) {
		rr.Header().Ttl = a.sv.minimum
		a.m.Ns = append(a.m.Ns, rr)
	}
	if a.q.do {
		if sig, ok := a.sv.z.GetSig(a.sv.apex, zone.TypeSOA); ok {
			for _, rr := range records(sig, owner) {
				rr.Header().Ttl = a.sv.minimum
				a.m.Ns = append(a.m.Ns, rr)
			}
		}
	}
}

// referral answers for a delegated name: the child's NS, not
// authoritatively, its DS or the proof it has none, and the addresses of
// its servers that this zone holds (RFC 1034 §4.3.2, RFC 4035 §3.1.4).
func (a *answerer) referral(cut int) {
	z := a.sv.z
	a.m.Authoritative = false
	owner := a.ownerText(cut)
	ns, _ := z.GetAt(cut, zone.TypeNS)
	a.m.Ns = append(a.m.Ns, records(ns, owner)...)
	if a.q.do && a.sv.chain != nil {
		if !a.set(&a.m.Ns, cut, zone.TypeDS, owner) {
			a.noDSProof(z.Owner(cut))
		}
	}
	a.glue(cut, ns)
}

// glue appends the addresses this zone holds for the servers of the
// delegation at cut: first those inside the delegated zone (in-domain
// glue, which the referral requires), then the others (sibling glue, and
// authoritative addresses with their signatures).
func (a *answerer) glue(cut int, ns zone.RRset) {
	child := a.sv.z.Owner(cut)
	targets := targetsOf(ns)
	for _, t := range targets {
		if t.IsBelow(child) {
			a.required += a.addresses(t)
		}
	}
	for _, t := range targets {
		if !t.IsBelow(child) {
			a.addresses(t)
		}
	}
}

// targetsOf returns the names the records of an NS, MX or SRV RRset
// point to.
func targetsOf(r zone.RRset) []zone.Name {
	var out []zone.Name
	for rd := range r.Rdata() {
		switch r.Type() {
		case dns.TypeMX:
			rd = rd[min(2, len(rd)):] // preference
		case dns.TypeSRV:
			rd = rd[min(6, len(rd)):] // priority, weight, port
		}
		if t, _, err := zone.NameFromWire(rd); err == nil {
			out = append(out, t)
		}
	}
	return out
}

// addresses appends to the additional section the A and AAAA records
// this zone holds for name: glue if it lies under a delegation, else
// authoritative data with its signatures. It returns how many records it
// added.
func (a *answerer) addresses(name zone.Name) int {
	z := a.sv.z
	if !name.IsBelow(a.sv.origin) {
		return 0
	}
	i, ok := z.Find(name)
	if !ok {
		return 0
	}
	n := len(a.m.Extra)
	owner := name.String()
	_, glued := a.sv.cut(name)
	for _, typ := range []uint16{zone.TypeA, zone.TypeAAAA} {
		if !glued {
			a.set(&a.m.Extra, i, typ, owner)
		} else if r, ok := z.GetAt(i, typ); ok {
			a.m.Extra = append(a.m.Extra, records(r, owner)...)
		}
	}
	return len(a.m.Extra) - n
}

// atOwner answers for a name the zone holds records at. ANY and RRSIG
// get one RRset, the first by type, as Knot DNS answers them (RFC 8482
// §4.2: a subset is enough, and a large answer feeds amplification).
func (a *answerer) atOwner(i int) {
	z := a.sv.z
	owner := a.q.text
	qtype := a.answerType(i)
	switch qtype {
	case dns.TypeRRSIG:
		for r := range z.RRsets(i) {
			if r.Type() == zone.TypeRRSIG {
				a.m.Answer = append(a.m.Answer, records(r, owner)...)
				return
			}
		}
	}
	if a.set(&a.m.Answer, i, qtype, owner) {
		// The addresses of the servers an answer names, when the zone
		// holds them, as Knot DNS adds them.
		if r, ok := z.GetAt(i, qtype); ok && (qtype == zone.TypeNS || qtype == dns.TypeMX || qtype == dns.TypeSRV) {
			for _, t := range targetsOf(r) {
				a.addresses(t)
			}
		}
		return
	}
	if a.set(&a.m.Answer, i, zone.TypeCNAME, owner) {
		return // the resolver follows it
	}
	a.noData()
}

// answerType is the type asked, but for ANY: the first type owner i
// holds.
func (a *answerer) answerType(i int) uint16 {
	if a.q.qtype == dns.TypeANY {
		for r := range a.sv.z.RRsets(i) {
			if t := r.Type(); t != zone.TypeRRSIG && t != zone.TypeNSEC3 {
				return t
			}
		}
	}
	return a.q.qtype
}

// noData answers that the name exists without the type asked: the SOA,
// and the NSEC3 record of the name, or, for a name the chain leaves out
// (opt-out), the proof that an opt-out span covers it (RFC 5155 §7.2.3,
// §7.2.4).
func (a *answerer) noData() {
	a.soa()
	if !a.q.do || a.sv.chain == nil {
		return
	}
	if j, ok := a.sv.chain.match(a.hash(a.q.name)); ok {
		a.authority(j, zone.TypeNSEC3)
		return
	}
	a.closestEncloserProof(a.q.name)
}

// noDSProof proves a delegation has no DS: the NSEC3 record of its name,
// or the opt-out span covering it (RFC 5155 §7.2.7).
func (a *answerer) noDSProof(name zone.Name) {
	if j, ok := a.sv.chain.match(a.hash(name)); ok {
		a.authority(j, zone.TypeNSEC3)
		return
	}
	a.closestEncloserProof(name)
}

// nameError answers for a name the zone does not hold: a wildcard's
// records, or NXDOMAIN with the closest encloser proof and the proof that
// no wildcard could have answered (RFC 5155 §7.2.2).
func (a *answerer) nameError() {
	z := a.sv.z
	ce := a.q.name.Parent()
	for ce != a.sv.origin && !a.exists(ce) {
		ce = ce.Parent()
	}
	if w, ok := z.Find(ce.Child([]byte("*"))); ok {
		a.wildcard(w, ce)
		return
	}
	a.m.Rcode = dns.RcodeNameError
	a.soa()
	if !a.q.do || a.sv.chain == nil {
		return
	}
	pe := a.closestEncloserProof(a.q.name)
	a.authority(a.sv.chain.cover(a.hash(pe.Child([]byte("*")))), zone.TypeNSEC3)
}

// wildcard answers from the wildcard *.ce for a name below ce that does
// not exist (RFC 4592): its records, owned by the name asked, and the
// proof that the name itself does not exist (RFC 5155 §7.2.6); or no
// data, with the wildcard's NSEC3 record (§7.2.5).
func (a *answerer) wildcard(w int, ce zone.Name) {
	z := a.sv.z
	var nextCloser zone.Name
	for n := a.q.name; n.IsStrictlyBelow(ce); n = n.Parent() {
		nextCloser = n
	}
	if a.set(&a.m.Answer, w, a.answerType(w), a.q.text) || a.set(&a.m.Answer, w, zone.TypeCNAME, a.q.text) {
		if a.q.do && a.sv.chain != nil {
			a.authority(a.sv.chain.cover(a.hash(nextCloser)), zone.TypeNSEC3)
		}
		return
	}
	a.soa()
	if !a.q.do || a.sv.chain == nil {
		return
	}
	a.closestEncloserProof(a.q.name)
	if j, ok := a.sv.chain.match(a.hash(z.Owner(w))); ok {
		a.authority(j, zone.TypeNSEC3)
	}
}

// closestEncloserProof appends the NSEC3 record of name's closest
// provable encloser and the one covering the next closer name (RFC 5155
// §7.2.1), and returns that encloser. Under opt-out, the closest encloser
// may have no record of its own: the proof is then of the nearest
// ancestor that has one (§7.2.4).
func (a *answerer) closestEncloserProof(name zone.Name) zone.Name {
	next := name
	for pe := name.Parent(); ; pe = pe.Parent() {
		if j, ok := a.sv.chain.match(a.hash(pe)); ok || pe == a.sv.origin {
			if ok {
				a.authority(j, zone.TypeNSEC3)
			}
			a.authority(a.sv.chain.cover(a.hash(next)), zone.TypeNSEC3)
			return pe
		}
		next = pe
	}
}

// exists reports whether the zone holds name or a name below it.
func (a *answerer) exists(name zone.Name) bool {
	i, ok := a.sv.z.Find(name)
	if ok {
		return !a.sv.chainOnly(i)
	}
	return i < a.sv.z.Owners() && a.sv.z.Owner(i).IsStrictlyBelow(name)
}

// hash returns name's NSEC3 hash under the zone's parameters, as the
// chain's index keys it.
func (a *answerer) hash(name zone.Name) string {
	if name == a.sv.origin {
		return a.sv.chain.apexHash
	}
	// A proof asks for a name's hash more than once (a delegation's, to
	// find no record of its own, then as the next closer name).
	for _, m := range a.hashed {
		if m.name == name {
			return m.hash
		}
	}
	h := dnssec.NSEC3Hash(name, a.sv.chain.iterations, a.sv.chain.salt)
	a.hashed = append(a.hashed, hashedName{name, string(h[:])})
	return string(h[:])
}

type hashedName struct {
	name zone.Name
	hash string
}
