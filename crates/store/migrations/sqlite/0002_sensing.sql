-- Passive sensing (SQLite): the alarm_manager kind, flows and identity evidence.

-- SQLite cannot change a CHECK constraint in place: rebuild the table.
CREATE TABLE assets_new (
    asset_id    TEXT PRIMARY KEY NOT NULL,
    kind        TEXT NOT NULL CHECK (kind IN ('infusion_pump', 'pump_server', 'ehr', 'alarm_manager', 'workstation', 'network', 'other')),
    vendor      TEXT,
    model       TEXT,
    firmware    TEXT,
    serial      TEXT,
    mac         TEXT,
    ips         TEXT NOT NULL DEFAULT '[]',
    hostname    TEXT,
    location    TEXT,
    zone        TEXT,
    criticality TEXT NOT NULL CHECK (criticality IN ('life_sustaining', 'high', 'medium', 'low')),
    lifecycle   TEXT NOT NULL CHECK (lifecycle IN ('procured', 'in_service', 'quarantined', 'retired')),
    first_seen  BIGINT,
    last_seen   BIGINT,
    source      TEXT NOT NULL CHECK (source IN ('imported', 'discovered'))
) WITHOUT ROWID;
INSERT INTO assets_new SELECT * FROM assets;
DROP TABLE assets;
ALTER TABLE assets_new RENAME TO assets;
CREATE INDEX assets_mac ON assets (mac);

-- One row per bidirectional IP 5-tuple; `flow_key` is the 5-tuple with the lower
-- endpoint first, so both directions land on the same row.
CREATE TABLE flows (
    flow_id           INTEGER PRIMARY KEY NOT NULL,
    flow_key          TEXT NOT NULL UNIQUE,
    proto             TEXT NOT NULL,
    client_ip         TEXT NOT NULL,
    client_port       INTEGER NOT NULL,
    server_ip         TEXT NOT NULL,
    server_port       INTEGER NOT NULL,
    client_mac        TEXT,
    server_mac        TEXT,
    vlan              INTEGER,
    app               TEXT NOT NULL,
    packets_to_server BIGINT NOT NULL,
    packets_to_client BIGINT NOT NULL,
    bytes_to_server   BIGINT NOT NULL,
    bytes_to_client   BIGINT NOT NULL,
    first_seen        BIGINT NOT NULL,
    last_seen         BIGINT NOT NULL,
    sessions          BIGINT NOT NULL,
    tcp_state         TEXT NOT NULL
);
CREATE INDEX flows_client ON flows (client_ip);
CREATE INDEX flows_server ON flows (server_ip);

-- The evidence behind each identity field of an asset: one row per
-- (asset, field, value, source), with when and how often it was seen.
CREATE TABLE observations (
    asset_id   TEXT NOT NULL,
    field      TEXT NOT NULL,
    value      TEXT NOT NULL,
    source     TEXT NOT NULL,
    confidence INTEGER NOT NULL,
    first_seen BIGINT NOT NULL,
    last_seen  BIGINT NOT NULL,
    count      BIGINT NOT NULL,
    PRIMARY KEY (asset_id, field, value, source)
) WITHOUT ROWID;
