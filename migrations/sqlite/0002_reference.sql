-- Reference data changes (course.upserted, course.removed, partner.upserted), recorded in the
-- transaction that accepts the event and replayed in order into the in-memory catalogue at
-- start, so a catalogue change survives a restart and reaches every hub instance that starts
-- later. Reference data is organisations' public catalogue text, never personal data.
CREATE TABLE reference_events (
    id             INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT,
    event_type     TEXT    NOT NULL,
    org_id         TEXT    NOT NULL,
    data           TEXT    NOT NULL,
    recorded_at_ms BIGINT  NOT NULL
);

-- (PostgreSQL also sets a byte-wise collation on recipients.answer_event_id here; SQLite
-- already compares text byte by byte.)
