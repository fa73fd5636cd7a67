-- A second factor (TOTP, RFC 6238) for staff accounts. The secret is
-- pending until confirmed with a code; last_step refuses a code replayed
-- within its 30 s step. Recovery codes are stored hashed, each usable once.
CREATE TABLE user_totp (
	user_id TEXT PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
	secret TEXT NOT NULL,
	created_at TIMESTAMPTZ NOT NULL,
	confirmed_at TIMESTAMPTZ,
	last_step BIGINT NOT NULL DEFAULT 0
);
CREATE TABLE totp_recovery_codes (
	user_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
	code_hash TEXT NOT NULL,
	used_at TIMESTAMPTZ,
	PRIMARY KEY (user_id, code_hash)
);
-- A sign-in whose password was right and whose second factor is awaited:
-- the browser holds the token (hashed here) for a few minutes.
CREATE TABLE signin_challenges (
	token_hash TEXT PRIMARY KEY,
	user_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
	expires_at TIMESTAMPTZ NOT NULL,
	failures INTEGER NOT NULL DEFAULT 0
);
