// Package sdnotify owns telling the service manager how the daemon is
// doing, by systemd's notification protocol (sd_notify(3)): one datagram
// of "KEY=VALUE" lines to the socket named by $NOTIFY_SOCKET, a file
// path or, beginning with '@', a name in Linux's abstract namespace.
// READY=1 lets a unit of Type=notify (and the units ordered after it)
// go on; RELOADING=1 and STOPPING=1 mark a reload and a shutdown;
// STATUS= is the line `systemctl status` shows.
//
// Without $NOTIFY_SOCKET (not started by systemd, or by a unit of
// another type) every call does nothing. The protocol is small enough to
// write here rather than take a dependency for it.
package sdnotify
