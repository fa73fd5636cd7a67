-- When the store stopped owing what a line had not delivered: its
-- undelivered part was refunded (a non_delivery claim) or withdrawn from (a
-- withdrawal, refunded or with nothing left to refund). NULL while it is
-- owed. Such a line is never late, and no delivery is recorded on it after
-- (orders deliverTx): the customer was paid back for what was not delivered,
-- and the delivery record, the store's evidence, must match what was paid
-- for.
ALTER TABLE order_lines ADD COLUMN settled_at TIMESTAMP;
UPDATE order_lines SET settled_at = (SELECT MIN(c.decided_at) FROM claims c WHERE c.order_line_id = order_lines.id AND c.status = 'decided'
		AND (c.kind = 'withdrawal' AND c.outcome IN ('refund', 'none') OR c.kind = 'non_delivery' AND c.rule IN ('non_delivery.partial', 'non_delivery.undelivered')))
	WHERE EXISTS (SELECT 1 FROM claims c WHERE c.order_line_id = order_lines.id AND c.status = 'decided'
		AND (c.kind = 'withdrawal' AND c.outcome IN ('refund', 'none') OR c.kind = 'non_delivery' AND c.rule IN ('non_delivery.partial', 'non_delivery.undelivered')));
