-- A lease on outbox rows, so that relays sharing one database do not publish the same row
-- (src/store/outbox.rs). A relay sets `claimed_until_ms` (unix milliseconds, by the database's
-- clock, so hub hosts need not agree on the time) on the rows it takes; other relays skip them
-- until then, and skip rows another relay is claiming at this moment (`FOR UPDATE SKIP
-- LOCKED`). NULL: nobody holds the row. A relay that died holding rows loses them when the
-- lease runs out; a failed publish clears it at once.
--
-- No new index: a claim scans `outbox_unsent` (0001), which holds only unsent rows — a
-- relay's backlog — in id order, and checks the lease on each.
ALTER TABLE outbox ADD COLUMN claimed_until_ms BIGINT;
