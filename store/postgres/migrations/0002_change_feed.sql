-- The change feed: which domains a publication must look at again since
-- the last one, so that it need not read the whole registry.
--
-- Each domain row carries the id of the transaction that last wrote it
-- (xid8: 64 bits, never wraps). A snapshot is a pg_snapshot; the domains
-- changed since snapshot S are those whose writer S did not see:
-- changed >= xmin(S) AND NOT pg_visible_in_snapshot(changed, S). Unlike a
-- sequence or a clock, this cannot miss a transaction that commits late.

-- Identifies this feed: a token from another database is refused.
CREATE TABLE change_feed (
    epoch text NOT NULL
);
INSERT INTO change_feed (epoch) VALUES (gen_random_uuid()::text);

ALTER TABLE domains ADD COLUMN changed xid8 NOT NULL DEFAULT pg_current_xact_id();
CREATE INDEX domains_changed ON domains (changed);

CREATE FUNCTION ptz_domain_written() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    NEW.changed := pg_current_xact_id();
    RETURN NEW;
END $$;
CREATE TRIGGER domains_written BEFORE UPDATE ON domains
    FOR EACH ROW EXECUTE FUNCTION ptz_domain_written();

-- Deleted domains, for as long as the feed keeps them.
CREATE TABLE domain_deletions (
    name    text COLLATE "C" NOT NULL,
    zone    text COLLATE "C" NOT NULL,
    changed xid8 NOT NULL DEFAULT pg_current_xact_id()
);
CREATE INDEX domain_deletions_changed ON domain_deletions (changed);

CREATE FUNCTION ptz_domain_deleted() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO domain_deletions (name, zone) VALUES (OLD.name, OLD.zone);
    RETURN OLD;
END $$;
CREATE TRIGGER domains_deleted AFTER DELETE ON domains
    FOR EACH ROW EXECUTE FUNCTION ptz_domain_deleted();

-- A delegation state that crosses the gate (a first pass, withheld or no
-- longer) changes the zone; a check that changes nothing else does not,
-- or every sweep of the checker would touch every domain.
CREATE FUNCTION ptz_state_written() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        UPDATE domains SET changed = pg_current_xact_id() WHERE id = OLD.domain_id;
        RETURN OLD;
    END IF;
    IF TG_OP = 'INSERT'
       OR (OLD.last_passed IS NULL) <> (NEW.last_passed IS NULL)
       OR OLD.withheld <> NEW.withheld THEN
        UPDATE domains SET changed = pg_current_xact_id() WHERE id = NEW.domain_id;
    END IF;
    RETURN NEW;
END $$;
CREATE TRIGGER delegation_state_written AFTER INSERT OR UPDATE OR DELETE ON delegation_state
    FOR EACH ROW EXECUTE FUNCTION ptz_state_written();
