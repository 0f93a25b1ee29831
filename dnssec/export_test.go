package dnssec

// VerifierZoneDigest is the verifier's own zone digest, for the
// benchmarks of the external test package.
var VerifierZoneDigest = zoneDigest
