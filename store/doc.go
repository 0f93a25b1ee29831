// Package store owns the registry's domain model (domains, nameservers, DS
// records, registrars, delegation checks and state, the publication log) and
// the interfaces through which the rest of ptzone reads and writes it.
//
// The package is pure: it holds types, structural validation and interfaces,
// and does no I/O. The backends live in store/postgres (production) and
// store/sqlite (the embedded default); store/storetest holds the conformance
// suite both must pass. Whether a name is allowed by the .PT Rules is decided
// by package policy, not here: store only guarantees that what it holds is
// well formed.
package store
