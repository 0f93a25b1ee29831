// Package adopt owns taking a zone over from the signer that published
// it before ptzone: checking the zone that signer serves (Inspect),
// recording it as the baseline ptzone goes on from (Record: the data
// directory's published version, served unchanged until ptzone's first
// publication, and an "adopted" entry of the publication log, from which
// the next serial follows and against which the guard judges that first
// publication), the report of every difference between it and what the
// registry would publish (Compare), and carrying the old signer's keys
// into the keys directory (ImportKeys), so that the parent's DS keeps
// matching.
package adopt
