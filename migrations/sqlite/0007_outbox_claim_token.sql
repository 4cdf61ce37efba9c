-- Each claim of outbox rows carries a token of its own (a fresh UUID per claim), and a relay's
-- later writes to a row (sent, failed attempt, parked, given back) apply only while the row
-- still carries that relay's token: a relay whose lease ran out, and whose rows another relay
-- claimed meanwhile, can no longer mark them.
ALTER TABLE outbox ADD COLUMN claim_token TEXT;
