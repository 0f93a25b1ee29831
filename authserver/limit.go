package authserver

import (
	"net"
	"net/netip"
	"sync"
)

// limitListener accepts at most max connections at a time, and at most
// perClient from one address: past either, a connection is closed as soon
// as it is accepted, and the clients already served keep their slots.
type limitListener struct {
	net.Listener
	max, perClient int

	mu      sync.Mutex
	open    int
	clients map[netip.Addr]int
}

func newLimitListener(ln net.Listener, max, perClient int) *limitListener {
	return &limitListener{Listener: ln, max: max, perClient: perClient, clients: map[netip.Addr]int{}}
}

func (l *limitListener) Accept() (net.Conn, error) {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		var client netip.Addr
		if ap, err := netip.ParseAddrPort(c.RemoteAddr().String()); err == nil {
			client = ap.Addr().Unmap()
		}
		l.mu.Lock()
		ok := l.open < l.max && l.clients[client] < l.perClient
		if ok {
			l.open++
			l.clients[client]++
		}
		l.mu.Unlock()
		if !ok {
			c.Close()
			continue
		}
		return &limitedConn{Conn: c, l: l, client: client}, nil
	}
}

// limitedConn gives its slot back when closed.
type limitedConn struct {
	net.Conn
	l      *limitListener
	client netip.Addr
	once   sync.Once
}

func (c *limitedConn) Close() error {
	c.once.Do(func() {
		c.l.mu.Lock()
		c.l.open--
		if c.l.clients[c.client]--; c.l.clients[c.client] <= 0 {
			delete(c.l.clients, c.client)
		}
		c.l.mu.Unlock()
	})
	return c.Conn.Close()
}
