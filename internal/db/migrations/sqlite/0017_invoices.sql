-- Invoices and credit notes, their numbering, and the VAT rates they apply.
-- An invoice is a legal document: once issued it never changes (triggers),
-- its number comes from a counter row incremented in the very transaction
-- that records the payment, so a rollback or a crash returns the number
-- with everything else and the sequence per series and year has no gap.

-- VAT rates by country as they change over time: the rate for a date is the
-- row with the latest effective_from on or before it. effective_from is an
-- ISO date string (YYYY-MM-DD), which compares the same on both engines.
CREATE TABLE vat_rates (
	country TEXT NOT NULL CHECK (length(country) = 2 AND country = upper(country)),
	effective_from TEXT NOT NULL CHECK (length(effective_from) = 10),
	-- basis points: 2000 is 20 %, 2550 is 25.5 %.
	rate_bp INTEGER NOT NULL CHECK (rate_bp >= 0 AND rate_bp < 10000),
	created_at TIMESTAMP NOT NULL,
	PRIMARY KEY (country, effective_from)
);

-- One row per (series, year): last is the last number given.
CREATE TABLE invoice_counters (
	series TEXT NOT NULL,
	year INTEGER NOT NULL,
	last INTEGER NOT NULL CHECK (last >= 1),
	PRIMARY KEY (series, year)
);

CREATE TABLE invoices (
	id TEXT PRIMARY KEY,
	kind TEXT NOT NULL CHECK (kind IN ('invoice', 'credit_note')),
	series TEXT NOT NULL,
	year INTEGER NOT NULL,
	seq INTEGER NOT NULL CHECK (seq >= 1),
	number TEXT NOT NULL UNIQUE,
	-- What the document is for: a paid order, a paid renewal, a credited
	-- top-up, a refund. A source is invoiced once.
	source_type TEXT NOT NULL CHECK (source_type IN ('order', 'renewal', 'topup', 'refund')),
	source_id TEXT NOT NULL,
	order_id TEXT NOT NULL DEFAULT '',
	customer_id TEXT NOT NULL REFERENCES users (id),
	refers_to TEXT REFERENCES invoices (id),
	issued_at TIMESTAMP NOT NULL,
	lang TEXT NOT NULL CHECK (lang IN ('fr', 'en')),
	currency TEXT NOT NULL CHECK (length(currency) = 3),
	net INTEGER NOT NULL CHECK (net >= 0),
	vat INTEGER NOT NULL CHECK (vat >= 0),
	total INTEGER NOT NULL CHECK (total > 0),
	seller_name TEXT NOT NULL,
	seller_address TEXT NOT NULL,
	seller_country TEXT NOT NULL,
	seller_vat_number TEXT NOT NULL,
	seller_registration TEXT NOT NULL,
	buyer_name TEXT NOT NULL,
	buyer_address TEXT NOT NULL,
	buyer_country TEXT NOT NULL,
	buyer_type TEXT NOT NULL,
	buyer_vat_number TEXT NOT NULL,
	prices_include_vat BOOLEAN NOT NULL,
	-- The country whose VAT applies, the evidence and why: billing address
	-- country, the card's country when Stripe gave it, and the rule used.
	billing_country TEXT NOT NULL,
	card_country TEXT NOT NULL,
	vat_country TEXT NOT NULL,
	vat_reason TEXT NOT NULL,
	reverse_charge BOOLEAN NOT NULL,
	UNIQUE (series, year, seq),
	UNIQUE (source_type, source_id),
	CHECK (net + vat = total),
	CHECK ((kind = 'credit_note') = (refers_to IS NOT NULL)),
	CHECK (NOT reverse_charge OR vat = 0)
);
CREATE INDEX invoices_by_customer ON invoices (customer_id, issued_at);
CREATE INDEX invoices_by_order ON invoices (order_id);
CREATE INDEX invoices_by_date ON invoices (issued_at);

CREATE TABLE invoice_lines (
	invoice_id TEXT NOT NULL REFERENCES invoices (id),
	position INTEGER NOT NULL CHECK (position >= 1),
	-- The order line (or other item) the line bills, for credit notes.
	ref TEXT NOT NULL DEFAULT '',
	description TEXT NOT NULL,
	quantity INTEGER NOT NULL CHECK (quantity >= 1),
	net INTEGER NOT NULL CHECK (net >= 0),
	rate_bp INTEGER NOT NULL CHECK (rate_bp >= 0 AND rate_bp < 10000),
	vat INTEGER NOT NULL CHECK (vat >= 0),
	total INTEGER NOT NULL CHECK (total > 0),
	PRIMARY KEY (invoice_id, position),
	CHECK (net + vat = total)
);

