// Package storetest is the conformance suite every store.Registry backend
// must pass: the same behaviours, checked the same way, against SQLite and
// PostgreSQL alike, with the benchmarks that compare them. It is test code
// only: TestConformance runs the suite on each backend, opened fresh for
// every case; adding a backend means adding it to the backends list.
package storetest
