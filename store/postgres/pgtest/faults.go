package pgtest

import (
	"context"
	"net"
	"net/url"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// EndLockSessions ends, as the server ends a session whose client
// vanished, every session of the database at dsn that holds an advisory
// lock (a daemon's publisher lock), and waits until they are gone.
func EndLockSessions(t testing.TB, dsn string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatalf("pgtest: connecting to %s: %v", redactURL(dsn), err)
	}
	defer conn.Close(ctx)
	var ended int
	err = conn.QueryRow(ctx, `
		SELECT count(*) FROM (
			SELECT pg_terminate_backend(pid, 10000) FROM (
				SELECT DISTINCT l.pid FROM pg_locks l JOIN pg_database d ON d.oid = l.database
				WHERE l.locktype = 'advisory' AND d.datname = current_database() AND l.pid <> pg_backend_pid()) s) e`).Scan(&ended)
	if err != nil {
		t.Fatalf("pgtest: ending the sessions holding advisory locks: %v", err)
	}
	if ended == 0 {
		t.Fatal("pgtest: no session holds an advisory lock in the database")
	}
}

// Proxy is a TCP way into the test's cluster, which the test can turn
// into a black hole: a server that takes connections and never answers,
// neither on the connections open (what was sent stays unanswered) nor
// on new ones. That is a database behind a broken network path or a
// stopped virtual machine: no error comes, only silence.
type Proxy struct {
	ln      net.Listener
	backend func() (net.Conn, error)

	mu     sync.Mutex
	silent bool
	conns  []net.Conn
	wg     sync.WaitGroup
}

// NewProxy starts a proxy to the database at dsn and returns it with a
// DSN that goes through it; it stops when the test ends.
func NewProxy(t testing.TB, dsn string) (*Proxy, string) {
	t.Helper()
	cfg, err := pgx.ParseConfig(dsn)
	if err != nil {
		t.Fatalf("pgtest: %v", err)
	}
	network, addr := "tcp", net.JoinHostPort(cfg.Host, strconv.Itoa(int(cfg.Port)))
	if len(cfg.Host) > 0 && cfg.Host[0] == '/' {
		network, addr = "unix", cfg.Host+"/.s.PGSQL."+strconv.Itoa(int(cfg.Port))
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("pgtest: %v", err)
	}
	p := &Proxy{ln: ln, backend: func() (net.Conn, error) { return net.DialTimeout(network, addr, 10*time.Second) }}
	p.wg.Add(1)
	go p.accept()
	t.Cleanup(p.Close)
	u, err := url.Parse(dsn)
	if err != nil {
		t.Fatalf("pgtest: %s is not a URL: %v", redactURL(dsn), err)
	}
	q := u.Query()
	q.Del("host")
	q.Del("port")
	u.Host, u.RawQuery = ln.Addr().String(), q.Encode()
	return p, u.String()
}

// Silence makes the proxy a black hole from now on.
func (p *Proxy) Silence() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.silent = true
}

func (p *Proxy) accept() {
	defer p.wg.Done()
	for {
		client, err := p.ln.Accept()
		if err != nil {
			return
		}
		p.mu.Lock()
		p.conns = append(p.conns, client)
		silent := p.silent
		p.mu.Unlock()
		if silent {
			continue // taken, never answered
		}
		server, err := p.backend()
		if err != nil {
			client.Close()
			continue
		}
		p.mu.Lock()
		p.conns = append(p.conns, server)
		p.mu.Unlock()
		p.wg.Add(2)
		go p.pipe(server, client)
		go p.pipe(client, server)
	}
}

// pipe copies from src to dst until the proxy is silenced: what comes
// after is read and dropped, and nothing is closed.
func (p *Proxy) pipe(dst, src net.Conn) {
	defer p.wg.Done()
	buf := make([]byte, 32<<10)
	for {
		n, err := src.Read(buf)
		p.mu.Lock()
		silent := p.silent
		p.mu.Unlock()
		if silent {
			if err != nil {
				return
			}
			continue
		}
		if n > 0 {
			if _, err := dst.Write(buf[:n]); err != nil {
				src.Close()
				return
			}
		}
		if err != nil {
			dst.Close() // the other side sees the end
			return
		}
	}
}

// Close stops the proxy and closes every connection through it: what
// waits on the black hole then sees the connection end. (pgx waits up to
// 15 s for an answer to the cancel request it sends on a connection it
// gives up on: a test closes the proxy before the pool.)
func (p *Proxy) Close() {
	p.ln.Close()
	p.mu.Lock()
	for _, c := range p.conns {
		c.Close()
	}
	p.conns = nil
	p.mu.Unlock()
	p.wg.Wait()
}
