// Package policy holds the .PT Domain Name Registration Rules as code: how a
// name may be composed (Art 8, 9, 11, 41), which hierarchies exist and which
// are closed (Art 41.4), and the one predicate that says which statuses may
// be published in the zone (Art 4, 26, 35, 39).
//
// The package is pure: it reads no files and opens no sockets on its own.
// The bundled lists (root-zone TLDs, reserved Internet terms, geographic
// names) are embedded; operators may replace each from a file they pass in.
package policy
