-- A card refund of a period that fails for good gives the period back its
-- paid status: the money never left. Only that move out of refunded is
-- allowed; everything else about a period stays as 0008 made it.
DROP TRIGGER subscription_periods_fixed;
CREATE TRIGGER subscription_periods_fixed BEFORE UPDATE ON subscription_periods
WHEN NEW.subscription_id IS NOT OLD.subscription_id OR NEW.period_start IS NOT OLD.period_start
	OR NEW.period_end IS NOT OLD.period_end OR NEW.currency IS NOT OLD.currency OR NEW.amount IS NOT OLD.amount
	OR NEW.payment_method IS NOT OLD.payment_method OR NEW.policy_version IS NOT OLD.policy_version
	OR NEW.created_at IS NOT OLD.created_at
	OR (OLD.status = 'paid' AND NEW.status NOT IN ('paid', 'refunded'))
	OR (OLD.status = 'refunded' AND NEW.status NOT IN ('refunded', 'paid'))
	OR (OLD.paid_at IS NOT NULL AND (NEW.paid_at IS NOT OLD.paid_at OR NEW.payment_reference IS NOT OLD.payment_reference))
BEGIN
	SELECT RAISE(ABORT, 'subscription_periods: terms are fixed and a payment is never undone');
END;

-- The terms of sale version (legal_documents' terms@N) the customer
-- accepted when subscribing, beside the refund policy version; NULL for
-- subscriptions started before it was recorded. Fixed once written.
ALTER TABLE subscriptions ADD COLUMN terms_version TEXT;
DROP TRIGGER subscriptions_terms_fixed;
CREATE TRIGGER subscriptions_terms_fixed BEFORE UPDATE ON subscriptions
WHEN NEW.customer_id IS NOT OLD.customer_id OR NEW.product_id IS NOT OLD.product_id
	OR NEW.product_revision IS NOT OLD.product_revision OR NEW.plan_interval IS NOT OLD.plan_interval
	OR NEW.currency IS NOT OLD.currency OR NEW.amount IS NOT OLD.amount OR NEW.anchor_day IS NOT OLD.anchor_day
	OR NEW.consent_required IS NOT OLD.consent_required OR NEW.immediate_performance IS NOT OLD.immediate_performance
	OR NEW.withdrawal_waiver IS NOT OLD.withdrawal_waiver OR NEW.consent_wording_version IS NOT OLD.consent_wording_version
	OR NEW.consent_lang IS NOT OLD.consent_lang OR NEW.consent_immediate_text IS NOT OLD.consent_immediate_text
	OR NEW.consent_waiver_text IS NOT OLD.consent_waiver_text OR NEW.consent_at IS NOT OLD.consent_at
	OR NEW.consent_ip IS NOT OLD.consent_ip OR NEW.consent_user_agent IS NOT OLD.consent_user_agent
	OR NEW.created_at IS NOT OLD.created_at OR NEW.terms_version IS NOT OLD.terms_version
	OR (OLD.status = 'canceled' AND NEW.status <> 'canceled')
BEGIN
	SELECT RAISE(ABORT, 'subscriptions: the terms agreed never change, and a canceled subscription stays canceled');
END;
