-- Invoices are numbered after the payment's transaction has committed
-- (internal/invoices NumberPending), not inside it: the counter row of a
-- series was locked by every payment until its durable commit, so all
-- checkouts waited for one another. An invoice is now written with the
-- payment, whole but without a number (seq and number NULL: pending), and
-- the numberer gives the pending ones their numbers in the order they were
-- issued, consecutively, one counter update per series and year per batch.
ALTER TABLE invoices ALTER COLUMN seq DROP NOT NULL;
ALTER TABLE invoices ALTER COLUMN number DROP NOT NULL;
ALTER TABLE invoices ADD CONSTRAINT invoices_numbered_whole CHECK ((seq IS NULL) = (number IS NULL));
-- What the numberer takes, in order.
CREATE INDEX invoices_pending ON invoices (issued_at, id) WHERE number IS NULL;

-- Append-only but for one change: a pending invoice gets its seq and
-- number, every other column as it was.
CREATE FUNCTION invoices_number_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	IF TG_OP = 'UPDATE' AND OLD.number IS NULL AND NEW.number IS NOT NULL AND NEW.seq IS NOT NULL
		AND to_jsonb(NEW) - 'seq' - 'number' = to_jsonb(OLD) - 'seq' - 'number' THEN
		RETURN NEW;
	END IF;
	RAISE EXCEPTION '% is append-only', TG_TABLE_NAME;
END
$$;
DROP TRIGGER invoices_no_change ON invoices;
CREATE TRIGGER invoices_no_change BEFORE UPDATE OR DELETE ON invoices
	FOR EACH ROW EXECUTE FUNCTION invoices_number_only();

-- The email announcing an invoice carries its number, so it is queued when
-- the invoice is numbered; until then, whom to send it to waits here
-- (written with the invoice, deleted when the email is queued).
CREATE TABLE invoice_notices (
	invoice_id TEXT PRIMARY KEY REFERENCES invoices (id),
	user_id TEXT NOT NULL,
	email TEXT NOT NULL,
	name TEXT NOT NULL
);
