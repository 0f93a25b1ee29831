// Package storedsn owns the registry's data source names: which backend a
// DSN names (postgres://… for PostgreSQL, sqlite:PATH for the embedded
// store), where, and the default when none is given (SQLite in the data
// directory). The command line (--db, PTZONE_DB) and the configuration
// file (store.dsn) read a DSN through Parse alone, so they accept and
// refuse the same ones with the same words. Opening the store is the
// caller's: this package imports no backend.
package storedsn
