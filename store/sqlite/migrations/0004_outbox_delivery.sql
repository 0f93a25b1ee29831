-- The notifier's bookkeeping. next_attempt: after a failed delivery, when
-- the notice may be tried again. claimed_until: a notifier holds the
-- notice until then; a claim that lapses (its notifier died) frees the
-- notice for another, so it is neither lost nor sent by two at once.
ALTER TABLE outbox ADD COLUMN next_attempt INTEGER;
ALTER TABLE outbox ADD COLUMN claimed_until INTEGER;
