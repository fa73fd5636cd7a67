-- The documents issued before 0038 kept no zone and were read in the
-- store's zone of the moment, so they still moved when it changed. The
-- program fills them, once, with the zone in force when it starts
-- (internal/invoices Service.KeepZones): append-only but for two changes,
-- a pending document numbered (0026) and an empty zone given a name, every
-- other column as it was.
DROP TRIGGER invoices_no_update;
CREATE TRIGGER invoices_no_update BEFORE UPDATE ON invoices
WHEN NOT (
	NEW.id IS OLD.id AND NEW.kind IS OLD.kind AND NEW.series IS OLD.series AND NEW.year IS OLD.year
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
	AND ((OLD.number IS NULL AND NEW.number IS NOT NULL AND NEW.seq IS NOT NULL AND NEW.zone IS OLD.zone)
		OR (OLD.zone = '' AND NEW.zone <> '' AND NEW.number IS OLD.number AND NEW.seq IS OLD.seq)))
BEGIN
	SELECT RAISE(ABORT, 'invoices are append-only');
END;
