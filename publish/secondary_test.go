package publish_test

import (
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/miekg/dns"
	"go.uber.org/zap"
	"go.uber.org/zap/zaptest/observer"

	"github.com/ptzone/ptzone/authserver"
	"github.com/ptzone/ptzone/datadir"
	"github.com/ptzone/ptzone/internal/tooltest"
	"github.com/ptzone/ptzone/publish"
	"github.com/ptzone/ptzone/store"
)

// The transfer key, named as docs/operations.md names it.
const (
	xfrKey    = "pt-transfer."
	xfrSecret = "c2VjcmV0LWZvci10aGUtcHQtdHJhbnNmZXJzLW9ubHk=" // a test key
)

// nsd is an NSD secondary of pt run by a test, which can stop it and
// start it again.
type nsd struct {
	path, dir, conf string
	cmd             *exec.Cmd
	done            chan struct{}
}

// newNSD configures NSD in a directory of its own as the manual's
// snippet says (docs/operations.md, "Secondaries"), after the test's own
// settings (the directory, one loopback port, logs, and its zone file
// written every second rather than every hour: what a restart goes on
// from), and lets loopback clients transfer the zone from it, for the
// comparison.
func newNSD(t *testing.T, port int, primary string) *nsd {
	t.Helper()
	path := tooltest.Require(t, "nsd")
	dir := t.TempDir()
	host, primaryPort, err := net.SplitHostPort(primary)
	if err != nil {
		t.Fatal(err)
	}
	conf := fmt.Sprintf(`server:
    ip-address: 127.0.0.1@%[2]d
    zonesdir: "%[1]s"
    pidfile: "%[1]s/nsd.pid"
    database: ""
    xfrdfile: "%[1]s/xfrd.state"
    xfrdir: "%[1]s"
    zonelistfile: "%[1]s/zone.list"
    username: ""
    chroot: ""
    verbosity: 2
    logfile: "%[1]s/nsd.log"
    zonefiles-write: 1
remote-control:
    control-enable: no
`, dir, port)
	conf += tooltest.Snippet(t, "../docs/operations.md", "nsd-secondary",
		"PRIMARY_ADDRESS", host, "PRIMARY_PORT", primaryPort, "TSIG_SECRET", xfrSecret)
	conf += "    provide-xfr: 127.0.0.1 NOKEY\n"
	n := &nsd{path: path, dir: dir, conf: filepath.Join(dir, "nsd.conf")}
	if err := os.WriteFile(n.conf, []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { n.stop(t) })
	return n
}

func (n *nsd) start(t *testing.T) {
	t.Helper()
	n.cmd = exec.Command(n.path, "-d", "-c", n.conf)
	n.cmd.Stdout, n.cmd.Stderr = io.Discard, io.Discard
	if err := n.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	n.done = make(chan struct{})
	go func(cmd *exec.Cmd, done chan struct{}) { cmd.Wait(); close(done) }(n.cmd, n.done)
}

// stop stops NSD as its service manager does (SIGTERM), and waits.
func (n *nsd) stop(t *testing.T) {
	t.Helper()
	if n.cmd == nil {
		return
	}
	n.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-n.done:
	case <-time.After(10 * time.Second):
		n.cmd.Process.Kill()
		<-n.done
		t.Errorf("nsd did not stop on SIGTERM")
	}
	n.cmd = nil
}

