-- Legal pages (internal/legal): the legal notice, the terms of sale, the
-- privacy notice and the consumer mediator page, each versioned like the
-- refund policy, in French and English.
--
-- An order records the terms version its customer accepted, so a published
-- version is the record of what was agreed: the database, not only the Go
-- code, refuses to rewrite or delete it. A draft (published_at NULL) may be
-- rewritten until it is published.

CREATE TABLE legal_documents (
	kind TEXT NOT NULL CHECK (kind IN ('legal_notice', 'terms', 'privacy', 'mediator')),
	version BIGINT NOT NULL CHECK (version >= 1),
	-- The texts as the admin typed them (the light markup of package legal);
	-- digest is the SHA-256 in hex of both, so a reader can check them.
	body_fr TEXT NOT NULL,
	body_en TEXT NOT NULL,
	digest TEXT NOT NULL CHECK (length(digest) = 64),
	created_at TIMESTAMPTZ NOT NULL,
	-- A user id; NULL for the system, which seeds the shipped first versions.
	created_by TEXT,
	-- NULL while a draft; set once, on publishing, and never again.
	published_at TIMESTAMPTZ,
	PRIMARY KEY (kind, version)
);

CREATE FUNCTION legal_documents_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	RAISE EXCEPTION 'a published legal document version is immutable';
END
$$;
CREATE TRIGGER legal_documents_published_no_change BEFORE UPDATE OR DELETE ON legal_documents
	FOR EACH ROW
	WHEN (OLD.published_at IS NOT NULL)
	EXECUTE FUNCTION legal_documents_refuse_change();
CREATE TRIGGER legal_documents_no_truncate BEFORE TRUNCATE ON legal_documents
	FOR EACH STATEMENT EXECUTE FUNCTION legal_documents_refuse_change();

-- The version in force of each kind. generation goes up at each change:
-- every node caches the documents in force and reads these rows (at most
-- once a second) to know when to read them again.
CREATE TABLE legal_current (
	kind TEXT PRIMARY KEY,
	version BIGINT NOT NULL,
	generation BIGINT NOT NULL CHECK (generation >= 1),
	changed_at TIMESTAMPTZ NOT NULL,
	FOREIGN KEY (kind, version) REFERENCES legal_documents (kind, version)
);

CREATE FUNCTION legal_current_check() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	IF TG_OP = 'DELETE' OR TG_OP = 'TRUNCATE' THEN
		RAISE EXCEPTION 'a legal document version is always in force';
	END IF;
	IF NOT EXISTS (SELECT 1 FROM legal_documents WHERE kind = NEW.kind AND version = NEW.version AND published_at IS NOT NULL) THEN
		RAISE EXCEPTION 'only a published legal document version can be in force';
	END IF;
	IF TG_OP = 'UPDATE' AND (NEW.generation <= OLD.generation OR NEW.kind <> OLD.kind) THEN
		RAISE EXCEPTION 'legal_current.generation only goes up';
	END IF;
	RETURN NEW;
END
$$;
CREATE TRIGGER legal_current_checked BEFORE INSERT OR UPDATE OR DELETE ON legal_current
	FOR EACH ROW EXECUTE FUNCTION legal_current_check();
CREATE TRIGGER legal_current_no_truncate BEFORE TRUNCATE ON legal_current
	FOR EACH STATEMENT EXECUTE FUNCTION legal_current_check();

-- The terms of sale version the buyer accepted (legal_documents' terms@N),
-- beside the refund policy version. NULL for orders placed before the legal
-- pages existed.
ALTER TABLE order_consents ADD COLUMN terms_version TEXT;
