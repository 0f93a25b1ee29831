-- The check queue: domains whose delegation is new or changed wait here
-- for a check (a new one enters the zone only after one passes, Art 4.2),
-- with those a registrar or an operator asked to have checked again.
-- Triggers fill it from every write to domains. A checker claims
-- requests for a lease; version grows with each request, so that a check
-- finishing after the delegation changed again leaves the newer request
-- queued.
CREATE TABLE check_queue (
    domain_id     INTEGER PRIMARY KEY REFERENCES domains (id) ON DELETE CASCADE,
    requested     INTEGER NOT NULL,
    reason        TEXT NOT NULL CHECK (reason IN ('new', 'changed', 'registrar', 'operator')),
    version       INTEGER NOT NULL DEFAULT 1,
    claimed_until INTEGER
) STRICT;
CREATE INDEX check_queue_requested ON check_queue (requested);

CREATE TRIGGER domains_queue_new AFTER INSERT ON domains
WHEN NEW.status = 'active' AND NEW.nameservers <> ''
BEGIN
    INSERT INTO check_queue (domain_id, requested, reason) VALUES (NEW.id, NEW.updated, 'new')
    ON CONFLICT (domain_id) DO UPDATE
        SET requested = excluded.requested, reason = excluded.reason, version = check_queue.version + 1;
END;

CREATE TRIGGER domains_queue_changed AFTER UPDATE OF nameservers, ds, status ON domains
WHEN NEW.status = 'active' AND NEW.nameservers <> ''
     AND (NEW.nameservers IS NOT OLD.nameservers OR NEW.ds IS NOT OLD.ds OR OLD.status <> 'active')
BEGIN
    INSERT INTO check_queue (domain_id, requested, reason) VALUES (NEW.id, NEW.updated, 'changed')
    ON CONFLICT (domain_id) DO UPDATE
        SET requested = excluded.requested, reason = excluded.reason, version = check_queue.version + 1;
END;
