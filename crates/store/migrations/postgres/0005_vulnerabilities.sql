-- Vulnerability intelligence (PostgreSQL). Documents (advisories, VEX, NVD records, SBOMs)
-- are stored whole as the model's normalised JSON, replaced when re-imported under the
-- same id; `vuln_entries` indexes their vulnerabilities for listing. KEV and EPSS are
-- keyed by CVE (a newer file replaces the row). Triage decisions apply to a model and
-- firmware (every unit of it). Times are epoch microseconds.
CREATE TABLE vuln_documents (
    id         TEXT NOT NULL,
    kind       TEXT NOT NULL CHECK (kind IN ('advisory', 'sbom')),
    format     TEXT NOT NULL,
    title      TEXT,
    publisher  TEXT,
    revision   TEXT,
    published  BIGINT,
    updated    BIGINT,
    source     TEXT NOT NULL,   -- the file it was read from
    imported   BIGINT NOT NULL,
    body       TEXT NOT NULL,   -- JSON of Advisory or Sbom; an identical re-import changes nothing
    -- A CycloneDX file is both an SBOM and a VEX advisory under one serial number.
    PRIMARY KEY (kind, id)
);

CREATE TABLE vuln_entries (
    document_id TEXT NOT NULL,  -- the advisory's id (kind 'advisory')
    vuln_id     TEXT NOT NULL,
    cve         TEXT,
    title       TEXT,
    score       DOUBLE PRECISION,  -- the highest CVSS version's base score
    severity    TEXT,
    vector      TEXT,
    PRIMARY KEY (document_id, vuln_id)
);
CREATE INDEX vuln_entries_cve ON vuln_entries (cve);

CREATE TABLE vuln_kev (
    cve              TEXT PRIMARY KEY NOT NULL,
    vendor           TEXT NOT NULL,
    product          TEXT NOT NULL,
    name             TEXT,
    date_added       TEXT NOT NULL,
    due_date         TEXT,
    required_action  TEXT,
    known_ransomware TEXT,
    imported         BIGINT NOT NULL
);

CREATE TABLE vuln_epss (
    cve        TEXT PRIMARY KEY NOT NULL,
    epss       DOUBLE PRECISION NOT NULL,
    percentile DOUBLE PRECISION NOT NULL,
    score_date TEXT,
    imported   BIGINT NOT NULL
);

CREATE TABLE vuln_triage (
    model         TEXT NOT NULL,
    firmware      TEXT NOT NULL,   -- '' when the decision holds for every firmware
    cve           TEXT NOT NULL,
    status        TEXT NOT NULL,
    justification TEXT,
    statement     TEXT,
    decided       BIGINT NOT NULL,
    actor         TEXT NOT NULL,
    PRIMARY KEY (model, firmware, cve)
);
