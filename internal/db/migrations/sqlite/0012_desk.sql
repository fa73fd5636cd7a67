-- Support desk: tickets opened from the Contact page or by email, their
-- messages (in from the customer or a stranger, out to the customer, internal
-- notes), attachments, SLA events and satisfaction surveys.
--
-- Invariants kept here:
--   * a ticket's reference and reply token are unique (they thread mail);
--   * a Message-ID is stored once: a duplicate delivery is refused by the
--     unique key (NULL for messages that came without one);
--   * promise_at is indexed where set: the queue and the SLA watcher read by
--     the nearest deadline.

CREATE TABLE tickets (
	id TEXT PRIMARY KEY CHECK (substr(id, 1, 4) = 'tkt_'),
	reference TEXT NOT NULL UNIQUE CHECK (length(reference) = 10 AND substr(reference, 1, 2) = 'T-'),
	reply_token TEXT NOT NULL UNIQUE CHECK (length(reply_token) = 32),
	customer_id TEXT REFERENCES users (id),
	customer_email TEXT NOT NULL,
	customer_name TEXT NOT NULL DEFAULT '',
	lang TEXT NOT NULL CHECK (lang IN ('fr', 'en')),
	topic TEXT NOT NULL CHECK (topic <> ''),
	order_id TEXT REFERENCES orders (id),
	status TEXT NOT NULL CHECK (status IN ('open', 'waiting_customer', 'answered', 'closed')),
	assignee_id TEXT REFERENCES users (id),
	first_message_at TIMESTAMP NOT NULL,
	-- The SLA deadlines of the reply due now; NULL when nothing is due.
	target_at TIMESTAMP,
	promise_at TIMESTAMP,
	breached BOOLEAN NOT NULL DEFAULT FALSE,
	created_at TIMESTAMP NOT NULL,
	updated_at TIMESTAMP NOT NULL,
	CHECK ((target_at IS NULL) = (promise_at IS NULL))
);

CREATE INDEX tickets_promise_at ON tickets (promise_at) WHERE promise_at IS NOT NULL;
CREATE INDEX tickets_customer ON tickets (customer_id, updated_at);
CREATE INDEX tickets_assignee ON tickets (assignee_id);

CREATE TABLE ticket_messages (
	id TEXT PRIMARY KEY CHECK (substr(id, 1, 4) = 'tms_'),
	ticket_id TEXT NOT NULL REFERENCES tickets (id),
	direction TEXT NOT NULL CHECK (direction IN ('in', 'out', 'note')),
	author_id TEXT REFERENCES users (id),
	from_email TEXT NOT NULL DEFAULT '',
	-- "<…>"; outgoing rows hold the Message-ID of the mail sent.
	message_id TEXT UNIQUE,
	in_reply_to TEXT NOT NULL DEFAULT '',
	refs TEXT NOT NULL DEFAULT '',
	subject TEXT NOT NULL DEFAULT '',
	body_text TEXT NOT NULL DEFAULT '',
	-- Sanitized before it gets here.
	body_html TEXT NOT NULL DEFAULT '',
	-- The sender is not the ticket's customer: for an agent's eyes only.
	flagged BOOLEAN NOT NULL DEFAULT FALSE,
	auto_reply BOOLEAN NOT NULL DEFAULT FALSE,
	unparsed BOOLEAN NOT NULL DEFAULT FALSE,
	raw BLOB,
	outgoing_mail_id TEXT REFERENCES outgoing_mail (id),
	created_at TIMESTAMP NOT NULL
);

CREATE INDEX ticket_messages_ticket ON ticket_messages (ticket_id, created_at);

CREATE TABLE ticket_attachments (
	id TEXT PRIMARY KEY CHECK (substr(id, 1, 4) = 'tat_'),
	message_id TEXT NOT NULL REFERENCES ticket_messages (id),
	file_name TEXT NOT NULL,
	content_type TEXT NOT NULL,
	size BIGINT NOT NULL CHECK (size >= 0),
	blob_key TEXT NOT NULL
);

CREATE INDEX ticket_attachments_message ON ticket_attachments (message_id);

-- What the SLA is computed from: customer messages, answers, waits, closes.
CREATE TABLE ticket_sla_events (
	id TEXT PRIMARY KEY CHECK (substr(id, 1, 4) = 'tse_'),
	ticket_id TEXT NOT NULL REFERENCES tickets (id),
	kind TEXT NOT NULL CHECK (kind IN ('customer', 'reply', 'wait', 'close')),
	at TIMESTAMP NOT NULL
);

CREATE INDEX ticket_sla_events_ticket ON ticket_sla_events (ticket_id, at);

CREATE TABLE ticket_surveys (
	ticket_id TEXT PRIMARY KEY REFERENCES tickets (id),
	token_hash TEXT NOT NULL UNIQUE,
	rating INTEGER CHECK (rating BETWEEN 1 AND 5),
	comment TEXT NOT NULL DEFAULT '',
	sent_at TIMESTAMP NOT NULL,
	answered_at TIMESTAMP,
	CHECK ((rating IS NULL) = (answered_at IS NULL))
);
