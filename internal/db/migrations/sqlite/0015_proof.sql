-- Social proof ("someone in Lyon bought this an hour ago", internal/proof).
--
-- There is deliberately no table of notices: the feed is a query over paid
-- orders, so a notice that does not come from a real order cannot exist.
-- The tables below only hold the buyer's choice, notices taken down, and
-- the store's settings; each row about an order points at that order.

-- What the buyer chose at checkout: opt_out keeps the order out of the feed.
-- Written in the checkout's transaction, never changed afterwards (the
-- choice is evidence, like the consent record). An order without a row is
-- never shown.
CREATE TABLE proof_choices (
	order_id TEXT PRIMARY KEY REFERENCES orders (id),
	opt_out BOOLEAN NOT NULL,
	at TIMESTAMP NOT NULL
);
CREATE TRIGGER proof_choices_no_update BEFORE UPDATE ON proof_choices
BEGIN
	SELECT RAISE(ABORT, 'proof_choices is append-only');
END;
CREATE TRIGGER proof_choices_no_delete BEFORE DELETE ON proof_choices
BEGIN
	SELECT RAISE(ABORT, 'proof_choices is append-only');
END;

-- Orders taken out of the feed for another reason than their status: a
-- card dispute, or an admin's decision.
CREATE TABLE proof_withdrawn (
	order_id TEXT PRIMARY KEY REFERENCES orders (id),
	reason TEXT NOT NULL CHECK (reason IN ('disputed', 'admin')),
	actor_id TEXT,
	at TIMESTAMP NOT NULL
);

-- The store's settings: one row. Off until an admin turns it on.
CREATE TABLE proof_settings (
	id INTEGER PRIMARY KEY CHECK (id = 1),
	enabled BOOLEAN NOT NULL DEFAULT FALSE,
	-- k-anonymity: a place is named only when at least k distinct customers
	-- bought from it in the last 90 days.
	k INTEGER NOT NULL DEFAULT 5 CHECK (k >= 2 AND k <= 1000),
	-- A purchase shows only this long after payment.
	delay_seconds INTEGER NOT NULL DEFAULT 600 CHECK (delay_seconds >= 60 AND delay_seconds <= 604800),
	-- Whether the checkout box starts ticked ("do not show my purchase").
	default_opt_out BOOLEAN NOT NULL DEFAULT FALSE,
	-- Every product, or only those in proof_products.
	all_products BOOLEAN NOT NULL DEFAULT TRUE,
	-- Other sites of the store allowed to embed the feed, one origin a line.
	cors_origins TEXT NOT NULL DEFAULT '',
	updated_at TIMESTAMP NOT NULL
);

CREATE TABLE proof_products (
	product_id TEXT PRIMARY KEY REFERENCES products (id)
);

-- The feed and its anonymity crowd read paid orders by payment time.
CREATE INDEX orders_by_paid_at ON orders (paid_at);
