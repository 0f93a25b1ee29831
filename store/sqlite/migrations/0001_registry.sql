-- 0001: the registry, delegation checks and the publication log; the same
-- semantics as store/postgres/migrations/0001_registry.sql in SQLite's
-- dialect. Released migrations are never edited.
-- Times are INTEGER microseconds since the Unix epoch, UTC; dates are TEXT
-- YYYY-MM-DD; booleans INTEGER 0 or 1. Tables are STRICT: a value of the
-- wrong type is refused, not converted.

CREATE TABLE zones (
    name   TEXT PRIMARY KEY CHECK (length(name) BETWEEN 1 AND 253 AND name NOT GLOB '*[^a-z0-9.-]*'),
    legacy INTEGER NOT NULL DEFAULT 0 CHECK (legacy IN (0, 1))
) STRICT;
-- Official hierarchies and the legacy ones (Rules Art 41.4).
INSERT INTO zones (name, legacy) VALUES
    ('pt', 0), ('com.pt', 0), ('org.pt', 0), ('edu.pt', 0), ('gov.pt', 0),
    ('net.pt', 1), ('publ.pt', 1), ('int.pt', 1), ('nome.pt', 1);

CREATE TABLE registrars (
    id         TEXT PRIMARY KEY CHECK (length(id) BETWEEN 1 AND 64 AND id NOT GLOB '*[^!-~]*'),
    name       TEXT NOT NULL DEFAULT '',
    email      TEXT NOT NULL DEFAULT '',
    token_hash BLOB UNIQUE CHECK (token_hash IS NULL OR length(token_hash) = 32),
    created    INTEGER NOT NULL
) STRICT;

-- Clustered on the name (WITHOUT ROWID): streaming a zone in name order is
-- a sequential walk of one B-tree, not an index lookup a row. The id stays
-- for the tables that refer to a domain.
CREATE TABLE domains (
    name          TEXT NOT NULL PRIMARY KEY CHECK (
                      length(name) <= 253 AND name NOT GLOB '*[^a-z0-9.-]*'
                      AND name NOT GLOB '*..*' AND name NOT GLOB '.*' AND name NOT GLOB '-*'
                      AND name NOT GLOB '*-.*' AND name NOT GLOB '*.-*'),
    id            INTEGER NOT NULL UNIQUE,
    zone          TEXT NOT NULL REFERENCES zones (name),
    status        TEXT NOT NULL CHECK (status IN ('reserved', 'active', 'pending_delete', 'suspended', 'removed')),
    registrar_id  TEXT NOT NULL REFERENCES registrars (id),
    expires       TEXT NOT NULL CHECK (date(expires) IS expires),
    tech_email    TEXT NOT NULL DEFAULT '',
    geo_authority INTEGER NOT NULL DEFAULT 0 CHECK (geo_authority IN (0, 1)),
    -- The delegation lives in the row, in store/internal/rowcodec's text
    -- form ("ns1.exemplo.pt 192.0.2.1 2001:db8::53,ns.hosting.net" and
    -- "12345 13 2 AB12..."), so that a zone streams from one table scan.
    -- SQLite has no address type: the backend parses and checks every
    -- field before writing; these checks keep out anything else.
    nameservers   TEXT NOT NULL DEFAULT '' CHECK (
                      nameservers NOT GLOB '*[^a-z0-9.:, -]*' AND nameservers NOT GLOB '*,,*'
                      AND nameservers NOT GLOB ',*' AND nameservers NOT GLOB '*,'),
    ds            TEXT NOT NULL DEFAULT '' CHECK (
                      ds NOT GLOB '*[^0-9A-F, ]*' AND ds NOT GLOB '*,,*' AND ds NOT GLOB ',*' AND ds NOT GLOB '*,'),
    created       INTEGER NOT NULL,
    updated       INTEGER NOT NULL,
    -- Exactly one label directly below its zone.
    CONSTRAINT domains_name_in_zone CHECK (
        substr(name, -length(zone) - 1) = '.' || zone
        AND instr(substr(name, 1, length(name) - length(zone) - 1), '.') = 0
        AND length(name) > length(zone) + 1)
) STRICT, WITHOUT ROWID;
CREATE INDEX domains_zone_name ON domains (zone, name);
CREATE INDEX domains_registrar ON domains (registrar_id);

CREATE TABLE delegation_state (
    domain_id            INTEGER PRIMARY KEY REFERENCES domains (id) ON DELETE CASCADE,
    last_verdict         TEXT NOT NULL CHECK (last_verdict IN ('pass', 'warning', 'fail')),
    last_checked         INTEGER NOT NULL,
    last_passed          INTEGER,
    first_failure        INTEGER,
    consecutive_failures INTEGER NOT NULL DEFAULT 0 CHECK (consecutive_failures >= 0),
    withheld             INTEGER NOT NULL DEFAULT 0 CHECK (withheld IN (0, 1)),
    reason               TEXT NOT NULL DEFAULT '',
    findings             TEXT NOT NULL DEFAULT '[]' CHECK (json_valid(findings) AND json_type(findings) = 'array'),
    updated              INTEGER NOT NULL
) STRICT;

CREATE TABLE check_results (
    id          INTEGER PRIMARY KEY,
    domain_id   INTEGER NOT NULL REFERENCES domains (id) ON DELETE CASCADE,
    checked_at  INTEGER NOT NULL,
    duration_us INTEGER NOT NULL CHECK (duration_us >= 0),
    trigger     TEXT NOT NULL,
    verdict     TEXT NOT NULL CHECK (verdict IN ('pass', 'warning', 'fail')),
    findings    TEXT NOT NULL DEFAULT '[]' CHECK (json_valid(findings) AND json_type(findings) = 'array')
) STRICT;
CREATE INDEX check_results_domain ON check_results (domain_id, checked_at DESC, id DESC);

CREATE TABLE publications (
    id           INTEGER PRIMARY KEY,
    zone         TEXT NOT NULL REFERENCES zones (name),
    serial       INTEGER NOT NULL CHECK (serial BETWEEN 0 AND 4294967295),
    published_at INTEGER NOT NULL,
    outcome      TEXT NOT NULL CHECK (outcome IN ('published', 'refused', 'failed', 'dry_run')),
    triggered_by TEXT NOT NULL,
    reason       TEXT NOT NULL DEFAULT '',
    records      INTEGER NOT NULL CHECK (records >= 0),
    delegations  INTEGER NOT NULL CHECK (delegations >= 0),
    digest       TEXT NOT NULL DEFAULT '' CHECK (digest NOT GLOB '*[^0-9a-f]*'),
    details      TEXT NOT NULL DEFAULT '{}' CHECK (json_valid(details) AND json_type(details) = 'object')
) STRICT;
CREATE INDEX publications_zone ON publications (zone, id DESC);
