-- Outgoing mail: every message comptoir sends is stored here when it is
-- queued, in the same transaction as the change that caused it, and the row
-- is what the sending job reads. It is the record of what we told a customer
-- (the support desk shows it with the ticket), and message_id, fixed when the
-- message is queued, is what makes a retried send recognisably the same
-- message and what replies thread on.
--
-- user_id has no foreign key: the record of a message outlives the account
-- it went to. Erasing a person blanks their address, name and bodies here.
CREATE TABLE outgoing_mail (
	id TEXT PRIMARY KEY,
	kind TEXT NOT NULL,
	user_id TEXT,
	-- The From of the message as it was queued, so that a retry after a
	-- configuration change still sends the same bytes.
	from_addr TEXT NOT NULL,
	from_name TEXT NOT NULL DEFAULT '',
	to_addr TEXT NOT NULL,
	to_name TEXT NOT NULL DEFAULT '',
	lang TEXT NOT NULL DEFAULT '',
	subject TEXT NOT NULL,
	text_body TEXT NOT NULL,
	html_body TEXT NOT NULL DEFAULT '',
	reply_to TEXT NOT NULL DEFAULT '',
	in_reply_to TEXT NOT NULL DEFAULT '',
	-- The References header: message ids in angle brackets, space-separated.
	refs TEXT NOT NULL DEFAULT '',
	message_id TEXT NOT NULL UNIQUE,
	status TEXT NOT NULL DEFAULT 'queued' CHECK (status IN ('queued', 'sent', 'failed')),
	attempts INTEGER NOT NULL DEFAULT 0 CHECK (attempts >= 0),
	last_error TEXT NOT NULL DEFAULT '',
	created_at TIMESTAMP NOT NULL,
	sent_at TIMESTAMP,
	CHECK ((status = 'sent') = (sent_at IS NOT NULL))
);
CREATE INDEX outgoing_mail_user ON outgoing_mail (user_id, created_at);
CREATE INDEX outgoing_mail_kind ON outgoing_mail (kind, created_at);
