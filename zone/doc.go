// Package zone is the in-memory DNS zone, pure: owner names in DNSSEC
// canonical order, RRsets with their rdata in canonical wire form, a
// builder, merges and a diff between two versions, a deterministic
// master-file writer and a streaming reader with positioned errors.
//
// Storage is compact because a .pt zone holds millions of delegations: owner
// names are canonical keys (see Name) packed in one byte arena, RRsets are
// small fixed-size entries, rdata lives in a second arena, and identical NS
// RRsets (thousands of domains on one hosting provider) are stored once.
// There is no object per record. A Zone is immutable once handed on (only
// its maker may Overwrite placeholders); changes produce a new Zone, so a
// reader (a transfer, a signer) always sees one whole version.
package zone
