-- 0001: the registry, delegation checks and the publication log.
-- Released migrations are never edited; change the schema with a new file.

-- Hostnames as the registry stores them: A-labels, lowercase, no trailing dot.
CREATE FUNCTION ptz_is_hostname(h text) RETURNS boolean
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
RETURN length(h) <= 253
   AND h ~ '^([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)*[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$';

-- Glue addresses are single hosts: no prefixes, no zero address.
CREATE FUNCTION ptz_are_host_addrs(a inet[]) RETURNS boolean
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
RETURN coalesce((SELECT bool_and(x IS NOT NULL
                                 AND masklen(x) = CASE family(x) WHEN 4 THEN 32 ELSE 128 END
                                 AND x <> '0.0.0.0'::inet AND x <> '::'::inet)
                 FROM unnest(a) AS x), true)
   AND cardinality(a) <= 16;

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

CREATE TABLE nameservers (
    domain_id bigint NOT NULL REFERENCES domains (id) ON DELETE CASCADE,
    position  smallint NOT NULL CHECK (position BETWEEN 0 AND 12),
    host      text COLLATE "C" NOT NULL CHECK (ptz_is_hostname(host) AND strpos(host, '.') > 0),
    addrs     inet[] NOT NULL DEFAULT '{}' CHECK (ptz_are_host_addrs(addrs)),
    PRIMARY KEY (domain_id, position),
    UNIQUE (domain_id, host)
);
-- Hosting providers serve thousands of domains: the checker looks them up.
CREATE INDEX nameservers_host ON nameservers (host);

CREATE TABLE ds_records (
    domain_id   bigint NOT NULL REFERENCES domains (id) ON DELETE CASCADE,
    position    smallint NOT NULL CHECK (position BETWEEN 0 AND 15),
    key_tag     integer NOT NULL CHECK (key_tag BETWEEN 0 AND 65535),
    algorithm   smallint NOT NULL CHECK (algorithm BETWEEN 1 AND 255),
    digest_type smallint NOT NULL CHECK (digest_type BETWEEN 1 AND 255),
    digest      text NOT NULL CHECK (digest ~ '^([0-9A-F]{2}){1,64}$'),
    -- Digest sizes fixed by RFC 3658 (1), 4509 (2), 5933 (3), 6605 (4).
    CONSTRAINT ds_digest_length CHECK (
        digest_type NOT IN (1, 2, 3, 4)
        OR length(digest) = CASE digest_type WHEN 1 THEN 40 WHEN 4 THEN 96 ELSE 64 END),
    PRIMARY KEY (domain_id, position),
    UNIQUE (domain_id, key_tag, algorithm, digest_type, digest)
);

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
