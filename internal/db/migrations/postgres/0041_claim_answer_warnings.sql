-- Warnings sent to the staff before a claim's promised answer time (the
-- answer clock of 0030), as ticket_sla_warnings does for tickets.
--
-- Invariants kept here:
--   * one warning per claim and deadline: the primary key refuses a second
--     one, so scans running at once (two nodes, a leader change mid-scan)
--     send it once; the mail is queued in the transaction that inserts the
--     row. A claim given a new deadline is a new key and may warn again.
--   * no personal data: the row says which claim, which deadline, when and
--     to how many staff members, never to whom or about whom, so erasing a
--     customer has nothing to blank here.

CREATE TABLE claim_answer_warnings (
	claim_id TEXT NOT NULL REFERENCES claims (id),
	-- The answer_promise_at the warning was about.
	deadline_at TIMESTAMPTZ NOT NULL,
	sent_at TIMESTAMPTZ NOT NULL,
	-- How many staff members were emailed.
	recipients INTEGER NOT NULL CHECK (recipients >= 0),
	PRIMARY KEY (claim_id, deadline_at)
);
