package sdnotify

import (
	"fmt"
	"net"
	"strings"
	"time"

	"golang.org/x/sys/unix"
)

// Notifier sends state changes to the service manager. The zero value
// and nil send nothing.
type Notifier struct {
	addr *net.UnixAddr
}

// New returns a notifier for the socket $NOTIFY_SOCKET names (socket is
// its value); an empty socket gives a notifier that sends nothing.
func New(socket string) (*Notifier, error) {
	switch {
	case socket == "":
		return &Notifier{}, nil
	case strings.HasPrefix(socket, "/"), strings.HasPrefix(socket, "@"):
		// Go's net package takes a leading '@' as the abstract
		// namespace, as systemd writes it.
		return &Notifier{addr: &net.UnixAddr{Name: socket, Net: "unixgram"}}, nil
	default:
		return nil, fmt.Errorf("NOTIFY_SOCKET %q: want an absolute path or an abstract name (@...)", socket)
	}
}

// Enabled reports whether the notifier sends anything.
func (n *Notifier) Enabled() bool { return n != nil && n.addr != nil }

// Send sends the state lines ("READY=1", "STATUS=...") as one datagram.
func (n *Notifier) Send(lines ...string) error {
	if !n.Enabled() {
		return nil
	}
	for _, l := range lines {
		if strings.ContainsRune(l, '\n') || !strings.Contains(l, "=") {
			return fmt.Errorf("sdnotify: %q is not one KEY=VALUE line", l)
		}
	}
	conn, err := net.DialUnix("unixgram", nil, n.addr)
	if err != nil {
		return fmt.Errorf("sdnotify: %w", err)
	}
	defer conn.Close()
	// The service manager reads at once; a full socket buffer is a
	// manager that is gone, and a daemon must not hang on it.
	conn.SetWriteDeadline(time.Now().Add(5 * time.Second))
	if _, err := conn.Write([]byte(strings.Join(lines, "\n") + "\n")); err != nil {
		return fmt.Errorf("sdnotify: %w", err)
	}
	return nil
}

// Ready says the service is up, with a status line.
func (n *Notifier) Ready(status string) error {
	return n.Send("READY=1", "STATUS="+oneLine(status))
}

// Reloading says a reload has begun; Ready ends it. MONOTONIC_USEC lets
// systemd tell this reload from an earlier one (Type=notify-reload
// requires it).
func (n *Notifier) Reloading(status string) error {
	usec, err := monotonicUsec()
	if err != nil {
		return fmt.Errorf("sdnotify: reading CLOCK_MONOTONIC: %w", err)
	}
	return n.Send("RELOADING=1", fmt.Sprintf("MONOTONIC_USEC=%d", usec), "STATUS="+oneLine(status))
}

// Stopping says the service is shutting down.
func (n *Notifier) Stopping(status string) error {
	return n.Send("STOPPING=1", "STATUS="+oneLine(status))
}

// Status updates the status line alone.
func (n *Notifier) Status(status string) error {
	return n.Send("STATUS=" + oneLine(status))
}

// monotonicUsec is CLOCK_MONOTONIC in microseconds, the clock systemd
// compares MONOTONIC_USEC with.
func monotonicUsec() (int64, error) {
	var ts unix.Timespec
	if err := unix.ClockGettime(unix.CLOCK_MONOTONIC, &ts); err != nil {
		return 0, err
	}
	return ts.Nano() / 1000, nil
}

func oneLine(s string) string {
	return strings.Join(strings.Fields(s), " ")
}
