-- The prune job removes the change feed's deleted domains by age
-- (store.PruneCut.Deletions): each is stamped with when it was deleted,
-- in microseconds since the epoch as every time here (those deleted
-- before this migration with its time), and the feed keeps the newest
-- counter of those it removed, so that a change token from before it is
-- refused, and its publisher builds from the whole registry, rather
-- than answered without the deletions it needs. The trigger that
-- records a deletion is made again with the time.
ALTER TABLE domain_deletions ADD COLUMN deleted_at INTEGER;
UPDATE domain_deletions SET deleted_at = CAST((julianday('now') - 2440587.5) * 86400000000 AS INTEGER);
CREATE INDEX domain_deletions_deleted_at ON domain_deletions (deleted_at);

DROP TRIGGER domains_deleted;
CREATE TRIGGER domains_deleted AFTER DELETE ON domains
BEGIN
    INSERT INTO domain_deletions (name, zone, changed, deleted_at)
    VALUES (OLD.name, OLD.zone, (SELECT counter FROM change_feed), CAST((julianday('now') - 2440587.5) * 86400000000 AS INTEGER));
END;

ALTER TABLE change_feed ADD COLUMN pruned INTEGER NOT NULL DEFAULT 0;
