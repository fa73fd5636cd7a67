-- The sending queue moves out of outgoing_mail into a narrow table of its
-- own. outgoing_mail is the record of what we told people: wide rows,
-- written once and read by the desk. Its queue state (dispatched, batch,
-- and status in the batch index's predicate) changed twice per message,
-- and since those columns were indexed neither update could be a heap-only
-- one: each rewrote the wide row and added an entry to all six indexes.
-- Now a message waiting to be sent has a row here from the transaction
-- that queues it until its status leaves 'queued' (sent, or failed for
-- good), which deletes the row (the trigger below). Dispatching updates
-- only this row; recording the outcome updates no indexed column of
-- outgoing_mail, so on PostgreSQL it is a heap-only update whenever the
-- row's page has room for its new version.
--
-- batch is NULL until the dispatcher gives the message to a sending job
-- (internal/mail/dispatch.go), then names that job's batch.
CREATE TABLE outgoing_mail_queue (
	mail_id TEXT PRIMARY KEY REFERENCES outgoing_mail (id),
	queued_at TIMESTAMP NOT NULL,
	batch TEXT
);
CREATE INDEX outgoing_mail_queue_undispatched ON outgoing_mail_queue (queued_at, mail_id) WHERE batch IS NULL;
CREATE INDEX outgoing_mail_queue_batch ON outgoing_mail_queue (batch) WHERE batch IS NOT NULL;

-- Whatever ends a message's wait (the sending job, an erasure), it leaves
-- the queue in the same statement: nothing is left to send it twice.
CREATE TRIGGER outgoing_mail_leaves_queue AFTER UPDATE OF status ON outgoing_mail
WHEN OLD.status = 'queued' AND NEW.status <> 'queued'
BEGIN
	DELETE FROM outgoing_mail_queue WHERE mail_id = NEW.id;
END;

-- Messages still queued keep their place: those not yet dispatched, and
-- those in a batch. A message dispatched before batches existed has a job
-- of its own (mail.send), which finds it by id: it needs no row here.
INSERT INTO outgoing_mail_queue (mail_id, queued_at, batch)
	SELECT id, created_at, CASE WHEN dispatched THEN batch END FROM outgoing_mail
	WHERE status = 'queued' AND (NOT dispatched OR batch IS NOT NULL);

-- The old queue columns are neither read nor written any more. Their
-- indexes go; the columns stay, because dropping a column rewrites the
-- whole table on SQLite and both engines keep one schema.
DROP INDEX outgoing_mail_undispatched;
DROP INDEX outgoing_mail_batch;
