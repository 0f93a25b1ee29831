// Package authserver is ptzone's embedded authoritative DNS server. It
// answers from a Snapshot, an immutable set of zones that a publication
// swaps in whole, so a query (and later a transfer) sees one version of
// every zone. It owns the answers themselves (referrals with their glue
// and DS, NXDOMAIN and NODATA with their NSEC3 proofs, RFC 1034 §4.3.2,
// RFC 4035 §3.1, RFC 5155 §7.2), the wire protocol around them (UDP and
// TCP, EDNS, truncation) and the server's sockets. Its one client of
// another primary, FetchZone, transfers a zone in (AXFR, TSIG) for
// taking it over from the signer that serves it today.
package authserver
