-- Need identity is (region, need id): a need id is unique within the region that submitted it,
-- not across regions, so one region can neither take another's id first nor learn, by being
-- refused, that another region uses it. Recipients and answers carry the region of their need.
--
-- migrations/sqlite/0006_need_scope.sql rebuilds the tables to the same shape (SQLite cannot
-- change a primary key in place). Keys lead with need_id: an answer is resolved by need id and
-- sender (`recipients` for (need_id, org_id)) before its region is known.
ALTER TABLE recipients ADD COLUMN region TEXT;
UPDATE recipients r SET region = n.region FROM needs n WHERE n.need_id = r.need_id;
ALTER TABLE recipients ALTER COLUMN region SET NOT NULL;

ALTER TABLE answers ADD COLUMN region TEXT;
UPDATE answers a SET region = n.region FROM needs n WHERE n.need_id = a.need_id;
ALTER TABLE answers ALTER COLUMN region SET NOT NULL;

ALTER TABLE answers DROP CONSTRAINT answers_need_id_org_id_fkey;
ALTER TABLE recipients DROP CONSTRAINT recipients_need_id_fkey;
ALTER TABLE recipients DROP CONSTRAINT recipients_pkey;
ALTER TABLE needs DROP CONSTRAINT needs_pkey;

ALTER TABLE needs ADD PRIMARY KEY (need_id, region);
ALTER TABLE recipients ADD PRIMARY KEY (need_id, region, org_id);
ALTER TABLE recipients ADD FOREIGN KEY (need_id, region) REFERENCES needs (need_id, region);
ALTER TABLE answers ADD FOREIGN KEY (need_id, region, org_id)
    REFERENCES recipients (need_id, region, org_id);

DROP INDEX answers_by_recipient;
CREATE INDEX answers_by_recipient ON answers (need_id, region, org_id);

-- Audit entries about a need name its region where the hub knows it (routing, answers, state
-- changes), so the trails of two regions' needs with one id can be told apart. NULL for
-- entries written before this migration and for refusals, whose need may not exist.
ALTER TABLE audit ADD COLUMN region TEXT;
