-- Webhooks: the hub POSTs each organisation's feed (migration 0010) to its URL, signed.
--
-- `webhooks` holds the URLs organisations registered themselves (PUT /v1/webhook); URLs the
-- operator configured live in the configuration, not here. The secret is kept as given: the
-- hub signs with it, so it cannot be kept as a hash the way API tokens are.
CREATE TABLE webhooks (
    org_id        TEXT   NOT NULL PRIMARY KEY,
    url           TEXT   NOT NULL,
    secret        TEXT   NOT NULL,
    created_at_ms BIGINT NOT NULL,
    updated_at_ms BIGINT NOT NULL
);

-- Each organisation's delivery, whichever way its URL came: which URL passed the handshake
-- (`url`, `validated_at_ms`; a changed URL needs a new one), how far the feed is delivered
-- (`delivered_seq`), and the failures of the event being tried now (`current_seq`, `attempts`,
-- `first_failure_ms`, `next_attempt_ms`, `last_error`: a status code or an error kind). One hub
-- instance delivers an organisation's webhooks at a time: it holds the row's lease
-- (`lease_token`, `leased_until_ms`) and renews it while it works; every write it makes
-- carries its token, so an instance whose lease ran out cannot write any more.
CREATE TABLE webhook_state (
    org_id           TEXT   NOT NULL PRIMARY KEY,
    url              TEXT   NOT NULL,
    validated_at_ms  BIGINT,
    delivered_seq    BIGINT NOT NULL DEFAULT 0,
    current_seq      BIGINT NOT NULL DEFAULT 0,
    attempts         BIGINT NOT NULL DEFAULT 0,
    first_failure_ms BIGINT,
    next_attempt_ms  BIGINT NOT NULL DEFAULT 0,
    last_error       TEXT,
    lease_token      TEXT,
    leased_until_ms  BIGINT
);

-- Events set aside after failing past the retry horizon, or refused for good (another 4xx, a
-- redirect). `requeued_at_ms` is set by `samverkan webhooks redeliver`: the dispatcher then
-- tries the event again before the rest of the feed, and deletes the row once it is delivered.
-- The body stays in the feed; only ids, the type and what went wrong are kept here.
CREATE TABLE webhook_parked (
    org_id         TEXT   NOT NULL,
    seq            BIGINT NOT NULL,
    event_id       TEXT   NOT NULL,
    event_type     TEXT   NOT NULL,
    last_error     TEXT   NOT NULL,
    attempts       BIGINT NOT NULL,
    parked_at_ms   BIGINT NOT NULL,
    requeued_at_ms BIGINT,
    PRIMARY KEY (org_id, seq)
);
