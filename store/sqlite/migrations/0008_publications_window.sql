-- The publish guard sums the changes a zone's publications made over a
-- window of time (publish.Guard.Window): it reads the zone's entries by
-- time, every publication.
CREATE INDEX publications_zone_time ON publications (zone, published_at);
