package main

import (
	"encoding/json"
	"fmt"
	"net/netip"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ptzone/ptzone/delegation/lab"
)

// labDomain serves exemplo.pt from two lab servers with the faults given,
// and returns the lab's port and the --ns flags of the delegation.
func labDomain(t *testing.T, faults ...lab.Fault) (int, []string) {
	t.Helper()
	l, err := lab.New()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	a1, a2 := lab.Addr(1), lab.Addr(257)
	z := &lab.Zone{Name: "exemplo.pt", NS: []string{"ns1.exemplo.pt", "ns2.exemplo.pt"}, Serial: 7,
		Addrs: map[string][]netip.Addr{"ns1.exemplo.pt": {a1}, "ns2.exemplo.pt": {a2}}}
	for i, a := range []netip.Addr{a1, a2} {
		var f lab.Fault
		if i < len(faults) {
			f = faults[i]
		}
		if _, err := l.Serve(a, f, 0, z); err != nil {
			t.Fatal(err)
		}
	}
	return l.Port, []string{"--ns", "ns1.exemplo.pt/" + a1.String(), "--ns", "ns2.exemplo.pt/" + a2.String()}
}

// TestCheckCommand: ptzone check on a lab's domain: pass (0), warnings
// only (1), errors (2) with the finding in Portuguese when asked, as JSON,
// and 3 for a usage error; a registry's delegation is read when no --ns is
// given.
func TestCheckCommand(t *testing.T) {
	home := t.TempDir()
	port, nsFlags := labDomain(t)
	check := func(args ...string) result {
		return cli(t, home, append(append([]string{"check", "--port", fmt.Sprint(port), "--timeout", "300ms"}, args...), "exemplo.pt")...)
	}
	if r := check(nsFlags...).want(t, checkPass); !strings.Contains(r.stdout, "exemplo.pt: pass") {
		t.Errorf("healthy: %s", r.stdout)
	}

	port, nsFlags = labDomain(t, lab.SerialAhead)
	r := check(nsFlags...).want(t, checkWarnings)
	if !strings.Contains(r.stdout, "WARNING SERIAL_MISMATCH") || !strings.Contains(r.stdout, "Zonemaster Consistency01") {
		t.Errorf("serials: %s", r.stdout)
	}

	port, nsFlags = labDomain(t, lab.Refused)
	r = check(append(nsFlags, "--lang", "pt")...).want(t, checkErrors)
	if !strings.Contains(r.stdout, "exemplo.pt: erros 1, avisos 0") || !strings.Contains(r.stdout, "ERRO REFUSED (ns1.exemplo.pt. 127.0.0.2) [Art 4.2") ||
		!strings.Contains(r.stdout, "recusa responder") || !strings.Contains(r.stdout, "consulta: SOA exemplo.pt. @127.0.0.2 UDP: REFUSED") ||
		!strings.Contains(r.stdout, "correção: Acrescente a zona") {
		t.Errorf("refused, in Portuguese: %s", r.stdout)
	}
	r = check(append(nsFlags, "--json")...).want(t, checkErrors)
	var report struct {
		Verdict  string
		Findings []struct{ Code, Severity, Nameserver, Address, Message, Article, Hint string }
	}
	if err := json.Unmarshal([]byte(r.stdout), &report); err != nil || report.Verdict != "error" || len(report.Findings) != 1 ||
		report.Findings[0].Code != "REFUSED" || report.Findings[0].Address != "127.0.0.2" || report.Findings[0].Hint == "" {
		t.Errorf("JSON: %v %+v\n%s", err, report, r.stdout)
	}

	cli(t, home, "check").want(t, checkUnknown)
	cli(t, home, "check", "--ns", "ns1.exemplo.pt/300.1.1.1", "exemplo.pt").want(t, checkUnknown)
	cli(t, home, "check", "--bogus", "exemplo.pt").want(t, checkUnknown)
	cli(t, home, "check", "--ds", "1 13 2", "--ns", "a.pt", "exemplo.pt").want(t, checkUnknown)
	// A registry it cannot read leaves the domain unchecked: never taken
	// for a verdict (2 is errors found, 1 warnings).
	cli(t, home, "check", "--db", "mysql://x/r", "exemplo.pt").want(t, checkUnknown)
	cli(t, home, "check", "--db", "postgres://ptzone@127.0.0.1:1/registry?connect_timeout=2", "exemplo.pt").want(t, checkUnknown)
	// Its help lists its own exit statuses, not every other command's.
	if r := cli(t, home, "check", "--help").want(t, exitOK); !strings.Contains(r.stdout, "3  not checked") || strings.Contains(r.stdout, "usage error or bad input (unknown flag") {
		t.Errorf("check --help's exit statuses:\n%s", r.stdout)
	}

	// From the registry: the same delegation, imported.
	registry := fmt.Sprintf(`{"name":"exemplo.pt","status":"active","registrar":"REG-1","expires":"2027-01-01","tech_email":"dns@exemplo.pt","nameservers":[{"name":"ns1.exemplo.pt","addrs":["%s"]},{"name":"ns2.exemplo.pt","addrs":["%s"]}]}`+"\n",
		lab.Addr(1), lab.Addr(257))
	cli(t, home, "db", "import", writeFile(t, home, "r.jsonl", []byte(registry))).want(t, exitOK)
	if r := check().want(t, checkErrors); !strings.Contains(r.stdout, "REFUSED") {
		t.Errorf("from the registry: %s", r.stdout)
	}
}

