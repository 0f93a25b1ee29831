-- A notice may be queued for the registry's webhook too (role
-- 'webhook', recipient the webhook's name in the configuration).
-- SQLite cannot change a CHECK in place: the table is rebuilt with the
-- same columns, rows (ids kept) and index, in the migration's
-- transaction.
CREATE TABLE outbox_new (
    id            INTEGER PRIMARY KEY,
    created       INTEGER NOT NULL,
    domain        TEXT NOT NULL,
    kind          TEXT NOT NULL CHECK (kind IN ('delegation_failing', 'delegation_reminder', 'delegation_withheld',
                                                'delegation_restored', 'delegation_refused')),
    role          TEXT NOT NULL CHECK (role IN ('tech', 'registrar', 'webhook')),
    recipient     TEXT NOT NULL CHECK (recipient <> ''),
    deadline      INTEGER,
    findings      TEXT NOT NULL DEFAULT '[]' CHECK (json_valid(findings) AND json_type(findings) = 'array'),
    sent          INTEGER,
    attempts      INTEGER NOT NULL DEFAULT 0 CHECK (attempts >= 0),
    last_error    TEXT NOT NULL DEFAULT '',
    next_attempt  INTEGER,
    claimed_until INTEGER
) STRICT;
INSERT INTO outbox_new (id, created, domain, kind, role, recipient, deadline, findings, sent, attempts, last_error,
                        next_attempt, claimed_until)
    SELECT id, created, domain, kind, role, recipient, deadline, findings, sent, attempts, last_error,
           next_attempt, claimed_until
    FROM outbox;
DROP TABLE outbox;
ALTER TABLE outbox_new RENAME TO outbox;
CREATE INDEX outbox_pending ON outbox (id) WHERE sent IS NULL;
