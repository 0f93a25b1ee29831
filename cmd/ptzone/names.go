package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"

	"github.com/ptzone/ptzone/policy"
)

// policyFlags let an operator replace the bundled lists.
type policyFlags struct {
	tldFile, reservedFile, geoFile string
}

func (p *policyFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&p.tldFile, "tld-file", "", "list of root-zone TLDs (Art 9.1.b), e.g. IANA's tlds-alpha-by-domain.txt (default: bundled)")
	fs.StringVar(&p.reservedFile, "reserved-file", "", "list of reserved Internet terms (Art 9.1.d) (default: bundled)")
	fs.StringVar(&p.geoFile, "geo-file", "", "list of geographic names (Art 9.1.f) (default: bundled)")
}

// policy builds the policy, reading any list files given.
func (p *policyFlags) policy() (*policy.Policy, error) {
	var lists policy.Lists
	for _, l := range []struct {
		file string
		kind policy.ListKind
		dst  **policy.List
	}{
		{p.tldFile, policy.ExactList, &lists.TLDs},
		{p.reservedFile, policy.ExactList, &lists.Reserved},
		{p.geoFile, policy.FoldedList, &lists.Geographic},
	} {
		if l.file == "" {
			continue
		}
		f, err := os.Open(l.file)
		if err != nil {
			return nil, inputError(err)
		}
		list, err := policy.ReadList(f, l.file, l.kind)
		f.Close()
		if err != nil {
			return nil, inputError(err)
		}
		if list.Len() == 0 {
			return nil, inputError(fmt.Errorf("%s: the list is empty", l.file))
		}
		*l.dst = list
	}
	return policy.New(lists), nil
}

func namesCommand() *command {
	return &command{
		name:    "names",
		summary: "Check names against the .PT Rules",
		subs:    []*command{namesCheckCommand()},
	}
}

func namesCheckCommand() *command {
	var (
		zone, mode, lang string
		asJSON, geoAuth  bool
		pf               policyFlags
	)
	return &command{
		name:     "check",
		synopsis: "[flags] NAME...",
		summary:  "Check whether names may be registered",
		help: `Checks each NAME against the .PT Domain Name Registration Rules and prints,
for every name, whether it is valid, its A-label and U-label forms, and
every rule it breaks with the article that states it.

NAME may be a U-label or an A-label, alone ("açores-café", checked in the
hierarchy given by --zone) or fully qualified ("açores-café.com.pt").

Rules checked: Art 8 (2 to 63 characters from a-z, 0-9, the hyphen and
á à â ã ç é ê í ó ô õ ú; no hyphen first or last), Art 9.1.b (not a
top-level domain), 9.1.d (not an Internet term), 9.1.e ("--" in positions
3-4 only as the xn-- of a valid IDN), 9.1.f and 11.b (geographic names),
41.4 (legacy hierarchies closed). With --mode existing only the
composition rules apply, as to domains registered under earlier Rules.`,
		flags: func(fs *flag.FlagSet) {
			fs.StringVar(&zone, "zone", "", "`ZONE` for names given without one: pt, com.pt, org.pt, ... (default pt)")
			fs.BoolVar(&asJSON, "json", false, "print results as JSON")
			fs.StringVar(&mode, "mode", "registration", "`MODE`: registration (every rule) or existing (composition rules only)")
			fs.BoolVar(&geoAuth, "geo-authority", false, "the registrant is the legitimate administrative authority for a geographic name (Art 11.b)")
			fs.StringVar(&lang, "lang", "en", "`LANG` of messages: en or pt")
			pf.register(fs)
		},
		run: func(ctx context.Context, e *env, args []string) error {
			if len(args) == 0 {
				return usageErrorf("names check: give at least one NAME")
			}
			if zone != "" {
				if _, ok := policy.HierarchyOf(zone); !ok {
					return usageErrorf("names check: --zone %q is not a .pt hierarchy", zone)
				}
			}
			var m policy.Mode
			switch mode {
			case "registration":
				m = policy.Registration
			case "existing":
				m = policy.Existing
			default:
				return usageErrorf("names check: --mode %q: want registration or existing", mode)
			}
			if lang != "en" && lang != "pt" {
				return usageErrorf("names check: --lang %q: want en or pt", lang)
			}
			pol, err := pf.policy()
			if err != nil {
				return err
			}
			results := make([]policy.Result, len(args))
			allValid := true
			for i, name := range args {
				results[i] = pol.CheckName(name, policy.Options{Zone: zone, Mode: m, GeoAuthority: geoAuth})
				allValid = allValid && results[i].Valid
			}
			if asJSON {
				enc := json.NewEncoder(e.stdout)
				enc.SetIndent("", "  ")
				enc.SetEscapeHTML(false)
				if err := enc.Encode(results); err != nil {
					return err
				}
			} else {
				for _, r := range results {
					printNameResult(e, r, lang)
				}
			}
			if !allValid {
				return negative
			}
			return nil
		},
	}
}

func printNameResult(e *env, r policy.Result, lang string) {
	verdict := map[bool]map[string]string{
		true:  {"en": "valid", "pt": "válido"},
		false: {"en": "invalid", "pt": "inválido"},
	}[r.Valid][lang]
	fmt.Fprintf(e.stdout, "%q: %s\n", r.Input, verdict)
	if r.Name != "" {
		fmt.Fprintf(e.stdout, "  A-label  %s\n  U-label  %s\n", r.Name, r.Unicode)
	}
	for _, v := range r.Violations {
		msg := v.Message
		if lang == "pt" {
			msg = v.MessagePT
		}
		fmt.Fprintf(e.stdout, "  %-10s %s [%s]\n", v.Article, msg, v.Code)
	}
}
