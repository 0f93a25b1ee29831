package publish_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"iter"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/miekg/dns"
	"go.uber.org/zap"

	"github.com/ptzone/ptzone/authserver"
	"github.com/ptzone/ptzone/datadir"
	"github.com/ptzone/ptzone/dnssec"
	"github.com/ptzone/ptzone/publish"
	"github.com/ptzone/ptzone/store"
	"github.com/ptzone/ptzone/zone"
)

// The faults of issue 22 that a publication meets end to end, through
// RunOnce and into the data directory a server follows: a disk that
// fills up, and the incident classes the guard and the verifier exist
// for. Each is refused, and the last good zone stays on disk and served.
// (A crash at each step of the writing is cmd/ptzone's faults_test.go:
// it needs a process to kill.)

// servedZones serves the zones published into a directory as ptzone
// serve and the daemon do: a datadir.Follower swapping them into an
// authoritative server on loopback.
type servedZones struct {
	addr   string
	reload chan chan struct{}
}

func serveZones(t *testing.T, dir string, zones []string) *servedZones {
	t.Helper()
	return serveZonesWith(t, dir, zones, authserver.Config{}, zap.NewNop())
}

// serveZonesWith is serveZones with the server's configuration (rate
// limiting off) and log.
func serveZonesWith(t *testing.T, dir string, zones []string, cfg authserver.Config, log *zap.Logger) *servedZones {
	t.Helper()
	cfg.RateLimit.Off = true
	srv := authserver.New(cfg, log)
	fol := datadir.NewFollower(datadir.New(dir), zones, zap.NewNop())
	snap, err := fol.Snapshot()
	if err != nil {
		t.Fatal(err)
	}
	srv.Swap(snap)
	addr, err := srv.Listen("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	s := &servedZones{addr: addr.String(), reload: make(chan chan struct{})}
	done := make(chan struct{})
	go func() {
		defer close(done)
		fol.Run(ctx, srv, time.Hour, s.reload)
	}()
	t.Cleanup(func() {
		cancel()
		<-done
		stop, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := srv.Shutdown(stop); err != nil {
			t.Error(err)
		}
	})
	return s
}

// ask has the server look at the directory again, as it does after each
// publication, then asks it.
func (s *servedZones) ask(t *testing.T, name string, qtype uint16) *dns.Msg {
	t.Helper()
	looked := make(chan struct{})
	s.reload <- looked
	<-looked
	q := new(dns.Msg)
	q.SetQuestion(name, qtype)
	r, _, err := (&dns.Client{Timeout: 2 * time.Second}).Exchange(q, s.addr)
	if err != nil {
		t.Fatalf("asking %s %s: %v", name, dns.TypeToString[qtype], err)
	}
	return r
}

// serial is the SOA serial the server answers for a zone.
func (s *servedZones) serial(t *testing.T, zoneName string) uint32 {
	t.Helper()
	r := s.ask(t, zoneName+".", dns.TypeSOA)
	if len(r.Answer) == 0 {
		t.Fatalf("%s SOA: %v", zoneName, r)
	}
	return r.Answer[0].(*dns.SOA).Serial
}

// stillServes checks that the last good version of a zone is what the
// directory holds and what the server answers, after a publication that
// was refused or failed.
func stillServes(t *testing.T, f *fixture, s *servedZones, good publish.ZoneOutcome) {
	t.Helper()
	if got := s.serial(t, good.Zone); got != good.Serial {
		t.Errorf("%s: serial %d served, want the last good one, %d", good.Zone, got, good.Serial)
	}
	z, err := f.lastPublished(good.Zone)
	if err != nil {
		t.Fatal(err)
	}
	var a, b bytes.Buffer
	good.Final.WriteTo(&a)
	z.WriteTo(&b)
	if !bytes.Equal(a.Bytes(), b.Bytes()) {
		t.Errorf("%s: the data directory holds another zone than the last good one (serial %d, want %d)", good.Zone, z.Serial(), good.Serial)
	}
}

// rrsetText returns the records of an answer or authority section of
// one type, as text without TTLs, sorted.
func rrsetText(rrs []dns.RR, qtype uint16) []string {
	var out []string
	for _, rr := range rrs {
		if rr.Header().Rrtype == qtype {
			h := *rr.Header()
			c := dns.Copy(rr)
			*c.Header() = h
			c.Header().Ttl = 0
			out = append(out, c.String())
		}
	}
	slices.Sort(out)
	return out
}

// mountTmpfs mounts a file system of size octets on dir, for a disk that
// fills up. Mounting needs root (CI runs the tests as root): elsewhere
// the test is skipped, and with CI=true it fails.
func mountTmpfs(t *testing.T, dir string, size int) {
	t.Helper()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Mount("tmpfs", dir, "tmpfs", 0, fmt.Sprintf("size=%d,mode=0755", size)); err != nil {
		msg := fmt.Sprintf("mounting a tmpfs on %s: %v (the disk-full test runs as root)", dir, err)
		if os.Getenv("CI") == "true" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	t.Cleanup(func() {
		if err := syscall.Unmount(dir, 0); err != nil {
			t.Errorf("unmounting the tmpfs on %s: %v", dir, err)
		}
	})
}

// fillUp writes a file into dir that leaves room octets free on its
// file system, and returns a function that removes it.
func fillUp(t *testing.T, dir string, room int64) func() {
	t.Helper()
	var st syscall.Statfs_t
	if err := syscall.Statfs(dir, &st); err != nil {
		t.Fatal(err)
	}
	free := int64(st.Bavail) * st.Bsize
	path := filepath.Join(dir, "filler")
	if err := os.WriteFile(path, make([]byte, max(0, free-room)), 0o644); err != nil {
		t.Fatal(err)
	}
	return func() {
		if err := os.Remove(path); err != nil {
			t.Fatal(err)
		}
	}
}

// dirFiles reads every file of a directory but the filler, by name.
func dirFiles(t *testing.T, dir string) map[string][]byte {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string][]byte{}
	for _, e := range entries {
		if e.Name() == "filler" {
			continue
		}
		b, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		out[e.Name()] = b
	}
	return out
}

// TestDiskFull: the data directory on a small tmpfs that fills up. A
// publication then fails, saying the disk is full (ENOSPC), and leaves
// the directory exactly as it was: no temporary file, no torn journal
// record, the last good zone on disk and served. Once there is room
// again, the next publication goes on under a newer serial.
func TestDiskFull(t *testing.T) {
	f := newFixture(t)
	mountTmpfs(t, f.out, 8<<20)
	// Two publications: the second starts pt's journal.
	f.run(t, publish.Request{Now: t0})
	f.change(t)
	at := t0.Add(time.Minute)
	good := f.run(t, publish.Request{Now: at})["pt"]
	if good.Outcome != store.OutcomePublished || receiptMode(t, f, "pt") != "incremental" {
		t.Fatalf("the second publication: %s %v", good.Outcome, good.Refusals)
	}
	s := serveZones(t, f.out, f.cfg.Zones.Zones)
	master, err := os.Stat(filepath.Join(f.out, "pt.zone"))
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name string
		full bool
		// room is what the disk has left: none, so that the journal's
		// record of an incremental publication does not fit; half a
		// master file, so that a full publication's flush does not.
		room int64
	}{
		{"incremental, no room left", false, 0},
		{"full, room for half the master file", true, master.Size() / 2},
	} {
		t.Run(c.name, func(t *testing.T) {
			f.change(t)
			empty := fillUp(t, f.out, c.room)
			before := dirFiles(t, f.out)
			at = at.Add(time.Minute)
			o := f.run(t, publish.Request{Now: at, Full: c.full})["pt"]
			if o.Outcome != store.OutcomeFailed || len(o.Refusals) != 1 {
				t.Fatalf("pt on a full disk: %s %v", o.Outcome, o.Refusals)
			}
			msg := o.Refusals[0].Message
			for _, want := range []string{"no space left on device", "is full (ENOSPC)", fmt.Sprintf("nothing of serial %d of pt was published", o.Serial)} {
				if !strings.Contains(msg, want) {
					t.Errorf("the failure does not say %q: %s", want, msg)
				}
			}
			after := dirFiles(t, f.out)
			for name, b := range after {
				if old, ok := before[name]; !ok {
					t.Errorf("the failed publication left %s", name)
				} else if !bytes.Equal(old, b) {
					t.Errorf("the failed publication changed %s (%d octets, was %d)", name, len(b), len(old))
				}
			}
			for name := range before {
				if _, ok := after[name]; !ok {
					t.Errorf("the failed publication removed %s", name)
				}
			}
			stillServes(t, f, s, good)
			empty()
		})
	}
	at = at.Add(time.Minute)
	next := f.run(t, publish.Request{Now: at})["pt"]
	if next.Outcome != store.OutcomePublished || next.Serial <= good.Serial {
		t.Fatalf("with room again: %s serial %d (the last good one %d) %v", next.Outcome, next.Serial, good.Serial, next.Refusals)
	}
	if got := s.serial(t, "pt"); got != next.Serial {
		t.Errorf("serial %d served after the publication with room again, want %d", got, next.Serial)
	}
}

