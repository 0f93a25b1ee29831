// Package buildinfo owns what the running binary knows of its own build:
// the module version, the source revision it was built from, that
// commit's time, whether the work tree had uncommitted changes, and the
// Go release. `ptzone version` prints it, and records that must say which
// ptzone wrote them (publication receipts) take it from here.
//
// The Go toolchain stamps these into the binary (runtime/debug); when it
// cannot (a git worktree, whose .git is a file the toolchain does not
// recognise, or -buildvcs=false), the Makefile passes the same facts with
// -ldflags -X, and those are used instead.
package buildinfo
