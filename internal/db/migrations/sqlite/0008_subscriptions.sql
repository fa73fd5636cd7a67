-- Subscriptions: a customer's plan, renewed at the end of each period, and
-- the record of every period billed.
--
-- The rules that protect money and the customer's rights are repeated here
-- as constraints, so that no code path can break them:
--   * UNIQUE (subscription_id, period_start) on subscription_periods is what
--     makes a renewal charge exactly once: two jobs or two nodes renewing the
--     same period both try to insert its row, and only one can;
--   * the terms agreed (plan revision, price, consent, policy accepted at the
--     start) are fixed once written: a renewal charges what was agreed;
--   * a paid period stays paid (or becomes refunded) and is never deleted.

CREATE TABLE subscriptions (
	id TEXT PRIMARY KEY CHECK (substr(id, 1, 4) = 'sub_'),
	customer_id TEXT NOT NULL REFERENCES users (id),
	-- The plan exactly as described when subscribed (revisions are
	-- immutable): renewals stay on these terms.
	product_id TEXT NOT NULL,
	product_revision INTEGER NOT NULL,
	plan_interval TEXT NOT NULL CHECK (plan_interval IN ('week', 'month', 'year')),
	-- incomplete: a card subscription whose first payment is not made yet
	-- (the Checkout page is open); it gives no service and is never renewed.
	status TEXT NOT NULL CHECK (status IN ('incomplete', 'trialing', 'active', 'past_due', 'canceled')),
	payment_method TEXT NOT NULL CHECK (payment_method IN ('balance', 'card')),
	currency TEXT NOT NULL CHECK (length(currency) = 3 AND upper(currency) = currency),
	-- The price of one period, in minor units (the billing ledger's bound).
	amount BIGINT NOT NULL CHECK (amount > 0 AND amount <= 1000000000000),
	-- The refund policy version the customer accepted: renewals stay under
	-- it until the customer accepts a newer one.
	policy_version TEXT NOT NULL CHECK (policy_version <> ''),
	-- The language the customer subscribed in: what they read is what binds.
	lang TEXT NOT NULL CHECK (lang IN ('fr', 'en')),
	-- Day of the month the paid periods start on (clamped in short months).
	anchor_day INTEGER NOT NULL CHECK (anchor_day BETWEEN 1 AND 31),
	-- The period being served: the trial while trialing, else the last one
	-- paid (past_due: the last one paid, the next one being retried).
	current_period_start TIMESTAMP NOT NULL,
	current_period_end TIMESTAMP NOT NULL,
	trial_end TIMESTAMP,
	-- Scheduled cancellation: no renewal is charged, the subscription ends
	-- at current_period_end unless the customer undoes it before.
	cancel_at_period_end BOOLEAN NOT NULL DEFAULT FALSE,
	cancel_requested_at TIMESTAMP,
	canceled_at TIMESTAMP,
	-- When the service ended (the period end for a scheduled cancellation).
	ended_at TIMESTAMP,
	-- Consent at subscription, word for word (as order_consents for orders).
	consent_required BOOLEAN NOT NULL,
	immediate_performance BOOLEAN NOT NULL,
	withdrawal_waiver BOOLEAN NOT NULL,
	consent_wording_version TEXT NOT NULL,
	consent_lang TEXT NOT NULL,
	consent_immediate_text TEXT NOT NULL,
	consent_waiver_text TEXT NOT NULL,
	consent_at TIMESTAMP NOT NULL,
	consent_ip TEXT NOT NULL,
	consent_user_agent TEXT NOT NULL,
	created_at TIMESTAMP NOT NULL,
	updated_at TIMESTAMP NOT NULL,
	FOREIGN KEY (product_id, product_revision) REFERENCES product_revisions (product_id, revision),
	CHECK (current_period_end > current_period_start),
	CHECK (NOT consent_required OR (immediate_performance AND withdrawal_waiver)),
	CHECK (status <> 'trialing' OR trial_end IS NOT NULL),
	CHECK ((status = 'canceled') = (canceled_at IS NOT NULL)),
	CHECK ((status = 'canceled') = (ended_at IS NOT NULL)),
	CHECK (NOT cancel_at_period_end OR cancel_requested_at IS NOT NULL)
);
-- A customer's subscriptions, paged by id.
CREATE INDEX subscriptions_by_customer ON subscriptions (customer_id, id);
-- The renewal scan reads only subscriptions that can renew, by due time:
-- its cost follows what is due now, not how many subscriptions ever ended.
CREATE INDEX subscriptions_due ON subscriptions (current_period_end, id) WHERE status IN ('active', 'trialing');
-- One live subscription per customer and plan: a double click or a second
-- tab cannot subscribe (and charge) twice.
CREATE UNIQUE INDEX subscriptions_one_live_per_plan ON subscriptions (customer_id, product_id) WHERE status <> 'canceled';

CREATE TRIGGER subscriptions_terms_fixed BEFORE UPDATE ON subscriptions
WHEN NEW.customer_id IS NOT OLD.customer_id OR NEW.product_id IS NOT OLD.product_id
	OR NEW.product_revision IS NOT OLD.product_revision OR NEW.plan_interval IS NOT OLD.plan_interval
	OR NEW.currency IS NOT OLD.currency OR NEW.amount IS NOT OLD.amount OR NEW.anchor_day IS NOT OLD.anchor_day
	OR NEW.consent_required IS NOT OLD.consent_required OR NEW.immediate_performance IS NOT OLD.immediate_performance
	OR NEW.withdrawal_waiver IS NOT OLD.withdrawal_waiver OR NEW.consent_wording_version IS NOT OLD.consent_wording_version
	OR NEW.consent_lang IS NOT OLD.consent_lang OR NEW.consent_immediate_text IS NOT OLD.consent_immediate_text
	OR NEW.consent_waiver_text IS NOT OLD.consent_waiver_text OR NEW.consent_at IS NOT OLD.consent_at
	OR NEW.consent_ip IS NOT OLD.consent_ip OR NEW.consent_user_agent IS NOT OLD.consent_user_agent
	OR NEW.created_at IS NOT OLD.created_at
	OR (OLD.status = 'canceled' AND NEW.status <> 'canceled')
BEGIN
	SELECT RAISE(ABORT, 'subscriptions: the terms agreed never change, and a canceled subscription stays canceled');
END;

-- One row per period billed (never for a trial). The row is inserted by the
-- first attempt to charge the period; retries update it.
CREATE TABLE subscription_periods (
	id TEXT PRIMARY KEY CHECK (substr(id, 1, 4) = 'spd_'),
	subscription_id TEXT NOT NULL REFERENCES subscriptions (id),
	period_start TIMESTAMP NOT NULL,
	period_end TIMESTAMP NOT NULL,
	currency TEXT NOT NULL CHECK (length(currency) = 3),
	amount BIGINT NOT NULL CHECK (amount > 0),
	payment_method TEXT NOT NULL CHECK (payment_method IN ('balance', 'card')),
	-- The refund policy version this payment was taken under.
	policy_version TEXT NOT NULL,
	-- pending: being charged (a card charge awaits its outcome); failed:
	-- unpaid, retried at next_attempt_at, or given up when that is NULL.
	status TEXT NOT NULL CHECK (status IN ('pending', 'paid', 'failed', 'refunded')),
	attempts INTEGER NOT NULL CHECK (attempts >= 1),
	next_attempt_at TIMESTAMP,
	last_error TEXT NOT NULL DEFAULT '',
	paid_at TIMESTAMP,
	-- The balance entry or card payment that paid the period.
	payment_reference TEXT NOT NULL DEFAULT '',
	refunded_at TIMESTAMP,
	created_at TIMESTAMP NOT NULL,
	updated_at TIMESTAMP NOT NULL,
	UNIQUE (subscription_id, period_start),
	CHECK (period_end > period_start),
	CHECK ((status IN ('paid', 'refunded')) = (paid_at IS NOT NULL)),
	CHECK ((status = 'refunded') = (refunded_at IS NOT NULL)),
	CHECK (status NOT IN ('paid', 'refunded') OR payment_reference <> ''),
	CHECK (next_attempt_at IS NULL OR status = 'failed')
);
-- The retry scan reads only periods waiting for another attempt.
CREATE INDEX subscription_periods_retry_due ON subscription_periods (next_attempt_at, id) WHERE next_attempt_at IS NOT NULL;

-- A period's terms never change, money received is never forgotten: a paid
-- period only becomes refunded, and no period is deleted.
CREATE TRIGGER subscription_periods_fixed BEFORE UPDATE ON subscription_periods
WHEN NEW.subscription_id IS NOT OLD.subscription_id OR NEW.period_start IS NOT OLD.period_start
	OR NEW.period_end IS NOT OLD.period_end OR NEW.currency IS NOT OLD.currency OR NEW.amount IS NOT OLD.amount
	OR NEW.payment_method IS NOT OLD.payment_method OR NEW.policy_version IS NOT OLD.policy_version
	OR NEW.created_at IS NOT OLD.created_at
	OR (OLD.status = 'paid' AND NEW.status NOT IN ('paid', 'refunded'))
	OR (OLD.status = 'refunded' AND NEW.status <> 'refunded')
	OR (OLD.paid_at IS NOT NULL AND (NEW.paid_at IS NOT OLD.paid_at OR NEW.payment_reference IS NOT OLD.payment_reference))
BEGIN
	SELECT RAISE(ABORT, 'subscription_periods: terms are fixed and a payment is never undone');
END;
CREATE TRIGGER subscription_periods_no_delete BEFORE DELETE ON subscription_periods
BEGIN
	SELECT RAISE(ABORT, 'subscription_periods: a billed period is never deleted');
END;
