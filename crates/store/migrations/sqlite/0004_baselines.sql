-- Baselines (SQLite): what devices and device models normally do on the network,
-- learned by the sensor over a window and kept as numbered versions; detectors use the
-- newest. Times are epoch microseconds, like flows. AUTOINCREMENT: a version number is
-- never given twice, even after a row is deleted (as PostgreSQL's identity).
CREATE TABLE baselines (
    version       INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
    created       BIGINT NOT NULL,
    learned_from  BIGINT,
    learned_until BIGINT,
    devices       BIGINT,
    models        BIGINT,
    origin        TEXT NOT NULL,
    body          TEXT NOT NULL  -- JSON of Baseline
);
