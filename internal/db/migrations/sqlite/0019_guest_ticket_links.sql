-- Guest ticket links: a guest (no account) follows a ticket through a
-- tokenized link (/support/t/<token>) sent in every email about it. Each
-- such email carries a fresh 256-bit token; only its SHA-256 is kept, so
-- the table alone opens nothing. Every token of a ticket stays valid while
-- the ticket exists and reaches that ticket only; erasing the ticket takes
-- its tokens with it.

CREATE TABLE ticket_guest_links (
	token_hash TEXT PRIMARY KEY CHECK (length(token_hash) = 64),
	ticket_id TEXT NOT NULL REFERENCES tickets (id) ON DELETE CASCADE,
	created_at TIMESTAMP NOT NULL
);

CREATE INDEX ticket_guest_links_ticket ON ticket_guest_links (ticket_id);
