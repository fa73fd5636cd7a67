-- Support desk follow-ups: SLA warnings sent to the staff before a ticket's
-- promised answer time, and the lookup that links a guest's tickets to the
-- account that later proves the same email address.
--
-- Invariants kept here:
--   * one warning per ticket and deadline: the primary key refuses a second
--     one, so concurrent scans send it once; a new deadline (the customer
--     wrote again after an answer) is a new key and may warn again.

CREATE TABLE ticket_sla_warnings (
	ticket_id TEXT NOT NULL REFERENCES tickets (id),
	-- The promise_at the warning was about.
	deadline_at TIMESTAMP NOT NULL,
	sent_at TIMESTAMP NOT NULL,
	-- How many staff members were emailed.
	recipients INTEGER NOT NULL CHECK (recipients >= 0),
	PRIMARY KEY (ticket_id, deadline_at)
);

-- Guest tickets by email, for linking them to an account.
CREATE INDEX tickets_guest_email ON tickets (lower(customer_email)) WHERE customer_id IS NULL;
