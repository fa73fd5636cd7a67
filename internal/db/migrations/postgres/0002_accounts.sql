-- Accounts: people who sign in (customers, support agents, admins), their
-- browser sessions, API tokens and password resets, plus the shared
-- rate-limit counters. Secrets are never stored in clear: sessions, API
-- tokens and reset links are kept as the hex SHA-256 of the random token
-- (256 bits of entropy need no salt or slow hash), passwords as argon2id.

CREATE TABLE users (
	id TEXT PRIMARY KEY,
	-- email is shown and written to as typed; email_key (trimmed, lower-cased
	-- by the service) is what makes sign-up and sign-in case-insensitive and
	-- lets the unique index, not a prior SELECT, refuse a second account.
	email TEXT NOT NULL,
	email_key TEXT NOT NULL UNIQUE,
	name TEXT NOT NULL DEFAULT '',
	role TEXT NOT NULL CHECK (role IN ('customer', 'agent', 'admin')),
	password_hash TEXT NOT NULL,
	language TEXT NOT NULL CHECK (language IN ('fr', 'en')),
	customer_type TEXT NOT NULL DEFAULT 'consumer' CHECK (customer_type IN ('consumer', 'business')),
	vat_number TEXT,
	-- ISO 3166-1 alpha-2, upper case; empty for staff created from the CLI.
	country TEXT NOT NULL DEFAULT '' CHECK (country = '' OR (length(country) = 2 AND country = upper(country))),
	region TEXT NOT NULL DEFAULT '',
	city TEXT NOT NULL DEFAULT '',
	created_at TIMESTAMPTZ NOT NULL,
	updated_at TIMESTAMPTZ NOT NULL,
	-- Invoices to a business carry its VAT number (reverse charge), so a
	-- business account without one must not exist.
	CHECK (customer_type <> 'business' OR (vat_number IS NOT NULL AND vat_number <> ''))
);

CREATE TABLE sessions (
	-- hex SHA-256 of the cookie token: a copy of this table signs no one in.
	id TEXT PRIMARY KEY,
	user_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
	created_at TIMESTAMPTZ NOT NULL,
	last_seen_at TIMESTAMPTZ NOT NULL,
	expires_at TIMESTAMPTZ NOT NULL,
	ip TEXT NOT NULL DEFAULT '',
	user_agent TEXT NOT NULL DEFAULT ''
);
CREATE INDEX sessions_user ON sessions (user_id);
CREATE INDEX sessions_expires ON sessions (expires_at);

CREATE TABLE api_tokens (
	id TEXT PRIMARY KEY,
	user_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
	name TEXT NOT NULL,
	token_hash TEXT NOT NULL UNIQUE,
	created_at TIMESTAMPTZ NOT NULL,
	last_used_at TIMESTAMPTZ,
	revoked_at TIMESTAMPTZ
);
CREATE INDEX api_tokens_user ON api_tokens (user_id);

CREATE TABLE password_resets (
	token_hash TEXT PRIMARY KEY,
	user_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
	created_at TIMESTAMPTZ NOT NULL,
	expires_at TIMESTAMPTZ NOT NULL,
	used_at TIMESTAMPTZ
);
CREATE INDEX password_resets_user ON password_resets (user_id);

-- Fixed-window counters shared by every node (internal/ratelimit).
CREATE TABLE rate_limits (
	bucket TEXT NOT NULL,
	window_start TIMESTAMPTZ NOT NULL,
	hits INTEGER NOT NULL,
	PRIMARY KEY (bucket, window_start)
);
CREATE INDEX rate_limits_window ON rate_limits (window_start);
