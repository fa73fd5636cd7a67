-- A card checkout reserves the licence key its line will get (issue #3):
-- the order is written before the customer pays, and two card orders for
-- the last key were both accepted, the second paid for nothing. A reserved
-- key is neither free nor sold: no other checkout takes it and the pool
-- does not count it; the payment's success hands it to the line
-- (assigned_*, the reservation cleared in the same update), the order's
-- end unpaid frees it again.
--
-- reserved_order_line_id has no foreign key, as assigned_order_line_id:
-- order lines belong to the orders domain. Unique: one reservation per
-- line.
ALTER TABLE licence_keys ADD COLUMN reserved_order_line_id TEXT;
ALTER TABLE licence_keys ADD COLUMN reserved_at TIMESTAMPTZ;
ALTER TABLE licence_keys ADD CONSTRAINT licence_keys_reserved_or_sold
	CHECK (reserved_order_line_id IS NULL OR assigned_at IS NULL);
ALTER TABLE licence_keys ADD CONSTRAINT licence_keys_reserved_when
	CHECK ((reserved_at IS NULL) = (reserved_order_line_id IS NULL));
-- Partial: the reserved keys are few, and the free-key look-ups
-- (reserved_order_line_id IS NULL) have licence_keys_free.
CREATE UNIQUE INDEX licence_keys_reserved_line ON licence_keys (reserved_order_line_id)
	WHERE reserved_order_line_id IS NOT NULL;

-- Free now means neither sold nor reserved; the checkouts and the counts
-- ask for exactly this condition.
DROP INDEX licence_keys_free;
CREATE INDEX licence_keys_free ON licence_keys (product_id, added_at, id)
	WHERE assigned_at IS NULL AND reserved_order_line_id IS NULL;

-- A reserved key is promised to an order awaiting payment: it cannot be
-- withdrawn from the pool until that order is paid (the key then sold) or
-- ends unpaid (the key free again).
CREATE FUNCTION licence_keys_refuse_withdraw_reserved() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	RAISE EXCEPTION 'a reserved licence key cannot be withdrawn';
END
$$;
CREATE TRIGGER licence_keys_reserved_no_delete BEFORE DELETE ON licence_keys
	FOR EACH ROW WHEN (OLD.reserved_order_line_id IS NOT NULL)
	EXECUTE FUNCTION licence_keys_refuse_withdraw_reserved();
