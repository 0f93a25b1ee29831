// Package dnssec signs zones and verifies them: keys in BIND's key-file
// format behind crypto.Signer, the key tag and key-pair checks that keep a
// published DNSKEY from disagreeing with the key that signs, NSEC3 with
// opt-out, RRSIGs over the authoritative RRsets, ZONEMD, and an independent
// verifier. Signing and verification are pure functions of (zone, keys,
// options, now): no clock, no randomness except in key generation.
package dnssec
