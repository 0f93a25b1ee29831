package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/miekg/dns"

	"github.com/ptzone/ptzone"
)

type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// serving runs ptzone serve until the test ends, and returns the address
// it serves on and its standard error.
func serving(t *testing.T, home string, args ...string) (addr string, stderr *lockedBuffer) {
	t.Helper()
	addr, _, stderr = running(t, home, append([]string{"serve", "--listen", "127.0.0.1:0"}, args...)...)
	return addr, stderr
}

// running runs a long-running command until the test ends, and returns
// the address on the first line it prints ("... on ADDR"), its standard
// output and its standard error; the command must then exit 0.
func running(t *testing.T, home string, args ...string) (addr string, stdout, stderr *lockedBuffer) {
	t.Helper()
	out := &lockedBuffer{}
	stderr = &lockedBuffer{}
	e := &env{stdin: strings.NewReader(""), stdout: out, stderr: stderr, getenv: func(k string) string {
		if k == "HOME" {
			return home
		}
		return ""
	}}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan int, 1)
	go func() { done <- run(ctx, e, args) }()
	t.Cleanup(func() {
		cancel()
		select {
		case code := <-done:
			if code != exitOK {
				t.Errorf("%s exited %d: %s", args[0], code, stderr)
			}
		case <-time.After(40 * time.Second):
			t.Errorf("%s did not stop", args[0])
		}
	})
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		if s := out.String(); strings.Contains(s, " on ") {
			line := strings.TrimSpace(s[:strings.IndexByte(s, '\n')])
			return line[strings.LastIndex(line, " ")+1:], out, stderr
		}
		select {
		case code := <-done:
			done <- code
			t.Fatalf("%s exited %d: %s", args[0], code, stderr)
		case <-time.After(20 * time.Millisecond):
		}
	}
	t.Fatalf("%s did not start: %s", args[0], stderr)
	return "", nil, nil
}

func soaSerial(t *testing.T, addr, zoneName string) uint32 {
	t.Helper()
	c := &dns.Client{Timeout: 2 * time.Second}
	q := new(dns.Msg)
	q.SetQuestion(zoneName, dns.TypeSOA)
	r, _, err := c.Exchange(q, addr)
	if err != nil || len(r.Answer) == 0 || !r.Authoritative {
		t.Fatalf("%s SOA from %s: %v %v", zoneName, addr, r, err)
	}
	return r.Answer[0].(*dns.SOA).Serial
}

