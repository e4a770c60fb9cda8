-- EST (RFC 7030): the enrollment users devices authenticate as with HTTP Basic, and the
-- keys of the server certificates pumpguard issued to itself (`serve --tls`), sealed
-- with the operator's passphrase like the CA's.

CREATE TABLE est_users (
    name          TEXT PRIMARY KEY NOT NULL,
    password_hash TEXT NOT NULL,     -- argon2id, PHC string
    created       BIGINT NOT NULL    -- epoch µs
);

CREATE TABLE pki_server_keys (
    serial TEXT PRIMARY KEY NOT NULL REFERENCES pki_certificates (serial),
    names  TEXT NOT NULL,            -- the DNS names and addresses, comma-separated
    key    TEXT NOT NULL             -- ENCRYPTED PRIVATE KEY PEM
);
