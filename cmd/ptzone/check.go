package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/miekg/dns"

	"github.com/ptzone/ptzone/delegation"
	"github.com/ptzone/ptzone/delegation/resolve"
	"github.com/ptzone/ptzone/store"
)

// Exit codes of ptzone check, graded as monitoring plugins grade theirs
// (OK, WARNING, CRITICAL, UNKNOWN), so that a monitoring system can run
// it as it is: a check that could not be made is never taken for a
// verdict.
const (
	checkPass     = 0
	checkWarnings = 1
	checkErrors   = 2
	checkUnknown  = 3 // not checked: a usage error, bad input, the registry unreadable
)

const checkExitHelp = `Exit status:
  0  no finding worse than a notice
  1  warnings only
  2  errors found
  3  not checked: usage error, bad input (a domain not in the registry),
     or the registry could not be read`

func checkCommand() *command {
	var (
		sf       storeFlags
		asJSON   bool
		lang     string
		ns, ds   stringList
		resolver string
		hints    string
		port     int
		timeout  time.Duration
	)
	return &command{
		name:      "check",
		usageCode: checkUnknown,
		exitHelp:  checkExitHelp,
		synopsis:  "[flags] DOMAIN",
		summary:   "Check a domain's delegation: authoritative answers, consistency, redundancy, DNSSEC",
		help: `Checks the name servers of DOMAIN against the .PT Registration Rules: each
address answers authoritatively for the domain over UDP and TCP (Art 1.1,
4.2), with EDNS and without recursion; they serve the delegation's NS
records, the glue's addresses and one serial; there are two of them at
least, on two addresses, not all in one network (Art 1.2); the zone's
keys match the DS records and sign its DNSKEY records (Art 5); its SOA
names a usable mailbox (Art 5c).

The delegation is the registry's (--db) unless --ns gives it, as before
registration: --ns NAME or --ns NAME/IP, repeatable, and --ds "TAG ALG
DIGESTTYPE DIGEST", repeatable. Name servers outside the domain, given no
address, are resolved from the root, as resolvers on the Internet find
them: from the root servers built in (IANA's named.root), or from --hints
FILE (root hints in zone file form); or through the recursive resolver
--resolver IP[:PORT]. The system's resolver is never asked. --port sets
the port the name servers are asked on (a lab's; the hints' servers too).
Any address is accepted, loopback included: this is the operator's tool.

Each finding has a stable code, a severity, the server concerned, the
query and what came back, the article and a hint; --lang pt writes the
messages in Portuguese, --json writes JSON.`,
		flags: func(fs *flag.FlagSet) {
			sf.register(fs)
			fs.BoolVar(&asJSON, "json", false, "write the report as JSON")
			fs.StringVar(&lang, "lang", "en", "messages in `LANG`: en or pt")
			fs.Var(&ns, "ns", "a name server, `NAME[/IP]` (repeatable); without it, the registry's delegation")
			fs.Var(&ds, "ds", "a DS record, \"`TAG ALG DIGESTTYPE DIGEST`\" (repeatable)")
			fs.StringVar(&resolver, "resolver", "", "resolve name servers outside the domain through the recursive resolver `IP[:PORT]`")
			fs.StringVar(&hints, "hints", "", "resolve name servers outside the domain from the root servers in `FILE` (zone file form)")
			fs.IntVar(&port, "port", 53, "ask the name servers on port `N`")
			fs.DurationVar(&timeout, "timeout", 2*time.Second, "wait this long for each answer")
		},
		run: func(ctx context.Context, e *env, args []string) error {
			usage := func(format string, a ...any) error {
				return &exitError{code: checkUnknown, err: &usageError{msg: fmt.Sprintf(format, a...)}}
			}
			if len(args) != 1 {
				return usage("check takes one DOMAIN")
			}
			if lang != "en" && lang != "pt" {
				return usage("check: --lang %q: en or pt", lang)
			}
			d := delegation.Delegation{Domain: strings.ToLower(strings.TrimSuffix(args[0], "."))}
			for _, spec := range ns {
				name, ip, hasIP := strings.Cut(spec, "/")
				n := delegation.Nameserver{Name: name}
				if hasIP {
					a, err := netip.ParseAddr(ip)
					if err != nil {
						return usage("check: --ns %q: %v", spec, err)
					}
					n.Addrs = []netip.Addr{a}
				}
				d.Nameservers = append(d.Nameservers, n)
			}
			for _, spec := range ds {
				rec, err := parseDS(d.Domain, spec)
				if err != nil {
					return usage("check: --ds %q: %v", spec, err)
				}
				d.DS = append(d.DS, rec)
			}
			c := &delegation.Checker{Port: port, Timeout: timeout}
			switch {
			case resolver != "" && hints != "":
				return usage("check: --resolver and --hints: give one")
			case resolver != "":
				if _, _, err := net.SplitHostPort(resolver); err != nil {
					resolver = net.JoinHostPort(resolver, "53")
				}
				ap, err := netip.ParseAddrPort(resolver)
				if err != nil {
					return usage("check: --resolver %q: want IP[:PORT]", resolver)
				}
				c.Resolver = ap
			case hints != "":
				f, err := os.Open(hints)
				if err != nil {
					return usage("check: --hints: %v", err)
				}
				c.Hints, err = resolve.ReadHints(f, hints)
				f.Close()
				if err != nil {
					return usage("check: --hints: %v", err)
				}
			default:
				c.Hints = resolve.RootHints()
			}
			if len(d.Nameservers) == 0 {
				if len(d.DS) > 0 {
					return usage("check: --ds needs --ns")
				}
				if err := registryDelegation(ctx, e, &sf, &d); err != nil {
					return err
				}
			}
			r := c.Check(ctx, d)
			if asJSON {
				writeJSONReport(e.stdout, r, lang)
			} else {
				writeReport(e.stdout, r, lang)
			}
			switch worst, any := r.Verdict(); {
			case !any || worst == store.SeverityNotice:
				return nil
			case worst == store.SeverityWarning:
				return &exitError{code: checkWarnings}
			default:
				return &exitError{code: checkErrors}
			}
		},
	}
}

