-- Generation numbers of what nodes cache in memory (internal/db/gencache).
--
-- A node keeps a value derived from tables that change rarely (the catalog)
-- and checks at most once a second whether its generation number moved;
-- the number goes up in the same transaction as every change, so a node
-- that sees the number it cached under knows nothing changed since.
--
-- The catalog's number is kept up by triggers rather than by the service,
-- so that every write to products (a script, a bulk load, a future code
-- path) is seen too. Revisions are immutable and only become visible
-- through an update of products.current_revision, so products is enough.
-- One bump per statement: a bulk load takes the row's lock once.
CREATE TABLE cache_generations (
	name TEXT PRIMARY KEY,
	generation BIGINT NOT NULL CHECK (generation >= 1)
);
INSERT INTO cache_generations (name, generation) VALUES ('catalog', 1);

CREATE FUNCTION products_bump_generation() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	UPDATE cache_generations SET generation = generation + 1 WHERE name = 'catalog';
	RETURN NULL;
END
$$;
CREATE TRIGGER products_generation AFTER INSERT OR UPDATE OR DELETE ON products
	FOR EACH STATEMENT EXECUTE FUNCTION products_bump_generation();
CREATE TRIGGER products_generation_truncate AFTER TRUNCATE ON products
	FOR EACH STATEMENT EXECUTE FUNCTION products_bump_generation();
