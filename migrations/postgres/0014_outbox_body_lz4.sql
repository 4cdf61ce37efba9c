-- An outbox body (a structured CloudEvent of 1–3 KB) makes its row larger than the size at
-- which PostgreSQL compresses a value, so every outbox row is compressed once when it is
-- written, and read back by the relay. lz4 does both several times faster than the default
-- pglz, for about the same size. A server built without lz4 (or older than PostgreSQL 14)
-- keeps pglz: the block below then changes nothing.
DO $$
BEGIN
    EXECUTE 'ALTER TABLE outbox ALTER COLUMN body SET COMPRESSION lz4';
EXCEPTION WHEN feature_not_supported OR syntax_error THEN
    NULL;
END
$$;
