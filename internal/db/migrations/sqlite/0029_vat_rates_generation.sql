-- VAT rates are cached in memory on each node (internal/invoices, through
-- internal/db/gencache): every checkout needs one, and they change a few
-- times a year. The triggers move the cache's generation with every write
-- to the table, as 0023 does for the catalog.
INSERT INTO cache_generations (name, generation) VALUES ('vat_rates', 1);

CREATE TRIGGER vat_rates_generation_insert AFTER INSERT ON vat_rates
BEGIN
	UPDATE cache_generations SET generation = generation + 1 WHERE name = 'vat_rates';
END;
CREATE TRIGGER vat_rates_generation_update AFTER UPDATE ON vat_rates
BEGIN
	UPDATE cache_generations SET generation = generation + 1 WHERE name = 'vat_rates';
END;
CREATE TRIGGER vat_rates_generation_delete AFTER DELETE ON vat_rates
BEGIN
	UPDATE cache_generations SET generation = generation + 1 WHERE name = 'vat_rates';
END;
