-- The catalog: products and what they were at each moment they were sold.
--
-- A product is split in two. `products` holds what never matters to a past
-- order (its slug in URLs, whether it is still on sale) and points at its
-- current revision. `product_revisions` holds everything an order relies on
-- (names, descriptions, price, quantities, processing time, delivery, plan),
-- one row per edit, never changed afterwards: an order line records
-- (product_id, revision) and can always show the customer, an agent or a
-- judge exactly what was bought, in the words and at the price of that day.
--
-- The rules the service checks are repeated here as constraints, so that no
-- other code path (a migration, a script, a future handler) can store a
-- product the store could not sell correctly.

CREATE TABLE products (
	id TEXT PRIMARY KEY CHECK (substr(id, 1, 4) = 'prd_'),
	-- Lower-case ASCII letters, digits and hyphens (checked in Go; here the
	-- cheap part that keeps two spellings of one slug from coexisting).
	slug TEXT NOT NULL UNIQUE CHECK (slug <> '' AND slug = lower(slug) AND length(slug) <= 80),
	-- The kind never changes: the revisions' foreign key (product_id, kind)
	-- below refuses it, since a revision's checks depend on the kind.
	kind TEXT NOT NULL CHECK (kind IN ('service', 'digital', 'subscription')),
	current_revision INTEGER NOT NULL CHECK (current_revision >= 1),
	archived_at TIMESTAMPTZ,
	created_at TIMESTAMPTZ NOT NULL,
	updated_at TIMESTAMPTZ NOT NULL,
	UNIQUE (id, kind)
);
CREATE INDEX products_on_sale ON products (id) WHERE archived_at IS NULL;

-- The current revision only moves forward one step at a time, so revision
-- numbers have no gap and an old revision can never become current again by
-- mistake (that would silently reprice the store).
CREATE FUNCTION products_refuse_revision_jump() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	RAISE EXCEPTION 'products.current_revision only moves forward by one';
END
$$;
CREATE TRIGGER products_revision_forward BEFORE UPDATE OF current_revision ON products
	FOR EACH ROW
	WHEN (NEW.current_revision <> OLD.current_revision AND NEW.current_revision <> OLD.current_revision + 1)
	EXECUTE FUNCTION products_refuse_revision_jump();

CREATE TABLE product_revisions (
	product_id TEXT NOT NULL,
	revision INTEGER NOT NULL CHECK (revision >= 1),
	-- Copied from the product (and held equal by the foreign key) so that the
	-- per-kind checks below can be written as plain CHECK constraints.
	kind TEXT NOT NULL CHECK (kind IN ('service', 'digital', 'subscription')),
	name_fr TEXT NOT NULL CHECK (name_fr <> '' AND length(name_fr) <= 200),
	name_en TEXT NOT NULL CHECK (name_en <> '' AND length(name_en) <= 200),
	description_fr TEXT NOT NULL CHECK (description_fr <> '' AND length(description_fr) <= 20000),
	description_en TEXT NOT NULL CHECK (description_en <> '' AND length(description_en) <= 20000),
	currency TEXT NOT NULL CHECK (length(currency) = 3 AND currency = upper(currency)),
	-- In the currency's minor unit (cents), per unit ordered.
	unit_price BIGINT NOT NULL CHECK (unit_price > 0),
	min_quantity INTEGER NOT NULL CHECK (min_quantity >= 1),
	max_quantity INTEGER NOT NULL CHECK (max_quantity >= min_quantity),
	-- The stated processing time of a service: the refund policy's
	-- non-delivery rule waits for it before refunding.
	processing_seconds INTEGER NOT NULL DEFAULT 0 CHECK (processing_seconds >= 0),
	digital_delivery TEXT CHECK (digital_delivery IN ('file', 'licence_key')),
	-- Name of the blob in the upload store (a file on disk or an S3 object).
	file_key TEXT CHECK (file_key <> ''),
	download_ttl_seconds INTEGER CHECK (download_ttl_seconds > 0),
	plan_interval TEXT CHECK (plan_interval IN ('week', 'month', 'year')),
	trial_days INTEGER NOT NULL DEFAULT 0 CHECK (trial_days >= 0),
	created_at TIMESTAMPTZ NOT NULL,
	-- The user who made the revision; NULL when the system did (demo seed).
	created_by TEXT,
	PRIMARY KEY (product_id, revision),
	FOREIGN KEY (product_id, kind) REFERENCES products (id, kind),
	-- A service is ordered in a quantity and delivered within a stated time.
	CHECK (kind <> 'service' OR (processing_seconds > 0 AND digital_delivery IS NULL
		AND plan_interval IS NULL AND trial_days = 0)),
	-- A digital product is one item delivered at once, by file or by key.
	CHECK (kind <> 'digital' OR (min_quantity = 1 AND max_quantity = 1 AND processing_seconds = 0
		AND digital_delivery IS NOT NULL AND plan_interval IS NULL AND trial_days = 0)),
	-- A subscription is one plan with a billing interval.
	CHECK (kind <> 'subscription' OR (min_quantity = 1 AND max_quantity = 1 AND processing_seconds = 0
		AND digital_delivery IS NULL AND plan_interval IS NOT NULL)),
	-- A file, and only a file, has a blob and a link lifetime. COALESCE
	-- because a CHECK whose value is NULL passes.
	CHECK ((COALESCE(digital_delivery, '') = 'file') = (file_key IS NOT NULL)),
	CHECK ((COALESCE(digital_delivery, '') = 'file') = (download_ttl_seconds IS NOT NULL))
);

