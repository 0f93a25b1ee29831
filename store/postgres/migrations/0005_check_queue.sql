-- The check queue: domains whose delegation is new or changed wait here
-- for a check (a new one enters the zone only after one passes, Art 4.2),
-- with those a registrar or an operator asked to have checked again.
-- Triggers fill it from every write to domains, ptzone's or the
-- registry's own. Daemons sharing the database claim requests for a lease;
-- version grows with each request, so that a check finishing after the
-- delegation changed again leaves the newer request queued.
CREATE TABLE check_queue (
    domain_id     bigint PRIMARY KEY REFERENCES domains (id) ON DELETE CASCADE,
    requested     timestamptz NOT NULL,
    reason        text NOT NULL CHECK (reason IN ('new', 'changed', 'registrar', 'operator')),
    version       bigint NOT NULL DEFAULT 1,
    claimed_until timestamptz
);
CREATE INDEX check_queue_requested ON check_queue (requested);

-- Statement triggers over the transition tables: a bulk import queues its
-- domains in one INSERT, not one function call a row.
CREATE FUNCTION ptz_queue_new() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO check_queue (domain_id, requested, reason)
    SELECT id, updated, 'new' FROM inserted WHERE status = 'active' AND cardinality(nameservers) > 0
    ON CONFLICT (domain_id) DO UPDATE
        SET requested = excluded.requested, reason = excluded.reason, version = check_queue.version + 1;
    RETURN NULL;
END $$;
CREATE TRIGGER domains_queue_new AFTER INSERT ON domains
    REFERENCING NEW TABLE AS inserted FOR EACH STATEMENT EXECUTE FUNCTION ptz_queue_new();

CREATE FUNCTION ptz_queue_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO check_queue (domain_id, requested, reason)
    SELECT n.id, n.updated, 'changed' FROM updated_new n JOIN updated_old o ON o.id = n.id
    WHERE n.status = 'active' AND cardinality(n.nameservers) > 0
      AND (n.nameservers IS DISTINCT FROM o.nameservers OR n.ds IS DISTINCT FROM o.ds OR o.status <> 'active')
    ON CONFLICT (domain_id) DO UPDATE
        SET requested = excluded.requested, reason = excluded.reason, version = check_queue.version + 1;
    RETURN NULL;
END $$;
CREATE TRIGGER domains_queue_changed AFTER UPDATE ON domains
    REFERENCING OLD TABLE AS updated_old NEW TABLE AS updated_new
    FOR EACH STATEMENT EXECUTE FUNCTION ptz_queue_changed();
