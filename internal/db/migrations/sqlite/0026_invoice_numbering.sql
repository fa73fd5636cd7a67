-- Invoices are numbered after the payment's transaction has committed
-- (internal/invoices NumberPending), not inside it: the counter row of a
-- series was locked by every payment until its durable commit, so all
-- checkouts waited for one another. An invoice is now written with the
-- payment, whole but without a number (seq and number NULL: pending), and
-- the numberer gives the pending ones their numbers in the order they were
-- issued, consecutively, one counter update per series and year per batch.
--
-- SQLite cannot drop a NOT NULL constraint: the table is rebuilt with the
-- same columns in the same order (privacy export reads SELECT *). Its
-- lines are rebuilt with it: dropping the old invoices while rows of
-- another table refer to it would count them as foreign key violations
-- for good (SQLite does not recount when the new table takes the name).
-- So the new tables refer to the new one (invoices_numbered), whose
-- renaming to invoices renames their references too; the old lines go
-- first, then the old invoices, which only refer to themselves. Deferred
-- foreign keys let the rows be copied in any order.
PRAGMA defer_foreign_keys = ON;

CREATE TABLE invoices_numbered (
	id TEXT PRIMARY KEY,
	kind TEXT NOT NULL CHECK (kind IN ('invoice', 'credit_note')),
	series TEXT NOT NULL,
	year INTEGER NOT NULL,
	-- NULL while pending: set once by the numberer, with number.
	seq INTEGER CHECK (seq >= 1),
	number TEXT UNIQUE,
	source_type TEXT NOT NULL CHECK (source_type IN ('order', 'renewal', 'topup', 'refund')),
	source_id TEXT NOT NULL,
	order_id TEXT NOT NULL DEFAULT '',
	customer_id TEXT NOT NULL REFERENCES users (id),
	refers_to TEXT REFERENCES invoices_numbered (id),
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
	billing_country TEXT NOT NULL,
	card_country TEXT NOT NULL,
	vat_country TEXT NOT NULL,
	vat_reason TEXT NOT NULL,
	reverse_charge BOOLEAN NOT NULL,
	UNIQUE (series, year, seq),
	UNIQUE (source_type, source_id),
	CHECK (net + vat = total),
	CHECK ((kind = 'credit_note') = (refers_to IS NOT NULL)),
	CHECK (NOT reverse_charge OR vat = 0),
	CHECK ((seq IS NULL) = (number IS NULL))
);
CREATE TABLE invoice_lines_numbered (
	invoice_id TEXT NOT NULL REFERENCES invoices_numbered (id),
	position INTEGER NOT NULL CHECK (position >= 1),
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
INSERT INTO invoices_numbered SELECT * FROM invoices;
INSERT INTO invoice_lines_numbered SELECT * FROM invoice_lines;
DROP TABLE invoice_lines;
DROP TABLE invoices;
ALTER TABLE invoices_numbered RENAME TO invoices;
ALTER TABLE invoice_lines_numbered RENAME TO invoice_lines;

CREATE INDEX invoices_by_customer ON invoices (customer_id, issued_at);
CREATE INDEX invoices_by_order ON invoices (order_id);
CREATE INDEX invoices_by_date ON invoices (issued_at);
-- What the numberer takes, in order.
CREATE INDEX invoices_pending ON invoices (issued_at, id) WHERE number IS NULL;

-- Append-only but for one change: a pending invoice gets its seq and
-- number, every other column as it was.
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
	AND NEW.vat_reason IS OLD.vat_reason AND NEW.reverse_charge IS OLD.reverse_charge)
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

-- The email announcing an invoice carries its number, so it is queued when
-- the invoice is numbered; until then, whom to send it to waits here
-- (written with the invoice, deleted when the email is queued).
CREATE TABLE invoice_notices (
	invoice_id TEXT PRIMARY KEY REFERENCES invoices (id),
	user_id TEXT NOT NULL,
	email TEXT NOT NULL,
	name TEXT NOT NULL
);
