-- Freezes per zone: publishing_freeze held at most one row, the freeze
-- of every daemon's publications; it now holds a row for each zone
-- frozen, the zone its key, and the row of zone '' is the freeze of
-- every zone, as the one row was (a freeze in force is kept as that).
-- SQLite cannot change a primary key in place: the table is rebuilt, in
-- the migration's transaction.
CREATE TABLE publishing_freeze_new (
    zone   TEXT PRIMARY KEY CHECK (zone = lower(zone) AND zone NOT LIKE '%.' AND zone NOT LIKE '.%'),
    at     INTEGER NOT NULL,
    actor  TEXT NOT NULL CHECK (actor <> ''),
    reason TEXT NOT NULL CHECK (reason <> '')
) STRICT;
INSERT INTO publishing_freeze_new (zone, at, actor, reason) SELECT '', at, actor, reason FROM publishing_freeze;
DROP TABLE publishing_freeze;
ALTER TABLE publishing_freeze_new RENAME TO publishing_freeze;