// truncatedRegistry is a registry whose snapshots stop streaming domains
// after rows of them: silently, or with err.
type truncatedRegistry struct {
	store.Registry
	rows int
	err  error
}

func (r truncatedRegistry) Snapshot(ctx context.Context) (store.Snapshot, error) {
	s, err := r.Registry.Snapshot(ctx)
	if err != nil {
		return nil, err
	}
	return truncatedSnapshot{s, r}, nil
}

type truncatedSnapshot struct {
	store.Snapshot
	r truncatedRegistry
}

func (s truncatedSnapshot) Domains(ctx context.Context, f store.Filter) iter.Seq2[store.Candidate, error] {
	return func(yield func(store.Candidate, error) bool) {
		n := 0
		for c, err := range s.Snapshot.Domains(ctx, f) {
			if n == s.r.rows {
				if s.r.err != nil {
					yield(store.Candidate{}, s.r.err)
				}
				return
			}
			if !yield(c, err) || err != nil {
				return
			}
			n++
		}
	}
}

// TestIncidentsRefused: the incident classes the guard and the verifier
// are for, each made as it happens (in the registry, in the signer, in
// the registry's reading) and run through a whole publication: each is
// refused, and the last good zone stays on disk and served.
func TestIncidentsRefused(t *testing.T) {
	ctx := context.Background()
	// published runs the first publication and serves it.
	published := func(t *testing.T, f *fixture) (publish.ZoneOutcome, *servedZones) {
		t.Helper()
		o := f.run(t, publish.Request{Now: t0})["pt"]
		if o.Outcome != store.OutcomePublished {
			t.Fatalf("the first publication: %s %v", o.Outcome, o.Refusals)
		}
		return o, serveZones(t, f.out, f.cfg.Zones.Zones)
	}
	refused := func(t *testing.T, o publish.ZoneOutcome, code, mode string, f *fixture) publish.Refusal {
		t.Helper()
		i := slices.IndexFunc(o.Refusals, func(r publish.Refusal) bool { return r.Code == code })
		if o.Outcome != store.OutcomeRefused || i < 0 {
			t.Fatalf("pt: %s %v, want refused for %s", o.Outcome, o.Refusals, code)
		}
		if got := receiptMode(t, f, "pt"); got != mode {
			t.Errorf("the refused publication was %s, want %s", got, mode)
		}
		return o.Refusals[i]
	}
	put := func(t *testing.T, f *fixture, d store.Domain) {
		t.Helper()
		if err := f.db.PutDomain(ctx, d); err != nil {
			t.Fatal(err)
		}
	}

	// A registrar repoints the domain that owns twelve name servers
	// inside pt, which other domains list without addresses: their glue
	// goes with it, and those domains go lame.
	t.Run("glue of twelve in-zone hosts dropped", func(t *testing.T) {
		f := newFixture(t)
		like := f.activeIn(t, "pt")[0]
		provider := store.Domain{Name: "alojamento-exemplo.pt", Zone: "pt", Status: store.StatusActive, Registrar: like.Registrar, Expires: like.Expires}
		for i := range 12 {
			host := fmt.Sprintf("ns%d.alojamento-exemplo.pt", i+1)
			provider.Nameservers = append(provider.Nameservers, store.Nameserver{Name: host, Addrs: []netip.Addr{netip.AddrFrom4([4]byte{192, 0, 2, byte(10 + i)})}})
			put(t, f, store.Domain{Name: fmt.Sprintf("cliente-%d.pt", i+1), Zone: "pt", Status: store.StatusActive, Registrar: like.Registrar, Expires: like.Expires,
				Nameservers: []store.Nameserver{{Name: host}, {Name: "ns.hosting.net"}}})
		}
		put(t, f, provider)
		good, s := published(t, f)
		glue := rrsetText(s.ask(t, "cliente-1.pt.", dns.TypeNS).Extra, dns.TypeA)
		if len(glue) != 1 || !strings.Contains(glue[0], "192.0.2.10") {
			t.Fatalf("cliente-1.pt's referral carries the glue %v, want ns1.alojamento-exemplo.pt's", glue)
		}

		provider.Nameservers = []store.Nameserver{{Name: "ns1.outro-fornecedor.net"}, {Name: "ns2.outro-fornecedor.net"}}
		put(t, f, provider)
		o := f.run(t, publish.Request{Now: t0.Add(time.Minute)})["pt"]
		r := refused(t, o, publish.RefuseGlueChanged, "incremental", f)
		if !strings.HasPrefix(r.Message, "12 glue RRsets would change") || !slices.Contains(r.Offenders, "ns1.alojamento-exemplo.pt") {
			t.Errorf("refusal: %s", r)
		}
		stillServes(t, f, s, good)
		if got := rrsetText(s.ask(t, "cliente-1.pt.", dns.TypeNS).Extra, dns.TypeA); !slices.Equal(got, glue) {
			t.Errorf("after the refusal cliente-1.pt's referral carries the glue %v, want %v", got, glue)
		}
	})

	// Twelve signed domains' DS RRsets replaced at once (a registrar's
	// botched key roll, a bulk import with stale DS).
	t.Run("DS of twelve domains churned", func(t *testing.T) {
		f := newFixture(t)
		good, s := published(t, f)
		var signed []store.Domain
		for _, d := range f.activeIn(t, "pt") {
			if len(d.DS) > 0 {
				signed = append(signed, d)
			}
		}
		if len(signed) < 12 {
			t.Fatalf("the sample has %d signed domains in pt, want 12", len(signed))
		}
		ds := rrsetText(s.ask(t, signed[0].Name+".", dns.TypeDS).Answer, dns.TypeDS)
		for i, d := range signed[:12] {
			d.DS = []store.DS{{KeyTag: uint16(5000 + i), Algorithm: 13, DigestType: 2, Digest: strings.Repeat(fmt.Sprintf("%02X", i+1), 32)}}
			put(t, f, d)
		}
		o := f.run(t, publish.Request{Now: t0.Add(time.Minute)})["pt"]
		r := refused(t, o, publish.RefuseDSChanged, "incremental", f)
		if !strings.HasPrefix(r.Message, "12 DS RRsets would change") || !slices.Contains(r.Offenders, signed[0].Name) {
			t.Errorf("refusal: %s", r)
		}
		stillServes(t, f, s, good)
		if got := rrsetText(s.ask(t, signed[0].Name+".", dns.TypeDS).Answer, dns.TypeDS); len(ds) == 0 || !slices.Equal(got, ds) {
			t.Errorf("after the refusal %s's DS is %v, want %v", signed[0].Name, got, ds)
		}
	})

	// The signer damages one signature of an incremental run (a faulty
	// HSM, a bit flipped in memory): the verifier finds it, and nothing
	// of the run is published. The same run without the fault publishes.
	t.Run("signer corrupts one signature", func(t *testing.T) {
		f := newFixture(t)
		good, s := published(t, f)
		var d store.Domain
		for _, c := range f.activeIn(t, "pt") {
			if len(c.DS) > 0 {
				d = c
				break
			}
		}
		d.DS = append(d.DS, store.DS{KeyTag: 4242, Algorithm: 13, DigestType: 2, Digest: strings.Repeat("AB", 32)})
		put(t, f, d)
		p := publish.New(f.cfg, f.db, pol, zap.NewNop())
		// One bit of one signature over the DS RRset the run signs anew,
		// flipped where the signer keeps it (the zone's ZONEMD then no
		// longer matches either).
		damaged := 0
		publish.DamageSigned(p, func(z *zone.Zone) {
			i, ok := z.Find(zone.MustParseName(d.Name + "."))
			if !ok {
				return
			}
			for r := range z.RRsets(i) {
				if r.Type() == zone.TypeRRSIG && r.Covered() == zone.TypeDS {
					for sig := range r.Rdata() {
						sig[len(sig)-1] ^= 0x01
						damaged++
						return
					}
				}
			}
		})
		o := f.runWith(t, p, publish.Request{Now: t0.Add(time.Minute)})["pt"]
		r := refused(t, o, publish.RefuseVerification, "incremental", f)
		if damaged != 1 || !strings.Contains(r.String(), dnssec.ProblemBadSignature+": "+d.Name+". DS") {
			t.Errorf("%d signatures damaged; refusal: %s", damaged, r)
		}
		stillServes(t, f, s, good)
		if _, forced := publish.Decide(o.Refusals, &publish.Force{By: "ana", Reason: "trust me"}); len(forced) > 0 {
			t.Errorf("an operator could force a damaged signature out: %v", forced)
		}

		o = f.run(t, publish.Request{Now: t0.Add(2 * time.Minute)})["pt"]
		if o.Outcome != store.OutcomePublished || receiptMode(t, f, "pt") != "incremental" {
			t.Fatalf("the same change, signed without the fault: %s %v", o.Outcome, o.Refusals)
		}
		if got := rrsetText(s.ask(t, d.Name+".", dns.TypeDS).Answer, dns.TypeDS); len(got) != 2 {
			t.Errorf("%s's DS served after the good publication: %v", d.Name, got)
		}
	})

	// A standby takes over (a new process, with the zones the
	// secondaries serve but no build state: a full build), and its
	// reading of the registry stops short: silently, or with an error.
	t.Run("truncated registry read after failover", func(t *testing.T) {
		f := newFixture(t)
		good, s := published(t, f)
		for _, z := range f.cfg.Zones.Zones {
			if err := datadir.New(f.out).RemoveState(z); err != nil {
				t.Fatal(err)
			}
		}
		before := dirFiles(t, f.out)
		standby := publish.New(f.cfg, truncatedRegistry{Registry: f.db, rows: 100}, pol, zap.NewNop())
		o := f.runWith(t, standby, publish.Request{Now: t0.Add(time.Minute)})["pt"]
		r := refused(t, o, publish.RefuseRemoved, "full", f)
		if !strings.Contains(r.Message, "delegations would disappear") {
			t.Errorf("refusal: %s", r)
		}
		stillServes(t, f, s, good)

		cut := errors.New("server closed the connection unexpectedly")
		standby = publish.New(f.cfg, truncatedRegistry{Registry: f.db, rows: 100, err: cut}, pol, zap.NewNop())
		if outs, err := standby.RunOnce(ctx, publish.Request{Now: t0.Add(2 * time.Minute), TriggeredBy: "test"}); !errors.Is(err, cut) {
			t.Errorf("a read cut short by an error: %v, outcomes %+v; want the error", err, outs)
		}
		stillServes(t, f, s, good)
		after := dirFiles(t, f.out)
		for name, b := range before {
			if !bytes.Equal(after[name], b) {
				t.Errorf("the refused and failed publications changed %s", name)
			}
		}
		if len(after) != len(before) {
			t.Errorf("the refused and failed publications left %d files, there were %d", len(after), len(before))
		}
	})
}
