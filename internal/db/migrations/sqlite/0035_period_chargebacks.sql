-- What each lost card dispute of a subscription period's payment returned
-- to the customer (subscriptions.CardHandler.PaymentDisputeEventTx), and
-- how much of it has since taken over card refunds of the period that
-- failed. A refund still pending when the bank decided could not be
-- counted; when it fails, the money it was to return is money the bank
-- returned, so the period stays refunded and nobody is asked to pay it
-- back another way (as order_chargebacks does for order lines).
--
-- One row per dispute; taken_over never exceeds disputed. Ids and amounts
-- only, no personal data.
CREATE TABLE period_chargebacks (
	dispute_id TEXT PRIMARY KEY,
	period_id TEXT NOT NULL REFERENCES subscription_periods (id),
	currency TEXT NOT NULL,
	disputed BIGINT NOT NULL CHECK (disputed > 0),
	taken_over BIGINT NOT NULL DEFAULT 0 CHECK (taken_over >= 0 AND taken_over <= disputed),
	created_at TIMESTAMP NOT NULL
);
CREATE INDEX period_chargebacks_by_period ON period_chargebacks (period_id);
