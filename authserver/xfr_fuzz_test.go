package authserver

import (
	"context"
	"encoding/binary"
	"io"
	"net"
	"net/netip"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/miekg/dns"

	"github.com/ptzone/ptzone/zone"
)

// FuzzSignedTransfer: any request on a TCP connection, signed with the
// transfer key or not, goes through the server as miekg/dns's listener
// hands it over (its TSIG verified there, then ServeDNS) without a panic;
// a transfer of pt whose TSIG does not verify gets no record of the zone;
// one whose TSIG verifies gets every message of its answer signed, each
// over the MAC of the one before (RFC 8945 §5.3.1), the whole stream
// verifying with the key. The server listens on a listener in memory:
// no socket, so a fuzzer can run a few thousand requests a second. The
// fuzzer gives the message, whether the test signs it (with the key, at a
// time off the real clock by skew seconds) or sends it as it is.
func FuzzSignedTransfer(f *testing.F) {
	tz1 := signedPT(f, testPT)
	v2 := strings.Replace(testPT, "1763812800", "1763812801", 1) + "novo.pt. 86400 IN NS ns.hosting.net.\n"
	tz2 := signPT(f, v2, tz1.keys)
	p, err := zone.DiffPatch(tz1.zone, tz2.zone, tz1.zone.Serial(), tz2.zone.Serial())
	if err != nil {
		f.Fatal(err)
	}
	snap, err := tz2.snap.WithHistory(pt, patches{p})
	if err != nil {
		f.Fatal(err)
	}
	srv := New(Config{TSIG: []TSIGKey{transferKey, sha512Key}, RateLimit: RateLimit{Off: true},
		Transfer: map[string]Transfer{"pt.": {AllowFrom: []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}, Keys: []string{xfrKey}}}}, nil)
	srv.Swap(snap)
	ln := newPipeListener()
	srv.serve(newIdlePacketConn(), ln)
	f.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		srv.Shutdown(ctx)
	})
	for _, c := range []struct {
		name  string
		qtype uint16
		ixfr  uint32
		sign  bool
		skew  int16
	}{
		{"pt.", dns.TypeAXFR, 0, true, 0}, {"pt.", dns.TypeIXFR, tz1.zone.Serial(), true, 0},
		{"pt.", dns.TypeIXFR, tz2.zone.Serial(), true, 0}, {"pt.", dns.TypeAXFR, 0, false, 0},
		{"pt.", dns.TypeAXFR, 0, true, 3600}, {"seguro.pt.", dns.TypeAXFR, 0, true, 0}, {"pt.", dns.TypeSOA, 0, true, 0},
	} {
		q := new(dns.Msg)
		q.SetQuestion(c.name, c.qtype)
		if c.qtype == dns.TypeIXFR {
			q.Ns = []dns.RR{&dns.SOA{Hdr: dns.RR_Header{Name: c.name, Rrtype: dns.TypeSOA, Class: dns.ClassINET}, Ns: "a.dns.pt.", Mbox: "h.dns.pt.", Serial: c.ixfr}}
		}
		b, err := q.Pack()
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b, c.sign, c.skew)
	}
	f.Fuzz(func(t *testing.T, msg []byte, sign bool, skew int16) {
		wire := msg
		if sign {
			q := new(dns.Msg)
			if q.Unpack(msg) != nil || len(msg) > dns.MaxMsgSize-200 {
				return
			}
			q.Extra = dropTSIG(q.Extra)
			q.SetTsig(xfrKey, dns.HmacSHA256, 300, time.Now().Unix()+int64(skew))
			if wire, _, err = dns.TsigGenerate(q, xfrSecret, "", false); err != nil {
				return // a message the key cannot sign (a name too long, say)
			}
		}
		if len(wire) > dns.MaxMsgSize {
			return
		}
		var verified bool
		req := new(dns.Msg)
		parsed := req.Unpack(wire) == nil
		if tsig := req.IsTsig(); parsed && tsig != nil && dns.CanonicalName(tsig.Hdr.Name) == xfrKey {
			// TsigVerify takes the TSIG off the octets it is given.
			verified = dns.TsigVerify(slices.Clone(wire), xfrSecret, "", false) == nil
		}
		isTransfer := parsed && !req.Response && req.Opcode == dns.OpcodeQuery && len(req.Question) == 1 &&
			req.Question[0].Qclass == dns.ClassINET && (req.Question[0].Qtype == dns.TypeAXFR || req.Question[0].Qtype == dns.TypeIXFR)
		responses := exchangeInMemory(t, ln, wire)
		requestMAC := ""
		if verified {
			requestMAC = req.IsTsig().MAC
		}
		for i, raw := range responses {
			r := new(dns.Msg)
			if err := r.Unpack(raw); err != nil {
				t.Fatalf("response %d does not unpack: %v", i, err)
			}
			if isTransfer && !verified && len(r.Answer) > 0 {
				t.Fatalf("a transfer whose TSIG does not verify got %d records (%s)", len(r.Answer), req.Question[0].String())
			}
			if !verified {
				continue
			}
			if r.IsTsig() == nil {
				t.Fatalf("response %d of %d to a request whose TSIG verifies is not signed:\n%s", i+1, len(responses), r)
			}
			// The first over the request's MAC, computed here (miekg/dns
			// verifies no NOTAUTH, which a zone not served gets); the
			// others over the one before's, and the timers only.
			if i == 0 && !macVerifies(t, raw, requestMAC, xfrSecret) {
				t.Fatalf("the response does not verify over the request's MAC:\n%s", r)
			}
			if i > 0 {
				if err := dns.TsigVerify(slices.Clone(raw), xfrSecret, requestMAC, true); err != nil {
					t.Fatalf("response %d of %d does not verify over the one before: %v", i+1, len(responses), err)
				}
			}
			requestMAC = r.IsTsig().MAC
		}
	})
}

