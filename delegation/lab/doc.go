// Package lab runs simulated child nameservers on loopback addresses
// (127.0.0.0/8) for the delegation checker's tests, its benchmark and the
// demo. Each server answers for the child zones it is given, healthy or
// with a fault the checker must find (no answer, REFUSED, SERVFAIL, AA
// clear, no TCP, EDNS refused, open recursion, a different serial), after
// an optional latency, and counts the queries it receives. The zones'
// data carry the other faults (a different NS RRset or glue, a CNAME at a
// name server's name, DNSSEC keys that do not match a DS, expired
// signatures). Signing uses miekg/dns, not ptzone's signer: the checker is
// tested against data ptzone did not make.
package lab
