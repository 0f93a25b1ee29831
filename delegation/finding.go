package delegation

import (
	"fmt"
	"time"

	"github.com/ptzone/ptzone/delegation/resolve"
	"github.com/ptzone/ptzone/store"
)

// Finding is one thing wrong (or worth saying) about a delegation.
type Finding struct {
	Code     string
	Severity store.Severity
	// NS and Addr name the server concerned, when one is.
	NS   string
	Addr string
	// Evidence is the query asked and what came back.
	Evidence string
	// args fill the catalogue's messages.
	args []any
}

// Message returns the finding in English ("en") or Portuguese ("pt").
func (f Finding) Message(lang string) string {
	args := make([]any, len(f.args))
	for i, a := range f.args {
		if t, ok := a.(text); ok {
			a = t.in(lang)
		}
		args[i] = a
	}
	e := catalogue[f.Code]
	if lang == "pt" {
		return fmt.Sprintf(e.pt, args...)
	}
	return fmt.Sprintf(e.en, args...)
}

// text is a message's argument written in both languages.
type text struct{ en, pt string }

func (t text) in(lang string) string {
	if lang == "pt" {
		return t.pt
	}
	return t.en
}

// Article returns the article of the Rules the finding enforces.
func (f Finding) Article() string { return catalogue[f.Code].article }

// Hint returns how to fix what the finding reports, in English ("en") or
// Portuguese ("pt").
func (f Finding) Hint(lang string) string {
	if lang == "pt" {
		return catalogue[f.Code].hintPT
	}
	return catalogue[f.Code].hint
}

// Zonemaster returns the Zonemaster test case that checks the same, if
// one does.
func (f Finding) Zonemaster() string { return catalogue[f.Code].zonemaster }

type entry struct {
	severity             store.Severity
	zonemaster, article  string
	en, pt, hint, hintPT string
}

// The finding codes.
const (
	NoResponse       = "NO_RESPONSE"
	NoTCP            = "NO_TCP"
	Refused          = "REFUSED"
	ServFail         = "SERVFAIL"
	NotAuthoritative = "NOT_AUTHORITATIVE"
	NoSOA            = "NO_SOA"
	NSMismatch       = "NS_MISMATCH"
	GlueMismatch     = "GLUE_MISMATCH"
	SerialMismatch   = "SERIAL_MISMATCH"
	NoEDNS           = "NO_EDNS"
	OpenRecursion    = "OPEN_RECURSION"
	TooFewNS         = "TOO_FEW_NS"
	TooFewAddresses  = "TOO_FEW_ADDRESSES"
	OneNetwork       = "ONE_NETWORK"
	NoAddress        = "NO_ADDRESS"
	CNAMEAtNS        = "CNAME_AT_NS"
	DSWithoutDNSKEY  = "DS_WITHOUT_DNSKEY"
	DSMismatch       = "DS_MISMATCH"
	DNSKEYNotSigned  = "DNSKEY_NOT_SIGNED"
	SignatureExpired = "SIGNATURE_EXPIRED"
	DSAlgorithm      = "DS_ALGORITHM"
	BadRName         = "BAD_RNAME"
	SOATimers        = "SOA_TIMERS"
	Unresolvable     = "UNRESOLVABLE"
	SpecialAddress   = "SPECIAL_ADDRESS"
)

