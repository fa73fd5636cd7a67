-- Card disputes (internal/disputes): one case per Stripe dispute, the hold on
-- refunds of a disputed payment, and the customer activity log that the
-- evidence pack quotes.

CREATE TABLE disputes (
	id TEXT PRIMARY KEY CHECK (substr(id, 1, 4) = 'dsp_'),
	stripe_dispute_id TEXT NOT NULL UNIQUE CHECK (stripe_dispute_id <> ''),
	payment_id TEXT NOT NULL REFERENCES card_payments (id),
	-- What the payment paid for (an order, a top-up, a renewal) and whose.
	purpose TEXT NOT NULL,
	reference_id TEXT NOT NULL,
	customer_id TEXT NOT NULL,
	amount INTEGER NOT NULL CHECK (amount > 0),
	currency TEXT NOT NULL CHECK (length(currency) = 3),
	reason TEXT NOT NULL DEFAULT '',
	-- Stripe's own status (needs_response, under_review, won, lost…).
	stripe_status TEXT NOT NULL DEFAULT '',
	-- open until Stripe closes it; then won or lost.
	status TEXT NOT NULL CHECK (status IN ('open', 'won', 'lost')),
	due_by TIMESTAMP,
	-- The agent's statement, sent as uncategorized_text.
	statement TEXT NOT NULL DEFAULT '',
	-- none → queued (the job will call Stripe) → submitted, or failed.
	submission TEXT NOT NULL DEFAULT 'none' CHECK (submission IN ('none', 'queued', 'submitted', 'failed')),
	submitted_at TIMESTAMP,
	submitted_by TEXT,
	submit_error TEXT NOT NULL DEFAULT '',
	created_at TIMESTAMP NOT NULL,
	updated_at TIMESTAMP NOT NULL,
	closed_at TIMESTAMP,
	CHECK ((status = 'open') = (closed_at IS NULL)),
	CHECK ((submission = 'submitted') = (submitted_at IS NOT NULL))
);
CREATE INDEX disputes_by_reference ON disputes (reference_id);
CREATE INDEX disputes_by_status ON disputes (status, created_at);

-- A payment under dispute holds its refunds: while the bank decides, a
-- refund would give the money back twice. The refund reservation (one
-- conditional update on card_payments) requires this to be false.
ALTER TABLE card_payments ADD COLUMN dispute_hold BOOLEAN NOT NULL DEFAULT FALSE;

-- What the customer did on the store, with time and address: sign-ins and
-- order page views (downloads have download_events). Evidence in a card
-- dispute that the buyer used what they say they never got. Rows are never
-- rewritten; they may be deleted (erasure of an account, retention), as
-- download_events.
CREATE TABLE customer_activity (
	id TEXT PRIMARY KEY,
	customer_id TEXT NOT NULL,
	kind TEXT NOT NULL CHECK (kind IN ('sign_in', 'order_view')),
	subject_id TEXT NOT NULL DEFAULT '',
	at TIMESTAMP NOT NULL,
	ip TEXT NOT NULL,
	user_agent TEXT NOT NULL
);
CREATE INDEX customer_activity_by_customer ON customer_activity (customer_id, at);
CREATE TRIGGER customer_activity_no_update BEFORE UPDATE ON customer_activity
BEGIN
	SELECT RAISE(ABORT, 'customer_activity is append-only');
END;
