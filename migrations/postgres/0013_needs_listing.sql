-- The needs listing (`samverkan needs list`, the console's needs page) reads needs newest
-- first, for one region or for all: both orders come from an index, so a page of a store with
-- tens of thousands of needs is read without sorting the table.
CREATE INDEX needs_by_region_created ON needs (region, created_at_ms);
CREATE INDEX needs_by_created ON needs (created_at_ms);
