-- Orders: what a customer bought, what they agreed to when buying, and what
-- was delivered when. Together these rows are the store's evidence in a
-- claim or a card dispute, so the facts they hold are protected here, not
-- only in Go: amounts never go negative or past what was paid, delivery never
-- passes the quantity ordered, and the consent and delivery records are
-- append-only.

CREATE TABLE orders (
	id TEXT PRIMARY KEY,
	customer_id TEXT NOT NULL REFERENCES users (id),
	status TEXT NOT NULL CHECK (status IN ('pending_payment', 'paid', 'processing', 'partial', 'completed', 'canceled', 'refunded')),
	currency TEXT NOT NULL CHECK (length(currency) = 3),
	total INTEGER NOT NULL CHECK (total > 0),
	paid INTEGER NOT NULL DEFAULT 0 CHECK (paid >= 0 AND paid <= total),
	refunded INTEGER NOT NULL DEFAULT 0 CHECK (refunded >= 0 AND refunded <= paid),
	payment_method TEXT NOT NULL CHECK (payment_method IN ('balance', 'card')),
	-- The refund policy version the customer accepted (default@1): claims on
	-- this order are decided under it.
	policy_version TEXT NOT NULL,
	-- The language the customer bought in: what they read is what binds.
	lang TEXT NOT NULL CHECK (lang IN ('fr', 'en')),
	placed_at TIMESTAMP NOT NULL,
	paid_at TIMESTAMP,
	updated_at TIMESTAMP NOT NULL,
	CHECK ((paid_at IS NULL) = (paid = 0))
);
CREATE INDEX orders_by_customer ON orders (customer_id, id);
CREATE INDEX orders_by_status ON orders (status, id);

CREATE TABLE order_lines (
	id TEXT PRIMARY KEY,
	order_id TEXT NOT NULL REFERENCES orders (id),
	position INTEGER NOT NULL CHECK (position >= 1),
	product_id TEXT NOT NULL,
	-- The product exactly as described when bought (revisions are immutable).
	product_revision INTEGER NOT NULL,
	kind TEXT NOT NULL CHECK (kind IN ('service', 'digital')),
	-- The name in the order's language, copied for lists; the full text is
	-- in the revision.
	name TEXT NOT NULL,
	unit_price INTEGER NOT NULL CHECK (unit_price > 0),
	quantity INTEGER NOT NULL CHECK (quantity > 0),
	delivered INTEGER NOT NULL DEFAULT 0 CHECK (delivered >= 0 AND delivered <= quantity),
	amount INTEGER NOT NULL CHECK (amount > 0),
	refunded INTEGER NOT NULL DEFAULT 0 CHECK (refunded >= 0 AND refunded <= amount),
	-- When a service line should be fully delivered (placed + the stated
	-- processing time); NULL for digital lines, delivered at once.
	processing_until TIMESTAMP,
	licence_key TEXT,
	UNIQUE (order_id, position),
	FOREIGN KEY (product_id, product_revision) REFERENCES product_revisions (product_id, revision)
);
CREATE INDEX order_lines_by_order ON order_lines (order_id, position);
-- Open service lines by due time: the overdue scan reads only these.
CREATE INDEX order_lines_open ON order_lines (processing_until) WHERE delivered < quantity;

-- What the customer was shown and ticked at checkout, word for word.
CREATE TABLE order_consents (
	order_id TEXT PRIMARY KEY REFERENCES orders (id),
	-- Whether the law required the boxes (an EU consumer buying something
	-- that starts at once).
	required BOOLEAN NOT NULL,
	immediate_performance BOOLEAN NOT NULL,
	withdrawal_waiver BOOLEAN NOT NULL,
	wording_version TEXT NOT NULL,
	lang TEXT NOT NULL,
	immediate_text TEXT NOT NULL,
	waiver_text TEXT NOT NULL,
	policy_version TEXT NOT NULL,
	at TIMESTAMP NOT NULL,
	ip TEXT NOT NULL,
	user_agent TEXT NOT NULL,
	CHECK (NOT required OR (immediate_performance AND withdrawal_waiver))
);
CREATE TRIGGER order_consents_no_update BEFORE UPDATE ON order_consents
BEGIN
	SELECT RAISE(ABORT, 'order_consents is append-only');
END;
CREATE TRIGGER order_consents_no_delete BEFORE DELETE ON order_consents
BEGIN
	SELECT RAISE(ABORT, 'order_consents is append-only');
END;

-- Every step of delivery progress with its time and source.
CREATE TABLE delivery_events (
	id TEXT PRIMARY KEY,
	order_id TEXT NOT NULL REFERENCES orders (id),
	order_line_id TEXT NOT NULL REFERENCES order_lines (id),
	delivered_before INTEGER NOT NULL CHECK (delivered_before >= 0),
	delivered_after INTEGER NOT NULL CHECK (delivered_after > delivered_before),
	source TEXT NOT NULL CHECK (source IN ('agent', 'api', 'webhook', 'system')),
	actor_id TEXT,
	at TIMESTAMP NOT NULL
);
CREATE INDEX delivery_events_by_line ON delivery_events (order_line_id, at);
CREATE TRIGGER delivery_events_no_update BEFORE UPDATE ON delivery_events
BEGIN
	SELECT RAISE(ABORT, 'delivery_events is append-only');
END;
CREATE TRIGGER delivery_events_no_delete BEFORE DELETE ON delivery_events
BEGIN
	SELECT RAISE(ABORT, 'delivery_events is append-only');
END;
