// Package failpoint owns the named points where a test may kill the
// process, to see what a crash there leaves behind: the environment
// variable PTZONE_FAILPOINT names one point, and the process that
// reaches it kills itself with SIGKILL, as a power cut or kill -9 would,
// with nothing flushed, closed or deferred.
//
// The points are compiled in always and inert unless the variable is set:
// the variable is read once, when the process starts, and a point not
// named costs one comparison of strings. The packages that declare points
// list them (datadir.Failpoints); cmd/ptzone's tests run the binary with
// each and look at what it left.
package failpoint
