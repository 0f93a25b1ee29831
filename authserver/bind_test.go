package authserver

import (
	"fmt"
	"net"
	"os"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/miekg/dns"

	"github.com/ptzone/ptzone/internal/tooltest"
)

// runNamed runs BIND's named on a loopback port as a secondary of p's
// zone pt, until the test ends, and returns what it logged. The zone
// and the key are the manual's snippet as written (docs/operations.md,
// "Secondaries"), in options of the test's own: a temporary directory,
// one port of 127.0.0.1, no recursion and no validation (named sends
// nothing off the machine), no control channel; and for the comparison
// with ptzone, transfers to loopback and answers without the apex NS
// in their authority section, as ptzone's. Run by root, named drops to
// the user bind.
func runNamed(t *testing.T, port int, p *primary) func() string {
	t.Helper()
	named := tooltest.Require(t, "named")
	// Not t.TempDir, which the user bind could not reach: its parent is
	// the test's own, mode 0700.
	dir, err := os.MkdirTemp("", "named-secondary-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })

	host, primaryPort, err := net.SplitHostPort(p.addr)
	if err != nil {
		t.Fatal(err)
	}
	snippet := tooltest.Snippet(t, "../docs/operations.md", "bind-secondary",
		"PRIMARY_ADDRESS", host, "PRIMARY_PORT", primaryPort, "TSIG_SECRET", xfrSecret)
	conf := fmt.Sprintf(`options {
	directory "%[1]s";
	pid-file "%[1]s/named.pid";
	lock-file none;
	session-keyfile none;
	managed-keys-directory "%[1]s";
	listen-on port %[2]d { 127.0.0.1; };
	listen-on-v6 { none; };
	recursion no;
	dnssec-validation no;
	allow-transfer { 127.0.0.1; };
	minimal-responses no-auth;
};
controls { };
`, dir, port) + snippet
	confPath := filepath.Join(dir, "named.conf")
	if err := os.WriteFile(confPath, []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	args := []string{"-g", "-d", "3", "-4", "-n", "1", "-c", confPath}
	if os.Geteuid() == 0 {
		u, err := user.Lookup("bind")
		if err != nil {
			t.Fatalf("named as root wants the user bind (made by Debian's bind9): %v", err)
		}
		uid, _ := strconv.Atoi(u.Uid)
		gid, _ := strconv.Atoi(u.Gid)
		if err := os.Chown(dir, uid, gid); err != nil {
			t.Fatal(err)
		}
		args = append(args, "-u", "bind")
	}
	return tooltest.Start(t, named, args...)
}

// TestBINDSecondary: BIND's named, a secondary configured as the
// manual says, pulls the zone by AXFR, is notified of the next
// publication, checks the serial with a signed SOA query over UDP (which
// it refused unsigned: "expected a TSIG or SIG(0)") and pulls the change
// by IXFR; it then holds the zone ptzone serves and answers as ptzone
// does.
func TestBINDSecondary(t *testing.T) {
	tooltest.Require(t, "named")
	port := tooltest.FreePort(t)
	secondary := fmt.Sprintf("127.0.0.1:%d", port)
	p := newPrimary(t, secondary)
	log := runNamed(t, port, p)
	waitSerial(t, secondary, p.s1, log)
	p.publish(t)
	waitSerial(t, secondary, p.s2, log)
	if got := p.sent(); len(got) != 2 || got[0] != "AXFR" || got[1] != "IXFR" {
		t.Errorf("transfers sent: %v, want AXFR then IXFR; named says:\n%s", got, log())
	}
	if n := len(p.logs.FilterMessage("secondary notified").All()); n == 0 {
		t.Error("named was not notified")
	}
	// named's side of it, in the order it happened (at debug level 3),
	// which named may finish logging after it serves the new serial.
	lines := []string{
		"requesting AXFR of initial version",
		"got nonincremental response",
		"Transfer status: success",
		fmt.Sprintf("received notify for zone 'pt': TSIG '%s'", strings.TrimSuffix(xfrKey, ".")),
		"requesting IXFR for serial " + strconv.Itoa(int(p.s1)),
		"got incremental response",
		"Transfer status: success",
		fmt.Sprintf("(serial %d)", p.s2),
	}
	said := log()
	for deadline := time.Now().Add(10 * time.Second); ; said = log() {
		missing := inOrder(said, lines)
		if missing == "" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("named did not say %q after what came before:\n%s", missing, said)
		}
		time.Sleep(50 * time.Millisecond)
	}
	for _, failure := range []string{"failure trying primary", "expected a TSIG", "tsig verify failure"} {
		if strings.Contains(said, failure) {
			t.Errorf("named says %q:\n%s", failure, said)
		}
	}
	if n := p.logs.FilterMessage("request with a bad TSIG").Len(); n > 0 {
		t.Errorf("%d requests with a bad TSIG: %v", n, p.logs.FilterMessage("request with a bad TSIG").All())
	}
	checkAt(t, "ptzone", p.addr, p.verifier, published)
	checkAt(t, "named", secondary, p.verifier, published)
	sameZone(t, secondary, p.addr)
	_, delegations := differentialPT(300)
	sameAnswers(t, secondary, p.addr, append(delegations, "novo.pt."), bindChoices)
}

// inOrder returns the first of lines that text does not hold after the
// ones before it, or "" when it holds them all in order.
func inOrder(text string, lines []string) string {
	at := 0
	for _, line := range lines {
		i := strings.Index(text[at:], line)
		if i < 0 {
			return line
		}
		at += i + len(line)
	}
	return ""
}

// bindChoices reports the queries where named answers otherwise than
// ptzone by a choice of its own, the data being the same: ANY, which
// named answers with every RRset at the name where ptzone gives one
// (RFC 8482 lets each choose); RRSIG, which named answers with every
// signature at the name; the negative answer to an SOA query, whose SOA
// named gives TTL 0 lest a resolver cache it for the zone's; and the
// case of owners named as the question, which ptzone keeps as asked
// and named now and then writes as the zone has them (case means
// nothing, RFC 4343).
func bindChoices(p probe, ours, theirs *dns.Msg) bool {
	if p.qtype == dns.TypeANY || p.qtype == dns.TypeRRSIG {
		return true
	}
	o, t := ours.Copy(), theirs.Copy()
	if p.qtype == dns.TypeSOA && len(ours.Answer) == 0 {
		for _, m := range []*dns.Msg{o, t} {
			for _, rr := range m.Ns {
				if sig, ok := rr.(*dns.RRSIG); rr.Header().Rrtype == dns.TypeSOA || ok && sig.TypeCovered == dns.TypeSOA {
					rr.Header().Ttl = 0
				}
			}
		}
	}
	return len(differences(o, t, "")) == 0
}
