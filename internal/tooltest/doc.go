// Package tooltest runs the real DNS tools from Debian packages (ldns,
// BIND, Knot, NSD, unbound) in interoperability tests. A missing tool skips
// the test with a message naming the package to install; with CI=true it
// fails it instead, so CI cannot pass by testing nothing. Every run is
// bounded in time.
package tooltest
