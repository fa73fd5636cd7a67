-- A withdrawal the customer sent on time by email or the contact form, then
-- again through the withdraw button once the period was over, was refused
-- as out of time; one withdrawal per line (claims_one_withdrawal_per_line)
-- then left the agent no way to file the earlier one. The refused
-- withdrawal's filing may now move earlier, to the customer's first
-- written contact (POLICY.md filed_at: an agent's delay never costs the
-- customer their window): filed by the agent from that message, and decided
-- again on it (claims refileWithdrawal). Nothing else of a filing changes,
-- and nothing else moves it.
CREATE OR REPLACE FUNCTION claims_filing_fixed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	IF NEW.id IS DISTINCT FROM OLD.id OR NEW.kind IS DISTINCT FROM OLD.kind OR NEW.customer_id IS DISTINCT FROM OLD.customer_id
		OR NEW.order_id IS DISTINCT FROM OLD.order_id OR NEW.order_line_id IS DISTINCT FROM OLD.order_line_id
		OR NEW.subscription_id IS DISTINCT FROM OLD.subscription_id
		OR ((NEW.filed_at IS DISTINCT FROM OLD.filed_at OR NEW.source_message_id IS DISTINCT FROM OLD.source_message_id
		OR NEW.filed_by IS DISTINCT FROM OLD.filed_by OR NEW.filed_via IS DISTINCT FROM OLD.filed_via)
			AND NOT (OLD.kind = 'withdrawal' AND OLD.outcome = 'refused' AND NEW.filed_at < OLD.filed_at))
		OR NEW.choice IS DISTINCT FROM OLD.choice OR NEW.refund_requested IS DISTINCT FROM OLD.refund_requested
		OR NEW.policy_version IS DISTINCT FROM OLD.policy_version OR NEW.created_at IS DISTINCT FROM OLD.created_at
		OR NEW.withdrawal_repeat IS DISTINCT FROM OLD.withdrawal_repeat
		OR (OLD.status = 'decided' AND NEW.status = 'open') THEN
		RAISE EXCEPTION 'a claim''s filing never changes and a decided claim is never reopened';
	END IF;
	RETURN NEW;
END
$$;
