-- The risk assessment: people's answers to the question bank, the evidence rules' latest
-- answers beside them (both kept; a person's answer overrides the evidence's when the
-- register is drawn up), and manufacturers' MDS2 forms per device model.

CREATE TABLE assessment_answers (
    question_id TEXT PRIMARY KEY NOT NULL,
    answer      TEXT NOT NULL,     -- yes, partial, no, na, unknown
    note        TEXT,
    answered    BIGINT NOT NULL,   -- epoch µs
    actor       TEXT NOT NULL
);

CREATE TABLE assessment_evidence (
    question_id TEXT PRIMARY KEY NOT NULL,
    rule        TEXT NOT NULL,
    answer      TEXT NOT NULL,
    evidence    TEXT NOT NULL,     -- JSON: the rule, its summary and citations
    evaluated   BIGINT NOT NULL    -- epoch µs of the evaluation that last changed it
);

CREATE TABLE mds2_answers (
    model       TEXT NOT NULL,
    question_id TEXT NOT NULL,     -- NAUT-1
    capability  TEXT NOT NULL,     -- NAUT
    answer      TEXT NOT NULL,     -- yes, no, not_applicable, see_note
    gap         BOOLEAN NOT NULL,  -- a "No" to a capability question
    question    TEXT NOT NULL,
    note        TEXT,
    source      TEXT NOT NULL,     -- the file it was read from
    document_id TEXT,
    imported    BIGINT NOT NULL,
    PRIMARY KEY (model, question_id)
);
