-- The card refund that gave back a period's payment made after its
-- subscription had ended (subscriptions.refundPaidAfterEndTx). When it
-- fails, the agents are alerted: nobody else would give that money back,
-- where a claim's refund is the claim's to report. Before this column the
-- refund was told apart by its reason text; the refunds asked that way are
-- found again by that text once, here.
ALTER TABLE subscription_periods ADD COLUMN after_end_refund_id TEXT;
UPDATE subscription_periods SET after_end_refund_id = (
	SELECT r.id FROM card_refunds r
	WHERE r.payment_id = subscription_periods.payment_reference
		AND r.reason = 'subscription ' || subscription_periods.subscription_id || ' ended before this payment'
	ORDER BY r.id DESC LIMIT 1)
WHERE payment_method = 'card' AND payment_reference <> '';
