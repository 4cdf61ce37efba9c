-- The AMQP `type` and a `message_id` other than the row's event id get columns of their own;
-- they used to ride in the headers under `x-samverkan-amqp-*` names and were taken out again
-- before publishing. Rows written before this migration are moved over.
ALTER TABLE outbox ADD COLUMN amqp_type TEXT;
ALTER TABLE outbox ADD COLUMN message_id TEXT;
UPDATE outbox SET
    amqp_type = json_extract(headers, '$."x-samverkan-amqp-type"'),
    message_id = json_extract(headers, '$."x-samverkan-amqp-message-id"'),
    headers = json_remove(headers, '$."x-samverkan-amqp-type"', '$."x-samverkan-amqp-message-id"')
WHERE headers LIKE '%x-samverkan-amqp-%';
