// Package zonegen turns a registry snapshot into the .pt zones, unsigned:
// which domains are delegated (the one decision, Include), their NS and DS
// RRsets, the glue they need and nothing more, the delegations between our
// own zones with DS computed from our keys, the apex (SOA, NS and their
// addresses) from configuration, and serials that only ever increase
// (RFC 1982). It is pure: the snapshot, the previous serials and the
// clock come in as arguments.
package zonegen
