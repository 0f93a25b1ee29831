package datadir

// The points where a test may kill a process writing a version of a zone
// (internal/failpoint: PTZONE_FAILPOINT=NAME), in the order Write reaches
// them. A crash at any of them must leave the zone as published before or
// as published after, never a mix, with a journal that applies to the
// image, and a next publication under a newer serial than either.
const (
	// FailBeforeJournal: what a flush writes is written and synced beside
	// its place, nothing is published.
	FailBeforeJournal = "datadir.before-journal"
	// FailJournalAppended: the version's record is in the journal,
	// synced: the version is published.
	FailJournalAppended = "datadir.journal-appended"
	// FailZoneFileWritten: flushing, the new master file is in place,
	// the image not yet.
	FailZoneFileWritten = "datadir.zone-file-written"
	// FailImageBeforeRename: the image before is kept as the previous
	// image, the new one is about to be renamed over it.
	FailImageBeforeRename = "datadir.image-before-rename"
	// FailImageRenamed: the new image is in place, the journal not yet
	// trimmed.
	FailImageRenamed = "datadir.image-renamed"
	// FailJournalTrimmed: the flush is over.
	FailJournalTrimmed = "datadir.journal-trimmed"
	// FailStateCommitted: the state is in place; the version is all
	// written (its entry in the publication log comes after).
	FailStateCommitted = "datadir.state-committed"
)

// Failpoints lists the points, in the order Write reaches them.
var Failpoints = []string{FailBeforeJournal, FailJournalAppended, FailZoneFileWritten, FailImageBeforeRename,
	FailImageRenamed, FailJournalTrimmed, FailStateCommitted}
