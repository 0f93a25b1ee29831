-- 0001: the registry, delegation checks and the publication log.
-- Released migrations are never edited; change the schema with a new file.

-- Hostnames as the registry stores them: A-labels, lowercase, no trailing
-- dot. Written as one character class and one structural pattern rather
-- than a pattern with bounded repetitions, which PostgreSQL's regular
-- expression engine runs several times slower.
CREATE FUNCTION ptz_is_hostname(h text) RETURNS boolean
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
RETURN h <> '' AND length(h) <= 253
   AND h !~ '[^a-z0-9.-]|(^|\.)-|-(\.|$)|\.\.|^\.|\.$'
   AND (length(h) < 64 OR h !~ '[^.]{64}');

-- A domain's delegation lives in its own row, as typed arrays, so that the
-- publisher streams a zone with one index scan and no per-row joins.
CREATE TYPE nameserver AS (host text, addrs inet[]);
CREATE TYPE ds_record AS (key_tag integer, algorithm smallint, digest_type smallint, digest text);

-- At most 13 nameservers, each a fully qualified host name, none twice,
-- with at most 16 distinct single-host glue addresses (no prefix, not the
-- zero address). PL/pgSQL: a loop is much cheaper per row than subqueries
-- over unnest(), and the import checks millions of rows.
CREATE FUNCTION ptz_valid_nameservers(ns nameserver[]) RETURNS boolean
LANGUAGE plpgsql IMMUTABLE STRICT PARALLEL SAFE AS $body$
DECLARE
    n nameserver;
    a inet;
    hosts text[] := '{}';
    seen inet[];
BEGIN
    IF cardinality(ns) > 13 THEN
        RETURN false;
    END IF;
    FOREACH n IN ARRAY ns LOOP
        IF n.host IS NULL OR n.addrs IS NULL OR length(n.host) > 253 OR strpos(n.host, '.') = 0
           OR n.host ~ '[^a-z0-9.-]|(^|\.)-|-(\.|$)|\.\.|^\.|\.$'
           OR (length(n.host) > 63 AND n.host ~ '[^.]{64}')
           OR n.host = ANY (hosts) OR cardinality(n.addrs) > 16 THEN
            RETURN false;
        END IF;
        hosts := hosts || n.host;
        IF cardinality(n.addrs) > 0 THEN
            seen := '{}';
            FOREACH a IN ARRAY n.addrs LOOP
                -- (CASE ...) in parentheses: PL/pgSQL would end the IF at its THEN.
                IF a IS NULL OR masklen(a) <> (CASE family(a) WHEN 4 THEN 32 ELSE 128 END)
                   OR a = '0.0.0.0'::inet OR a = '::'::inet OR a = ANY (seen) THEN
                    RETURN false;
                END IF;
                seen := seen || a;
            END LOOP;
        END IF;
    END LOOP;
    RETURN true;
END;
$body$;

-- At most 16 DS records in range, uppercase hex digests of the size their
-- type fixes (RFC 3658 (1), 4509 (2), 5933 (3), 6605 (4)), none twice.
CREATE FUNCTION ptz_valid_ds(ds ds_record[]) RETURNS boolean
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
RETURN cardinality(ds) = 0
    OR cardinality(ds) <= 16
   AND coalesce((SELECT bool_and((r.key_tag BETWEEN 0 AND 65535
                                  AND r.algorithm BETWEEN 1 AND 255
                                  AND r.digest_type BETWEEN 1 AND 255
                                  AND r.digest ~ '^([0-9A-F]{2}){1,64}$'
                                  AND (r.digest_type NOT IN (1, 2, 3, 4)
                                       OR length(r.digest) = CASE r.digest_type WHEN 1 THEN 40 WHEN 4 THEN 96 ELSE 64 END)) IS TRUE)
                 FROM unnest(ds) AS r), true)
   AND (SELECT count(DISTINCT r) FROM unnest(ds) AS r) = cardinality(ds);

-- Builders from the flat arrays the application sends; an address that is
-- not one fails the cast with the value in the message.
CREATE FUNCTION ptz_make_nameservers(hosts text[], addrs text[]) RETURNS nameserver[]
LANGUAGE plpgsql IMMUTABLE STRICT PARALLEL SAFE AS $body$
DECLARE
    out nameserver[] := '{}';
BEGIN
    IF cardinality(hosts) <> cardinality(addrs) THEN
        RAISE EXCEPTION 'ptz_make_nameservers: % hosts but % address lists', cardinality(hosts), cardinality(addrs);
    END IF;
    FOR i IN 1 .. cardinality(hosts) LOOP
        out := out || ROW(hosts[i], string_to_array(addrs[i], ' ')::inet[])::nameserver;
    END LOOP;
    RETURN out;
END;
$body$;

CREATE FUNCTION ptz_make_ds(tags integer[], algs integer[], types integer[], digests text[]) RETURNS ds_record[]
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
RETURN CASE WHEN cardinality(tags) = 0 THEN '{}'::ds_record[]
       ELSE (SELECT array_agg(ROW(u.t, u.a, u.y, u.d)::ds_record ORDER BY u.o)
             FROM unnest(tags, algs, types, digests) WITH ORDINALITY AS u(t, a, y, d, o)) END;

