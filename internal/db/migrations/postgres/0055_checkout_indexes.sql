-- Fewer indexes written by every checkout (issue #9: each index an order,
-- its lines or its invoice is inserted into is another page the commit
-- writes to the write-ahead log, and on PostgreSQL another index insert).
--
-- order_lines_by_order (order_id, position) repeated the index that
-- UNIQUE (order_id, position) already keeps: the lines of an order are
-- found through that one.
DROP INDEX order_lines_by_order;

-- invoices_by_order held every invoice, for one query: the credit notes of
-- an invoice's line (invoices creditSplit), which also names the invoice
-- they refer to. Only credit notes refer to an invoice, so an index on
-- refers_to restricted to them serves that query and the chargeback's sum
-- of an invoice's credit notes (ChargebackTx), which had no index and read
-- every invoice; an invoice, a checkout's, is not written into it.
DROP INDEX invoices_by_order;
CREATE INDEX invoices_credit_notes ON invoices (refers_to) WHERE refers_to IS NOT NULL;
