-- A second successful card payment for a reference another payment already
-- paid (the renewal's off-session charge that the bank let through after the
-- customer paid the period on the Checkout page, a charge recorded failed
-- that Stripe made after all): the money was taken, so the payment is
-- recorded as succeeded, marked a duplicate, and refunded in full at once
-- (internal/cardpay, succeed). A duplicate never holds its reference: the
-- one-live-payment index leaves it out, so the payment that paid the
-- reference keeps it, and the domain is never told of the duplicate.
ALTER TABLE card_payments ADD COLUMN duplicate BOOLEAN NOT NULL DEFAULT FALSE;
DROP INDEX card_payments_one_live_per_reference;
CREATE UNIQUE INDEX card_payments_one_live_per_reference ON card_payments (purpose, reference_id)
	WHERE status IN ('creating', 'awaiting_customer', 'requires_action', 'succeeded') AND NOT duplicate;
-- Only money that arrived is a duplicate (SQLite cannot add this check to
-- an existing table; the code sets both in one update).
ALTER TABLE card_payments ADD CONSTRAINT card_payments_duplicate_is_paid CHECK (NOT duplicate OR status = 'succeeded');
