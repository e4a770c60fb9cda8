-- Inventory and audit trail (SQLite). Times are epoch microseconds, UTC.
CREATE TABLE assets (
    asset_id    TEXT PRIMARY KEY NOT NULL,
    kind        TEXT NOT NULL CHECK (kind IN ('infusion_pump', 'pump_server', 'ehr', 'workstation', 'network', 'other')),
    vendor      TEXT,
    model       TEXT,
    firmware    TEXT,
    serial      TEXT,
    mac         TEXT,                        -- lower-case colon form
    ips         TEXT NOT NULL DEFAULT '[]',  -- JSON array, primary address first
    hostname    TEXT,
    location    TEXT,
    zone        TEXT,
    criticality TEXT NOT NULL CHECK (criticality IN ('life_sustaining', 'high', 'medium', 'low')),
    lifecycle   TEXT NOT NULL CHECK (lifecycle IN ('procured', 'in_service', 'quarantined', 'retired')),
    first_seen  BIGINT,
    last_seen   BIGINT,
    source      TEXT NOT NULL CHECK (source IN ('imported', 'discovered'))
) WITHOUT ROWID; -- rows live in the asset_id B-tree: one tree to write, not two
CREATE INDEX assets_mac ON assets (mac);

CREATE TABLE audit_log (
    seq       INTEGER PRIMARY KEY NOT NULL, -- the rowid itself (BIGINT would add an index)
    time      BIGINT NOT NULL,
    actor     TEXT NOT NULL,
    action    TEXT NOT NULL,
    object    TEXT NOT NULL,
    detail    TEXT NOT NULL,                 -- JSON
    prev_hash TEXT NOT NULL,
    hash      TEXT NOT NULL
);
CREATE INDEX audit_log_object ON audit_log (object);

-- The newest entry, kept apart from the log so that deleting the newest entries is caught.
CREATE TABLE audit_head (
    id   INTEGER PRIMARY KEY NOT NULL CHECK (id = 1),
    seq  BIGINT NOT NULL,
    hash TEXT NOT NULL
);
INSERT INTO audit_head (id, seq, hash)
VALUES (1, 0, '0000000000000000000000000000000000000000000000000000000000000000');
