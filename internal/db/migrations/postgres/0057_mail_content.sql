-- A message's content moves out of outgoing_mail into a table of its own,
-- written once (issue #9). An order confirmation's row held some 2 kB,
-- its subject and bodies nearly all of it, so one row filled a page: the
-- row was written when the message was queued and its whole page again
-- when it was marked sent, a page per message for every status change.
-- outgoing_mail keeps the headers and the delivery state, small rows that
-- a batch's marks share pages with; the content is written once, and
-- changed only when an erasure blanks it (mail.EraseRecipientTx).
--
-- Every message has its content row, stored in the same transaction
-- (mail.Outbox.storePreparedTx); the readers join on it.
CREATE TABLE outgoing_mail_content (
	mail_id TEXT PRIMARY KEY REFERENCES outgoing_mail (id),
	subject TEXT NOT NULL,
	text_body TEXT NOT NULL,
	html_body TEXT NOT NULL DEFAULT '',
	-- The References header: message ids in angle brackets, space-separated.
	refs TEXT NOT NULL DEFAULT ''
);

INSERT INTO outgoing_mail_content (mail_id, subject, text_body, html_body, refs)
	SELECT id, subject, text_body, html_body, refs FROM outgoing_mail ORDER BY created_at, id;

-- PostgreSQL drops a column by hiding it: a row's old bytes keep the value
-- until the row is next written, which writes it without (NULL). An erasure
-- still writes every row it erases in outgoing_mail (its address, its
-- status), so no body outlives it there once vacuumed.
ALTER TABLE outgoing_mail DROP COLUMN subject;
ALTER TABLE outgoing_mail DROP COLUMN text_body;
ALTER TABLE outgoing_mail DROP COLUMN html_body;
ALTER TABLE outgoing_mail DROP COLUMN refs;
