-- An organisation's feed event names the outbox row that publishes it (`outbox_id`) instead of
-- keeping a second copy of its body: the body is written once, in `outbox.body`, and the feed
-- reads it from there (src/store/feed.rs). Retention keeps an outbox row as long as a feed
-- event names it (src/store/retention.rs), so the feed never loses a body it still shows.
--
-- Feed events written before this migration keep their own `body` and no `outbox_id` (their
-- outbox rows may already be pruned); each row has one or the other. SQLite cannot drop a
-- NOT NULL in place, so the table is rebuilt, and the age index with it.
CREATE TABLE org_feed_v2 (
    org_id        TEXT   NOT NULL,
    seq           BIGINT NOT NULL,
    event_id      TEXT   NOT NULL,
    event_type    TEXT   NOT NULL,
    outbox_id     BIGINT,
    body          BLOB,
    created_at_ms BIGINT NOT NULL,
    PRIMARY KEY (org_id, seq),
    CHECK (outbox_id IS NOT NULL OR body IS NOT NULL)
);

INSERT INTO org_feed_v2 (org_id, seq, event_id, event_type, body, created_at_ms)
SELECT org_id, seq, event_id, event_type, body, created_at_ms FROM org_feed;

DROP TABLE org_feed;
ALTER TABLE org_feed_v2 RENAME TO org_feed;

-- Retention prunes by age.
CREATE INDEX org_feed_by_age ON org_feed (created_at_ms);
-- Outbox retention asks whether a feed event still names a row.
CREATE INDEX org_feed_by_outbox ON org_feed (outbox_id) WHERE outbox_id IS NOT NULL;
