-- A withdrawal refiled from the customer's earlier message
-- (claims refileWithdrawal) whose refund the card payment's open dispute
-- holds was refused with payment_disputed, and the earlier message lost,
-- where a withdrawal filed so is recorded anyway and decided once the bank
-- has (claims fileHeld). Refiled so, the refused withdrawal is reopened, in
-- review, held: a decided claim may now be reopened, but only by the
-- update that moves a refused withdrawal's filing earlier. Nothing else
-- reopens a claim.
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
		OR (OLD.status = 'decided' AND NEW.status = 'open'
			AND NOT (OLD.kind = 'withdrawal' AND OLD.outcome = 'refused' AND NEW.filed_at < OLD.filed_at)) THEN
		RAISE EXCEPTION 'a claim''s filing never changes and a decided claim is never reopened';
	END IF;
	RETURN NEW;
END
$$;
