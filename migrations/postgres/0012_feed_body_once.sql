-- An organisation's feed event names the outbox row that publishes it (`outbox_id`) instead of
-- keeping a second copy of its body: the body is written once, in `outbox.body`, and the feed
-- reads it from there (src/store/feed.rs). Retention keeps an outbox row as long as a feed
-- event names it (src/store/retention.rs), so the feed never loses a body it still shows.
--
-- Feed events written before this migration keep their own `body` and no `outbox_id` (their
-- outbox rows may already be pruned); each row has one or the other.
ALTER TABLE org_feed ALTER COLUMN body DROP NOT NULL;
ALTER TABLE org_feed ADD COLUMN outbox_id BIGINT;
ALTER TABLE org_feed ADD CONSTRAINT org_feed_body_or_outbox
    CHECK (outbox_id IS NOT NULL OR body IS NOT NULL);

-- Outbox retention asks whether a feed event still names a row.
CREATE INDEX org_feed_by_outbox ON org_feed (outbox_id) WHERE outbox_id IS NOT NULL;