var catalogue = map[string]entry{
	NoResponse: {store.SeverityError, "Connectivity01", "Art 1.1",
		"The name server %s (%s) does not answer over UDP.",
		"O servidor de nomes %s (%s) não responde por UDP.",
		"Check that the server runs and that UDP port 53 is open to the Internet at that address.",
		"Verifique que o servidor está a correr e que a porta 53 UDP está aberta à Internet nesse endereço."},
	NoTCP: {store.SeverityError, "Connectivity02", "Art 1.3",
		"The name server %s (%s) does not answer over TCP (RFC 7766 requires it).",
		"O servidor de nomes %s (%s) não responde por TCP (o RFC 7766 exige-o).",
		"Open TCP port 53 to the server at that address: large answers and DNSSEC need it.",
		"Abra a porta 53 TCP para o servidor nesse endereço: as respostas grandes e o DNSSEC precisam dela."},
	Refused: {store.SeverityError, "Delegation04", "Art 4.2",
		"The name server %s (%s) refuses to answer for %s: it is not configured for the domain.",
		"O servidor de nomes %s (%s) recusa responder por %s: não está configurado para o domínio.",
		"Add the zone to the server's configuration, or remove the server from the delegation.",
		"Acrescente a zona à configuração do servidor, ou retire o servidor da delegação."},
	ServFail: {store.SeverityError, "Delegation04", "Art 4.2",
		"The name server %s (%s) fails to answer for %s (SERVFAIL): its copy of the zone is broken or missing.",
		"O servidor de nomes %s (%s) falha ao responder por %s (SERVFAIL): a sua cópia da zona está danificada ou em falta.",
		"Check the server's log: the zone did not load, or it is a secondary that cannot transfer it.",
		"Consulte o registo (log) do servidor: a zona não carregou, ou é um secundário que não a consegue transferir."},
	NotAuthoritative: {store.SeverityError, "Delegation04", "Art 1.1",
		"The name server %s (%s) answers for %s without authority (AA flag clear).",
		"O servidor de nomes %s (%s) responde por %s sem autoridade (bit AA a zero).",
		"The server must hold the zone itself, as a primary or a secondary, not forward or cache it.",
		"O servidor tem de ter a própria zona, como primário ou secundário, e não reencaminhá-la nem guardá-la em cache."},
	NoSOA: {store.SeverityError, "Delegation04", "Art 1.1",
		"The name server %s (%s) gives no SOA record for %s.",
		"O servidor de nomes %s (%s) não devolve o registo SOA de %s.",
		"Serve the zone with its SOA record at the apex.",
		"Sirva a zona com o seu registo SOA no ápice."},
	NSMismatch: {store.SeverityError, "Consistency04", "Art 4.2",
		"The name server %s (%s) lists the name servers %s, but the delegation lists %s.",
		"O servidor de nomes %s (%s) indica os servidores %s, mas a delegação indica %s.",
		"Make the NS records in the zone and the name servers registered for the domain the same.",
		"Torne iguais os registos NS da zona e os servidores de nomes registados para o domínio."},
	GlueMismatch: {store.SeverityError, "Consistency05", "Art 4.2",
		"The addresses of %s are %s in the zone served by %s, but %s in the delegation.",
		"Os endereços de %s são %s na zona servida por %s, mas %s na delegação.",
		"Make the addresses registered for the name server (glue) and those in the zone the same.",
		"Torne iguais os endereços registados para o servidor de nomes (glue) e os da zona."},
	SerialMismatch: {store.SeverityWarning, "Consistency01", "Art 1.2",
		"The name servers serve different versions of %s (SOA serials %s).",
		"Os servidores de nomes servem versões diferentes de %s (números de série SOA %s).",
		"Check that the secondaries transfer the zone from the primary (NOTIFY, transfer permissions).",
		"Verifique que os secundários transferem a zona do primário (NOTIFY, permissões de transferência)."},
	NoEDNS: {store.SeverityWarning, "Nameserver02", "Art 1.3",
		"The name server %s (%s) does not support EDNS (RFC 6891).",
		"O servidor de nomes %s (%s) não suporta EDNS (RFC 6891).",
		"Upgrade the server, or remove what filters EDNS queries in front of it: DNSSEC needs EDNS.",
		"Atualize o servidor, ou retire o que filtra as consultas EDNS à sua frente: o DNSSEC precisa de EDNS."},
	OpenRecursion: {store.SeverityWarning, "Nameserver01", "Art 1.3",
		"The name server %s (%s) resolves names for anyone (open recursion).",
		"O servidor de nomes %s (%s) resolve nomes para qualquer um (recursão aberta).",
		"Turn recursion off on authoritative servers: open resolvers are used in amplification attacks.",
		"Desative a recursão nos servidores autoritativos: os resolvedores abertos são usados em ataques de amplificação."},
	TooFewNS: {store.SeverityError, "Delegation01", "Art 1.2",
		"Name servers the domain is delegated to: %d; redundancy needs at least two.",
		"Servidores de nomes em que o domínio está delegado: %d; a redundância exige pelo menos dois.",
		"Add a secondary name server, preferably on another network.",
		"Acrescente um servidor de nomes secundário, de preferência noutra rede."},
	TooFewAddresses: {store.SeverityError, "Delegation01", "Art 1.2",
		"Distinct addresses among the domain's name servers: %d; redundancy needs at least two.",
		"Endereços distintos dos servidores de nomes do domínio: %d; a redundância exige pelo menos dois.",
		"Run the secondary on another machine, with an address of its own.",
		"Ponha o secundário a correr noutra máquina, com um endereço próprio."},
	OneNetwork: {store.SeverityWarning, "Connectivity03", "Art 1.2",
		"All the domain's name servers are in one network (%s): one failure there takes the domain down.",
		"Todos os servidores de nomes do domínio estão na mesma rede (%s): uma falha nela deixa o domínio inacessível.",
		"Place a secondary in another network, preferably with another provider.",
		"Coloque um secundário noutra rede, de preferência noutro fornecedor."},
	CNAMEAtNS: {store.SeverityError, "Delegation03", "Art 1.3",
		"The name server name %s is an alias (CNAME) in the zone served by %s; a name server's name must have addresses of its own (RFC 2181 §10.3).",
		"O nome do servidor %s é um alias (CNAME) na zona servida por %s; o nome de um servidor de nomes tem de ter endereços próprios (RFC 2181 §10.3).",
		"Give the name server's name A/AAAA records, not a CNAME, or delegate to the name the alias points to.",
		"Dê ao nome do servidor registos A/AAAA, não um CNAME, ou delegue no nome para que o alias aponta."},
	DSWithoutDNSKEY: {store.SeverityError, "DNSSEC07", "Art 5",
		"The domain has a DS record, but the name server %s (%s) serves no DNSKEY: validating resolvers will reject the domain.",
		"O domínio tem um registo DS, mas o servidor de nomes %s (%s) não serve DNSKEY: os resolvedores que validam vão rejeitar o domínio.",
		"Sign the zone, or ask the registrar to remove the DS records.",
		"Assine a zona, ou peça ao registrar que retire os registos DS."},
	DSMismatch: {store.SeverityError, "DNSSEC02", "Art 5",
		"No DNSKEY served by %s (%s) matches the domain's DS records (%s).",
		"Nenhuma DNSKEY servida por %s (%s) corresponde aos registos DS do domínio (%s).",
		"Publish the key the DS was made from, or register the DS of the key the zone is signed with.",
		"Publique a chave a partir da qual o DS foi feito, ou registe o DS da chave com que a zona está assinada."},
	DNSKEYNotSigned: {store.SeverityError, "DNSSEC03", "Art 5",
		"The DNSKEY records served by %s (%s) are not validly signed by a key the DS names.",
		"Os registos DNSKEY servidos por %s (%s) não estão assinados validamente por uma chave indicada no DS.",
		"Sign the DNSKEY RRset with the key (KSK) whose DS is registered.",
		"Assine o conjunto DNSKEY com a chave (KSK) cujo DS está registado."},
	SignatureExpired: {store.SeverityError, "DNSSEC04", "Art 5",
		"The signatures served by %s (%s) are outside their validity period (%s): validating resolvers reject the domain.",
		"As assinaturas servidas por %s (%s) estão fora do período de validade (%s): os resolvedores que validam rejeitam o domínio.",
		"Re-sign the zone, and make sure signatures are refreshed automatically before they expire.",
		"Assine de novo a zona e garanta que as assinaturas são renovadas automaticamente antes de expirarem."},
	DSAlgorithm: {store.SeverityWarning, "DNSSEC01", "Art 5",
		"The DS record %s uses %s, which RFC 8624 says not to use.",
		"O registo DS %s usa %s, que o RFC 8624 desaconselha.",
		"Roll the zone to algorithm 13 (ECDSA P-256) and a SHA-256 DS.",
		"Mude a zona para o algoritmo 13 (ECDSA P-256) e um DS SHA-256."},
	BadRName: {store.SeverityWarning, "Zone06", "Art 5c",
		"The SOA of %s names %q as its responsible mailbox, which is not a usable e-mail address.",
		"O SOA de %s indica %q como caixa de correio responsável, que não é um endereço de correio utilizável.",
		"Set the SOA RNAME to the technical contact's mailbox, written with a dot for the @ (hostmaster.example.pt. for hostmaster@example.pt).",
		"Defina o RNAME do SOA como a caixa de correio do contacto técnico, escrita com um ponto no lugar da @ (hostmaster.exemplo.pt. para hostmaster@exemplo.pt)."},
	SOATimers: {store.SeverityWarning, "Zone02", "Art 1.3",
		"The SOA timers of %s are out of the usual ranges: %s.",
		"Os temporizadores do SOA de %s estão fora dos valores habituais: %s.",
		"Use values like refresh 3600-86400, retry below refresh, expire 604800-2419200, minimum 300-86400 (RFC 1912, RIPE-203).",
		"Use valores como refresh 3600-86400, retry abaixo do refresh, expire 604800-2419200, minimum 300-86400 (RFC 1912, RIPE-203)."},
	Unresolvable: {store.SeverityError, "Nameserver06", "Art 1.1",
		"The name server name %s does not resolve to an address: %s. It cannot be checked, nor reached by resolvers.",
		"O nome do servidor %s não se resolve num endereço: %s. Não pode ser verificado, nem alcançado pelos resolvedores.",
		"Publish A or AAAA records for the name server's name in its own zone, or correct the name.",
		"Publique registos A ou AAAA para o nome do servidor na zona a que pertence, ou corrija o nome."},
	SpecialAddress: {store.SeverityError, "Address01", "Art 1.1",
		"The name server %s has the address %s, which is private or reserved (not reachable from the Internet); it was not queried.",
		"O servidor de nomes %s tem o endereço %s, que é privado ou reservado (inalcançável a partir da Internet); não foi consultado.",
		"Give the name server a public address, in the glue and in its zone.",
		"Dê ao servidor de nomes um endereço público, no glue e na sua zona."},
	NoAddress: {store.SeverityError, "Nameserver06", "Art 1.1",
		"The name server %s has no address to check.",
		"O servidor de nomes %s não tem endereço que se possa verificar.",
		"Register the server's addresses (glue) if it lies inside the domain, or publish them in its own zone.",
		"Registe os endereços do servidor (glue) se ele estiver dentro do domínio, ou publique-os na zona a que pertence."},
}

