-- Refund policy versions (internal/policystore, POLICY.md).
--
-- Every order records the policy version its customer accepted (default@1),
-- and its claims are decided under that version for as long as the order
-- exists. So a published version is the record of a promise: the database,
-- not only the Go code, refuses to rewrite or delete it. Drafts (published_at
-- NULL) may be rewritten and deleted until they are published.

CREATE TABLE policies (
	name TEXT NOT NULL CHECK (length(name) BETWEEN 1 AND 64),
	-- BIGINT: the format allows versions up to 2^31, one more than INTEGER.
	version BIGINT NOT NULL CHECK (version >= 1),
	-- The TOML document, byte for byte, and its SHA-256 in hex (what
	-- policy.Parse computes): a reader checks one against the other.
	document TEXT NOT NULL,
	digest TEXT NOT NULL CHECK (length(digest) = 64),
	-- When this text was saved and by whom (a user id; NULL for the system,
	-- which seeds the built-in default@1). Saving a draft again moves both.
	created_at TIMESTAMPTZ NOT NULL,
	created_by TEXT,
	-- NULL while a draft; set once, on publishing, and never again.
	published_at TIMESTAMPTZ,
	PRIMARY KEY (name, version)
);
CREATE INDEX policies_newest ON policies (created_at);

-- A published version never changes and is never removed: not its text, not
-- its digest, not its publication. TRUNCATE would remove published rows
-- too, so it is refused outright (drafts are deleted one by one).
CREATE FUNCTION policies_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	RAISE EXCEPTION 'a published policy version is immutable';
END
$$;
CREATE TRIGGER policies_published_no_change BEFORE UPDATE OR DELETE ON policies
	FOR EACH ROW
	WHEN (OLD.published_at IS NOT NULL)
	EXECUTE FUNCTION policies_refuse_change();
CREATE TRIGGER policies_no_truncate BEFORE TRUNCATE ON policies
	FOR EACH STATEMENT EXECUTE FUNCTION policies_refuse_change();

-- The version in force: what new orders accept and what the policy page
-- shows. One row (the CHECK on id), written when the default is seeded and
-- on every publish. generation goes up by one at each change: every node
-- caches the parsed policy and compares this number (at most once a second)
-- to know when to read it again.
CREATE TABLE policy_current (
	id INTEGER PRIMARY KEY CHECK (id = 1),
	name TEXT NOT NULL,
	version BIGINT NOT NULL,
	generation BIGINT NOT NULL CHECK (generation >= 1),
	changed_at TIMESTAMPTZ NOT NULL,
	FOREIGN KEY (name, version) REFERENCES policies (name, version)
);

-- Only a published version can be in force: customers must never accept a
-- draft that could still change under them. The generation only goes up, or
-- a node could keep a stale policy cached; and once a version is in force,
-- there is always one.
CREATE FUNCTION policy_current_check() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	IF TG_OP = 'DELETE' OR TG_OP = 'TRUNCATE' THEN
		RAISE EXCEPTION 'a policy version is always in force';
	END IF;
	IF NOT EXISTS (SELECT 1 FROM policies WHERE name = NEW.name AND version = NEW.version AND published_at IS NOT NULL) THEN
		RAISE EXCEPTION 'only a published policy version can be in force';
	END IF;
	IF TG_OP = 'UPDATE' AND NEW.generation <= OLD.generation THEN
		RAISE EXCEPTION 'policy_current.generation only goes up';
	END IF;
	RETURN NEW;
END
$$;
CREATE TRIGGER policy_current_checked BEFORE INSERT OR UPDATE OR DELETE ON policy_current
	FOR EACH ROW EXECUTE FUNCTION policy_current_check();
CREATE TRIGGER policy_current_no_truncate BEFORE TRUNCATE ON policy_current
	FOR EACH STATEMENT EXECUTE FUNCTION policy_current_check();
