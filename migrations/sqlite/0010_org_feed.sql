-- Each organisation's feed: every event the hub addresses to an organisation, in the order
-- its queue receives them, for the partners that read over HTTP (`GET /v1/feed`) or take
-- webhooks. A row is written in the same transaction as the outbox row that publishes the
-- event, so the feed and the queue never disagree about what was sent.
--
-- `seq` numbers one organisation's events 1, 2, 3, … from `org_feed_heads`, whose row for the
-- organisation every appending transaction updates (and so locks) until it commits: two
-- transactions appending to the same feed commit in `seq` order, and a reader that has seen
-- `seq` n never later finds a new row below n. A global sequence would not give that on
-- PostgreSQL, where a later number can commit first.
CREATE TABLE org_feed_heads (
    org_id   TEXT   NOT NULL PRIMARY KEY,
    last_seq BIGINT NOT NULL
);

CREATE TABLE org_feed (
    org_id        TEXT   NOT NULL,
    seq           BIGINT NOT NULL,
    event_id      TEXT   NOT NULL,
    event_type    TEXT   NOT NULL,
    body          BLOB   NOT NULL,
    created_at_ms BIGINT NOT NULL,
    PRIMARY KEY (org_id, seq)
);

-- Retention prunes by age.
CREATE INDEX org_feed_by_age ON org_feed (created_at_ms);
