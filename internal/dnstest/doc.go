// Package dnstest owns the way tests state what a DNS server must answer:
// a Case holds one query (name, type, class, EDNS size, DO bit) and the
// response it must get (rcode, AA and TC, and the answer, authority and
// additional sections as master-file lines). Query builds the query of a
// case and Verifier.Check compares a response with it, reporting every
// difference as zone text, so that a table of cases reads like the zone
// and a failure like a diff of it.
//
// Sections compare as sets of records, owner names and the names in
// rdata without regard to case (RFC 4343), unless a case asks for exact
// case. Two kinds of record cannot be written out by a test and are
// compared otherwise:
//
//   - An RRSIG made with a test's keys is written without its signature
//     (everything up to the signer's name); Check compares the rest of it
//     and verifies the signature with the Verifier's keys and time. Every
//     RRSIG of a response is verified, written or not.
//   - An NSEC3 line states in its comment what it is there for: "; matches
//     NAME" or "; covers NAME", several separated by commas. Check checks
//     each claim with the line's own hash parameters, so a hash copied
//     wrong into a case is caught, and the reader sees the proof's logic.
//
// Sending the query is left to the test: a case may be answered by a
// Respond function in the same process or by a server on a socket.
package dnstest
