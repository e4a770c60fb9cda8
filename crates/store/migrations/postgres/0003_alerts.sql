-- Alerts (PostgreSQL): what the detectors concluded, tied to assets. One row per
-- `dedup_key` (`kind|subject|peer`, each end an asset id, else an address, else a MAC):
-- a recurrence adds to its row. Times are epoch microseconds, like flows.
CREATE TABLE alerts (
    alert_id      BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    dedup_key     TEXT NOT NULL UNIQUE,
    kind          TEXT NOT NULL,  -- no CHECK: detectors gain kinds
    severity      TEXT NOT NULL CHECK (severity IN ('info', 'low', 'medium', 'high', 'critical')),
    -- 0 (info) to 4 (critical): orders lists and serves "at least this severe".
    severity_rank INTEGER NOT NULL GENERATED ALWAYS AS (
        CASE severity WHEN 'info' THEN 0 WHEN 'low' THEN 1 WHEN 'medium' THEN 2
                      WHEN 'high' THEN 3 ELSE 4 END) STORED,
    status        TEXT NOT NULL CHECK (status IN ('open', 'acknowledged', 'resolved')),
    asset_id      TEXT,
    peer_asset_id TEXT,
    subject_ip    TEXT,
    subject_mac   TEXT,
    peer_ip       TEXT,
    peer_mac      TEXT,
    proto         TEXT NOT NULL,
    port          INTEGER,
    first_seen    BIGINT NOT NULL,
    last_seen     BIGINT NOT NULL,
    count         BIGINT NOT NULL,
    evidence      TEXT NOT NULL,  -- JSON of AlertEvidence
    action        TEXT NOT NULL
);
CREATE INDEX alerts_rank ON alerts (severity_rank, last_seen);
CREATE INDEX alerts_last_seen ON alerts (last_seen);
CREATE INDEX alerts_status ON alerts (status, severity_rank);
CREATE INDEX alerts_asset ON alerts (asset_id);
CREATE INDEX alerts_peer_asset ON alerts (peer_asset_id);
