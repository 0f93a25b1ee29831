// Package postgres is the production registry store: store.Registry on
// PostgreSQL through a pgx/v5 pool. It owns the SQL schema, its numbered
// migrations (embedded in the binary, never edited once released), bulk
// import through COPY, the publisher's advisory lock and its generations
// (the fencing token), the consistent snapshot the publisher reads with
// its change-feed token, and the bounds of every call: the connections'
// statement_timeout, and a deadline on each call for a server that stops
// answering (Options); the statements both backends share are
// store/internal/sqlcore's.
package postgres