// TestCheckFromHints: ptzone check --hints resolves a name server outside
// the domain from the root servers the file names (a test root on the
// lab's loopback), and only from them: a name they do not know is
// reported unresolvable with the root's answer as evidence. --hints and
// --resolver together, and a bad hints file, are usage errors naming what
// is wrong.
func TestCheckFromHints(t *testing.T) {
	l, err := lab.New()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	a1, a2, root := lab.Addr(1), lab.Addr(257), lab.Addr(513)
	z := &lab.Zone{Name: "exemplo.pt", NS: []string{"ns1.exemplo.pt", "ns.outro.test"}, Serial: 7,
		Addrs: map[string][]netip.Addr{"ns1.exemplo.pt": {a1}}}
	for _, a := range []netip.Addr{a1, a2} {
		if _, err := l.Serve(a, 0, 0, z); err != nil {
			t.Fatal(err)
		}
	}
	// The root serves test. itself: ns.outro.test is in its data.
	if _, err := l.Serve(root, 0, 0, &lab.Zone{Name: ".", NS: []string{"a.root.test"}, Serial: 1,
		Addrs: map[string][]netip.Addr{"a.root.test": {root}, "ns.outro.test": {a2}}}); err != nil {
		t.Fatal(err)
	}
	home := t.TempDir()
	hints := writeFile(t, home, "root.hints", []byte(". 3600000 NS a.root.test.\na.root.test. 3600000 A "+root.String()+"\n"))
	check := func(args ...string) result {
		return cli(t, home, append(append([]string{"check", "--port", fmt.Sprint(l.Port), "--timeout", "300ms"}, args...), "exemplo.pt")...)
	}
	glued := "ns1.exemplo.pt/" + a1.String()
	if r := check("--hints", hints, "--ns", glued, "--ns", "ns.outro.test").want(t, checkPass); !strings.Contains(r.stdout, "exemplo.pt: pass") {
		t.Errorf("from the hints: %s", r.stdout)
	}
	r := check("--hints", hints, "--ns", glued, "--ns", "ns.nada.test").want(t, checkErrors)
	if !strings.Contains(r.stdout, "UNRESOLVABLE (ns.nada.test.)") || !strings.Contains(r.stdout, "@"+root.String()) {
		t.Errorf("a name the root does not know: %s", r.stdout)
	}

	r = check("--hints", hints, "--resolver", "127.0.0.1", "--ns", glued).want(t, checkUnknown)
	if !strings.Contains(r.stderr, "--resolver and --hints") {
		t.Errorf("both: %s", r.stderr)
	}
	bad := writeFile(t, home, "bad.hints", []byte(". 3600000 NS a.root.test.\na.root.test. 3600000 A 300.1.1.1\n"))
	r = check("--hints", bad, "--ns", glued).want(t, checkUnknown)
	if !strings.Contains(r.stderr, "bad.hints") || !strings.Contains(r.stderr, "line: 2") {
		t.Errorf("a bad hints file: %s", r.stderr)
	}
	r = check("--hints", filepath.Join(home, "none"), "--ns", glued).want(t, checkUnknown)
	if !strings.Contains(r.stderr, "none") {
		t.Errorf("a missing hints file: %s", r.stderr)
	}
}
