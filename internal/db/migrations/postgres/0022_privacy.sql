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

ALTER TABLE users ADD COLUMN erased_at TIMESTAMPTZ;

-- Every column but ip and user_agent stays as it was; those two may only
-- become 'erased'.
CREATE FUNCTION privacy_only_erase_ip() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	IF TG_OP = 'DELETE' THEN
		RAISE EXCEPTION '% is append-only', TG_TABLE_NAME;
	END IF;
	IF (to_jsonb(NEW) - 'ip' - 'user_agent') IS DISTINCT FROM (to_jsonb(OLD) - 'ip' - 'user_agent')
		OR NEW.ip <> 'erased' OR NEW.user_agent <> 'erased' THEN
		RAISE EXCEPTION '% is append-only (only the IP address and user agent may be erased)', TG_TABLE_NAME;
	END IF;
	RETURN NEW;
END
$$;

DROP TRIGGER order_consents_append_only ON order_consents;
CREATE TRIGGER order_consents_append_only BEFORE UPDATE OR DELETE ON order_consents
	FOR EACH ROW EXECUTE FUNCTION privacy_only_erase_ip();

DROP TRIGGER download_events_no_update ON download_events;
CREATE TRIGGER download_events_no_update BEFORE UPDATE ON download_events
	FOR EACH ROW EXECUTE FUNCTION privacy_only_erase_ip();

CREATE OR REPLACE FUNCTION subscriptions_terms_fixed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	IF (NEW.customer_id, NEW.product_id, NEW.product_revision, NEW.plan_interval, NEW.currency, NEW.amount, NEW.anchor_day,
		NEW.consent_required, NEW.immediate_performance, NEW.withdrawal_waiver, NEW.consent_wording_version,
		NEW.consent_lang, NEW.consent_immediate_text, NEW.consent_waiver_text, NEW.consent_at, NEW.created_at)
	IS DISTINCT FROM (OLD.customer_id, OLD.product_id, OLD.product_revision, OLD.plan_interval, OLD.currency, OLD.amount, OLD.anchor_day,
		OLD.consent_required, OLD.immediate_performance, OLD.withdrawal_waiver, OLD.consent_wording_version,
		OLD.consent_lang, OLD.consent_immediate_text, OLD.consent_waiver_text, OLD.consent_at, OLD.created_at)
	OR (NEW.consent_ip IS DISTINCT FROM OLD.consent_ip AND NEW.consent_ip IS DISTINCT FROM 'erased')
	OR (NEW.consent_user_agent IS DISTINCT FROM OLD.consent_user_agent AND NEW.consent_user_agent IS DISTINCT FROM 'erased')
	OR (OLD.status = 'canceled' AND NEW.status <> 'canceled') THEN
		RAISE EXCEPTION 'subscriptions: the terms agreed never change, and a canceled subscription stays canceled';
	END IF;
	RETURN NEW;
END
$$;
