// Package datadir owns the directory zones are published into
// (DATA-DIR/zones): where each file lives and its name, how each is
// written (atomically: a temporary file, synced, renamed into place) and
// read, and the one loader of the last publication that the publisher,
// the daemon and the command line share. It also serves that directory:
// the Follower swaps each new publication into an authoritative server.
//
// The directory holds, per zone:
//
//	<zone>.zone     the master file as of the last flush
//	<zone>.zone.bin the binary image as of the last flush
//	<zone>.prev.bin the image before it, for rollback and for a server
//	                whose image is damaged
//	<zone>.journal  the patches published since (and a bounded history
//	                before), appended and synced one by one
//	<zone>.state    what the next build goes on from (zonegen.ZoneState)
//	                and the change token of the snapshot it was built from
//
// The published zone is the image with the journal's patches applied in
// serial order. A publication that changes a thousand domains appends a
// patch of a few hundred kilobytes instead of rewriting the zone; the
// image and master file are rewritten (flushed) when the journal grows
// past Limits.FlushAfter, and by every full build. A zone adopted from
// the signer that served it before ptzone is put in place whole (Adopt),
// as the version the next publication goes on from.
//
// The data directory also keeps the zones' keys (KeysDir), in the format
// dnssec/keyfile owns.
//
// One publication at a time writes into a directory; any number of
// readers may load it meanwhile, and see the version before a publication
// or the one after, never a part of one; a crash while it writes leaves
// the same (Failpoints names the steps where a test kills it to show so).
package datadir
