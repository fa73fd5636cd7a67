-- A password reset asked for and not handled yet. The form only stores
-- this row and queues its job (account.ResetRequestArgs, which carries the
-- row's id), whatever the address, so that its answer takes the same time
-- for an account and for none; the job looks the address up, and makes and
-- mails the link. The address waits here rather than in the job's
-- arguments, which River keeps for a day after the job ran: the job deletes
-- the row in the transaction that acts on it (a second run finds nothing),
-- and an erasure deletes the rows of the account's address.
CREATE TABLE password_reset_requests (
	id TEXT PRIMARY KEY,
	email_key TEXT NOT NULL,
	lang TEXT NOT NULL,
	created_at TIMESTAMP NOT NULL
);
CREATE INDEX password_reset_requests_email_key ON password_reset_requests (email_key);
