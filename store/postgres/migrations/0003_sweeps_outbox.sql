-- Sweeps: one row per pass of the delegation checker over every active
-- domain. The cursor is the last domain (in name order) whose result is
-- recorded, written in the same transaction as the results, so a sweep
-- interrupted by a restart goes on after it.
CREATE TABLE sweeps (
    id       bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    started  timestamptz NOT NULL,
    finished timestamptz,
    cursor   text NOT NULL DEFAULT '',
    checked  integer NOT NULL DEFAULT 0 CHECK (checked >= 0),
    failed   integer NOT NULL DEFAULT 0 CHECK (failed >= 0)
);
-- At most one sweep runs at a time.
CREATE UNIQUE INDEX sweeps_one_running ON sweeps ((true)) WHERE finished IS NULL;

-- The outbox: notices to technical contacts and registrars, queued in the
-- transaction that records the check that calls for them, sent later by
-- the notifier. The domain's name is kept, not its row: a notice outlives
-- the domain's deletion.
CREATE TABLE outbox (
    id        bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    created   timestamptz NOT NULL,
    domain    text NOT NULL,
    kind      text NOT NULL CHECK (kind IN ('delegation_failing', 'delegation_reminder', 'delegation_withheld',
                                            'delegation_restored', 'delegation_refused')),
    role      text NOT NULL CHECK (role IN ('tech', 'registrar')),
    recipient text NOT NULL CHECK (recipient <> ''),
    deadline  timestamptz,
    findings  jsonb NOT NULL DEFAULT '[]' CHECK (jsonb_typeof(findings) = 'array'),
    sent      timestamptz,
    attempts  integer NOT NULL DEFAULT 0 CHECK (attempts >= 0),
    last_error text NOT NULL DEFAULT ''
);
CREATE INDEX outbox_pending ON outbox (id) WHERE sent IS NULL;
