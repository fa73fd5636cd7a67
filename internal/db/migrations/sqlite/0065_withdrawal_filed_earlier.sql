-- A withdrawal the customer sent on time by email or the contact form, then
-- again through the withdraw button once the period was over, was refused
-- as out of time; one withdrawal per line (claims_one_withdrawal_per_line)
-- then left the agent no way to file the earlier one. The refused
-- withdrawal's filing may now move earlier, to the customer's first
-- written contact (POLICY.md filed_at: an agent's delay never costs the
-- customer their window): filed by the agent from that message, and decided
-- again on it (claims refileWithdrawal). Nothing else of a filing changes,
-- and nothing else moves it.
DROP TRIGGER claims_filing_fixed;
CREATE TRIGGER claims_filing_fixed BEFORE UPDATE ON claims
WHEN NEW.id IS NOT OLD.id OR NEW.kind IS NOT OLD.kind OR NEW.customer_id IS NOT OLD.customer_id
	OR NEW.order_id IS NOT OLD.order_id OR NEW.order_line_id IS NOT OLD.order_line_id
	OR NEW.subscription_id IS NOT OLD.subscription_id
	OR ((NEW.filed_at IS NOT OLD.filed_at OR NEW.source_message_id IS NOT OLD.source_message_id
		OR NEW.filed_by IS NOT OLD.filed_by OR NEW.filed_via IS NOT OLD.filed_via)
		AND NOT (OLD.kind = 'withdrawal' AND OLD.outcome = 'refused' AND NEW.filed_at < OLD.filed_at))
	OR NEW.choice IS NOT OLD.choice OR NEW.refund_requested IS NOT OLD.refund_requested
	OR NEW.policy_version IS NOT OLD.policy_version OR NEW.created_at IS NOT OLD.created_at
	OR NEW.withdrawal_repeat IS NOT OLD.withdrawal_repeat
	OR (OLD.status = 'decided' AND NEW.status = 'open')
BEGIN
	SELECT RAISE(ABORT, 'a claim''s filing never changes and a decided claim is never reopened');
END;
