-- The device PKI: the one CA (root and issuing certificates with their keys, encrypted
-- PKCS#8 sealed with the operator's passphrase) and every certificate it issued, with
-- its revocation.

CREATE TABLE pki_ca (
    id           INTEGER PRIMARY KEY CHECK (id = 1),
    name         TEXT NOT NULL,
    algorithm    TEXT NOT NULL,
    root_cert    TEXT NOT NULL,
    root_key     TEXT NOT NULL,    -- ENCRYPTED PRIVATE KEY PEM
    issuing_cert TEXT NOT NULL,
    issuing_key  TEXT NOT NULL,    -- ENCRYPTED PRIVATE KEY PEM
    created      BIGINT NOT NULL,  -- epoch µs
    crl_number   BIGINT NOT NULL   -- of the last CRL signed (0: none yet)
);

CREATE TABLE pki_certificates (
    serial      TEXT PRIMARY KEY NOT NULL,   -- lower-case hex
    common_name TEXT NOT NULL,
    profile     TEXT NOT NULL,               -- pump, server
    not_before  BIGINT NOT NULL,
    not_after   BIGINT NOT NULL,
    pem         TEXT NOT NULL,
    issued      BIGINT NOT NULL,
    revoked     BIGINT,                      -- when, if revoked
    reason      TEXT                         -- RFC 5280 reason name
);

CREATE INDEX pki_certificates_cn ON pki_certificates (common_name);
