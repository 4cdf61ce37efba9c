-- The hub's durable state: needs, recipients, answers, inbox, outbox and audit; PostgreSQL dialect.
--
-- migrations/sqlite/0001_store.sql creates the same tables, columns and constraints; only the
-- spelling of an auto-increment key, of a byte string and of the code checks differs. Times are
-- unix milliseconds (UTC) in BIGINT `*_ms` columns and JSON is TEXT: the representation both
-- backends read through sqlx's `Any` driver, and one that compares correctly as numbers.

-- One row per need. `view` is the PII-free need view the hub publishes, never the raw
-- submission; `version` grows by one on every state change (optimistic locking).
CREATE TABLE needs (
    need_id       TEXT    NOT NULL PRIMARY KEY,
    region        TEXT    NOT NULL,
    state         TEXT    NOT NULL CHECK (state IN ('received', 'published', 'unmatched',
                                        'rejected', 'answered', 'closed', 'withdrawn')),
    state_reason  TEXT,
    respond_by_ms BIGINT,
    view          TEXT    NOT NULL,
    version       BIGINT  NOT NULL DEFAULT 1,
    created_at_ms BIGINT  NOT NULL,
    updated_at_ms BIGINT  NOT NULL
);

-- The close timer asks for open needs whose respond-by has passed.
CREATE INDEX needs_by_state_respond_by ON needs (state, respond_by_ms);

-- Who received a need's challenge or call, why (score, reasons, courses), and the latest
-- answer of each (latest by answer time, ties by event id).
CREATE TABLE recipients (
    need_id         TEXT             NOT NULL REFERENCES needs (need_id),
    org_id          TEXT             NOT NULL,
    kind            TEXT             NOT NULL CHECK (kind IN ('university', 'company')),
    score           DOUBLE PRECISION NOT NULL,
    reasons         TEXT             NOT NULL,
    courses         TEXT             NOT NULL,
    answer_event_id TEXT,
    answer_time_ms  BIGINT,
    decision        TEXT CHECK (decision IN ('offer', 'decline', 'interest', 'proposal')),
    detail          TEXT,
    PRIMARY KEY (need_id, org_id)
);

-- Every answer ever applied, append-only. A row per (source, id): an answer event is recorded
-- once however often it is delivered.
CREATE TABLE answers (
    event_source   TEXT   NOT NULL,
    event_id       TEXT   NOT NULL,
    need_id        TEXT   NOT NULL,
    org_id         TEXT   NOT NULL,
    time_ms        BIGINT NOT NULL,
    decision       TEXT   NOT NULL CHECK (decision IN ('offer', 'decline', 'interest', 'proposal')),
    payload        TEXT   NOT NULL,
    recorded_at_ms BIGINT NOT NULL,
    PRIMARY KEY (event_source, event_id),
    FOREIGN KEY (need_id, org_id) REFERENCES recipients (need_id, org_id)
);

CREATE INDEX answers_by_recipient ON answers (need_id, org_id);

-- Idempotency: the (source, id) of every processed event, written in the same transaction as
-- the event's effects.
CREATE TABLE inbox (
    source         TEXT   NOT NULL,
    event_id       TEXT   NOT NULL,
    received_at_ms BIGINT NOT NULL,
    PRIMARY KEY (source, event_id)
);

-- Outbound messages, written in the same transaction as the state that caused them and
-- published by the relay. `id` orders them; `sent_at_ms` is set once the broker confirmed.
CREATE TABLE outbox (
    id             BIGINT  NOT NULL GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    event_id       TEXT    NOT NULL,
    exchange       TEXT    NOT NULL,
    routing_key    TEXT    NOT NULL,
    content_type   TEXT    NOT NULL,
    correlation_id TEXT,
    headers        TEXT    NOT NULL,
    body           BYTEA   NOT NULL,
    created_at_ms  BIGINT  NOT NULL,
    sent_at_ms     BIGINT,
    attempts       BIGINT  NOT NULL DEFAULT 0,
    UNIQUE (event_id, exchange, routing_key)
);

CREATE INDEX outbox_unsent ON outbox (id) WHERE sent_at_ms IS NULL;

-- The append-only audit trail: ids and codes only, never free text (which could carry personal
-- data). The checks hold every code to lowercase ASCII letters, digits, '_' and '.'.
CREATE TABLE audit (
    id          BIGINT  NOT NULL GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    at_ms       BIGINT  NOT NULL,
    action      TEXT    NOT NULL CHECK (action <> '' AND action !~ '[^a-z0-9_.]'),
    event_id    TEXT,
    need_id     TEXT,
    org_id      TEXT,
    reason_code TEXT CHECK (reason_code <> '' AND reason_code !~ '[^a-z0-9_.]')
);

CREATE INDEX audit_by_need ON audit (need_id, id);
