-- Fencing the publisher. Its lock is a session's advisory lock, which a
-- publisher can lose mid-publication (its connection ends) while
-- another daemon takes it: each taking of a lock is numbered here, in
-- the taker's own session, and what the holder writes under the lock
-- carries the number (a fencing token). A write whose number is no
-- longer the lock's latest comes from a holder that lost it, and is
-- refused.
CREATE TABLE lock_generations (
    name       text PRIMARY KEY,
    generation bigint NOT NULL CHECK (generation > 0),
    taken_at   timestamptz NOT NULL
);
-- The generation of the publisher's lock under which each entry of the
-- publication log was recorded; NULL for an entry recorded without the
-- lock (the command line, and every entry before this migration).
ALTER TABLE publications ADD COLUMN lock_generation bigint CHECK (lock_generation > 0);
