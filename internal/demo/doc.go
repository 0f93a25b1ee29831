// Package demo owns the demo's world: the bundled sample registry
// rewritten to point into a lab of simulated name servers on loopback
// (127.0.0.0/8, delegation/lab), and the catalogue of domains broken on
// purpose there for the checker to find and the registrar's pages to
// explain. Running the daemon on it, and printing what happens, is
// cmd/ptzone's.
package demo
