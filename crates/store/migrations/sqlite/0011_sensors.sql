-- Remote sensors (issue 13): the sensors a central pumpguard accepts messages from, with
-- when it last heard from each and how far behind it was, and the message ids already
-- ingested (so a message delivered twice, by JetStream or by a sensor's spool replay,
-- is written once). A message's id is SENSOR.RUN.SEQ, as the sensor set it.

CREATE TABLE sensors (
    name          TEXT PRIMARY KEY NOT NULL,
    created       BIGINT NOT NULL,             -- epoch µs
    nats_password_hash TEXT NOT NULL,          -- bcrypt ($2a$), for the NATS server's configuration
    last_contact  BIGINT,                      -- epoch µs: the newest ingest of its messages
    last_sent     BIGINT,                      -- epoch µs: when the sensor sent the newest of them
    lag_us        BIGINT,                      -- ingest time − send time of that newest message
    messages      BIGINT NOT NULL DEFAULT 0,   -- messages ingested (duplicates not counted)
    observations  BIGINT NOT NULL DEFAULT 0,   -- pieces of evidence, flows, detections and reports in them
    last_run      TEXT                         -- the sensor process's run id, from its newest message
);

CREATE TABLE sensor_messages (
    msg_id    TEXT PRIMARY KEY NOT NULL,
    sensor    TEXT NOT NULL REFERENCES sensors (name) ON DELETE CASCADE,
    ingested  BIGINT NOT NULL                  -- epoch µs
);

CREATE INDEX sensor_messages_by_time ON sensor_messages (ingested);
