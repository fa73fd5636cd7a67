-- A queued message's sending job is no longer inserted in the transaction
-- that queues it: internal/mail's dispatcher inserts the jobs of many
-- messages at once, woken as soon as that transaction commits (and by a
-- periodic sweep, for messages whose process stopped before). dispatched
-- says the job exists. Rows already here had their job inserted with them,
-- hence the default; new rows are written with FALSE.
ALTER TABLE outgoing_mail ADD COLUMN dispatched BOOLEAN NOT NULL DEFAULT TRUE;
CREATE INDEX outgoing_mail_undispatched ON outgoing_mail (created_at, id) WHERE dispatched = FALSE;

-- An attachment may name a document rendered when the message is sent
-- (source 'invoice:inv_…', content empty) instead of carrying its bytes:
-- an invoice is immutable, so its PDF is the same whenever it is drawn, and
-- drawing it is too slow for the payment's transaction.
ALTER TABLE outgoing_mail_attachments ADD COLUMN source TEXT NOT NULL DEFAULT '';
