-- Per-row retries, parking and retention (src/store/outbox.rs, src/store/retention.rs).
--
-- `next_attempt_ms`: a row whose publish failed waits until then (its own backoff), so one
-- failing row never holds back the rows behind it. 0: due now.
-- `parked_at_ms`, `parked_reason`, `parked_detail`: a row that can never be published (a
-- property over 255 bytes, headers over the broker's frame size, a body over the limit) or that
-- the broker kept refusing is set aside here, never retried, and listed by
-- `samverkan dead-letters parked`. The reason is a stable code; the detail names sizes and
-- limits, never a value.
ALTER TABLE outbox ADD COLUMN next_attempt_ms BIGINT NOT NULL DEFAULT 0;
ALTER TABLE outbox ADD COLUMN parked_at_ms BIGINT;
ALTER TABLE outbox ADD COLUMN parked_reason TEXT
    CHECK (parked_reason <> '' AND parked_reason !~ '[^a-z0-9_.]');
ALTER TABLE outbox ADD COLUMN parked_detail TEXT;

-- A claim scans the relay's backlog: unsent rows that are not parked.
DROP INDEX outbox_unsent;
CREATE INDEX outbox_unsent ON outbox (id) WHERE sent_at_ms IS NULL AND parked_at_ms IS NULL;
CREATE INDEX outbox_parked ON outbox (parked_at_ms, id) WHERE parked_at_ms IS NOT NULL;

-- Retention deletes the oldest rows in batches; each table needs its time indexed.
CREATE INDEX outbox_sent ON outbox (sent_at_ms) WHERE sent_at_ms IS NOT NULL;
CREATE INDEX inbox_by_received ON inbox (received_at_ms);
CREATE INDEX audit_by_time ON audit (at_ms);
