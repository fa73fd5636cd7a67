-- An agent's note on a claim decision is free text written about the
-- customer ("called her on 06…, she lives with…"): it may hold their
-- personal data, so erasing the customer (internal/claims EraseCustomerTx)
-- blanks it. The decisions stay append-only otherwise: the one change let
-- through sets the note to '' and leaves every other column as it was;
-- nothing is deleted.
DROP TRIGGER claim_decisions_no_update;
CREATE TRIGGER claim_decisions_no_update BEFORE UPDATE ON claim_decisions
WHEN NOT (NEW.note = ''
	AND NEW.id IS OLD.id AND NEW.claim_id IS OLD.claim_id AND NEW.seq IS OLD.seq AND NEW.outcome IS OLD.outcome
	AND NEW.rule IS OLD.rule AND NEW.statutory IS OLD.statutory AND NEW.refund_amount IS OLD.refund_amount
	AND NEW.refund_currency IS OLD.refund_currency AND NEW.cancel IS OLD.cancel AND NEW.reason_en IS OLD.reason_en
	AND NEW.reason_fr IS OLD.reason_fr AND NEW.reason_code IS OLD.reason_code AND NEW.policy_version IS OLD.policy_version
	AND NEW.decided_at IS OLD.decided_at AND NEW.decided_by IS OLD.decided_by)
BEGIN
	SELECT RAISE(ABORT, 'claim_decisions is append-only');
END;
