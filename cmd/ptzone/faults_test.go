package main

import (
	"bytes"
	"context"
	"errors"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/miekg/dns"

	"github.com/ptzone/ptzone"
	"github.com/ptzone/ptzone/datadir"
	"github.com/ptzone/ptzone/internal/failpoint"
	"github.com/ptzone/ptzone/store"
	"github.com/ptzone/ptzone/store/sqlite"
	"github.com/ptzone/ptzone/zone"
	"github.com/ptzone/ptzone/zonegen"
)

// copyTree copies a directory of regular files, recursively.
func copyTree(t *testing.T, from, to string) {
	t.Helper()
	err := filepath.WalkDir(from, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(from, path)
		target := filepath.Join(to, rel)
		if d.IsDir() {
			return os.MkdirAll(target, 0o755)
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		return os.WriteFile(target, b, info.Mode().Perm())
	})
	if err != nil {
		t.Fatal(err)
	}
}

// publishedZones reads the zones published into a data directory, as a
// publication goes on from them (datadir.Refuse: the journal must apply
// to the image), each as its master-file text; and checks that a server
// reading them as it starts (datadir.PassOver) passes nothing over and
// reads the same.
func publishedZones(t *testing.T, dataDir string, names []string) map[string]string {
	t.Helper()
	dir := datadir.New(datadir.ZonesDir(dataDir))
	exact, err := dir.Load(names, datadir.Refuse)
	if err != nil {
		t.Fatalf("the journal and the image disagree: %v", err)
	}
	served, err := dir.Load(names, datadir.PassOver)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for _, name := range names {
		var text, servedText bytes.Buffer
		if z := exact.Zone(name).Zone; z != nil {
			z.WriteTo(&text)
		}
		s := served.Zone(name)
		if len(s.PassedOver) > 0 {
			t.Errorf("%s: a server starting passes over %v", name, s.PassedOver)
		}
		if s.Zone != nil {
			s.Zone.WriteTo(&servedText)
		}
		if servedText.String() != text.String() {
			t.Errorf("%s: a server starting would serve another version than the one published", name)
		}
		out[name] = text.String()
	}
	return out
}

// soaOf returns the serial of a zone as master-file text.
func soaOf(t *testing.T, name, text string) uint32 {
	t.Helper()
	z, err := zone.Read(strings.NewReader(text), zone.ReadOptions{Origin: zone.MustParseName(name + ".")})
	if err != nil {
		t.Fatal(err)
	}
	return z.Serial()
}

