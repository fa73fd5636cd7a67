-- Refund policy versions (internal/policystore, POLICY.md).
--
-- Every order records the policy version its customer accepted (default@1),
-- and its claims are decided under that version for as long as the order
-- exists. So a published version is the record of a promise: the database,
-- not only the Go code, refuses to rewrite or delete it. Drafts (published_at
-- NULL) may be rewritten and deleted until they are published.

CREATE TABLE policies (
	name TEXT NOT NULL CHECK (length(name) BETWEEN 1 AND 64),
	version INTEGER NOT NULL CHECK (version >= 1),
	-- The TOML document, byte for byte, and its SHA-256 in hex (what
	-- policy.Parse computes): a reader checks one against the other.
	document TEXT NOT NULL,
	digest TEXT NOT NULL CHECK (length(digest) = 64),
	-- When this text was saved and by whom (a user id; NULL for the system,
	-- which seeds the built-in default@1). Saving a draft again moves both.
	created_at TIMESTAMP NOT NULL,
	created_by TEXT,
	-- NULL while a draft; set once, on publishing, and never again.
	published_at TIMESTAMP,
	PRIMARY KEY (name, version)
);
CREATE INDEX policies_newest ON policies (created_at);

-- A published version never changes and is never removed: not its text, not
-- its digest, not its publication.
CREATE TRIGGER policies_published_no_update BEFORE UPDATE ON policies
WHEN OLD.published_at IS NOT NULL
BEGIN
	SELECT RAISE(ABORT, 'a published policy version is immutable');
END;
CREATE TRIGGER policies_published_no_delete BEFORE DELETE ON policies
WHEN OLD.published_at IS NOT NULL
BEGIN
	SELECT RAISE(ABORT, 'a published policy version is immutable');
END;

-- The version in force: what new orders accept and what the policy page
-- shows. One row (the CHECK on id), written when the default is seeded and
-- on every publish. generation goes up by one at each change: every node
-- caches the parsed policy and compares this number (at most once a second)
-- to know when to read it again.
CREATE TABLE policy_current (
	id INTEGER PRIMARY KEY CHECK (id = 1),
	name TEXT NOT NULL,
	version INTEGER NOT NULL,
	generation INTEGER NOT NULL CHECK (generation >= 1),
	changed_at TIMESTAMP NOT NULL,
	FOREIGN KEY (name, version) REFERENCES policies (name, version)
);

-- Only a published version can be in force: customers must never accept a
-- draft that could still change under them.
CREATE TRIGGER policy_current_published_insert BEFORE INSERT ON policy_current
WHEN NOT EXISTS (SELECT 1 FROM policies WHERE name = NEW.name AND version = NEW.version AND published_at IS NOT NULL)
BEGIN
	SELECT RAISE(ABORT, 'only a published policy version can be in force');
END;
CREATE TRIGGER policy_current_published_update BEFORE UPDATE ON policy_current
WHEN NOT EXISTS (SELECT 1 FROM policies WHERE name = NEW.name AND version = NEW.version AND published_at IS NOT NULL)
BEGIN
	SELECT RAISE(ABORT, 'only a published policy version can be in force');
END;
-- The generation only goes up, or a node could keep a stale policy cached.
CREATE TRIGGER policy_current_generation_forward BEFORE UPDATE ON policy_current
WHEN NEW.generation <= OLD.generation
BEGIN
	SELECT RAISE(ABORT, 'policy_current.generation only goes up');
END;
-- Once a version is in force, there is always one.
CREATE TRIGGER policy_current_no_delete BEFORE DELETE ON policy_current
BEGIN
	SELECT RAISE(ABORT, 'a policy version is always in force');
END;
