-- A publication log entry may record a zone adopted from the signer
-- that published it before ptzone (outcome 'adopted'). SQLite cannot
-- change a CHECK in place: the table is rebuilt with the same columns,
-- rows (ids kept) and index, in the migration's transaction.
CREATE TABLE publications_new (
    id           INTEGER PRIMARY KEY,
    zone         TEXT NOT NULL REFERENCES zones (name),
    serial       INTEGER NOT NULL CHECK (serial BETWEEN 0 AND 4294967295),
    published_at INTEGER NOT NULL,
    outcome      TEXT NOT NULL CHECK (outcome IN ('published', 'refused', 'failed', 'dry_run', 'adopted')),
    triggered_by TEXT NOT NULL,
    reason       TEXT NOT NULL DEFAULT '',
    records      INTEGER NOT NULL CHECK (records >= 0),
    delegations  INTEGER NOT NULL CHECK (delegations >= 0),
    digest       TEXT NOT NULL DEFAULT '' CHECK (digest NOT GLOB '*[^0-9a-f]*'),
    details      TEXT NOT NULL DEFAULT '{}' CHECK (json_valid(details) AND json_type(details) = 'object')
) STRICT;
INSERT INTO publications_new (id, zone, serial, published_at, outcome, triggered_by, reason, records, delegations, digest, details)
    SELECT id, zone, serial, published_at, outcome, triggered_by, reason, records, delegations, digest, details
    FROM publications;
DROP TABLE publications;
ALTER TABLE publications_new RENAME TO publications;
CREATE INDEX publications_zone ON publications (zone, id DESC);
-- The publish guard's window reads a zone's entries by time (0008).
CREATE INDEX publications_zone_time ON publications (zone, published_at);