// registryDelegation reads a domain's delegation from the registry. What
// keeps it from being read (a bad --db, a registry that cannot be
// reached, a domain it does not hold) means the domain was not checked.
func registryDelegation(ctx context.Context, e *env, sf *storeFlags, d *delegation.Delegation) error {
	reg, _, err := sf.open(ctx, e)
	if err != nil {
		return &exitError{code: checkUnknown, err: err}
	}
	defer reg.Close()
	dom, err := reg.Domain(ctx, d.Domain)
	if errors.Is(err, store.ErrNotFound) {
		return &exitError{code: checkUnknown, err: fmt.Errorf("check: %s is not in the registry (give its name servers with --ns)", d.Domain)}
	}
	if err != nil {
		return &exitError{code: checkUnknown, err: fmt.Errorf("check: reading %s from the registry: %w", d.Domain, err)}
	}
	*d = delegation.FromDomain(dom)
	if len(d.Nameservers) == 0 {
		return &exitError{code: checkErrors, err: fmt.Errorf("check: %s has no name servers in the registry (Art 4.2: it stays reserved)", d.Domain)}
	}
	return nil
}

func parseDS(domain, spec string) (*dns.DS, error) {
	f := strings.Fields(spec)
	if len(f) != 4 {
		return nil, errors.New("want TAG ALG DIGESTTYPE DIGEST")
	}
	var n [3]uint64
	for i, bits := range []int{16, 8, 8} {
		v, err := strconv.ParseUint(f[i], 10, bits)
		if err != nil {
			return nil, err
		}
		n[i] = v
	}
	return &dns.DS{Hdr: dns.RR_Header{Name: dns.Fqdn(domain), Rrtype: dns.TypeDS, Class: dns.ClassINET},
		KeyTag: uint16(n[0]), Algorithm: uint8(n[1]), DigestType: uint8(n[2]), Digest: strings.ToUpper(f[3])}, nil
}

// reportWords are the readable report's own words, in each language.
var reportWords = map[string]struct {
	pass, summary, query, fix string
	severity                  map[store.Severity]string
}{
	"en": {"pass", "errors %d, warnings %d", "query", "fix",
		map[store.Severity]string{store.SeverityError: "ERROR", store.SeverityWarning: "WARNING", store.SeverityNotice: "NOTICE"}},
	"pt": {"sem problemas", "erros %d, avisos %d", "consulta", "correção",
		map[store.Severity]string{store.SeverityError: "ERRO", store.SeverityWarning: "AVISO", store.SeverityNotice: "NOTA"}},
}

func writeReport(w io.Writer, r delegation.Report, lang string) {
	words := reportWords[lang]
	counts := map[store.Severity]int{}
	for _, f := range r.Findings {
		counts[f.Severity]++
	}
	if len(r.Findings) == 0 {
		fmt.Fprintf(w, "%s: %s\n", r.Domain, words.pass)
		return
	}
	fmt.Fprintf(w, "%s: "+words.summary+"\n", r.Domain, counts[store.SeverityError], counts[store.SeverityWarning])
	for _, f := range r.Findings {
		where := f.NS
		if f.Addr != "" {
			where += " " + f.Addr
		}
		fmt.Fprintf(w, "\n%s %s", words.severity[f.Severity], f.Code)
		if where != "" {
			fmt.Fprintf(w, " (%s)", strings.TrimSpace(where))
		}
		fmt.Fprintf(w, " [%s", f.Article())
		if z := f.Zonemaster(); z != "" {
			fmt.Fprintf(w, ", Zonemaster %s", z)
		}
		fmt.Fprintf(w, "]\n  %s\n", f.Message(lang))
		if f.Evidence != "" {
			fmt.Fprintf(w, "  %s: %s\n", words.query, f.Evidence)
		}
		fmt.Fprintf(w, "  %s: %s\n", words.fix, f.Hint(lang))
	}
}

func writeJSONReport(w io.Writer, r delegation.Report, lang string) {
	type finding struct {
		Code       string `json:"code"`
		Severity   string `json:"severity"`
		Nameserver string `json:"nameserver,omitempty"`
		Address    string `json:"address,omitempty"`
		Message    string `json:"message"`
		Article    string `json:"article"`
		Zonemaster string `json:"zonemaster,omitempty"`
		Hint       string `json:"hint"`
		Evidence   string `json:"evidence,omitempty"`
	}
	out := struct {
		Domain   string    `json:"domain"`
		Verdict  string    `json:"verdict"`
		Findings []finding `json:"findings"`
	}{Domain: r.Domain, Verdict: "pass", Findings: []finding{}}
	if worst, any := r.Verdict(); any {
		out.Verdict = string(worst)
	}
	for _, f := range r.Findings {
		out.Findings = append(out.Findings, finding{f.Code, string(f.Severity), f.NS, f.Addr, f.Message(lang), f.Article(),
			f.Zonemaster(), f.Hint(lang), f.Evidence})
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.Encode(out)
}
