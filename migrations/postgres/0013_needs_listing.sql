-- The needs listing (`samverkan needs list`, the console's needs page) reads needs newest
-- first (creation time, then need id and region, all descending), for one region or for all:
-- both orders are an index's, so a page of a store with tens of thousands of needs is read
-- without sorting the table.
CREATE INDEX needs_by_region_created ON needs (region, created_at_ms, need_id);
CREATE INDEX needs_by_created ON needs (created_at_ms, need_id, region);
-- The counts per state of one region, read from the index alone.
CREATE INDEX needs_by_region_state ON needs (region, state);
