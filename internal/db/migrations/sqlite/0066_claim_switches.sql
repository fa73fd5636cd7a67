-- A "dissatisfied" claim's solution may be a switch to another product
-- (POLICY.md): an agent exchanges the claimed order line for a new order of
-- another product. The line's value still to refund goes towards the new
-- order (a refund of the line to the balance, spent at once by the new
-- order's payment; the difference is paid from the balance, or what is left
-- goes back to the means of payment, or to store credit with the customer's
-- acceptance: claim_refunds), and the line is settled. This records which
-- order the line was exchanged for, once per line: a line is exchanged
-- once (the refunds on it could not pay a second one anyway).
CREATE TABLE claim_switches (
	id TEXT PRIMARY KEY CHECK (substr(id, 1, 4) = 'csw_'),
	claim_id TEXT NOT NULL REFERENCES claims (id),
	decision_id TEXT NOT NULL UNIQUE REFERENCES claim_decisions (id),
	from_order_id TEXT NOT NULL REFERENCES orders (id),
	from_line_id TEXT NOT NULL UNIQUE REFERENCES order_lines (id),
	order_id TEXT NOT NULL UNIQUE REFERENCES orders (id),
	-- The line's value applied to the new order, and the difference the
	-- balance paid (0 when the new order cost no more).
	applied INTEGER NOT NULL CHECK (applied > 0),
	paid_difference INTEGER NOT NULL CHECK (paid_difference >= 0),
	currency TEXT NOT NULL CHECK (length(currency) = 3),
	created_at TIMESTAMP NOT NULL
);
CREATE INDEX claim_switches_by_claim ON claim_switches (claim_id, id);
