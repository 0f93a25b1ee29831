-- The change feed: which domains a publication must look at again since
-- the last one, so that it need not read the whole registry.
--
-- Writers are serialized in SQLite, so a counter orders them: every write
-- stamps the rows it touches with the counter's value, and a snapshot
-- first moves the counter on (in a transaction of its own) and takes the
-- new value as its token. The domains changed since token N are those
-- stamped N or later: every write stamped below N committed before the
-- counter moved. Writes that stamp their rows themselves set changed;
-- the triggers stamp rows written by anything else.
CREATE TABLE change_feed (
    id      INTEGER PRIMARY KEY CHECK (id = 1),
    epoch   TEXT NOT NULL,
    counter INTEGER NOT NULL
) STRICT;
INSERT INTO change_feed (id, epoch, counter) VALUES (1, lower(hex(randomblob(16))), 1);

ALTER TABLE domains ADD COLUMN changed INTEGER NOT NULL DEFAULT 0;
CREATE INDEX domains_changed ON domains (changed);

CREATE TRIGGER domains_inserted AFTER INSERT ON domains
    WHEN NEW.changed < (SELECT counter FROM change_feed)
BEGIN
    UPDATE domains SET changed = (SELECT counter FROM change_feed) WHERE name = NEW.name;
END;
CREATE TRIGGER domains_updated AFTER UPDATE ON domains
    WHEN NEW.changed < (SELECT counter FROM change_feed)
BEGIN
    UPDATE domains SET changed = (SELECT counter FROM change_feed) WHERE name = NEW.name;
END;

CREATE TABLE domain_deletions (
    name    TEXT NOT NULL,
    zone    TEXT NOT NULL,
    changed INTEGER NOT NULL
) STRICT;
CREATE INDEX domain_deletions_changed ON domain_deletions (changed);

CREATE TRIGGER domains_deleted AFTER DELETE ON domains
BEGIN
    INSERT INTO domain_deletions (name, zone, changed) VALUES (OLD.name, OLD.zone, (SELECT counter FROM change_feed));
END;

-- A delegation state that crosses the gate changes the zone; a check that
-- changes nothing else does not.
CREATE TRIGGER delegation_state_inserted AFTER INSERT ON delegation_state
BEGIN
    UPDATE domains SET changed = (SELECT counter FROM change_feed) WHERE id = NEW.domain_id;
END;
CREATE TRIGGER delegation_state_updated AFTER UPDATE ON delegation_state
    WHEN (OLD.last_passed IS NULL) <> (NEW.last_passed IS NULL) OR OLD.withheld <> NEW.withheld
BEGIN
    UPDATE domains SET changed = (SELECT counter FROM change_feed) WHERE id = NEW.domain_id;
END;
CREATE TRIGGER delegation_state_deleted AFTER DELETE ON delegation_state
BEGIN
    UPDATE domains SET changed = (SELECT counter FROM change_feed) WHERE id = OLD.domain_id;
END;
