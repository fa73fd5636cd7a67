-- One withdrawal per order line: a consumer withdraws from a contract once
-- (Directive 2011/83/EU art. 9), and its decision says what the withdrawal
-- gives. Only a refund stopped a second one (claims checkNoPriorRefund):
-- after a withdrawal refused (the service fully performed, out of time) or
-- that refunded nothing, a hand-made request filed another claim, sent
-- another acknowledgement, and could refund where the first had not (its
-- card refund failed and released, the agents told to pay another way).
--
-- Withdrawals filed more than once before this rule keep their claims: the
-- later ones are marked withdrawal_repeat, which nothing sets afterwards
-- (the filing never changes: claims_filing_fixed), and the index holds
-- every other.
ALTER TABLE claims ADD COLUMN withdrawal_repeat BOOLEAN NOT NULL DEFAULT FALSE;
UPDATE claims SET withdrawal_repeat = TRUE
	WHERE kind = 'withdrawal' AND EXISTS (SELECT 1 FROM claims f WHERE f.kind = 'withdrawal'
		AND f.order_line_id = claims.order_line_id AND (f.filed_at < claims.filed_at OR (f.filed_at = claims.filed_at AND f.id < claims.id)));
CREATE UNIQUE INDEX claims_one_withdrawal_per_line ON claims (order_line_id) WHERE kind = 'withdrawal' AND NOT withdrawal_repeat;

DROP TRIGGER claims_filing_fixed;
CREATE TRIGGER claims_filing_fixed BEFORE UPDATE ON claims
WHEN NEW.id IS NOT OLD.id OR NEW.kind IS NOT OLD.kind OR NEW.customer_id IS NOT OLD.customer_id
	OR NEW.order_id IS NOT OLD.order_id OR NEW.order_line_id IS NOT OLD.order_line_id
	OR NEW.subscription_id IS NOT OLD.subscription_id OR NEW.filed_at IS NOT OLD.filed_at
	OR NEW.filed_by IS NOT OLD.filed_by OR NEW.filed_via IS NOT OLD.filed_via
	OR NEW.source_message_id IS NOT OLD.source_message_id
	OR NEW.choice IS NOT OLD.choice OR NEW.refund_requested IS NOT OLD.refund_requested
	OR NEW.policy_version IS NOT OLD.policy_version OR NEW.created_at IS NOT OLD.created_at
	OR NEW.withdrawal_repeat IS NOT OLD.withdrawal_repeat
	OR (OLD.status = 'decided' AND NEW.status = 'open')
BEGIN
	SELECT RAISE(ABORT, 'a claim''s filing never changes and a decided claim is never reopened');
END;
