-- Card payments through Stripe (internal/cardpay): one row per attempt to
-- take money by card, the refunds taken back from it, and the webhook
-- events already applied.
--
-- customer_id has no foreign key to users: like an invoice, the record of
-- money outlives the account it belonged to. No card number or personal data
-- is stored: only Stripe's ids and the card's country (VAT evidence).

CREATE TABLE card_payments (
	id TEXT PRIMARY KEY CHECK (substr(id, 1, 4) = 'pay_'),
	-- What the money is for, and which order / top-up / subscription period.
	purpose TEXT NOT NULL CHECK (purpose IN ('order', 'topup', 'renewal')),
	reference_id TEXT NOT NULL CHECK (reference_id <> ''),
	customer_id TEXT NOT NULL CHECK (customer_id <> ''),
	-- In the currency's minor unit. The upper bound (10^15) keeps
	-- refunded + amount far from int64 overflow, as in balance_accounts.
	amount BIGINT NOT NULL CHECK (amount > 0 AND amount <= 1000000000000000),
	currency TEXT NOT NULL CHECK (length(currency) = 3 AND upper(currency) = currency),
	-- creating: stored, the Stripe call not made yet; awaiting_customer: the
	-- hosted Checkout page exists; requires_action: an off-session charge
	-- needs the customer to authenticate; the others are final.
	status TEXT NOT NULL CHECK (status IN ('creating', 'awaiting_customer', 'succeeded', 'failed', 'canceled', 'requires_action')),
	checkout_session_id TEXT UNIQUE,
	checkout_url TEXT NOT NULL DEFAULT '',
	payment_intent_id TEXT UNIQUE,
	stripe_customer_id TEXT NOT NULL DEFAULT '',
	-- The card saved for renewals (off-session charges).
	payment_method_id TEXT NOT NULL DEFAULT '',
	card_country TEXT NOT NULL DEFAULT '',
	-- What refunds hold on this payment: pending plus succeeded refunds. A
	-- refund is one conditional update (refunded + x <= amount), so two
	-- agents refunding at once cannot give back more than was paid, and the
	-- CHECK refuses it whatever the code does.
	refunded BIGINT NOT NULL DEFAULT 0 CHECK (refunded >= 0 AND refunded <= amount),
	last_error TEXT NOT NULL DEFAULT '',
	created_at TIMESTAMP NOT NULL,
	updated_at TIMESTAMP NOT NULL,
	-- Only a paid payment holds refunds.
	CHECK (refunded = 0 OR status = 'succeeded')
);
-- One reference is never charged twice: at most one payment per reference
-- that is in progress or paid. A failed or canceled attempt (an expired
-- Checkout page, a declined renewal) does not count, so the customer can try
-- again for the same order or period.
CREATE UNIQUE INDEX card_payments_one_live_per_reference ON card_payments (purpose, reference_id)
	WHERE status IN ('creating', 'awaiting_customer', 'requires_action', 'succeeded');
CREATE INDEX card_payments_customer ON card_payments (customer_id, id);

CREATE TABLE card_refunds (
	id TEXT PRIMARY KEY CHECK (substr(id, 1, 4) = 'rfd_'),
	payment_id TEXT NOT NULL REFERENCES card_payments (id),
	-- In the payment's currency and minor unit.
	amount BIGINT NOT NULL CHECK (amount > 0),
	status TEXT NOT NULL CHECK (status IN ('pending', 'succeeded', 'failed')),
	stripe_refund_id TEXT UNIQUE,
	reason TEXT NOT NULL DEFAULT '',
	last_error TEXT NOT NULL DEFAULT '',
	created_at TIMESTAMP NOT NULL,
	updated_at TIMESTAMP NOT NULL
);
CREATE INDEX card_refunds_payment ON card_refunds (payment_id, id);

-- Refunds never add up to more than the payment, whatever writes them: after
-- every change of a refund, the payment's reservation (refunded, bounded by
-- the amount paid) must equal its pending and succeeded refunds. So a refund
-- cannot be stored without reserving its amount by the conditional update,
-- and a refund is a record of money: its amount and payment never change and
-- it is never deleted.
CREATE TRIGGER card_refunds_match_reservation_insert AFTER INSERT ON card_refunds
WHEN (SELECT refunded FROM card_payments WHERE id = NEW.payment_id)
	IS NOT (SELECT COALESCE(SUM(amount), 0) FROM card_refunds WHERE payment_id = NEW.payment_id AND status <> 'failed')
BEGIN
	SELECT RAISE(ABORT, 'card_refunds: refunds of a payment differ from its reservation');
END;
CREATE TRIGGER card_refunds_match_reservation_update AFTER UPDATE ON card_refunds
WHEN (SELECT refunded FROM card_payments WHERE id = NEW.payment_id)
	IS NOT (SELECT COALESCE(SUM(amount), 0) FROM card_refunds WHERE payment_id = NEW.payment_id AND status <> 'failed')
BEGIN
	SELECT RAISE(ABORT, 'card_refunds: refunds of a payment differ from its reservation');
END;
CREATE TRIGGER card_refunds_fixed BEFORE UPDATE OF payment_id, amount ON card_refunds
WHEN NEW.payment_id <> OLD.payment_id OR NEW.amount <> OLD.amount
BEGIN
	SELECT RAISE(ABORT, 'card_refunds: amount and payment_id never change');
END;
CREATE TRIGGER card_refunds_no_delete BEFORE DELETE ON card_refunds
BEGIN
	SELECT RAISE(ABORT, 'card_refunds: a refund is never deleted');
END;

-- Stripe webhook events already applied, recorded in the same transaction
-- as their effect: a redelivered event finds its id here and changes nothing.
CREATE TABLE stripe_events (
	id TEXT PRIMARY KEY,
	type TEXT NOT NULL,
	received_at TIMESTAMP NOT NULL
);
