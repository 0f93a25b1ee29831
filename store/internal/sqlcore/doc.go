// Package sqlcore is the registry's SQL, written once for both backends:
// every store.Registry method whose statements differ between PostgreSQL
// and SQLite only in dialect (placeholders, how times, nameservers and DS
// are stored, how rows are claimed and locked) lives here, run through
// the small Querier interface each backend adapts its driver to. It also
// owns what the backends share about rows: the text form of a domain's
// nameservers and DS records, the JSON of findings, and the numbered
// migration files' loader.
//
// The backends keep only what truly differs: opening and migrating their
// database, bulk import and writing domains (COPY and typed arrays on
// PostgreSQL, prepared statements on SQLite), the publisher's lock, the
// change feed's token, and opening a snapshot (the streaming of its rows
// is here, with a faster row reader PostgreSQL may plug in).
package sqlcore
