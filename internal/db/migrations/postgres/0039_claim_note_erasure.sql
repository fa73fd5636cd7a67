-- An agent's note on a claim decision is free text written about the
-- customer ("called her on 06…, she lives with…"): it may hold their
-- personal data, so erasing the customer (internal/claims EraseCustomerTx)
-- blanks it. The decisions stay append-only otherwise: the one change let
-- through sets the note to '' and leaves every other column as it was
-- (the whole row is compared, so a column added later is covered too);
-- nothing is deleted or truncated (claim_decisions_no_truncate keeps its
-- function).
CREATE FUNCTION claim_decisions_note_erasure_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	IF TG_OP = 'UPDATE' THEN
		IF NEW.note = '' AND to_jsonb(NEW) - 'note' = to_jsonb(OLD) - 'note' THEN
			RETURN NEW;
		END IF;
	END IF;
	RAISE EXCEPTION 'claim_decisions is append-only';
END
$$;
DROP TRIGGER claim_decisions_no_change ON claim_decisions;
CREATE TRIGGER claim_decisions_no_change BEFORE UPDATE OR DELETE ON claim_decisions
	FOR EACH ROW EXECUTE FUNCTION claim_decisions_note_erasure_only();