// TestServe: ptzone serve answers from the last published zones in the
// data directory, read before anything else (no database is given); a
// damaged image is refused, named in the log, and the previous one
// served; with --zone it serves a master file as it is.
func TestServe(t *testing.T) {
	home, data := registryWithKeys(t, ptzone.SampleRegistry)
	at := time.Now().UTC().Add(time.Minute)
	for _, extra := range [][]string{nil, {"--full"}} {
		args := append([]string{"zone", "publish", "--assume-checked", "--now", at.Format(time.RFC3339)}, data...)
		cli(t, home, append(args, extra...)...).want(t, exitOK)
	}
	first, second := uint32(at.Unix()), uint32(at.Unix()+1)

	follow := writeFile(t, home, "follow.toml", []byte("[server]\nfollow_interval = \"100ms\"\n[server.rate_limit]\noff = true\n"))
	addr, _ := serving(t, home, append([]string{"--config", follow}, data...)...)
	if got := soaSerial(t, addr, "pt."); got != second {
		t.Errorf("pt. serial %d, want the last published, %d", got, second)
	}
	if got := soaSerial(t, addr, "com.pt."); got < first {
		t.Errorf("com.pt. serial %d", got)
	}
	// A publication by another process is served without a restart.
	later := at.Add(2 * time.Minute)
	cli(t, home, append([]string{"zone", "publish", "--assume-checked", "--full", "--now", later.Format(time.RFC3339)}, data...)...).want(t, exitOK)
	deadline := time.Now().Add(10 * time.Second)
	for soaSerial(t, addr, "pt.") != uint32(later.Unix()) {
		if time.Now().After(deadline) {
			t.Fatalf("pt. serial %d after a publication, want %d", soaSerial(t, addr, "pt."), later.Unix())
		}
		time.Sleep(50 * time.Millisecond)
	}
	second = uint32(later.Unix())
	first = uint32(at.Unix() + 1) // the image before the last

	image := filepath.Join(home, "data", "zones", "pt.zone.bin")
	b, err := os.ReadFile(image)
	if err != nil {
		t.Fatal(err)
	}
	b[len(b)/2] ^= 0xff
	if err := os.WriteFile(image, b, 0o644); err != nil {
		t.Fatal(err)
	}
	// The previous image, with the journal's patch from it (a full
	// publication keeps one for incremental transfers), is the last
	// published zone again.
	addr, stderr := serving(t, home, data...)
	if got := soaSerial(t, addr, "pt."); got != second {
		t.Errorf("pt. serial %d with its image damaged, want the previous image and the journal's patch, %d", got, second)
	}
	if log := stderr.String(); !strings.Contains(log, "pt.zone.bin") || !strings.Contains(log, "checksum") {
		t.Errorf("the damaged image is not named in the log:\n%s", log)
	}
	// Without the journal, the previous image as it is.
	if err := os.Remove(filepath.Join(home, "data", "zones", "pt.journal")); err != nil {
		t.Fatal(err)
	}
	addr, _ = serving(t, home, data...)
	if got := soaSerial(t, addr, "pt."); got != first {
		t.Errorf("pt. serial %d with its image damaged and no journal, want the previous image's, %d", got, first)
	}

	master := filepath.Join(home, "data", "zones", "nome.pt.zone")
	addr, _ = serving(t, home, "--zone", "nome.pt="+master)
	if got := soaSerial(t, addr, "nome.pt."); got < first {
		t.Errorf("nome.pt. from its master file: serial %d", got)
	}
	c := &dns.Client{Timeout: 2 * time.Second}
	q := new(dns.Msg)
	q.SetQuestion("pt.", dns.TypeSOA)
	if r, _, err := c.Exchange(q, addr); err != nil || r.Rcode != dns.RcodeRefused {
		t.Errorf("pt. from a server of nome.pt. alone: %v %v", r, err)
	}

	bad := writeFile(t, home, "bad.zone", []byte("nome.pt. 3600 IN SOA a. b. 1 2 3 4 5\nnome.pt. 3600 IN A 300.1.1.1\n"))
	r := cli(t, home, "serve", "--listen", "127.0.0.1:0", "--zone", "nome.pt="+bad).want(t, exitUsage)
	if !strings.Contains(r.stderr, "bad.zone") || !strings.Contains(r.stderr, "2") {
		t.Errorf("a bad master file: %s", r.stderr)
	}
	cli(t, home, "serve", "--zone", "nome.pt").want(t, exitUsage)
	r = cli(t, t.TempDir(), "serve", "--listen", "127.0.0.1:0").want(t, exitNegative)
	if !strings.Contains(r.stderr, "no published zone") {
		t.Errorf("nothing published: %s", r.stderr)
	}
}

// TestConfigCheck: a good file passes; a bad one is refused with every
// problem named.
func TestConfigCheck(t *testing.T) {
	home := t.TempDir()
	good := writeFile(t, home, "good.toml", []byte(`[server]
listen = ["127.0.0.1:5353"]
[[tsig]]
name = "pt-transfer."
secret = "c2VjcmV0LWZvci10aGUtcHQtdHJhbnNmZXJzLW9ubHk="
[transfer."pt."]
keys = ["pt-transfer."]
`))
	r := cli(t, home, "config", "check", good).want(t, exitOK)
	if !strings.Contains(r.stdout, "good: 8 zones built (pt, com.pt, org.pt, edu.pt, net.pt, publ.pt, int.pt, nome.pt), 8 served, 1 listen addresses, 1 TSIG keys, 1 zones with transfers") {
		t.Errorf("config check: %s", r.stdout)
	}
	bad := writeFile(t, home, "bad.toml", []byte("[server]\nlisen = 1\n"))
	r = cli(t, home, "config", "check", bad).want(t, exitUsage)
	if !strings.Contains(r.stderr, "bad.toml:2: unknown setting server.lisen") {
		t.Errorf("config check of a bad file: %s", r.stderr)
	}
	// The example names a secret file that is not here.
	r = cli(t, home, "config", "check", filepath.Join("..", "..", "deploy", "ptzone.example.toml")).want(t, exitUsage)
	if !strings.Contains(r.stderr, "/etc/ptzone/pt-transfer.key") {
		t.Errorf("config check of the example: %s", r.stderr)
	}
}
