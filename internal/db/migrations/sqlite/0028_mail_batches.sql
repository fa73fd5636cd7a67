-- The dispatcher gives queued messages their sending job by batches: one
-- River job sends a batch of messages (up to a few dozen, those queued
-- together), so River's own rows and updates are paid once per batch
-- instead of once per message. batch names the job's batch; the job reads
-- the messages of its batch still queued. Rows dispatched before have a
-- job of their own (mail.send) and no batch.
ALTER TABLE outgoing_mail ADD COLUMN batch TEXT;
CREATE INDEX outgoing_mail_batch ON outgoing_mail (batch, created_at, id) WHERE status = 'queued';
