package notify

import (
	"net"
	"net/textproto"
	"strings"
	"sync"
	"testing"
	"time"
)

// sink is an SMTP server that keeps what it is sent, for the tests: a
// real relay needs a mail system set up on the machine, and the tests
// must see every message exactly as delivered. It speaks the part of RFC
// 5321 a client needs (EHLO, MAIL, RCPT, DATA with dot-stuffing, RSET,
// NOOP, QUIT) and can refuse everything with 421, as a relay going down.
type sink struct {
	ln net.Listener

	mu       sync.Mutex
	messages []delivered
	refuse   bool
	conns    sync.WaitGroup
}

type delivered struct {
	from string
	to   []string
	data string
}

// startSink serves on addr (127.0.0.1:0 for any port) until the test ends.
func startSink(t *testing.T, addr string) *sink {
	t.Helper()
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	s := &sink{ln: ln}
	s.conns.Add(1)
	go func() {
		defer s.conns.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			s.conns.Add(1)
			go func() {
				defer s.conns.Done()
				s.serve(c)
			}()
		}
	}()
	t.Cleanup(s.stop)
	return s
}

func (s *sink) stop() {
	s.ln.Close()
	s.conns.Wait()
}

func (s *sink) addr() string { return s.ln.Addr().String() }

func (s *sink) setRefuse(refuse bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.refuse = refuse
}

func (s *sink) received() []delivered {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]delivered(nil), s.messages...)
}

func (s *sink) serve(c net.Conn) {
	defer c.Close()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	tp := textproto.NewConn(c)
	s.mu.Lock()
	refuse := s.refuse
	s.mu.Unlock()
	if refuse {
		tp.PrintfLine("421 sink.test Service not available, closing transmission channel")
		return
	}
	tp.PrintfLine("220 sink.test ESMTP")
	var cur delivered
	for {
		line, err := tp.ReadLine()
		if err != nil {
			return
		}
		verb, arg, _ := strings.Cut(line, " ")
		switch strings.ToUpper(verb) {
		case "EHLO", "HELO":
			tp.PrintfLine("250-sink.test\r\n250 8BITMIME")
		case "MAIL":
			cur = delivered{from: path(arg)}
			tp.PrintfLine("250 OK")
		case "RCPT":
			cur.to = append(cur.to, path(arg))
			tp.PrintfLine("250 OK")
		case "DATA":
			tp.PrintfLine("354 End data with <CR><LF>.<CR><LF>")
			data, err := tp.ReadDotBytes()
			if err != nil {
				return
			}
			cur.data = string(data)
			s.mu.Lock()
			s.messages = append(s.messages, cur)
			s.mu.Unlock()
			tp.PrintfLine("250 OK queued as %d", len(s.received()))
		case "RSET":
			cur = delivered{}
			tp.PrintfLine("250 OK")
		case "NOOP":
			tp.PrintfLine("250 OK")
		case "QUIT":
			tp.PrintfLine("221 Bye")
			return
		default:
			tp.PrintfLine("502 Command not implemented")
		}
	}
}

// path returns the address of "FROM:<a@b> SIZE=1" or "TO:<a@b>".
func path(arg string) string {
	_, p, _ := strings.Cut(arg, ":")
	p, _, _ = strings.Cut(strings.TrimSpace(p), " ")
	return strings.Trim(p, "<>")
}
