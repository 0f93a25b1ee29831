-- Operators' actions. audit_log: every action an operator takes (publish
-- now, force, freeze, thaw, a check asked for), who, when, on what and
-- why, never updated. publishing_freeze: at most one row; while it is
-- there, no daemon publishes.
CREATE TABLE audit_log (
    id     bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    at     timestamptz NOT NULL,
    actor  text NOT NULL CHECK (actor <> ''),
    action text NOT NULL CHECK (action <> ''),
    target text NOT NULL DEFAULT '',
    reason text NOT NULL DEFAULT '',
    detail jsonb NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(detail) = 'object')
);

CREATE TABLE publishing_freeze (
    one    boolean PRIMARY KEY DEFAULT true CHECK (one),
    at     timestamptz NOT NULL,
    actor  text NOT NULL CHECK (actor <> ''),
    reason text NOT NULL CHECK (reason <> '')
);
