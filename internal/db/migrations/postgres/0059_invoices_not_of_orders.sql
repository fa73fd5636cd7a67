-- The documents of a subscription or a top-up (invoices ForOrder with a
-- sub_ or top-up id: their invoices and credit notes name it as order_id)
-- were found by reading every invoice: migration 0055 dropped the index on
-- order_id, which every checkout's invoice was written into. This one
-- holds only documents whose source is not an order (renewals, top-ups,
-- credit notes): a checkout's invoice is not written into it. It gives
-- them in ForOrder's order, nothing sorted.
CREATE INDEX invoices_not_of_orders ON invoices (order_id, issued_at, id) WHERE source_type <> 'order';
