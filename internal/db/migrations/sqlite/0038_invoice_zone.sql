-- A document is dated in the seller's time zone (--zone): its date, and
-- the year it is numbered in, are its local ones there. The zone is a
-- setting, not data, so a store that changed it reprinted its old invoices
-- and credit notes with other dates (one issued at 23:30 UTC on 31
-- December in Paris, F-2027-000001, would say 31/12/2026 after a switch to
-- UTC) and its accounting export moved them to other periods. A document
-- now keeps the IANA name of the zone it was issued in, like the seller's
-- identity and the price setting of its day.
--
-- The setting is a flag, which SQL cannot read: the documents issued
-- before this migration keep an empty zone, and are read in the store's
-- zone of the moment (internal/invoices Service.zoneOf), as they always
-- were.
ALTER TABLE invoices ADD COLUMN zone TEXT NOT NULL DEFAULT '' CHECK (length(zone) <= 64);

-- Append-only but for the numbering (0026): the zone is one more column
-- the numberer must leave as it was.
DROP TRIGGER invoices_no_update;
CREATE TRIGGER invoices_no_update BEFORE UPDATE ON invoices
WHEN NOT (OLD.number IS NULL AND NEW.number IS NOT NULL AND NEW.seq IS NOT NULL
	AND NEW.id IS OLD.id AND NEW.kind IS OLD.kind AND NEW.series IS OLD.series AND NEW.year IS OLD.year
	AND NEW.source_type IS OLD.source_type AND NEW.source_id IS OLD.source_id AND NEW.order_id IS OLD.order_id
	AND NEW.customer_id IS OLD.customer_id AND NEW.refers_to IS OLD.refers_to AND NEW.issued_at IS OLD.issued_at
	AND NEW.lang IS OLD.lang AND NEW.currency IS OLD.currency AND NEW.net IS OLD.net AND NEW.vat IS OLD.vat
	AND NEW.total IS OLD.total AND NEW.seller_name IS OLD.seller_name AND NEW.seller_address IS OLD.seller_address
	AND NEW.seller_country IS OLD.seller_country AND NEW.seller_vat_number IS OLD.seller_vat_number
	AND NEW.seller_registration IS OLD.seller_registration AND NEW.buyer_name IS OLD.buyer_name
	AND NEW.buyer_address IS OLD.buyer_address AND NEW.buyer_country IS OLD.buyer_country
	AND NEW.buyer_type IS OLD.buyer_type AND NEW.buyer_vat_number IS OLD.buyer_vat_number
	AND NEW.prices_include_vat IS OLD.prices_include_vat AND NEW.billing_country IS OLD.billing_country
	AND NEW.card_country IS OLD.card_country AND NEW.vat_country IS OLD.vat_country
	AND NEW.vat_reason IS OLD.vat_reason AND NEW.reverse_charge IS OLD.reverse_charge
	AND NEW.zone IS OLD.zone)
BEGIN
	SELECT RAISE(ABORT, 'invoices are append-only');
END;
