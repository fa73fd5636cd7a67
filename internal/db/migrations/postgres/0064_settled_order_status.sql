-- An order whose lines are all delivered but for the rest of a settled line
-- (order_lines.settled_at: refunded for non-delivery, withdrawn from) stayed
-- "partial" ("Livrée en partie" / "Partly delivered") for ever: nothing more
-- is owed on it. Its status counts a settled line as what it delivered
-- (orders statusFor): completed, or refunded when nothing was delivered and
-- the money went back (a released card refund leaves it processing).
UPDATE orders SET status = CASE WHEN EXISTS (SELECT 1 FROM order_lines l WHERE l.order_id = orders.id AND l.delivered > 0)
		THEN 'completed' WHEN refunded = paid THEN 'refunded' ELSE status END
	WHERE status IN ('processing', 'partial')
	AND EXISTS (SELECT 1 FROM order_lines l WHERE l.order_id = orders.id AND l.settled_at IS NOT NULL)
	AND NOT EXISTS (SELECT 1 FROM order_lines l WHERE l.order_id = orders.id AND l.settled_at IS NULL AND l.delivered < l.quantity);
