-- Downloads of digital files: a paid file line can be downloaded until its
-- link expires (the product's download lifetime after payment), and every
-- download is kept with its time and address — evidence of supply.
ALTER TABLE order_lines ADD COLUMN download_until TIMESTAMP;

CREATE TABLE download_events (
	id TEXT PRIMARY KEY,
	order_id TEXT NOT NULL REFERENCES orders (id),
	order_line_id TEXT NOT NULL REFERENCES order_lines (id),
	customer_id TEXT NOT NULL,
	at TIMESTAMP NOT NULL,
	ip TEXT NOT NULL,
	user_agent TEXT NOT NULL
);
CREATE INDEX download_events_by_line ON download_events (order_line_id, at);
CREATE TRIGGER download_events_no_update BEFORE UPDATE ON download_events
BEGIN
	SELECT RAISE(ABORT, 'download_events is append-only');
END;
