// Package keyfile stores DNSSEC keys as BIND key files in a directory:
// K<zone>+<alg>+<tag>.key and .private, the private file readable by its
// owner only, each written atomically. It is the file side of package
// dnssec, which stays free of I/O.
package keyfile