// written waits, at most ten seconds, until NSD has written the zone at
// serial to its zone file (zonefiles-write): what it starts from again.
func (n *nsd) written(t *testing.T, serial uint32) {
	t.Helper()
	want := fmt.Sprintf(" %d ", serial)
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		if b, err := os.ReadFile(filepath.Join(n.dir, "pt.zone")); err == nil && strings.Contains(string(b), want) {
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("NSD did not write pt at serial %d to its zone file: %s", serial, n.log())
}

func (n *nsd) log() string {
	b, _ := os.ReadFile(filepath.Join(n.dir, "nsd.log"))
	return string(b)
}

// waitSerial waits, at most thirty seconds, until addr serves pt at
// serial.
func waitSerial(t *testing.T, addr string, serial uint32, log func() string) {
	t.Helper()
	c := &dns.Client{Timeout: 300 * time.Millisecond}
	q := new(dns.Msg)
	q.SetQuestion("pt.", dns.TypeSOA)
	var last string
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		if r, _, err := c.Exchange(q, addr); err == nil && len(r.Answer) > 0 {
			if soa, ok := r.Answer[0].(*dns.SOA); ok && soa.Serial == serial {
				return
			}
			last = r.Answer[0].String()
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("%s does not serve serial %d (last answer %q): %s", addr, serial, last, log())
}

// zoneRecords transfers pt by AXFR (signed with the test key if asked)
// and returns its records as sorted text.
func zoneRecords(t *testing.T, addr string, signed bool) []string {
	t.Helper()
	tr := &dns.Transfer{}
	q := new(dns.Msg)
	q.SetAxfr("pt.")
	if signed {
		tr.TsigSecret = map[string]string{xfrKey: xfrSecret}
		q.SetTsig(xfrKey, dns.HmacSHA256, 300, time.Now().Unix())
	}
	ch, err := tr.In(q, addr)
	if err != nil {
		t.Fatalf("AXFR from %s: %v", addr, err)
	}
	var out []string
	for env := range ch {
		if env.Error != nil {
			t.Fatalf("AXFR from %s: %v", addr, env.Error)
		}
		for _, rr := range env.RR {
			out = append(out, strings.ToLower(rr.String()))
		}
	}
	slices.Sort(out)
	return slices.Compact(out) // the SOA comes twice
}

// TestSecondaryCatchesUp: an NSD secondary, configured as the manual
// says, is down during five publications, then started again: it
// catches up to the last serial, by IXFR when the journal holds the
// changes since its serial, by AXFR when the journal no longer does
// (flushed and trimmed at every publication), and then holds the zone
// served.
func TestSecondaryCatchesUp(t *testing.T) {
	tooltest.Require(t, "nsd")
	for _, c := range []struct {
		name   string
		limits datadir.Limits
		want   string
	}{
		{"journal holds the changes", datadir.Limits{}, "IXFR"},
		{"journal trimmed", datadir.Limits{FlushAfter: 1, JournalKeep: 1}, "AXFR"},
	} {
		t.Run(c.name, func(t *testing.T) {
			f := newFixture(t)
			f.cfg.Limits = c.limits
			at := t0
			first := f.run(t, publish.Request{Now: at})["pt"]
			port := tooltest.FreePort(t)
			secondary := fmt.Sprintf("127.0.0.1:%d", port)
			core, logs := observer.New(zap.InfoLevel)
			s := serveZonesWith(t, f.out, f.cfg.Zones.Zones, authserver.Config{
				TSIG: []authserver.TSIGKey{{Name: xfrKey, Secret: xfrSecret}},
				Transfer: map[string]authserver.Transfer{"pt.": {AllowFrom: []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")},
					Keys: []string{xfrKey}, Notify: []string{secondary}, NotifyKey: xfrKey}},
			}, zap.New(core))
			n := newNSD(t, port, s.addr)
			n.start(t)
			waitSerial(t, secondary, first.Serial, n.log)
			n.written(t, first.Serial)
			n.stop(t)

			var last uint32
			for range 5 {
				f.change(t)
				at = at.Add(time.Minute)
				o := f.run(t, publish.Request{Now: at})["pt"]
				if o.Outcome != store.OutcomePublished {
					t.Fatalf("publication: %s %v", o.Outcome, o.Refusals)
				}
				if got := s.serial(t, "pt"); got != o.Serial {
					t.Fatalf("serial %d served, want %d", got, o.Serial)
				}
				last = o.Serial
			}
			sent := len(logs.FilterMessage("transfer sent").All())
			n.start(t)
			waitSerial(t, secondary, last, n.log)
			var kinds []string
			for _, e := range logs.FilterMessage("transfer sent").All()[sent:] {
				kinds = append(kinds, e.ContextMap()["kind"].(string))
			}
			if len(kinds) != 1 || kinds[0] != c.want {
				t.Errorf("transfers sent to the secondary back: %v, want one %s; NSD says:\n%s", kinds, c.want, n.log())
			}
			theirs, ours := zoneRecords(t, secondary, false), zoneRecords(t, s.addr, true)
			if !slices.Equal(theirs, ours) {
				t.Errorf("the secondary holds %d records, the primary serves %d", len(theirs), len(ours))
			}
		})
	}
}
