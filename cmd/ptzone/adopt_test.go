package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/miekg/dns"

	"github.com/ptzone/ptzone"
	"github.com/ptzone/ptzone/datadir"
	"github.com/ptzone/ptzone/dnssec"
	"github.com/ptzone/ptzone/internal/testkit"
	"github.com/ptzone/ptzone/internal/tooltest"
	"github.com/ptzone/ptzone/publish"
	"github.com/ptzone/ptzone/zone"
	"github.com/ptzone/ptzone/zonegen"
)

// adoptedSerial is the old signer's serial, YYYYMMDDnn: ahead of a
// unixtime serial in RFC 1982 terms until 2034, so that the first
// publication after the adoption gets it plus one.
const adoptedSerial = 2026120301

// otherZones are ptzone's zones but pt.
var otherZones = []string{"com.pt", "org.pt", "edu.pt", "net.pt", "publ.pt", "int.pt", "nome.pt"}

// oldSignerContent builds pt from the registry of the data directory
// with the keys in keysDir (so that com.pt and the others carry the DS of
// their keys) and returns it as another signer would sign it: ptzone's
// records without its DNSSEC ones, at adoptedSerial.
func oldSignerContent(t *testing.T, home string, data []string, keysDir string) *zone.Zone {
	t.Helper()
	out := filepath.Join(home, "old-build")
	cli(t, home, append([]string{"zone", "build", "--zone", "pt", "--assume-checked", "--no-zonemd", "--now", buildAt(),
		"--keys", keysDir, "--out", out}, data...)...).want(t, exitOK)
	built, err := readZoneFile(filepath.Join(out, "pt.zone"), "pt")
	if err != nil {
		t.Fatal(err)
	}
	unsigned, err := dnssec.Unsigned(built)
	if err != nil {
		t.Fatal(err)
	}
	return testkit.ReplaceRRset(t, unsigned, "pt.", zone.TypeSOA, 0, func(rds [][]byte) [][]byte {
		soa, err := zone.ParseSOA(rds[0])
		if err != nil {
			t.Fatal(err)
		}
		soa.Serial = adoptedSerial
		return [][]byte{soa.Rdata()}
	})
}

func writeZone(t *testing.T, path string, z *zone.Zone) string {
	t.Helper()
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := z.WriteTo(f); err != nil {
		t.Fatal(err)
	}
	return path
}

// servedPT reads pt as the data directory serves it.
func servedPT(t *testing.T, home string) *zone.Zone {
	t.Helper()
	p, err := datadir.New(datadir.ZonesDir(filepath.Join(home, "data"))).Load([]string{"pt"}, datadir.Refuse)
	if err != nil {
		t.Fatal(err)
	}
	return p.Zone("pt").Zone
}

// waitSOA waits, at most fifteen seconds, until addr serves pt at serial.
func waitSOA(t *testing.T, addr string, serial uint32, log func() string) {
	t.Helper()
	c := &dns.Client{Timeout: 300 * time.Millisecond}
	q := new(dns.Msg)
	q.SetQuestion("pt.", dns.TypeSOA)
	last := "no answer"
	for deadline := time.Now().Add(15 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		r, _, err := c.Exchange(q, addr)
		if err == nil && len(r.Answer) > 0 {
			if soa, ok := r.Answer[0].(*dns.SOA); ok && soa.Serial == serial {
				return
			}
			last = r.Answer[0].String()
		}
	}
	t.Fatalf("%s does not serve pt at serial %d (last: %s):\n%s", addr, serial, last, tooltest.Tail(log(), 30))
}

// runKnot runs knotd with the configuration conf (its %[1]s the
// server's directory, %[2]d its port) on a free loopback port until the
// test ends, and returns its address, its log and its configuration
// file.
func runKnot(t *testing.T, conf string) (addr string, log func() string, confPath string) {
	t.Helper()
	path := tooltest.Require(t, "knotd")
	dir := t.TempDir()
	port := tooltest.FreePort(t)
	if err := os.Mkdir(filepath.Join(dir, "db"), 0o755); err != nil {
		t.Fatal(err)
	}
	confPath = writeFile(t, dir, "knot.conf", []byte(fmt.Sprintf(conf, dir, port)))
	log = tooltest.Start(t, path, "-c", confPath)
	return fmt.Sprintf("127.0.0.1:%d", port), log, confPath
}

