-- Operators' actions. audit_log: every action an operator takes (publish
-- now, force, freeze, thaw, a check asked for), who, when, on what and
-- why, never updated. publishing_freeze: at most one row; while it is
-- there, no daemon publishes.
CREATE TABLE audit_log (
    id     INTEGER PRIMARY KEY,
    at     INTEGER NOT NULL,
    actor  TEXT NOT NULL CHECK (actor <> ''),
    action TEXT NOT NULL CHECK (action <> ''),
    target TEXT NOT NULL DEFAULT '',
    reason TEXT NOT NULL DEFAULT '',
    detail TEXT NOT NULL DEFAULT '{}' CHECK (json_valid(detail) AND json_type(detail) = 'object')
) STRICT;

CREATE TABLE publishing_freeze (
    one    INTEGER PRIMARY KEY DEFAULT 1 CHECK (one = 1),
    at     INTEGER NOT NULL,
    actor  TEXT NOT NULL CHECK (actor <> ''),
    reason TEXT NOT NULL CHECK (reason <> '')
) STRICT;