CREATE TRIGGER invoices_no_update BEFORE UPDATE ON invoices
BEGIN
	SELECT RAISE(ABORT, 'invoices are append-only');
END;
CREATE TRIGGER invoices_no_delete BEFORE DELETE ON invoices
BEGIN
	SELECT RAISE(ABORT, 'invoices are append-only');
END;
CREATE TRIGGER invoice_lines_no_update BEFORE UPDATE ON invoice_lines
BEGIN
	SELECT RAISE(ABORT, 'invoice lines are append-only');
END;
CREATE TRIGGER invoice_lines_no_delete BEFORE DELETE ON invoice_lines
BEGIN
	SELECT RAISE(ABORT, 'invoice lines are append-only');
END;

-- EU standard VAT rates for digital services, as in force when this
-- migration was written. The dates are when the rate took effect where it
-- changed recently; '2000-01-01' stands for "long before the store opened".
-- Admins add later changes with their date (/admin/vat).
INSERT INTO vat_rates (country, effective_from, rate_bp, created_at) VALUES
	('AT', '2000-01-01', 2000, CURRENT_TIMESTAMP),
	('BE', '2000-01-01', 2100, CURRENT_TIMESTAMP),
	('BG', '2000-01-01', 2000, CURRENT_TIMESTAMP),
	('CY', '2000-01-01', 1900, CURRENT_TIMESTAMP),
	('CZ', '2000-01-01', 2100, CURRENT_TIMESTAMP),
	('DE', '2007-01-01', 1900, CURRENT_TIMESTAMP),
	('DK', '2000-01-01', 2500, CURRENT_TIMESTAMP),
	('EE', '2024-01-01', 2200, CURRENT_TIMESTAMP),
	('EE', '2025-07-01', 2400, CURRENT_TIMESTAMP),
	('ES', '2012-09-01', 2100, CURRENT_TIMESTAMP),
	('FI', '2024-09-01', 2550, CURRENT_TIMESTAMP),
	('FR', '2014-01-01', 2000, CURRENT_TIMESTAMP),
	('GR', '2016-06-01', 2400, CURRENT_TIMESTAMP),
	('HR', '2013-01-01', 2500, CURRENT_TIMESTAMP),
	('HU', '2012-01-01', 2700, CURRENT_TIMESTAMP),
	('IE', '2021-03-01', 2300, CURRENT_TIMESTAMP),
	('IT', '2013-10-01', 2200, CURRENT_TIMESTAMP),
	('LT', '2009-09-01', 2100, CURRENT_TIMESTAMP),
	('LU', '2024-01-01', 1700, CURRENT_TIMESTAMP),
	('LV', '2000-01-01', 2100, CURRENT_TIMESTAMP),
	('MT', '2000-01-01', 1800, CURRENT_TIMESTAMP),
	('NL', '2012-10-01', 2100, CURRENT_TIMESTAMP),
	('PL', '2011-01-01', 2300, CURRENT_TIMESTAMP),
	('PT', '2011-01-01', 2300, CURRENT_TIMESTAMP),
	('RO', '2017-01-01', 1900, CURRENT_TIMESTAMP),
	('RO', '2025-08-01', 2100, CURRENT_TIMESTAMP),
	('SE', '2000-01-01', 2500, CURRENT_TIMESTAMP),
	('SI', '2000-01-01', 2200, CURRENT_TIMESTAMP),
	('SK', '2011-01-01', 2000, CURRENT_TIMESTAMP),
	('SK', '2025-01-01', 2300, CURRENT_TIMESTAMP);

-- Files sent with a queued message (an invoice's PDF), owned by
-- internal/mail: stored with the message so that every attempt sends the
-- same bytes.
CREATE TABLE outgoing_mail_attachments (
	mail_id TEXT NOT NULL REFERENCES outgoing_mail (id),
	position INTEGER NOT NULL CHECK (position >= 1),
	filename TEXT NOT NULL,
	content_type TEXT NOT NULL,
	content BLOB NOT NULL,
	PRIMARY KEY (mail_id, position)
);
