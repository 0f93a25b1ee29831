-- The prune job removes the change feed's deleted domains by age
-- (store.PruneCut.Deletions): each is stamped with when it was deleted
-- (those deleted before this migration with its time), and the feed
-- keeps the newest transaction of those it removed, so that a change
-- token taken before that transaction is refused, and its publisher
-- builds from the whole registry, rather than answered without the
-- deletions it needs.
ALTER TABLE domain_deletions ADD COLUMN deleted_at timestamptz NOT NULL DEFAULT now();
CREATE INDEX domain_deletions_deleted_at ON domain_deletions (deleted_at);
ALTER TABLE change_feed ADD COLUMN pruned xid8 NOT NULL DEFAULT '0';
