-- A checkout paid from the balance sends its debit in the pipeline of its
-- transaction's rows (billing.Ledger.AppendDebitTx, issue #9), where no
-- code reads the debit's outcome before the commit: a balance too short
-- (or no account) must fail the statement itself, and with it the
-- transaction. The debit stays the conditional update it was (… WHERE
-- balance >= amount RETURNING balance), which concurrent debits cannot
-- both pass; the entry's balance_after is this function of what it
-- returned: the new balance, or, when nothing was debited (NULL), an
-- error the application maps to "insufficient balance" by its constraint
-- name (db.IsCheckViolation).
CREATE FUNCTION balance_debit_covered(after BIGINT) RETURNS BIGINT LANGUAGE plpgsql AS $$
BEGIN
	IF after IS NULL THEN
		RAISE EXCEPTION 'insufficient balance'
			USING ERRCODE = 'check_violation', CONSTRAINT = 'balance_debit_covered';
	END IF;
	RETURN after;
END
$$;
