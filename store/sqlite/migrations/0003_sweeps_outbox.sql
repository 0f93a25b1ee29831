-- Sweeps: one row per pass of the delegation checker over every active
-- domain. The cursor is the last domain (in name order) whose result is
-- recorded, written in the same transaction as the results, so a sweep
-- interrupted by a restart goes on after it.
CREATE TABLE sweeps (
    id       INTEGER PRIMARY KEY,
    started  INTEGER NOT NULL,
    finished INTEGER,
    cursor   TEXT NOT NULL DEFAULT '',
    checked  INTEGER NOT NULL DEFAULT 0 CHECK (checked >= 0),
    failed   INTEGER NOT NULL DEFAULT 0 CHECK (failed >= 0)
) STRICT;
-- At most one sweep runs at a time.
CREATE UNIQUE INDEX sweeps_one_running ON sweeps ((finished IS NULL)) WHERE finished IS NULL;

-- The outbox: notices to technical contacts and registrars, queued in the
-- transaction that records the check that calls for them, sent later by
-- the notifier. The domain's name is kept, not its row: a notice outlives
-- the domain's deletion.
CREATE TABLE outbox (
    id         INTEGER PRIMARY KEY,
    created    INTEGER NOT NULL,
    domain     TEXT NOT NULL,
    kind       TEXT NOT NULL CHECK (kind IN ('delegation_failing', 'delegation_reminder', 'delegation_withheld',
                                             'delegation_restored', 'delegation_refused')),
    role       TEXT NOT NULL CHECK (role IN ('tech', 'registrar')),
    recipient  TEXT NOT NULL CHECK (recipient <> ''),
    deadline   INTEGER,
    findings   TEXT NOT NULL DEFAULT '[]' CHECK (json_valid(findings) AND json_type(findings) = 'array'),
    sent       INTEGER,
    attempts   INTEGER NOT NULL DEFAULT 0 CHECK (attempts >= 0),
    last_error TEXT NOT NULL DEFAULT ''
) STRICT;
CREATE INDEX outbox_pending ON outbox (id) WHERE sent IS NULL;