// dsLines returns the DS records dnssec-dsfromkey prints, as "TAG ALG
// TYPE DIGEST".
func dsLines(t *testing.T, args ...string) []string {
	t.Helper()
	r := tooltest.Run(t, time.Minute, "dnssec-dsfromkey", args...)
	if r.Err != nil {
		t.Fatalf("dnssec-dsfromkey %s: %v\n%s", strings.Join(args, " "), r.Err, r.Output)
	}
	var out []string
	sc := bufio.NewScanner(strings.NewReader(r.Output))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) >= 7 && f[2] == "DS" {
			out = append(out, strings.ToUpper(strings.Join(f[3:], " ")))
		}
	}
	return out
}

// TestAdoptFromBIND takes pt over from a signer running BIND's tools:
// the zone of a registry holding the same domains, signed by
// dnssec-signzone (NSEC3 opt-out) at a YYYYMMDDnn serial and served by a
// Knot primary, is adopted by AXFR with TSIG (and Knot's dump of it
// reads as the same zone), its keys imported, and served by ptzone to a
// Knot secondary. The first publication then
// follows the serial (RFC 1982), changes no delegation, is accepted by
// dnssec-verify, keeps the KSK the parent's DS is for, and reaches the
// secondary.
func TestAdoptFromBIND(t *testing.T) {
	for _, tool := range []string{"dnssec-keygen", "dnssec-signzone", "dnssec-verify", "dnssec-dsfromkey", "knotd"} {
		tooltest.Require(t, tool)
	}
	home := t.TempDir()
	data := []string{"--data-dir", filepath.Join(home, "data")}
	keysDir := filepath.Join(home, "data", "keys")
	cli(t, home, append([]string{"db", "import", writeFile(t, home, "registry.jsonl", ptzone.SampleRegistry)}, data...)...).want(t, exitOK)
	for _, z := range otherZones {
		cli(t, home, append([]string{"keys", "generate", "--zone", z}, data...)...).want(t, exitOK)
	}

	// The old signer: BIND's keys for pt, and the zone they sign.
	bindKeys := filepath.Join(home, "bind-keys")
	os.Mkdir(bindKeys, 0o700)
	for _, args := range [][]string{{"-f", "KSK"}, {}} {
		r := tooltest.Run(t, time.Minute, "dnssec-keygen", append(append([]string{"-K", bindKeys, "-a", "ECDSAP256SHA256"}, args...), "pt.")...)
		if r.Err != nil {
			t.Fatalf("dnssec-keygen: %v\n%s", r.Err, r.Output)
		}
	}
	kskFiles, _ := filepath.Glob(filepath.Join(bindKeys, "Kpt.+013+*.key"))
	var ksk string
	for _, f := range kskFiles {
		if b, _ := os.ReadFile(f); strings.Contains(string(b), "DNSKEY 257 ") {
			ksk = f
		}
	}
	if len(kskFiles) != 2 || ksk == "" {
		t.Fatalf("dnssec-keygen made %v", kskFiles)
	}
	// The zone's content: the registry's, with com.pt's DS and the
	// others' from the keys ptzone will sign them with.
	mixed := filepath.Join(home, "mixed-keys")
	os.Mkdir(mixed, 0o700)
	for _, dir := range []string{keysDir, bindKeys} {
		files, _ := filepath.Glob(filepath.Join(dir, "K*"))
		for _, f := range files {
			b, _ := os.ReadFile(f)
			os.WriteFile(filepath.Join(mixed, filepath.Base(f)), b, 0o600)
		}
	}
	unsigned := writeZone(t, filepath.Join(home, "pt.unsigned"), oldSignerContent(t, home, data, mixed))
	signedPath := filepath.Join(home, "pt.signed")
	r := tooltest.Run(t, 2*time.Minute, "dnssec-signzone", "-K", bindKeys, "-S", "-3", "-", "-A", "-H", "0", "-N", "keep",
		"-o", "pt.", "-f", signedPath, unsigned)
	if r.Err != nil {
		t.Fatalf("dnssec-signzone: %v\n%s", r.Err, r.Output)
	}
	adoptedZone, err := readZoneFile(signedPath, "pt")
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := adoptedZone.Get(zone.MustParseName("pt."), zone.TypeNSEC3PARAM); !ok || adoptedZone.Serial() != adoptedSerial {
		t.Fatalf("dnssec-signzone's zone: serial %d, NSEC3PARAM %v", adoptedZone.Serial(), ok)
	}

	// The old signer's server, a Knot primary sending pt only to TSIG.
	const secret = "YWRvcHRpbmctcHQtZnJvbS1pdHMtc2lnbmVyLXRlc3Q="
	oldPrimary, oldLog, oldConf := runKnot(t, `server:
    rundir: "%[1]s"
    listen: 127.0.0.1@%[2]d
control:
    listen: "%[1]s/knot.sock"
database:
    storage: "%[1]s/db"
key:
  - id: adopt-key
    algorithm: hmac-sha256
    secret: `+secret+`
acl:
  - id: transfer
    address: 127.0.0.1
    key: adopt-key
    action: transfer
template:
  - id: default
    storage: "%[1]s"
    zonefile-sync: -1
    zonefile-load: whole
    journal-content: none
    semantic-checks: off
zone:
  - domain: pt
    file: "`+signedPath+`"
    acl: [transfer]
log:
  - target: stderr
    any: info
`)
	waitSOA(t, oldPrimary, adoptedSerial, oldLog)

	// Adopted by AXFR, TSIG-signed: exactly the zone the old signer serves.
	tsigFile := writeFile(t, home, "adopt.tsig", []byte(secret+"\n"))
	adoptArgs := append([]string{"zone", "adopt", "--zone", "pt", "--axfr", oldPrimary, "--tsig", "hmac-sha256:adopt-key:" + tsigFile,
		"--assume-checked", "--json"}, data...)
	res := cli(t, home, adoptArgs...).want(t, exitOK)
	var adoption adoptOutput
	if err := json.Unmarshal([]byte(res.stdout), &adoption); err != nil {
		t.Fatalf("zone adopt --json: %v\n%s", err, res.stdout)
	}
	if !adoption.Adopted || !adoption.Signed || !adoption.Verified || adoption.Serial != adoptedSerial || len(adoption.Keys) != 2 ||
		!strings.Contains(adoption.Source, "AXFR from "+oldPrimary) {
		t.Errorf("the adoption: %+v", adoption)
	}
	if rep := adoption.Report; rep == nil || !rep.Same() || rep.NextSerial != adoptedSerial+1 || len(rep.GuardRefusals) != 0 ||
		rep.AdoptedDelegations == 0 || rep.RegistryDelegations != rep.AdoptedDelegations {
		t.Errorf("the migration report: %+v", rep)
	}
	for ch := range zone.Diff(adoptedZone, servedPT(t, home)) {
		t.Fatalf("the adopted zone differs from dnssec-signzone's at %s %s", ch.Owner, zone.TypeString(ch.Type))
	}
	// Knot's own master file of the zone (its dump) reads as the same
	// zone, and the registry would publish it unchanged.
	dump := t.TempDir()
	if r := tooltest.Run(t, time.Minute, "knotc", "-c", oldConf, "-b", "zone-flush", "pt", "+outdir", dump); r.Err != nil {
		t.Fatalf("knotc zone-flush: %v\n%s", r.Err, r.Output)
	}
	var knotFile string
	for deadline := time.Now().Add(10 * time.Second); knotFile == "" && time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		// Named as the zone's file was.
		if fi, err := os.Stat(filepath.Join(dump, "pt.signed")); err == nil && fi.Size() > 0 {
			knotFile = filepath.Join(dump, "pt.signed")
		}
	}
	if knotFile == "" {
		entries, _ := os.ReadDir(dump)
		t.Fatalf("Knot wrote no dump of pt (%v):\n%s", entries, tooltest.Tail(oldLog(), 20))
	}
	res = cli(t, home, append([]string{"zone", "adopt", "--zone", "pt", "--report-only", "--assume-checked", knotFile}, data...)...).want(t, exitOK)
	if !strings.Contains(res.stdout, fmt.Sprintf("pt: serial %d from file %s", adoptedSerial, knotFile)) || !strings.Contains(res.stdout, "; verifies") {
		t.Errorf("zone adopt --report-only on Knot's dump:\n%s", res.stdout)
	}
	// A wrong secret transfers nothing.
	badSecret := writeFile(t, home, "bad.tsig", []byte("d3JvbmctdHNpZy1zZWNyZXQtZm9yLXRoZS10ZXN0Cg==\n"))
	cli(t, home, append([]string{"zone", "adopt", "--zone", "pt", "--axfr", oldPrimary, "--tsig", "adopt-key:" + badSecret, "--report-only"}, data...)...).want(t, exitNegative)

	// The old signer's keys carried over.
	res = cli(t, home, append([]string{"keys", "import", "--zone", "pt", kskFiles[0], kskFiles[1]}, data...)...).want(t, exitOK)
	if strings.Count(res.stdout, "imported") != 2 || res.stderr != "" {
		t.Errorf("keys import: %s%s", res.stdout, res.stderr)
	}

	// ptzone serves the adopted zone to a Knot secondary.
	secondaryPort := tooltest.FreePort(t)
	secondary := fmt.Sprintf("127.0.0.1:%d", secondaryPort)
	conf := writeFile(t, home, "serve.toml", []byte(fmt.Sprintf(`[server]
follow_interval = "100ms"
[server.rate_limit]
off = true
[transfer."pt."]
allow_from = ["127.0.0.0/8"]
notify = ["%s"]
`, secondary)))
	primary, _ := serving(t, home, append([]string{"--config", conf}, data...)...)
	secDir := t.TempDir()
	os.Mkdir(filepath.Join(secDir, "db"), 0o755)
	secConf := writeFile(t, secDir, "knot.conf", []byte(fmt.Sprintf(`server:
    rundir: "%[1]s"
    listen: %[2]s
database:
    storage: "%[1]s/db"
remote:
  - id: ptzone
    address: %[3]s
acl:
  - id: notify
    address: 127.0.0.1
    action: notify
template:
  - id: default
    storage: "%[1]s"
    zonefile-sync: -1
    zonefile-load: none
    journal-content: changes
    semantic-checks: off
zone:
  - domain: pt
    master: ptzone
    acl: [notify]
log:
  - target: stderr
    any: info
`, secDir, strings.Replace(secondary, ":", "@", 1), strings.Replace(primary, ":", "@", 1))))
	secLog := tooltest.Start(t, tooltest.Require(t, "knotd"), "-c", secConf)
	waitSOA(t, secondary, adoptedSerial, secLog)

	// The first publication, under the serial policy a zone adopted with
	// date serials needs (unixtime is years behind 2026120301: refused).
	res = cli(t, home, append([]string{"zone", "publish", "--assume-checked", "--now", buildAt()}, data...)...).want(t, exitNegative)
	if !strings.Contains(res.stdout+res.stderr, `set serial = "increment"`) {
		t.Errorf("zone publish under unixtime after 2026120301: %s%s", res.stdout, res.stderr)
	}
	res = cli(t, home, append([]string{"zone", "publish", "--config", incrementConfig(t, home), "--assume-checked", "--now", buildAt()}, data...)...).want(t, exitOK)
	published := servedPT(t, home)
	serial := published.Serial()
	if !zonegen.SerialGreater(serial, adoptedSerial) || serial != adoptedSerial+1 {
		t.Errorf("the first publication's serial %d does not follow the adopted %d by one", serial, adoptedSerial)
	}
	if !strings.Contains(res.stdout, fmt.Sprintf("pt: published serial %d, full", serial)) {
		t.Errorf("zone publish: %s", res.stdout)
	}
	if d := publish.Compare(adoptedZone, published); d.Delegations == 0 || d.Added+d.Removed+d.NSChanged+d.DSChanged+d.GlueChanged != 0 {
		t.Errorf("the first publication changed delegations: %+v", d)
	}
	publishedFile := filepath.Join(home, "data", "zones", "pt.zone")
	if r := tooltest.Run(t, 2*time.Minute, "dnssec-verify", "-o", "pt.", publishedFile); r.Err != nil {
		t.Errorf("dnssec-verify refuses the first publication: %v\n%s", r.Err, tooltest.Tail(r.Output, 20))
	}
	// The parent's DS, made from the old signer's KSK, still matches a
	// KSK of the DNSKEY RRset published.
	parentDS := dsLines(t, "-2", ksk)
	publishedDS := dsLines(t, "-2", "-f", publishedFile, "pt.")
	if len(parentDS) != 1 || !slices.Contains(publishedDS, parentDS[0]) {
		t.Errorf("the parent's DS %v is not among the published KSKs' %v", parentDS, publishedDS)
	}
	waitSOA(t, secondary, serial, secLog)
}