// Stored returns the finding as the registry keeps it, with its messages
// in both languages, the article and the hint written out.
func (f Finding) Stored() store.Finding {
	return store.Finding{Code: f.Code, Severity: f.Severity, Nameserver: f.NS, Address: f.Addr,
		Article: f.Article(), Message: f.Message("en"), MessagePT: f.Message("pt"), Hint: f.Hint("en"), HintPT: f.Hint("pt"), Evidence: f.Evidence}
}

// Result returns the report as the registry keeps it: an error fails the
// check, a warning is a warning, notices pass.
func (r Report) Result(at time.Time, took time.Duration, trigger string) store.CheckResult {
	res := store.CheckResult{Domain: r.Domain, Time: at, Duration: took, Trigger: trigger, Verdict: store.VerdictPass}
	switch worst, any := r.Verdict(); {
	case any && worst == store.SeverityError:
		res.Verdict = store.VerdictFail
	case any && worst == store.SeverityWarning:
		res.Verdict = store.VerdictWarning
	}
	for _, f := range r.Findings {
		res.Findings = append(res.Findings, f.Stored())
	}
	return res
}

// unresolvedText says, in both languages, why a name server's name has no
// address.
func unresolvedText(f *resolve.Failure) text {
	zoneEN, zonePT := f.Zone, f.Zone
	if f.Zone == "." {
		zoneEN, zonePT = "the root", "a raiz"
	}
	switch f.Kind {
	case resolve.NoSuchName:
		return text{"the name does not exist (NXDOMAIN)", "o nome não existe (NXDOMAIN)"}
	case resolve.NoAddressRecords:
		return text{"the name has no A or AAAA records", "o nome não tem registos A nem AAAA"}
	case resolve.NoServerAnswers:
		return text{"no server of " + zoneEN + " answers", "nenhum servidor de " + zonePT + " responde"}
	case resolve.UnusableAnswers:
		return text{"the servers of " + zoneEN + " give no usable answer", "os servidores de " + zonePT + " não dão uma resposta utilizável"}
	case resolve.ServersNotFound:
		return text{"the servers " + zoneEN + " is delegated to cannot be found", "não se encontram os servidores em que " + zonePT + " está delegado"}
	case resolve.TooManyReferrals:
		return text{"the delegations on the way to it are too many", "as delegações até ele são demasiadas"}
	case resolve.AliasLoop:
		return text{"its aliases (CNAME) go round, or on too long", "os seus aliases (CNAME) andam em círculo, ou são demasiados"}
	case resolve.ResolverFailed:
		if f.Detail == "" {
			return text{"the resolver does not answer", "o resolvedor não responde"}
		}
		return text{"the resolver answers " + f.Detail, "o resolvedor responde " + f.Detail}
	}
	return text{f.Error(), f.Error()}
}
