-- The drug-library ledger: the signed libraries the pharmacy approved (`druglib
-- approve`), and which library version each pump reported on the wire (IHE PCD-10
-- MDC_PUMP_DRUG_LIBRARY_VERSION), added up per (pump, version) across sensor batches.

CREATE TABLE druglib_approved (
    sha256      TEXT PRIMARY KEY NOT NULL,   -- lower-case hex of the library file's bytes
    name        TEXT NOT NULL,
    version     TEXT NOT NULL,
    care_area   TEXT NOT NULL,
    key_id      TEXT NOT NULL,               -- of the key that signed it
    approved    BIGINT NOT NULL,             -- epoch µs
    approved_by TEXT NOT NULL                -- the actor
);

CREATE TABLE druglib_reports (
    asset_id    TEXT NOT NULL,   -- the pump's asset id (else its address, MAC or device id)
    version     TEXT NOT NULL,   -- as reported
    care_area   TEXT,            -- MDC_PUMP_DRUG_LIBRARY_CARE_AREA, when reported
    device      TEXT,            -- the OBX-18 device identifier (EUI-64), when given
    reporter    TEXT,            -- who sent the last report (asset id, else address)
    first_seen  BIGINT NOT NULL, -- epoch µs
    last_seen   BIGINT NOT NULL,
    count       BIGINT NOT NULL,
    PRIMARY KEY (asset_id, version)
);