// TestAdoptGuardRefusesMissingDelegations: when the registry lacks 30% of
// the adopted zone's delegations, the report names them and the first
// publication is refused by the guard (delegations-removed): the adopted
// zone goes on being served.
func TestAdoptGuardRefusesMissingDelegations(t *testing.T) {
	home, data := registryWithKeys(t, ptzone.SampleRegistry)
	old := oldSignerContent(t, home, data, filepath.Join(home, "data", "keys"))
	file := writeZone(t, filepath.Join(home, "pt.old"), old)
	res := cli(t, home, append([]string{"zone", "adopt", "--zone", "pt", file, "--assume-checked"}, data...)...).want(t, exitOK)
	if !strings.Contains(res.stdout, "unsigned") || !strings.Contains(res.stdout, "0 delegations only in the adopted zone") {
		t.Errorf("zone adopt:\n%s", res.stdout)
	}

	// Every third delegation of pt is gone from the registry.
	var delegations []string
	for r := range old.All() {
		if r.Type() == zone.TypeNS && r.Owner() != old.Origin() && r.Owner().Parent() == old.Origin() {
			delegations = append(delegations, strings.TrimSuffix(r.Owner().String(), "."))
		}
	}
	var gone []string
	for i, d := range delegations {
		if i%3 == 0 && !slices.Contains(otherZones, d) {
			gone = append(gone, d)
		}
	}
	var kept []string
	for _, line := range strings.SplitAfter(string(ptzone.SampleRegistry), "\n") {
		var d struct{ Name string }
		if json.Unmarshal([]byte(line), &d) == nil && slices.Contains(gone, d.Name) {
			continue
		}
		kept = append(kept, line)
	}
	if len(gone)*10 < len(delegations)*3-10 {
		t.Fatalf("%d of %d delegations gone, want about 30%%", len(gone), len(delegations))
	}
	cli(t, home, append([]string{"db", "import", "--replace", writeFile(t, home, "less.jsonl", []byte(strings.Join(kept, "")))}, data...)...).want(t, exitOK)

	res = cli(t, home, append([]string{"zone", "adopt", "--zone", "pt", "--report-only", "--json", "--assume-checked"}, data...)...).want(t, exitNegative)
	var report adoptOutput
	if err := json.Unmarshal([]byte(res.stdout), &report); err != nil || report.Report == nil {
		t.Fatalf("zone adopt --report-only --json: %v\n%s", err, res.stdout)
	}
	slices.Sort(gone)
	if !slices.Equal(report.Report.OnlyAdopted, gone) || len(report.Report.OnlyRegistry) != 0 {
		t.Errorf("only in the adopted zone: %v\nwant %v", report.Report.OnlyAdopted, gone)
	}
	if refs := report.Report.GuardRefusals; len(refs) == 0 || refs[0].Code != publish.RefuseRemoved {
		t.Errorf("the report's guard refusals: %+v", refs)
	}

	res = cli(t, home, append([]string{"zone", "publish", "--config", incrementConfig(t, home), "--assume-checked", "--now", buildAt()}, data...)...).want(t, exitNegative)
	if !strings.Contains(res.stdout, "pt: refused") || !strings.Contains(res.stdout, "delegations-removed: "+fmt.Sprint(len(gone))+" delegations would disappear") {
		t.Errorf("zone publish:\n%s", res.stdout)
	}
	if served := servedPT(t, home); served.Serial() != adoptedSerial {
		t.Fatalf("served after the refusal: serial %d, want the adopted %d", served.Serial(), adoptedSerial)
	} else {
		for ch := range zone.Diff(old, served) {
			t.Fatalf("the zone served after the refusal differs from the adopted one at %s %s", ch.Owner, zone.TypeString(ch.Type))
		}
	}
	addr, _ := serving(t, home, data...)
	if got := soaSerial(t, addr, "pt."); got != adoptedSerial {
		t.Errorf("ptzone serve answers pt at serial %d, want the adopted %d", got, adoptedSerial)
	}
}

