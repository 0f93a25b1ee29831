// Package pgtest gives tests a real PostgreSQL database. It starts one
// throwaway cluster per test binary from the installed server binaries
// (initdb and pg_ctl on a temporary directory, Unix socket only, no TCP
// port), or uses the server named by PTZONE_TEST_DATABASE_URL. Each test
// gets a fresh database of its own.
//
// A test that needs a database outage starts a cluster of its own
// (NewCluster), which it may stop and start again.
//
// It also makes the database's faults a test needs: the sessions holding
// advisory locks ended as the server ends them (EndLockSessions), and a
// TCP way in that turns into a black hole on demand (Proxy).
//
// Without a server the test is skipped with a message; with CI=true it
// fails instead, so that CI cannot pass by running nothing.
package pgtest