// TestCrashWhilePublishing kills `ptzone zone publish` (this test binary
// run as ptzone) with SIGKILL at each point of the writing of a zone
// (datadir.Failpoints), in an incremental publication and in a full one.
// After each crash, the data directory holds each zone as published
// before the publication or as published by it (the same publication
// run to its end in a copy of the directory says what that is), never a
// mix: the journal applies to the image, a server starting reads the
// same zone and answers from it, and the next publication, at the very
// same second, publishes under a serial newer than the one served.
func TestCrashWhilePublishing(t *testing.T) {
	home, data := registryWithKeys(t, ptzone.SampleRegistry)
	base := data[1]
	at := time.Now().UTC().Add(time.Minute).Truncate(time.Second)
	publishIn := func(dataDir string, when time.Time, extra ...string) result {
		t.Helper()
		args := []string{"zone", "publish", "--assume-checked", "--now", when.Format(time.RFC3339), "--data-dir", dataDir}
		return cli(t, home, append(args, extra...)...)
	}
	publishIn(base, at).want(t, exitOK)
	names := zonegen.DefaultConfig().Zones
	old := publishedZones(t, base, names)

	// What the publication changes: a domain of pt and one of com.pt
	// move to other name servers.
	db, err := sqlite.Open(context.Background(), filepath.Join(base, "registry.db"))
	if err != nil {
		t.Fatal(err)
	}
	var moved string
	for _, z := range []string{"pt", "com.pt"} {
		d := firstActive(t, db, z)
		d.Nameservers = []store.Nameserver{{Name: "ns1.depois-da-falha.net"}, {Name: "ns2.depois-da-falha.net"}}
		if err := db.PutDomain(context.Background(), d); err != nil {
			t.Fatal(err)
		}
		if z == "pt" {
			moved = d.Name
		}
	}
	db.Close()

	crashAt := at.Add(time.Minute)
	for _, mode := range []struct {
		name   string
		flags  []string
		points []string
	}{
		{"incremental", nil, []string{datadir.FailBeforeJournal, datadir.FailJournalAppended, datadir.FailStateCommitted}},
		{"full", []string{"--full"}, datadir.Failpoints},
	} {
		// The publication run to its end, in a copy.
		ref := filepath.Join(t.TempDir(), "data")
		copyTree(t, base, ref)
		publishIn(ref, crashAt, mode.flags...).want(t, exitOK)
		after := publishedZones(t, ref, names)
		if after["pt"] == old["pt"] || after["com.pt"] == old["com.pt"] {
			t.Fatalf("%s: the publication run to its end changed neither pt nor com.pt", mode.name)
		}

		for _, point := range mode.points {
			t.Run(mode.name+"/"+point, func(t *testing.T) {
				dataDir := filepath.Join(t.TempDir(), "data")
				copyTree(t, base, dataDir)
				ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
				defer cancel()
				args := append([]string{"zone", "publish", "--assume-checked", "--now", crashAt.Format(time.RFC3339), "--data-dir", dataDir}, mode.flags...)
				cmd := exec.CommandContext(ctx, os.Args[0], args...)
				cmd.Env = append(os.Environ(), "PTZONE_TEST_AS_MAIN=1", failpoint.EnvVar+"="+point)
				out, err := cmd.CombinedOutput()
				var ee *exec.ExitError
				if ws, ok := exitStatus(err, &ee); !ok || !ws.Signaled() || ws.Signal() != syscall.SIGKILL {
					t.Fatalf("zone publish was not killed at %s: %v\n%s", point, err, out)
				}

				// Each zone as before or as after; pt as the point says:
				// published once its record is in the journal.
				got := publishedZones(t, dataDir, names)
				for _, name := range names {
					if got[name] != old[name] && got[name] != after[name] {
						t.Errorf("%s after a crash at %s is neither the zone before the publication nor the one after it", name, point)
					}
				}
				wantPT, version := after["pt"], "after"
				if point == datadir.FailBeforeJournal {
					wantPT, version = old["pt"], "before"
				}
				if got["pt"] != wantPT {
					t.Errorf("pt after a crash at %s is not the zone %s the publication", point, version)
				}

				// A server started on the directory answers from that
				// version: its serial, and the moved domain's servers.
				served := soaOf(t, "pt", got["pt"])
				addr, _ := serving(t, home, "--data-dir", dataDir)
				if s := soaSerial(t, addr, "pt."); s != served {
					t.Errorf("serve answers serial %d, the zone published is %d", s, served)
				}
				q := new(dns.Msg)
				q.SetQuestion(moved+".", dns.TypeNS)
				r, _, err := (&dns.Client{Timeout: 2 * time.Second}).Exchange(q, addr)
				if err != nil {
					t.Fatal(err)
				}
				if movedServed := strings.Contains(r.String(), "depois-da-falha"); movedServed != (version == "after") {
					t.Errorf("serve answers %s's delegation of the version %s the publication: %v", moved, map[bool]string{true: "after", false: "before"}[movedServed], r.Ns)
				}

				// The next publication, the same second, with a change of
				// pt's to publish: a newer serial than the one served (which
				// the publication log may not know), and than the one
				// before.
				db, err := sqlite.Open(context.Background(), filepath.Join(dataDir, "registry.db"))
				if err != nil {
					t.Fatal(err)
				}
				d := firstActive(t, db, "pt")
				d.Nameservers = []store.Nameserver{{Name: "ns1.mais-tarde.net"}, {Name: "ns2.mais-tarde.net"}}
				err = db.PutDomain(context.Background(), d)
				db.Close()
				if err != nil {
					t.Fatal(err)
				}
				publishIn(dataDir, crashAt).want(t, exitOK)
				next := soaOf(t, "pt", publishedZones(t, dataDir, names)["pt"])
				if !zonegen.SerialGreater(next, served) || !zonegen.SerialGreater(next, soaOf(t, "pt", old["pt"])) {
					t.Errorf("the publication after the crash has serial %d; served %d, before %d", next, served, soaOf(t, "pt", old["pt"]))
				}
				entries, _ := os.ReadDir(datadir.ZonesDir(dataDir))
				for _, e := range entries {
					if strings.Contains(e.Name(), ".tmp") {
						t.Errorf("%s left in the zones' directory after the next publication", e.Name())
					}
				}
			})
		}
	}
}

// exitStatus returns how a child process ended, from cmd.Wait's error.
func exitStatus(err error, ee **exec.ExitError) (syscall.WaitStatus, bool) {
	if !errors.As(err, ee) {
		return 0, false
	}
	ws, ok := (*ee).Sys().(syscall.WaitStatus)
	return ws, ok
}

// firstActive returns the first active domain of a zone that has name
// servers.
func firstActive(t *testing.T, db store.Registry, z string) store.Domain {
	t.Helper()
	ctx := context.Background()
	snap, err := db.Snapshot(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer snap.Close()
	for c, err := range snap.Domains(ctx, store.Filter{Zone: z, Statuses: []store.Status{store.StatusActive}}) {
		if err != nil {
			t.Fatal(err)
		}
		if len(c.Domain.Nameservers) > 0 {
			return c.Domain
		}
	}
	t.Fatalf("%s has no active domain", z)
	return store.Domain{}
}
