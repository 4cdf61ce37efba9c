-- Reference data changes (course.upserted, course.removed, partner.upserted), recorded in the
-- transaction that accepts the event and replayed in order into the in-memory catalogue at
-- start, so a catalogue change survives a restart and reaches every hub instance that starts
-- later. Reference data is organisations' public catalogue text, never personal data.
CREATE TABLE reference_events (
    id             BIGINT  NOT NULL GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    event_type     TEXT    NOT NULL,
    org_id         TEXT    NOT NULL,
    data           TEXT    NOT NULL,
    recorded_at_ms BIGINT  NOT NULL
);

-- "Latest answer wins, ties broken by event id" compares ids byte by byte in the state machine;
-- the database must agree whatever the cluster's default collation (SQLite compares bytes).
ALTER TABLE recipients ALTER COLUMN answer_event_id TYPE TEXT COLLATE "C";
