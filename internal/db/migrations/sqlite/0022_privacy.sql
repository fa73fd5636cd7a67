-- Privacy: erasure of a customer's personal data.
--
-- Records the law makes the seller keep (consent records, download evidence,
-- subscription terms) stay append-only, with one narrow exception: the IP
-- address and user agent, which only identify the person, may be replaced by
-- the placeholder 'erased' — and by nothing else. What was agreed, when, in
-- which words and under which version never changes.
--
-- users.erased_at marks an account whose personal data were erased: it
-- cannot sign in, and its rows elsewhere point to placeholders.

ALTER TABLE users ADD COLUMN erased_at TIMESTAMP;

DROP TRIGGER order_consents_no_update;
CREATE TRIGGER order_consents_no_update BEFORE UPDATE ON order_consents
WHEN NOT (NEW.ip = 'erased' AND NEW.user_agent = 'erased'
	AND NEW.order_id IS OLD.order_id AND NEW.required IS OLD.required
	AND NEW.immediate_performance IS OLD.immediate_performance AND NEW.withdrawal_waiver IS OLD.withdrawal_waiver
	AND NEW.wording_version IS OLD.wording_version AND NEW.lang IS OLD.lang
	AND NEW.immediate_text IS OLD.immediate_text AND NEW.waiver_text IS OLD.waiver_text
	AND NEW.policy_version IS OLD.policy_version AND NEW.at IS OLD.at AND NEW.terms_version IS OLD.terms_version)
BEGIN
	SELECT RAISE(ABORT, 'order_consents is append-only (only the IP address and user agent may be erased)');
END;

DROP TRIGGER download_events_no_update;
CREATE TRIGGER download_events_no_update BEFORE UPDATE ON download_events
WHEN NOT (NEW.ip = 'erased' AND NEW.user_agent = 'erased'
	AND NEW.id IS OLD.id AND NEW.order_id IS OLD.order_id AND NEW.order_line_id IS OLD.order_line_id
	AND NEW.customer_id IS OLD.customer_id AND NEW.at IS OLD.at)
BEGIN
	SELECT RAISE(ABORT, 'download_events is append-only (only the IP address and user agent may be erased)');
END;

DROP TRIGGER subscriptions_terms_fixed;
CREATE TRIGGER subscriptions_terms_fixed BEFORE UPDATE ON subscriptions
WHEN NEW.customer_id IS NOT OLD.customer_id OR NEW.product_id IS NOT OLD.product_id
	OR NEW.product_revision IS NOT OLD.product_revision OR NEW.plan_interval IS NOT OLD.plan_interval
	OR NEW.currency IS NOT OLD.currency OR NEW.amount IS NOT OLD.amount OR NEW.anchor_day IS NOT OLD.anchor_day
	OR NEW.consent_required IS NOT OLD.consent_required OR NEW.immediate_performance IS NOT OLD.immediate_performance
	OR NEW.withdrawal_waiver IS NOT OLD.withdrawal_waiver OR NEW.consent_wording_version IS NOT OLD.consent_wording_version
	OR NEW.consent_lang IS NOT OLD.consent_lang OR NEW.consent_immediate_text IS NOT OLD.consent_immediate_text
	OR NEW.consent_waiver_text IS NOT OLD.consent_waiver_text OR NEW.consent_at IS NOT OLD.consent_at
	OR (NEW.consent_ip IS NOT OLD.consent_ip AND NEW.consent_ip IS NOT 'erased')
	OR (NEW.consent_user_agent IS NOT OLD.consent_user_agent AND NEW.consent_user_agent IS NOT 'erased')
	OR NEW.created_at IS NOT OLD.created_at
	OR (OLD.status = 'canceled' AND NEW.status <> 'canceled')
BEGIN
	SELECT RAISE(ABORT, 'subscriptions: the terms agreed never change, and a canceled subscription stays canceled');
END;
