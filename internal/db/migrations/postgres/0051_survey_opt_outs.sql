-- Addresses that asked for no more satisfaction surveys: from the one-click
-- link of a survey mail (a guest's address too), or from the account page,
-- which can ask for them again (the row goes). The address is kept as the
-- SHA-256 (hex) of its normalized form (account.EmailKey): enough to
-- recognise it when a survey is about to go, not to read it back.
CREATE TABLE survey_opt_outs (
	address_hash TEXT PRIMARY KEY CHECK (length(address_hash) = 64),
	created_at TIMESTAMPTZ NOT NULL
);
