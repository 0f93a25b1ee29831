package daemon

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/ptzone/ptzone/internal/testkit/testdb"
	"github.com/ptzone/ptzone/internal/tooltest"
)

// TestAlertRules: the alert rules load in Prometheus (promtool check
// rules), and each fires on the series that should fire it and not
// before (promtool test rules, deploy/prometheus-alerts.test.yml).
func TestAlertRules(t *testing.T) {
	promtool := tooltest.Require(t, "promtool")
	for _, args := range [][]string{{"check", "rules", "prometheus-alerts.yml"}, {"test", "rules", "prometheus-alerts.test.yml"}} {
		cmd := exec.Command(promtool, args...)
		cmd.Dir = filepath.Join("..", "deploy")
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Errorf("promtool %s: %v\n%s", strings.Join(args, " "), err, out)
		}
	}
}

// TestDeployNamesRealMetrics: every ptzone_ metric the alert rules and
// the dashboard name is one a daemon registers, so that a renamed metric
// cannot leave an alert that never fires; the dashboard is valid JSON
// with a query in every panel.
func TestDeployNamesRealMetrics(t *testing.T) {
	db := testdb.Open(t)
	reg := prometheus.NewRegistry()
	if _, err := New(labConfig("deploy", 53), Deps{Registry: db, DataDir: t.TempDir(), Metrics: reg}); err != nil {
		t.Fatal(err)
	}
	descs := make(chan *prometheus.Desc, 256)
	go func() { reg.Describe(descs); close(descs) }()
	fqName := regexp.MustCompile(`fqName: "([a-z_]+)"`)
	known := map[string]bool{}
	for d := range descs {
		if m := fqName.FindStringSubmatch(d.String()); m != nil {
			known[m[1]] = true
		}
	}
	for _, want := range []string{"ptzone_served_serial", "ptzone_secondary_serial", "ptzone_delegations", "ptzone_outbox_pending",
		"ptzone_dnssec_keys", "ptzone_publish_guard_refusals_total", "ptzone_dns_queries_total"} {
		if !known[want] {
			t.Errorf("the daemon does not register %s", want)
		}
	}
	named := regexp.MustCompile(`ptzone_[a-z_]+`)
	for _, file := range []string{"prometheus-alerts.yml", "prometheus-alerts.test.yml", "grafana-dashboard.json"} {
		text, err := os.ReadFile(filepath.Join("..", "deploy", file))
		if err != nil {
			t.Fatal(err)
		}
		var names []string
		for _, n := range named.FindAllString(string(text), -1) {
			if !known[n] && !slices.Contains(names, n) {
				names = append(names, n)
			}
		}
		if len(names) > 0 {
			t.Errorf("%s names metrics no daemon registers: %v", file, names)
		}
	}
	var dash struct {
		Panels []struct {
			Type, Title string
			Targets     []struct{ Expr string }
		}
	}
	text, _ := os.ReadFile(filepath.Join("..", "deploy", "grafana-dashboard.json"))
	if err := json.Unmarshal(text, &dash); err != nil {
		t.Fatalf("grafana-dashboard.json: %v", err)
	}
	panels := 0
	for _, p := range dash.Panels {
		if p.Type == "row" {
			continue
		}
		panels++
		if len(p.Targets) == 0 || p.Targets[0].Expr == "" {
			t.Errorf("dashboard panel %q has no query", p.Title)
		}
	}
	if panels < 10 {
		t.Errorf("the dashboard has %d panels", panels)
	}
}

// TestSystemdUnit: systemd accepts the unit (systemd-analyze verify, the
// binary's path pointed at one that exists), a Type=notify service;
// cmd/ptzone holds its command line to the daemon's flags.
func TestSystemdUnit(t *testing.T) {
	analyze := tooltest.Require(t, "systemd-analyze")
	text, err := os.ReadFile(filepath.Join("..", "deploy", "ptzone.service"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(text), "ExecReload=/bin/kill -HUP $MAINPID") || !strings.Contains(string(text), "GOMEMLIMIT=") {
		t.Error("the unit does not reload with SIGHUP or set GOMEMLIMIT")
	}
	// The daemon sends READY=1 itself (cmd/ptzone's TestDaemonTellsSystemd).
	if !strings.Contains(string(text), "\nType=notify\n") || !strings.Contains(string(text), "\nNotifyAccess=main\n") {
		t.Error("the unit is not Type=notify with NotifyAccess=main")
	}
	unit := filepath.Join(t.TempDir(), "ptzone.service")
	if err := os.WriteFile(unit, []byte(strings.ReplaceAll(string(text), "/usr/local/bin/ptzone", "/bin/true")), 0o644); err != nil {
		t.Fatal(err)
	}
	// The manual pages the unit names come with the Debian package
	// (cmd/ptzone's TestDebianPackage finds them there), not on this
	// machine.
	out, err := exec.Command(analyze, "verify", "--man=no", unit).CombinedOutput()
	// verify also reports on units elsewhere on the machine; only ours
	// counts.
	for _, line := range strings.Split(string(out), "\n") {
		if strings.Contains(line, "ptzone.service") {
			t.Errorf("systemd-analyze verify: %s", line)
		}
	}
	if err != nil && len(strings.TrimSpace(string(out))) == 0 {
		t.Errorf("systemd-analyze verify: %v", err)
	}
}