// TestAdoptRefusals: the command's refusals and their exit statuses.
func TestAdoptRefusals(t *testing.T) {
	home, data := registryWithKeys(t, ptzone.SampleRegistry)
	out := filepath.Join(home, "built")
	cli(t, home, append([]string{"zone", "build", "--all", "--assume-checked", "--now", buildAt(), "--out", out}, data...)...).want(t, exitOK)
	adopt := func(args ...string) result {
		t.Helper()
		return cli(t, home, append(append([]string{"zone", "adopt"}, args...), data...)...)
	}

	// Another zone's file: its SOA is not at pt.
	r := adopt("--zone", "pt", filepath.Join(out, "com.pt.zone")).want(t, exitUsage)
	if !strings.Contains(r.stderr, "its SOA is at com.pt., not at pt.") {
		t.Errorf("com.pt's zone as pt: %s", r.stderr)
	}
	// No SOA.
	text, _ := os.ReadFile(filepath.Join(out, "pt.zone"))
	var lines []string
	for _, l := range strings.SplitAfter(string(text), "\n") {
		if !strings.Contains(l, "\tIN\tSOA\t") {
			lines = append(lines, l)
		}
	}
	r = adopt("--zone", "pt", writeFile(t, home, "nosoa.zone", []byte(strings.Join(lines, "")))).want(t, exitUsage)
	if !strings.Contains(r.stderr, "no SOA record at the apex pt.") {
		t.Errorf("a zone without SOA: %s", r.stderr)
	}
	// Usage.
	adopt("--zone", "pt").want(t, exitUsage)
	adopt("--zone", "gov.pt", filepath.Join(out, "pt.zone")).want(t, exitUsage)
	adopt("--zone", "pt", "--axfr", "127.0.0.1:1", filepath.Join(out, "pt.zone")).want(t, exitUsage)
	adopt("--zone", "pt", "--axfr", "127.0.0.1:1", "--tsig", "just-a-name").want(t, exitUsage)
	adopt("--zone", "pt", "--axfr", "127.0.0.1:1", "--tsig", "k:"+filepath.Join(out, "pt.zone")).want(t, exitUsage)
	// Nothing adopted: no keys to import against.
	cli(t, home, append([]string{"keys", "import", "--zone", "pt", filepath.Join(home, "data", "keys", "Kpt.+013+00001.key")}, data...)...).want(t, exitNegative)

	// ptzone's own publication: adopting over it needs --force.
	cli(t, home, append([]string{"zone", "publish", "--assume-checked", "--now", buildAt()}, data...)...).want(t, exitOK)
	r = adopt("--zone", "pt", filepath.Join(out, "pt.zone")).want(t, exitNegative)
	if !strings.Contains(r.stderr, "published already") || !strings.Contains(r.stderr, "--force") {
		t.Errorf("adopting over a publication: %s", r.stderr)
	}
	r = adopt("--zone", "pt", "--force", "--assume-checked", filepath.Join(out, "pt.zone")).want(t, exitOK)
	if !strings.Contains(r.stdout, "forced over what was served at serial") {
		t.Errorf("a forced adoption:\n%s", r.stdout)
	}

	// A key the adopted zone does not publish is refused; its own are
	// there already.
	stranger := filepath.Join(home, "stranger")
	cli(t, home, "keys", "generate", "--zone", "pt", "--type", "ksk", "--keys", stranger).want(t, exitOK)
	files, _ := filepath.Glob(filepath.Join(stranger, "Kpt.+*.key"))
	r = cli(t, home, append([]string{"keys", "import", "--zone", "pt", files[0]}, data...)...).want(t, exitUsage)
	if !strings.Contains(r.stderr, "not in the adopted zone's DNSKEY RRset of pt") {
		t.Errorf("importing a stranger key: %s", r.stderr)
	}
	own, _ := filepath.Glob(filepath.Join(home, "data", "keys", "Kpt.+*.key"))
	r = cli(t, home, append([]string{"keys", "import", "--zone", "pt"}, append(own, data...)...)...).want(t, exitOK)
	if !strings.Contains(r.stdout, "in "+filepath.Join(home, "data", "keys")+" already") {
		t.Errorf("importing the keys there: %s", r.stdout)
	}
}

// incrementConfig writes a configuration building the default zones with
// the "increment" serial policy: what follows a zone adopted with date
// serials whatever the day.
func incrementConfig(t *testing.T, home string) string {
	t.Helper()
	text := "[zone_defaults]\nserial = \"increment\"\n"
	for _, z := range zonegen.DefaultZones() {
		text += fmt.Sprintf("[zone.%q]\n", z)
	}
	return writeFile(t, home, "increment.toml", []byte(text))
}
