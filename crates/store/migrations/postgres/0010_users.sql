-- Console and API users (issue 12): local accounts with an argon2id password and one
-- role, and the bearer tokens and console sessions issued to them. A token is kept only
-- as the SHA-256 of its secret; revoking sets `revoked`, so the trail of who held what
-- stays readable.

CREATE TABLE users (
    name          TEXT PRIMARY KEY NOT NULL,
    password_hash TEXT NOT NULL,     -- argon2id, PHC string
    role          TEXT NOT NULL,     -- admin, analyst, biomed or viewer
    created       BIGINT NOT NULL    -- epoch µs
);

CREATE TABLE user_tokens (
    id          TEXT PRIMARY KEY NOT NULL,   -- public handle (UUIDv7), for listing and revoking
    secret_hash TEXT NOT NULL UNIQUE,        -- lower-case hex SHA-256 of the secret
    username    TEXT NOT NULL REFERENCES users (name) ON DELETE CASCADE,
    kind        TEXT NOT NULL,               -- api (bearer) or session (console cookie)
    label       TEXT NOT NULL,
    csrf        TEXT NOT NULL,               -- the session's CSRF token; empty for api
    created     BIGINT NOT NULL,             -- epoch µs
    expires     BIGINT NOT NULL,             -- epoch µs
    revoked     BIGINT                       -- epoch µs, when revoked
);

CREATE INDEX user_tokens_by_user ON user_tokens (username);
