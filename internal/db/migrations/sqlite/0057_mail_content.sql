-- A message's content moves out of outgoing_mail into a table of its own,
-- written once (issue #9). An order confirmation's row held some 2 kB,
-- its subject and bodies nearly all of it, so one row filled a page: the
-- row was written when the message was queued and its whole page again
-- when it was marked sent, a page per message for every status change.
-- outgoing_mail keeps the headers and the delivery state, small rows that
-- a batch's marks share pages with; the content is written once, and
-- changed only when an erasure blanks it (mail.EraseRecipientTx).
--
-- The message names its content (content_id), not the content its
-- message: the content's key is then its rowid, and storing a message
-- writes no index of the content table (a mail_id key would be one more
-- b-tree written by every checkout). Every message has its content,
-- stored first in the same transaction (mail.Outbox.storePreparedTx),
-- and one content is one message's (constraints below).
CREATE TABLE outgoing_mail_content (
	content_id INTEGER PRIMARY KEY,
	subject TEXT NOT NULL,
	text_body TEXT NOT NULL,
	html_body TEXT NOT NULL DEFAULT '',
	-- The References header: message ids in angle brackets, space-separated.
	refs TEXT NOT NULL DEFAULT ''
);

-- SQLite adds a column with a foreign key only if it may be NULL. The
-- triggers below refuse a message without its content, and one whose
-- content is another's: a message's content_id must exceed that of the
-- message stored last (the greatest, by induction: every insert obeys the
-- rule, and the migration numbers them in rowid order), which reads the
-- table's last page, where the new row goes, rather than a unique index
-- that every message would write into.
ALTER TABLE outgoing_mail ADD COLUMN content_id INTEGER REFERENCES outgoing_mail_content (content_id);

INSERT INTO outgoing_mail_content (content_id, subject, text_body, html_body, refs)
	SELECT rowid, subject, text_body, html_body, refs FROM outgoing_mail ORDER BY rowid;
UPDATE outgoing_mail SET content_id = rowid;

CREATE TRIGGER outgoing_mail_has_content BEFORE INSERT ON outgoing_mail
WHEN NEW.content_id IS NULL
	OR NEW.content_id <= COALESCE((SELECT content_id FROM outgoing_mail ORDER BY rowid DESC LIMIT 1), 0)
BEGIN
	SELECT RAISE(ABORT, 'outgoing_mail.content_id: a message needs content of its own');
END;
CREATE TRIGGER outgoing_mail_keeps_content BEFORE UPDATE OF content_id ON outgoing_mail
WHEN NEW.content_id IS NOT OLD.content_id
BEGIN
	SELECT RAISE(ABORT, 'outgoing_mail.content_id: a message keeps its content');
END;

-- Dropping the columns rewrites each row without them: no copy of a body
-- stays behind in outgoing_mail, where an erasure would no longer look.
ALTER TABLE outgoing_mail DROP COLUMN subject;
ALTER TABLE outgoing_mail DROP COLUMN text_body;
ALTER TABLE outgoing_mail DROP COLUMN html_body;
ALTER TABLE outgoing_mail DROP COLUMN refs;
