-- Compaction of the reference-data log. Each recorded change names the catalogue entry it
-- touches (`course:<org>:<courseCode>` or `partner:<id>`); a change that replaces the whole
-- entry (a course or partner upsert, removing a whole course) deletes the earlier rows of that
-- entry in the same transaction. So the log holds at most a few rows per entry, not every
-- change ever made, and a hub starting later replays little. Rows recorded before this
-- migration have no key and are kept as they are.
ALTER TABLE reference_events ADD COLUMN entity_key TEXT;
CREATE INDEX reference_events_by_entity ON reference_events (entity_key);
