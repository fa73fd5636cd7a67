-- A card refund of a period that fails for good gives the period back its
-- paid status: the money never left. Only that move out of refunded is
-- allowed; everything else about a period stays as 0008 made it.
CREATE OR REPLACE FUNCTION subscription_periods_fixed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	IF TG_OP = 'DELETE' THEN
		RAISE EXCEPTION 'subscription_periods: a billed period is never deleted';
	END IF;
	IF (NEW.subscription_id, NEW.period_start, NEW.period_end, NEW.currency, NEW.amount, NEW.payment_method,
		NEW.policy_version, NEW.created_at)
	IS DISTINCT FROM (OLD.subscription_id, OLD.period_start, OLD.period_end, OLD.currency, OLD.amount, OLD.payment_method,
		OLD.policy_version, OLD.created_at)
	OR (OLD.status = 'paid' AND NEW.status NOT IN ('paid', 'refunded'))
	OR (OLD.status = 'refunded' AND NEW.status NOT IN ('refunded', 'paid'))
	OR (OLD.paid_at IS NOT NULL AND (NEW.paid_at, NEW.payment_reference) IS DISTINCT FROM (OLD.paid_at, OLD.payment_reference)) THEN
		RAISE EXCEPTION 'subscription_periods: terms are fixed and a payment is never undone';
	END IF;
	RETURN NEW;
END
$$;

-- The terms of sale version (legal_documents' terms@N) the customer
-- accepted when subscribing, beside the refund policy version; NULL for
-- subscriptions started before it was recorded. Fixed once written.
ALTER TABLE subscriptions ADD COLUMN terms_version TEXT;
CREATE OR REPLACE FUNCTION subscriptions_terms_fixed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	IF (NEW.customer_id, NEW.product_id, NEW.product_revision, NEW.plan_interval, NEW.currency, NEW.amount, NEW.anchor_day,
		NEW.consent_required, NEW.immediate_performance, NEW.withdrawal_waiver, NEW.consent_wording_version,
		NEW.consent_lang, NEW.consent_immediate_text, NEW.consent_waiver_text, NEW.consent_at, NEW.consent_ip,
		NEW.consent_user_agent, NEW.created_at, NEW.terms_version)
	IS DISTINCT FROM (OLD.customer_id, OLD.product_id, OLD.product_revision, OLD.plan_interval, OLD.currency, OLD.amount, OLD.anchor_day,
		OLD.consent_required, OLD.immediate_performance, OLD.withdrawal_waiver, OLD.consent_wording_version,
		OLD.consent_lang, OLD.consent_immediate_text, OLD.consent_waiver_text, OLD.consent_at, OLD.consent_ip,
		OLD.consent_user_agent, OLD.created_at, OLD.terms_version)
	OR (OLD.status = 'canceled' AND NEW.status <> 'canceled') THEN
		RAISE EXCEPTION 'subscriptions: the terms agreed never change, and a canceled subscription stays canceled';
	END IF;
	RETURN NEW;
END
$$;
