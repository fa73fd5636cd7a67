-- Customer balances ("add funds") and the API's idempotency keys.
--
-- A balance is a ledger: balance_entries holds every movement, immutable,
-- and balance_accounts.balance is a running total kept equal to the sum of
-- the account's entries by internal/billing, in the same transaction as the
-- entry (billing.Ledger.Reconcile checks it). The total exists so that a
-- debit can be one conditional update (balance >= amount) that two
-- concurrent purchases cannot both pass, and the CHECK makes a negative
-- balance impossible whatever the code does.
--
-- customer_id has no foreign key to users: like an invoice, the record of
-- money outlives the account it belonged to.
CREATE TABLE balance_accounts (
	customer_id TEXT NOT NULL,
	currency TEXT NOT NULL CHECK (length(currency) = 3 AND upper(currency) = currency),
	-- The upper bound (10^15 minor units) keeps balance + amount far from
	-- int64 overflow, where SQLite would silently switch to a float.
	balance BIGINT NOT NULL CHECK (balance >= 0 AND balance <= 1000000000000000),
	updated_at TIMESTAMP NOT NULL,
	PRIMARY KEY (customer_id, currency)
);

CREATE TABLE balance_entries (
	id TEXT PRIMARY KEY,
	customer_id TEXT NOT NULL,
	currency TEXT NOT NULL,
	-- Positive credits, negative debits; never zero.
	amount BIGINT NOT NULL CHECK (amount <> 0),
	-- The account's balance once this entry applied: what a statement shows
	-- line by line, and proof in the data that it never went below zero.
	balance_after BIGINT NOT NULL CHECK (balance_after >= 0),
	kind TEXT NOT NULL CHECK (kind IN ('topup', 'purchase', 'refund', 'admin_credit', 'admin_debit', 'reversal')),
	-- What caused the movement (an order, a payment, a claim, the entry a
	-- reversal undoes); both empty when nothing did.
	reference_type TEXT NOT NULL DEFAULT '',
	reference_id TEXT NOT NULL DEFAULT '',
	-- Why, in words: required when a person moved money by hand.
	reason TEXT NOT NULL DEFAULT '',
	-- Who: NULL when the system did (a job, a webhook).
	actor_id TEXT,
	created_at TIMESTAMP NOT NULL,
	FOREIGN KEY (customer_id, currency) REFERENCES balance_accounts (customer_id, currency),
	CHECK (kind NOT IN ('topup', 'refund', 'admin_credit') OR amount > 0),
	CHECK (kind NOT IN ('purchase', 'admin_debit') OR amount < 0),
	CHECK (kind NOT IN ('admin_credit', 'admin_debit') OR trim(reason) <> ''),
	CHECK ((reference_type = '') = (reference_id = ''))
);
-- A customer's statement, paged by id.
CREATE INDEX balance_entries_customer ON balance_entries (customer_id, id);
-- One movement per cause: a payment tops up once, an order is paid once, a
-- refund is paid once, an entry is reversed once, however often a job or a
-- webhook is retried. Manual entries may share a reference (two goodwill
-- credits on one ticket).
CREATE UNIQUE INDEX balance_entries_reference ON balance_entries (kind, reference_type, reference_id)
	WHERE reference_id <> '' AND kind IN ('topup', 'purchase', 'refund', 'reversal');

CREATE TRIGGER balance_entries_no_update BEFORE UPDATE ON balance_entries
BEGIN
	SELECT RAISE(ABORT, 'balance_entries is append-only');
END;
CREATE TRIGGER balance_entries_no_delete BEFORE DELETE ON balance_entries
BEGIN
	SELECT RAISE(ABORT, 'balance_entries is append-only');
END;

-- Idempotency keys of the JSON API (internal/idempotency): the first answer
-- to a request, replayed to its retries for 24 hours. scope is the caller
-- and the route, so two callers' keys never collide; request_hash tells a
-- retry from a different request reusing the key. An 'in_progress' row is
-- leased until lease_until: a retry during the lease is told to wait, a
-- retry after it (the first attempt crashed) runs again.
CREATE TABLE idempotency_keys (
	scope TEXT NOT NULL,
	key TEXT NOT NULL CHECK (length(key) BETWEEN 1 AND 255),
	request_hash TEXT NOT NULL,
	status TEXT NOT NULL CHECK (status IN ('in_progress', 'done')),
	response_status INTEGER,
	response_body TEXT,
	created_at TIMESTAMP NOT NULL,
	lease_until TIMESTAMP NOT NULL,
	expires_at TIMESTAMP NOT NULL,
	PRIMARY KEY (scope, key),
	CHECK ((status = 'done') = (response_status IS NOT NULL AND response_body IS NOT NULL))
);
CREATE INDEX idempotency_keys_expires ON idempotency_keys (expires_at);
