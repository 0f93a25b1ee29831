// Package resolve finds the addresses of name servers a delegation names
// without glue, for the delegation checker: through one configured
// recursive resolver, or iteratively from root hints, as a resolver on
// the Internet would. It never asks the system's resolver: a check must
// say which servers it trusted, and tests must stay on loopback.
package resolve
