-- Freezes per zone: publishing_freeze held at most one row, the freeze
-- of every daemon's publications; it now holds a row for each zone
-- frozen, the zone its key, and the row of zone '' is the freeze of
-- every zone, as the one row was (a freeze in force is kept as that).
ALTER TABLE publishing_freeze ADD COLUMN zone text NOT NULL DEFAULT ''
    CHECK (zone = lower(zone) AND zone NOT LIKE '%.' AND zone NOT LIKE '.%');
-- Dropping the column drops the primary key on it.
ALTER TABLE publishing_freeze DROP COLUMN one;
ALTER TABLE publishing_freeze ADD PRIMARY KEY (zone);
ALTER TABLE publishing_freeze ALTER COLUMN zone DROP DEFAULT;
