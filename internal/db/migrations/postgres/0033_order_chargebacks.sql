-- What each lost card dispute of an order counted on its lines
-- (orders.Chargeback). The bank gave the buyer `disputed` back; the lines
-- could take only what refunds had left on them, so a refund still
-- pending at the time (or one that later fails after it succeeded) holds
-- the rest. When such a refund fails, the money it was to return is the
-- money the bank already returned: orders.ReleaseLineRefundTx counts it
-- for the dispute instead of making the line refundable again, which would
-- invite an agent to pay the buyer a second time.
--
-- One row per dispute: a second chargeback for the same dispute fails on
-- the primary key, and counted never exceeds disputed. Ids and amounts
-- only, no personal data.
CREATE TABLE order_chargebacks (
	dispute_id TEXT PRIMARY KEY,
	order_id TEXT NOT NULL REFERENCES orders (id),
	currency TEXT NOT NULL,
	disputed BIGINT NOT NULL CHECK (disputed > 0),
	counted BIGINT NOT NULL CHECK (counted >= 0 AND counted <= disputed),
	created_at TIMESTAMPTZ NOT NULL
);

-- The disputes not yet fully counted, looked up when a refund fails.
CREATE INDEX order_chargebacks_short ON order_chargebacks (order_id) WHERE counted < disputed;
