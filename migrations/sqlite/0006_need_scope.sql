-- Need identity is (region, need id): a need id is unique within the region that submitted it,
-- not across regions, so one region can neither take another's id first nor learn, by being
-- refused, that another region uses it. Recipients and answers carry the region of their need.
--
-- SQLite cannot change a primary key in place, so the three tables are rebuilt: new tables,
-- rows copied (recipients and answers take the region of their need), old tables dropped
-- (children first, for the foreign keys), new ones renamed into place — renaming also rewrites
-- the foreign keys that name them. Keys lead with need_id: an answer is resolved by need id and
-- sender (`recipients` for (need_id, org_id)) before its region is known.
CREATE TABLE needs_v2 (
    need_id       TEXT    NOT NULL,
    region        TEXT    NOT NULL,
    state         TEXT    NOT NULL CHECK (state IN ('received', 'published', 'unmatched',
                                        'rejected', 'answered', 'closed', 'withdrawn')),
    state_reason  TEXT,
    respond_by_ms BIGINT,
    view          TEXT    NOT NULL,
    version       BIGINT  NOT NULL DEFAULT 1,
    created_at_ms BIGINT  NOT NULL,
    updated_at_ms BIGINT  NOT NULL,
    PRIMARY KEY (need_id, region)
);

INSERT INTO needs_v2 (need_id, region, state, state_reason, respond_by_ms, view, version,
                      created_at_ms, updated_at_ms)
SELECT need_id, region, state, state_reason, respond_by_ms, view, version, created_at_ms,
       updated_at_ms
FROM needs;

CREATE TABLE recipients_v2 (
    need_id         TEXT             NOT NULL,
    region          TEXT             NOT NULL,
    org_id          TEXT             NOT NULL,
    kind            TEXT             NOT NULL CHECK (kind IN ('university', 'company')),
    score           DOUBLE PRECISION NOT NULL,
    reasons         TEXT             NOT NULL,
    courses         TEXT             NOT NULL,
    answer_event_id TEXT,
    answer_time_ms  BIGINT,
    decision        TEXT CHECK (decision IN ('offer', 'decline', 'interest', 'proposal')),
    detail          TEXT,
    PRIMARY KEY (need_id, region, org_id),
    FOREIGN KEY (need_id, region) REFERENCES needs_v2 (need_id, region)
);

INSERT INTO recipients_v2 (need_id, region, org_id, kind, score, reasons, courses,
                           answer_event_id, answer_time_ms, decision, detail)
SELECT r.need_id, n.region, r.org_id, r.kind, r.score, r.reasons, r.courses, r.answer_event_id,
       r.answer_time_ms, r.decision, r.detail
FROM recipients r JOIN needs n ON n.need_id = r.need_id;

CREATE TABLE answers_v2 (
    event_source   TEXT   NOT NULL,
    event_id       TEXT   NOT NULL,
    need_id        TEXT   NOT NULL,
    region         TEXT   NOT NULL,
    org_id         TEXT   NOT NULL,
    time_ms        BIGINT NOT NULL,
    decision       TEXT   NOT NULL CHECK (decision IN ('offer', 'decline', 'interest', 'proposal')),
    payload        TEXT   NOT NULL,
    recorded_at_ms BIGINT NOT NULL,
    PRIMARY KEY (event_source, event_id),
    FOREIGN KEY (need_id, region, org_id) REFERENCES recipients_v2 (need_id, region, org_id)
);

INSERT INTO answers_v2 (event_source, event_id, need_id, region, org_id, time_ms, decision,
                        payload, recorded_at_ms)
SELECT a.event_source, a.event_id, a.need_id, n.region, a.org_id, a.time_ms, a.decision,
       a.payload, a.recorded_at_ms
FROM answers a JOIN needs n ON n.need_id = a.need_id;

DROP TABLE answers;
DROP TABLE recipients;
DROP TABLE needs;

ALTER TABLE needs_v2 RENAME TO needs;
ALTER TABLE recipients_v2 RENAME TO recipients;
ALTER TABLE answers_v2 RENAME TO answers;

CREATE INDEX needs_by_state_respond_by ON needs (state, respond_by_ms);
CREATE INDEX answers_by_recipient ON answers (need_id, region, org_id);

-- Audit entries about a need name its region where the hub knows it (routing, answers, state
-- changes), so the trails of two regions' needs with one id can be told apart. NULL for
-- entries written before this migration and for refusals, whose need may not exist.
ALTER TABLE audit ADD COLUMN region TEXT;
