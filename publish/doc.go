// Package publish owns one publication of the zones: registry snapshot,
// build, sign, independent verification, the guard that refuses what
// should never reach the secondaries, the write into the data directory
// (through package datadir), and the receipt in the publication log. Every
// TLD outage on record was a bad publish; the guard is where ptzone
// refuses them.
package publish
