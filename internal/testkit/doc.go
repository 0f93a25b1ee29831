// Package testkit owns the helpers that tests of several packages share,
// so that each exists once: the fixed time the repository's fixtures are
// made for and a clock a test sets (FixedTime, Clock); test DNSSEC keys,
// new ones or the fixed ones kept in testdata/keys (GenerateKeys,
// GenerateKeyFiles, FixedKeys, FixedKeysDir); zone text read and signed
// (ReadZone, Sign); a signed zone with one RRset replaced or its
// signatures damaged, to show what a verifier or a resolver makes of it
// (Rdatas, ReplaceRRset, DamageSignatures); and the sizes benchmarks read
// from the environment (EnvInt).
//
// Every helper takes the test's testing.TB and fails the test on an
// error, naming its input. The package imports zone and dnssec, so their
// own in-package tests cannot use it (Go forbids the import cycle);
// opening a registry is testkit/testdb's, which keeps the database out of
// the tests of the DNS packages.
package testkit
