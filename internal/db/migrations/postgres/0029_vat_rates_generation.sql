-- VAT rates are cached in memory on each node (internal/invoices, through
-- internal/db/gencache): every checkout needs one, and they change a few
-- times a year. The triggers move the cache's generation with every write
-- to the table, as 0023 does for the catalog.
INSERT INTO cache_generations (name, generation) VALUES ('vat_rates', 1);

CREATE FUNCTION vat_rates_bump_generation() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	UPDATE cache_generations SET generation = generation + 1 WHERE name = 'vat_rates';
	RETURN NULL;
END
$$;
CREATE TRIGGER vat_rates_generation AFTER INSERT OR UPDATE OR DELETE ON vat_rates
	FOR EACH STATEMENT EXECUTE FUNCTION vat_rates_bump_generation();
CREATE TRIGGER vat_rates_generation_truncate AFTER TRUNCATE ON vat_rates
	FOR EACH STATEMENT EXECUTE FUNCTION vat_rates_bump_generation();
