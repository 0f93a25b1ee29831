package tooltest

import (
	"fmt"
	"net"
	"testing"
)

// FreePort returns a port of 127.0.0.1 free for both UDP and TCP, for a
// daemon the test starts next (Start) and tells to listen there. Another
// process may take the port in between; the tries are for a UDP port
// whose TCP twin is taken already.
func FreePort(t testing.TB) int {
	t.Helper()
	for range 20 {
		pc, err := net.ListenPacket("udp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		port := pc.LocalAddr().(*net.UDPAddr).Port
		ln, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", port))
		pc.Close()
		if err == nil {
			ln.Close()
			return port
		}
	}
	t.Fatal("no port of 127.0.0.1 free for both UDP and TCP after 20 tries")
	return 0
}
