-- PostgreSQL's outbox bodies are compressed with lz4 from this migration on; SQLite stores
-- values uncompressed, so there is nothing to change here (the statement keeps the dialects'
-- migration numbers in step).
SELECT 1;