-- A product always points at a revision that exists. Deferred, because
-- the product row and its first revision reference each other and are
-- written in the same transaction.
ALTER TABLE products ADD FOREIGN KEY (id, current_revision)
	REFERENCES product_revisions (product_id, revision) DEFERRABLE INITIALLY DEFERRED;

-- Revisions are the record of what was sold: they are never rewritten.
CREATE FUNCTION product_revisions_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	RAISE EXCEPTION 'product_revisions are immutable';
END
$$;
CREATE TRIGGER product_revisions_no_change BEFORE UPDATE OR DELETE ON product_revisions
	FOR EACH ROW EXECUTE FUNCTION product_revisions_refuse_change();
CREATE TRIGGER product_revisions_no_truncate BEFORE TRUNCATE ON product_revisions
	FOR EACH STATEMENT EXECUTE FUNCTION product_revisions_refuse_change();

-- Licence keys sold by digital products delivered as keys: a pool per
-- product, each key handed to exactly one order line.
--
-- assigned_order_line_id has no foreign key: order lines belong to the
-- orders domain, whose tables come later; its uniqueness is what matters
-- (one key per line, and a retried delivery finds the key it already has).
CREATE TABLE licence_keys (
	id TEXT PRIMARY KEY,
	product_id TEXT NOT NULL REFERENCES products (id),
	key_value TEXT NOT NULL CHECK (key_value <> '' AND length(key_value) <= 500),
	added_at TIMESTAMPTZ NOT NULL,
	assigned_at TIMESTAMPTZ,
	assigned_order_line_id TEXT UNIQUE,
	UNIQUE (product_id, key_value),
	CHECK ((assigned_at IS NULL) = (assigned_order_line_id IS NULL))
);
-- The next free key of a product, oldest first, without scanning the keys
-- already sold.
CREATE INDEX licence_keys_free ON licence_keys (product_id, added_at, id) WHERE assigned_at IS NULL;

-- A key once handed to a customer is theirs: it is never reassigned,
-- edited or removed. Free keys may still be withdrawn from the pool.
CREATE FUNCTION licence_keys_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	RAISE EXCEPTION 'an assigned licence key is final';
END
$$;
CREATE TRIGGER licence_keys_assigned_final BEFORE UPDATE ON licence_keys
	FOR EACH ROW
	WHEN (OLD.assigned_at IS NOT NULL OR NEW.key_value <> OLD.key_value OR NEW.product_id <> OLD.product_id)
	EXECUTE FUNCTION licence_keys_refuse_change();
CREATE TRIGGER licence_keys_assigned_no_delete BEFORE DELETE ON licence_keys
	FOR EACH ROW WHEN (OLD.assigned_at IS NOT NULL)
	EXECUTE FUNCTION licence_keys_refuse_change();
CREATE TRIGGER licence_keys_no_truncate BEFORE TRUNCATE ON licence_keys
	FOR EACH STATEMENT EXECUTE FUNCTION licence_keys_refuse_change();
