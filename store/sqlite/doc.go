// Package sqlite is the embedded registry store: store.Registry on a single
// SQLite file through modernc.org/sqlite (pure Go, no cgo). It is the
// default when no database is configured, for the demo, tests and small
// installations run by one process. It owns its schema and migrations, kept
// semantically equal to store/postgres by the storetest conformance suite,
// the domain writers, the publisher's file lock and its generations, and
// the snapshot with its change-feed counter; the statements both backends
// share are store/internal/sqlcore's. A local file cannot stop answering
// as a server can: a writer waits on another at most the busy timeout
// (10 s), and calls take no deadline of their own.
package sqlite
