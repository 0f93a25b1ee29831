// Package testdb opens throwaway registries for tests: embedded SQLite
// stores in the test's temporary directory, closed when the test ends,
// empty (Open) or holding the sample registry of testdata/registry
// (Sample). It is apart from testkit so that the tests of the DNS
// packages, which need no registry, do not build the database in.
package testdb
