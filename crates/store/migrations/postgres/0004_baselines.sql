-- Baselines (PostgreSQL): what devices and device models normally do on the network,
-- learned by the sensor over a window and kept as numbered versions; detectors use the
-- newest. Times are epoch microseconds, like flows.
CREATE TABLE baselines (
    version       BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    created       BIGINT NOT NULL,
    learned_from  BIGINT,
    learned_until BIGINT,
    devices       BIGINT,
    models        BIGINT,
    origin        TEXT NOT NULL,
    body          TEXT NOT NULL  -- JSON of Baseline
);
