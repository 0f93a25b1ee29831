// Command ptzone is the hidden primary of the .pt TLD: it reads the
// registry, checks delegations, builds, signs and serves the zones. This
// package is wiring only: flags, configuration and the subcommands that
// call into the packages that do the work.
package main
