-- A withdrawal refiled from the customer's earlier message
-- (claims refileWithdrawal) whose refund the card payment's open dispute
-- holds was refused with payment_disputed, and the earlier message lost,
-- where a withdrawal filed so is recorded anyway and decided once the bank
-- has (claims fileHeld). Refiled so, the refused withdrawal is reopened, in
-- review, held: a decided claim may now be reopened, but only by the
-- update that moves a refused withdrawal's filing earlier. Nothing else
-- reopens a claim.
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
	OR (OLD.status = 'decided' AND NEW.status = 'open'
		AND NOT (OLD.kind = 'withdrawal' AND OLD.outcome = 'refused' AND NEW.filed_at < OLD.filed_at))
BEGIN
	SELECT RAISE(ABORT, 'a claim''s filing never changes and a decided claim is never reopened');
END;
