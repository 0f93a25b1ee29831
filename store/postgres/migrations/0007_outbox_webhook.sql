-- A notice may be queued for the registry's webhook too (role
-- 'webhook', recipient the webhook's name in the configuration).
ALTER TABLE outbox DROP CONSTRAINT outbox_role_check;
ALTER TABLE outbox ADD CONSTRAINT outbox_role_check CHECK (role IN ('tech', 'registrar', 'webhook'));
