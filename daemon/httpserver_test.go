package daemon

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"go.uber.org/zap"

	"github.com/ptzone/ptzone/internal/testkit"
	"github.com/ptzone/ptzone/internal/testkit/testdb"
	"github.com/ptzone/ptzone/zonegen"
)

// TestWebServerLimits: the daemon's web server refuses a header larger
// than its limit (431; net/http allows 4 KiB of slack) and still answers
// a usual one; and a server of
// newHTTPServer, with limits short enough for a test, closes the
// connection of a client that sends half a header and stalls, and of one
// that sends its body too slowly, and cuts an answer that takes longer
// than its write timeout, while a client within its limits is answered.
// What is asserted is which connections end, not when.
func TestWebServerLimits(t *testing.T) {
	keys := t.TempDir()
	testkit.GenerateKeyFiles(t, keys, time.Now().Add(-time.Hour), zonegen.DefaultZones()...)
	d := startDaemon(t, labConfig("web", 53), testdb.Open(t), nil, keys, nil)
	get := func(addr, header string) string {
		t.Helper()
		conn, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		conn.SetDeadline(time.Now().Add(20 * time.Second)) // a bound, should no answer come
		fmt.Fprintf(conn, "GET /healthz HTTP/1.1\r\nHost: ptzone\r\n%s\r\n", header)
		status, err := bufio.NewReader(conn).ReadString('\n')
		if err != nil {
			t.Fatalf("no answer: %v", err)
		}
		return strings.TrimSpace(status)
	}
	if got := get(d.HTTPAddr().String(), "Cookie: "+strings.Repeat("x", webLimits.maxHeader+8<<10)+"\r\n"); !strings.Contains(got, "431") {
		t.Errorf("a header past %d octets: %q, want 431", webLimits.maxHeader, got)
	}
	if got := get(d.HTTPAddr().String(), "Cookie: ptzone_lang=pt\r\n"); !strings.Contains(got, "200") {
		t.Errorf("a usual header: %q, want 200", got)
	}

	short := httpLimits{readHeader: 200 * time.Millisecond, read: 400 * time.Millisecond, write: 200 * time.Millisecond,
		idle: time.Second, maxHeader: 4 << 10}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /fast", func(w http.ResponseWriter, r *http.Request) { fmt.Fprintln(w, "ok") })
	mux.HandleFunc("GET /slow", func(w http.ResponseWriter, r *http.Request) {
		time.Sleep(3 * short.write)
		fmt.Fprintln(w, "late")
	})
	mux.HandleFunc("POST /body", func(w http.ResponseWriter, r *http.Request) {
		if _, err := io.ReadAll(r.Body); err != nil {
			return
		}
		fmt.Fprintln(w, "read")
	})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := newHTTPServer(mux, zap.NewNop(), short)
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	// ends reports whether the server ends the connection (or answers
	// 408) after the client wrote what send writes.
	ends := func(send func(net.Conn)) (string, bool) {
		t.Helper()
		conn, err := net.Dial("tcp", ln.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		conn.SetDeadline(time.Now().Add(20 * time.Second)) // far past every limit
		go send(conn)
		b, err := io.ReadAll(conn)
		if nerr, ok := err.(net.Error); ok && nerr.Timeout() {
			return string(b), false
		}
		return string(b), true
	}
	if got, ended := ends(func(c net.Conn) { fmt.Fprint(c, "GET /fast HTTP/1.1\r\nHost: ptzone\r\nX-Half") }); !ended || strings.Contains(got, "ok") {
		t.Errorf("half a header, then nothing: %q, ended %v; want the connection closed", got, ended)
	}
	if got, ended := ends(func(c net.Conn) {
		fmt.Fprint(c, "POST /body HTTP/1.1\r\nHost: ptzone\r\nContent-Length: 100\r\n\r\nsome")
	}); !ended || strings.Contains(got, "read") {
		t.Errorf("a body that never comes: %q, ended %v; want the connection closed", got, ended)
	}
	if got, ended := ends(func(c net.Conn) { fmt.Fprint(c, "GET /slow HTTP/1.1\r\nHost: ptzone\r\n\r\n") }); !ended || strings.Contains(got, "late") {
		t.Errorf("an answer past the write timeout: %q, ended %v; want it cut", got, ended)
	}
	if got, _ := ends(func(c net.Conn) { fmt.Fprint(c, "GET /fast HTTP/1.1\r\nHost: ptzone\r\nConnection: close\r\n\r\n") }); !strings.Contains(got, "200 OK") {
		t.Errorf("a request within the limits: %q, want it answered", got)
	}
}