// dropTSIG removes a TSIG the fuzzer put among the additional records:
// the test signs the message itself.
func dropTSIG(extra []dns.RR) []dns.RR {
	out := extra[:0]
	for _, rr := range extra {
		if rr.Header().Rrtype != dns.TypeTSIG {
			out = append(out, rr)
		}
	}
	return out
}

// sentinelName is asked after each request on the same connection: the
// server answers a connection's requests in order, so its answer is the
// end of the request's (which may be none, or a transfer's many).
const sentinelName = "fim-do-pedido.invalid."

// exchangeInMemory writes wire on a new connection of ln, then the
// sentinel query, and returns the messages read before the sentinel's
// answer (or before the server closed the connection).
func exchangeInMemory(t *testing.T, ln *pipeListener, wire []byte) [][]byte {
	t.Helper()
	conn := ln.dial()
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(20 * time.Second)) // a bound, should the server hang
	sentinel := new(dns.Msg)
	sentinel.SetQuestion(sentinelName, dns.TypeSOA)
	sentinel.Id = 0xfeed
	sw, err := sentinel.Pack()
	if err != nil {
		t.Fatal(err)
	}
	go func() {
		out := binary.BigEndian.AppendUint16(nil, uint16(len(wire)))
		out = append(out, wire...)
		out = binary.BigEndian.AppendUint16(out, uint16(len(sw)))
		conn.Write(append(out, sw...))
	}()
	var got [][]byte
	for {
		var n [2]byte
		if _, err := io.ReadFull(conn, n[:]); err != nil {
			if os.IsTimeout(err) {
				t.Fatalf("no answer to the sentinel after %d messages", len(got))
			}
			return got // the server closed the connection
		}
		raw := make([]byte, binary.BigEndian.Uint16(n[:]))
		if _, err := io.ReadFull(conn, raw); err != nil {
			t.Fatalf("a message cut short: %v", err)
		}
		var r dns.Msg
		if r.Unpack(raw) == nil && r.Id == sentinel.Id && len(r.Question) == 1 && r.Question[0].Name == sentinelName {
			return got
		}
		got = append(got, raw)
	}
}

// pipeListener is a TCP listener in memory: each dial is a net.Pipe whose
// server end it accepts, addressed as a loopback client's.
type pipeListener struct {
	conns  chan net.Conn
	closed chan struct{}
	once   sync.Once
	port   int
	mu     sync.Mutex
}

func newPipeListener() *pipeListener {
	return &pipeListener{conns: make(chan net.Conn), closed: make(chan struct{})}
}

func (l *pipeListener) Accept() (net.Conn, error) {
	select {
	case c := <-l.conns:
		return c, nil
	case <-l.closed:
		return nil, net.ErrClosed
	}
}

func (l *pipeListener) Close() error {
	l.once.Do(func() { close(l.closed) })
	return nil
}

func (l *pipeListener) Addr() net.Addr { return &net.TCPAddr{IP: net.IPv4(127, 0, 0, 53), Port: 53} }

func (l *pipeListener) dial() net.Conn {
	l.mu.Lock()
	l.port++
	port := 1024 + l.port%60000
	l.mu.Unlock()
	server, client := net.Pipe()
	l.conns <- &addressedConn{Conn: server, local: l.Addr(), remote: &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: port}}
	return client
}

// addressedConn is a pipe end with TCP addresses.
type addressedConn struct {
	net.Conn
	local, remote net.Addr
}

func (c *addressedConn) LocalAddr() net.Addr  { return c.local }
func (c *addressedConn) RemoteAddr() net.Addr { return c.remote }

// idlePacketConn is a UDP socket in memory that receives nothing: the
// server's UDP side, idle, until a read deadline in the past (which is how
// miekg/dns stops it) ends its read.
type idlePacketConn struct {
	stop chan struct{}
	once sync.Once
}

func newIdlePacketConn() *idlePacketConn { return &idlePacketConn{stop: make(chan struct{})} }

func (c *idlePacketConn) ReadFrom([]byte) (int, net.Addr, error) {
	<-c.stop
	return 0, nil, os.ErrDeadlineExceeded
}

func (c *idlePacketConn) WriteTo(b []byte, _ net.Addr) (int, error) { return len(b), nil }
func (c *idlePacketConn) Close() error                              { c.halt(); return nil }
func (c *idlePacketConn) LocalAddr() net.Addr {
	return &net.UDPAddr{IP: net.IPv4(127, 0, 0, 53), Port: 53}
}
func (c *idlePacketConn) SetDeadline(t time.Time) error    { return c.SetReadDeadline(t) }
func (c *idlePacketConn) SetWriteDeadline(time.Time) error { return nil }

func (c *idlePacketConn) SetReadDeadline(t time.Time) error {
	if !t.IsZero() && t.Before(time.Now()) {
		c.halt()
	}
	return nil
}

func (c *idlePacketConn) halt() { c.once.Do(func() { close(c.stop) }) }
