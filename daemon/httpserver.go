package daemon

import (
	"net/http"
	"time"

	"go.uber.org/zap"
)

// httpLimits bound what one client of the web server may hold.
type httpLimits struct {
	// readHeader and read bound reading a request's header and the
	// whole request; write, from the end of the header to the end of
	// the answer; idle, a kept connection between requests.
	readHeader, read, write, idle time.Duration
	// maxHeader bounds a request's header, in octets.
	maxHeader int
}

// webLimits are the web server's. A request's header within 10 s and
// the whole of it within 30 s: the bodies it takes are small (64 KiB of
// JSON at most, or a login form), so a client that sends slower holds a
// connection for nothing. An answer within a minute: pages, the API and
// the metrics take a second or so even for pt (the health the metrics
// read is cached, and asked of the store with its own deadline); the
// operators' long calls, a publication or a rollback, which take
// minutes, lift it for themselves once the operator is authenticated
// (httpapi), so that the timeout does not cut an outcome an operator
// waits for, and no one else can hold a connection that way. A kept
// connection idle for two minutes at most. A header of 64 KiB at most:
// a browser's cookies and a bearer token take a few hundred octets, and
// Go's default of 1 MiB a connection is memory held for nothing.
var webLimits = httpLimits{readHeader: 10 * time.Second, read: 30 * time.Second, write: time.Minute, idle: 2 * time.Minute,
	maxHeader: 64 << 10}

// newHTTPServer returns the web server of h, within l.
func newHTTPServer(h http.Handler, log *zap.Logger, l httpLimits) *http.Server {
	return &http.Server{Handler: h, ReadHeaderTimeout: l.readHeader, ReadTimeout: l.read, WriteTimeout: l.write,
		IdleTimeout: l.idle, MaxHeaderBytes: l.maxHeader, ErrorLog: zap.NewStdLog(log)}
}
