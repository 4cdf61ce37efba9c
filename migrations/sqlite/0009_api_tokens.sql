-- Bearer tokens for partners that take part over HTTP instead of AMQP (`samverkan tokens`).
-- A token identifies one configured organisation, as a broker user does. Only the SHA-256 of
-- the token is kept (hex): tokens are 256 random bits, so a fast hash is enough and the
-- database never holds a usable secret. A revoked token keeps its row (revoked_at_ms set), so
-- `tokens list` shows what existed and when it ended.
CREATE TABLE api_tokens (
    id            TEXT   PRIMARY KEY,
    org_id        TEXT   NOT NULL,
    token_sha256  TEXT   NOT NULL UNIQUE,
    created_at_ms BIGINT NOT NULL,
    revoked_at_ms BIGINT
);