-- The text forms the backend streams (store/internal/rowcodec's format):
--   "ns1.exemplo.pt 192.0.2.1 2001:db8::53,ns.hosting.net" and
--   "12345 13 2 AB12...". They are generated columns: PostgreSQL derives
-- them from the typed arrays, so they cannot disagree with them.
CREATE FUNCTION ptz_nameservers_text(ns nameserver[]) RETURNS text
LANGUAGE plpgsql IMMUTABLE STRICT PARALLEL SAFE AS $body$
DECLARE
    n nameserver;
    out text := '';
BEGIN
    FOREACH n IN ARRAY ns LOOP
        IF out <> '' THEN
            out := out || ',';
        END IF;
        out := out || n.host;
        IF cardinality(n.addrs) > 0 THEN
            out := out || ' ' || array_to_string(n.addrs, ' ');
        END IF;
    END LOOP;
    RETURN out;
END;
$body$;

CREATE FUNCTION ptz_ds_text(ds ds_record[]) RETURNS text
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
RETURN CASE WHEN cardinality(ds) = 0 THEN ''
       ELSE (SELECT string_agg(u.t || ' ' || u.a || ' ' || u.y || ' ' || u.d, ',' ORDER BY u.o)
             FROM unnest(ds) WITH ORDINALITY AS u(t, a, y, d, o)) END;

CREATE TABLE zones (
    name   text COLLATE "C" PRIMARY KEY CHECK (ptz_is_hostname(name)),
    legacy boolean NOT NULL DEFAULT false
);
-- Official hierarchies and the legacy ones (Rules Art 41.4).
INSERT INTO zones (name, legacy) VALUES
    ('pt', false), ('com.pt', false), ('org.pt', false), ('edu.pt', false), ('gov.pt', false),
    ('net.pt', true), ('publ.pt', true), ('int.pt', true), ('nome.pt', true);

CREATE TYPE domain_status AS ENUM ('reserved', 'active', 'pending_delete', 'suspended', 'removed');
CREATE TYPE check_verdict AS ENUM ('pass', 'warning', 'fail');
CREATE TYPE publication_outcome AS ENUM ('published', 'refused', 'failed', 'dry_run');

CREATE TABLE registrars (
    id         text PRIMARY KEY CHECK (id ~ '^[!-~]{1,64}$'),
    name       text NOT NULL DEFAULT '',
    email      text NOT NULL DEFAULT '',
    token_hash bytea UNIQUE CHECK (length(token_hash) = 32),
    created    timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE domains (
    id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    -- Byte order, as in SQLite and the DNS tools: exports are identical
    -- whatever the database's locale.
    name          text COLLATE "C" NOT NULL UNIQUE CHECK (ptz_is_hostname(name)),
    zone          text COLLATE "C" NOT NULL REFERENCES zones (name),
    status        domain_status NOT NULL,
    registrar_id  text NOT NULL REFERENCES registrars (id),
    expires       date NOT NULL,
    tech_email    text NOT NULL DEFAULT '',
    geo_authority boolean NOT NULL DEFAULT false,
    nameservers   nameserver[] NOT NULL DEFAULT '{}' CHECK (ptz_valid_nameservers(nameservers)),
    ds            ds_record[] NOT NULL DEFAULT '{}' CHECK (ptz_valid_ds(ds)),
    ns_text       text NOT NULL GENERATED ALWAYS AS (ptz_nameservers_text(nameservers)) STORED,
    ds_text       text NOT NULL GENERATED ALWAYS AS (ptz_ds_text(ds)) STORED,
    created       timestamptz NOT NULL DEFAULT now(),
    updated       timestamptz NOT NULL DEFAULT now(),
    -- Exactly one label directly below its zone.
    CONSTRAINT domains_name_in_zone CHECK (
        right(name, length(zone) + 1) = '.' || zone
        AND strpos(left(name, length(name) - length(zone) - 1), '.') = 0)
);
-- The publication snapshot streams one zone's domains in name order.
CREATE INDEX domains_zone_name ON domains (zone, name);
CREATE INDEX domains_registrar ON domains (registrar_id);

CREATE TABLE delegation_state (
    domain_id            bigint PRIMARY KEY REFERENCES domains (id) ON DELETE CASCADE,
    last_verdict         check_verdict NOT NULL,
    last_checked         timestamptz NOT NULL,
    last_passed          timestamptz,
    first_failure        timestamptz,
    consecutive_failures integer NOT NULL DEFAULT 0 CHECK (consecutive_failures >= 0),
    withheld             boolean NOT NULL DEFAULT false,
    reason               text NOT NULL DEFAULT '',
    findings             jsonb NOT NULL DEFAULT '[]' CHECK (jsonb_typeof(findings) = 'array'),
    updated              timestamptz NOT NULL
);

CREATE TABLE check_results (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    domain_id   bigint NOT NULL REFERENCES domains (id) ON DELETE CASCADE,
    checked_at  timestamptz NOT NULL,
    duration_us bigint NOT NULL CHECK (duration_us >= 0),
    trigger     text NOT NULL,
    verdict     check_verdict NOT NULL,
    findings    jsonb NOT NULL DEFAULT '[]' CHECK (jsonb_typeof(findings) = 'array')
);
CREATE INDEX check_results_domain ON check_results (domain_id, checked_at DESC, id DESC);

CREATE TABLE publications (
    id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    zone         text NOT NULL REFERENCES zones (name),
    serial       bigint NOT NULL CHECK (serial BETWEEN 0 AND 4294967295),
    published_at timestamptz NOT NULL,
    outcome      publication_outcome NOT NULL,
    triggered_by text NOT NULL,
    reason       text NOT NULL DEFAULT '',
    records      integer NOT NULL CHECK (records >= 0),
    delegations  integer NOT NULL CHECK (delegations >= 0),
    digest       text NOT NULL DEFAULT '' CHECK (digest ~ '^[0-9a-f]*$'),
    details      jsonb NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(details) = 'object')
);
CREATE INDEX publications_zone ON publications (zone, id DESC);
