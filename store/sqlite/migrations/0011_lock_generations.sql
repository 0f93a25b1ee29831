-- Fencing the publisher. Its lock is a file lock beside the database,
-- which a publisher can lose (its file removed, another made and locked
-- in its place by another daemon): each taking of a lock is numbered
-- here, and what the holder writes under the lock carries the number (a
-- fencing token). A write whose number is no longer the lock's latest
-- comes from a holder that lost it, and is refused.
CREATE TABLE lock_generations (
    name       TEXT PRIMARY KEY,
    generation INTEGER NOT NULL CHECK (generation > 0),
    taken_at   INTEGER NOT NULL
) STRICT;
-- The generation of the publisher's lock under which each entry of the
-- publication log was recorded; NULL for an entry recorded without the
-- lock (the command line, and every entry before this migration).
ALTER TABLE publications ADD COLUMN lock_generation INTEGER CHECK (lock_generation > 0);
