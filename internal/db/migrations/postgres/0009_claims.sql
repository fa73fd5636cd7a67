-- Claims: a customer's written request about one order line (or one
-- subscription), the decisions taken on it under the refund policy, the
-- evidence the customer sent and the money that went back (POLICY.md).
--
-- What protects the customer and the store is repeated here as constraints,
-- so that no code path can break it:
--   * at most one open claim of a kind per order line (and per
--     subscription): a partial unique index, so two clicks or two agents
--     filing from the same message cannot open two;
--   * what the customer filed (kind, subject, filed_at, the policy version)
--     never changes once written, and a decided claim is never reopened:
--     its filed_at is what the window was judged on. Only the message may
--     change, so that erasing a person (GDPR) can blank what they wrote;
--   * every decision, automatic or by an agent, is kept in claim_decisions,
--     which refuses updates and deletes like the audit log;
--   * a refund to store credit exists only with the customer's recorded
--     acceptance.
-- The refunds of a line never exceeding what was paid is enforced where that
-- data lives (order_lines.refunded, by a conditional update in orders).

CREATE TABLE claims (
	id TEXT PRIMARY KEY CHECK (substr(id, 1, 4) = 'clm_'),
	kind TEXT NOT NULL CHECK (kind IN ('non_delivery', 'not_as_described', 'subscription_cancel', 'dissatisfied', 'withdrawal')),
	customer_id TEXT NOT NULL REFERENCES users (id),
	order_id TEXT REFERENCES orders (id),
	order_line_id TEXT REFERENCES order_lines (id),
	-- No foreign key: subscriptions belong to another package whose
	-- migration may land after this one; claims checks the subscription
	-- through the subscriptions service when filing.
	subscription_id TEXT,
	status TEXT NOT NULL CHECK (status IN ('open', 'decided')),
	-- The customer's first written contact about the matter (the claim form,
	-- or the message an agent turned into this claim): windows count to it,
	-- so an agent's delay never costs the customer their window.
	filed_at TIMESTAMPTZ NOT NULL,
	-- Who filed it (the customer, or the agent acting from a message).
	filed_by TEXT NOT NULL,
	filed_via TEXT NOT NULL CHECK (filed_via IN ('customer', 'agent')),
	source_message_id TEXT,
	message TEXT NOT NULL DEFAULT '',
	-- subscription_cancel: how the subscription should end.
	choice TEXT CHECK (choice IN ('period_end', 'now')),
	refund_requested BOOLEAN NOT NULL DEFAULT TRUE,
	-- The policy version the customer accepted with the order or
	-- subscription: every decision on this claim is taken under it.
	policy_version TEXT NOT NULL CHECK (policy_version <> ''),
	-- The current decision (the last row of claim_decisions).
	outcome TEXT NOT NULL CHECK (outcome IN ('refund', 'refused', 'review', 'awaiting_evidence', 'waiting_delivery', 'solution', 'redeliver', 'credit', 'none')),
	rule TEXT NOT NULL CHECK (rule <> ''),
	statutory BOOLEAN NOT NULL,
	refund_amount BIGINT CHECK (refund_amount > 0),
	refund_currency TEXT CHECK (length(refund_currency) = 3),
	cancel TEXT NOT NULL CHECK (cancel IN ('none', 'period_end', 'now')),
	reason_en TEXT NOT NULL,
	reason_fr TEXT NOT NULL,
	decided_at TIMESTAMPTZ NOT NULL,
	-- NULL: decided automatically by the policy engine.
	decided_by TEXT,
	-- Bumped by every change, for optimistic concurrency and to number the
	-- decisions.
	revision BIGINT NOT NULL DEFAULT 1 CHECK (revision >= 1),
	created_at TIMESTAMPTZ NOT NULL,
	updated_at TIMESTAMPTZ NOT NULL,
	CHECK ((kind = 'subscription_cancel') = (subscription_id IS NOT NULL)),
	CHECK ((subscription_id IS NULL) = (order_id IS NOT NULL AND order_line_id IS NOT NULL)),
	CHECK (subscription_id IS NULL OR (order_id IS NULL AND order_line_id IS NULL)),
	CHECK (kind <> 'subscription_cancel' OR choice IS NOT NULL),
	CHECK (filed_via = 'agent' OR source_message_id IS NULL),
	CHECK (filed_at <= created_at),
	CHECK ((refund_amount IS NULL) = (refund_currency IS NULL)),
	CHECK (outcome NOT IN ('refund', 'credit') OR refund_amount IS NOT NULL),
	CHECK (outcome IN ('refund', 'credit') OR refund_amount IS NULL),
	-- Open exactly while someone still has to act: an agent, the customer
	-- (evidence) or the clock (the processing time).
	CHECK ((status = 'open') = (outcome IN ('review', 'awaiting_evidence', 'waiting_delivery', 'solution')))
);
CREATE INDEX claims_by_customer ON claims (customer_id, id);
CREATE INDEX claims_by_order ON claims (order_id, id);
CREATE INDEX claims_by_status ON claims (status, id);
-- One open claim per kind per order line, and per subscription. NULLs are
-- distinct in a unique index on both engines, so subscription claims never
-- collide in the first and order claims never in the second.
CREATE UNIQUE INDEX claims_one_open_per_line ON claims (kind, order_line_id) WHERE status = 'open';
CREATE UNIQUE INDEX claims_one_open_per_subscription ON claims (kind, subscription_id) WHERE status = 'open';

CREATE FUNCTION claims_filing_fixed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	IF NEW.id IS DISTINCT FROM OLD.id OR NEW.kind IS DISTINCT FROM OLD.kind OR NEW.customer_id IS DISTINCT FROM OLD.customer_id
		OR NEW.order_id IS DISTINCT FROM OLD.order_id OR NEW.order_line_id IS DISTINCT FROM OLD.order_line_id
		OR NEW.subscription_id IS DISTINCT FROM OLD.subscription_id OR NEW.filed_at IS DISTINCT FROM OLD.filed_at
		OR NEW.filed_by IS DISTINCT FROM OLD.filed_by OR NEW.filed_via IS DISTINCT FROM OLD.filed_via
		OR NEW.source_message_id IS DISTINCT FROM OLD.source_message_id
		OR NEW.choice IS DISTINCT FROM OLD.choice OR NEW.refund_requested IS DISTINCT FROM OLD.refund_requested
		OR NEW.policy_version IS DISTINCT FROM OLD.policy_version OR NEW.created_at IS DISTINCT FROM OLD.created_at
		OR (OLD.status = 'decided' AND NEW.status = 'open') THEN
		RAISE EXCEPTION 'a claim''s filing never changes and a decided claim is never reopened';
	END IF;
	RETURN NEW;
END
$$;
CREATE TRIGGER claims_filing_fixed BEFORE UPDATE ON claims
	FOR EACH ROW EXECUTE FUNCTION claims_filing_fixed();

CREATE FUNCTION claims_refuse_delete() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	RAISE EXCEPTION '% is kept: no delete', TG_TABLE_NAME;
END
$$;
CREATE TRIGGER claims_no_delete BEFORE DELETE ON claims
	FOR EACH ROW EXECUTE FUNCTION claims_refuse_delete();
CREATE TRIGGER claims_no_truncate BEFORE TRUNCATE ON claims
	FOR EACH STATEMENT EXECUTE FUNCTION claims_refuse_delete();

-- Every decision ever taken on a claim, in order (seq is the claim's
-- revision when it was taken).
CREATE TABLE claim_decisions (
	id TEXT PRIMARY KEY CHECK (substr(id, 1, 4) = 'cld_'),
	claim_id TEXT NOT NULL REFERENCES claims (id),
	seq BIGINT NOT NULL CHECK (seq >= 1),
	outcome TEXT NOT NULL CHECK (outcome IN ('refund', 'refused', 'review', 'awaiting_evidence', 'waiting_delivery', 'solution', 'redeliver', 'credit', 'none')),
	rule TEXT NOT NULL CHECK (rule <> ''),
	statutory BOOLEAN NOT NULL,
	refund_amount BIGINT CHECK (refund_amount > 0),
	refund_currency TEXT CHECK (length(refund_currency) = 3),
	cancel TEXT NOT NULL CHECK (cancel IN ('none', 'period_end', 'now')),
	reason_en TEXT NOT NULL,
	reason_fr TEXT NOT NULL,
	-- The agent's reason code (policy.AgentReasons for a refusal); NULL for
	-- automatic decisions.
	reason_code TEXT,
	-- The agent's internal note; never shown to the customer.
	note TEXT NOT NULL DEFAULT '',
	policy_version TEXT NOT NULL,
	decided_at TIMESTAMPTZ NOT NULL,
	-- NULL: automatic.
	decided_by TEXT,
	UNIQUE (claim_id, seq),
	CHECK ((refund_amount IS NULL) = (refund_currency IS NULL)),
	CHECK (decided_by IS NOT NULL OR (reason_code IS NULL AND note = ''))
);
CREATE FUNCTION claim_decisions_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	RAISE EXCEPTION 'claim_decisions is append-only';
END
$$;
CREATE TRIGGER claim_decisions_no_change BEFORE UPDATE OR DELETE ON claim_decisions
	FOR EACH ROW EXECUTE FUNCTION claim_decisions_refuse_change();
CREATE TRIGGER claim_decisions_no_truncate BEFORE TRUNCATE ON claim_decisions
	FOR EACH STATEMENT EXECUTE FUNCTION claim_decisions_refuse_change();

-- What the customer sent to support a claim: text, or a file kept in the
-- blob store under a generated key. file_name is a sanitized display name,
-- never a path; content_type was detected from the content (not taken from
-- the upload) and is one of an allow-list of types a browser shows inertly.
-- Not append-only: erasing a person (GDPR) must be able to remove what they
-- uploaded.
CREATE TABLE claim_evidence (
	id TEXT PRIMARY KEY CHECK (substr(id, 1, 4) = 'evd_'),
	claim_id TEXT NOT NULL REFERENCES claims (id),
	-- 1, 2, … in the order the customer sent the pieces.
	position INTEGER NOT NULL CHECK (position >= 1),
	kind TEXT NOT NULL CHECK (kind IN ('text', 'file')),
	text TEXT,
	blob_key TEXT UNIQUE,
	file_name TEXT,
	content_type TEXT,
	size BIGINT NOT NULL CHECK (size >= 0),
	sha256 TEXT NOT NULL CHECK (length(sha256) = 64),
	added_at TIMESTAMPTZ NOT NULL,
	added_by TEXT NOT NULL,
	UNIQUE (claim_id, position),
	CHECK (kind <> 'text' OR (text IS NOT NULL AND blob_key IS NULL AND file_name IS NULL AND content_type IS NULL)),
	CHECK (kind <> 'file' OR (text IS NULL AND blob_key IS NOT NULL AND file_name IS NOT NULL AND size > 0
		AND content_type IN ('application/pdf', 'image/png', 'image/jpeg', 'image/gif', 'image/webp',
			'text/plain; charset=utf-8', 'text/plain; charset=utf-16be', 'text/plain; charset=utf-16le')))
);

-- Money that went back because of a claim, and where it went. A balance or
-- store-credit refund is a ledger entry (succeeded at once); a card refund
-- is pending until the card payment service reports it.
CREATE TABLE claim_refunds (
	id TEXT PRIMARY KEY CHECK (substr(id, 1, 4) = 'crf_'),
	claim_id TEXT NOT NULL REFERENCES claims (id),
	decision_id TEXT NOT NULL REFERENCES claim_decisions (id),
	order_id TEXT REFERENCES orders (id),
	order_line_id TEXT REFERENCES order_lines (id),
	subscription_id TEXT,
	amount BIGINT NOT NULL CHECK (amount > 0),
	currency TEXT NOT NULL CHECK (length(currency) = 3),
	destination TEXT NOT NULL CHECK (destination IN ('balance', 'card', 'credit')),
	status TEXT NOT NULL CHECK (status IN ('pending', 'succeeded', 'failed')),
	-- The card payment service's refund ("rfd_…"), for card refunds.
	card_refund_id TEXT UNIQUE,
	-- The balance entry ("ble_…"), for balance and credit refunds.
	ledger_entry_id TEXT,
	-- Store credit instead of the original means of payment only with the
	-- customer's acceptance at that moment (POLICY.md "Money").
	customer_accepted_credit_at TIMESTAMPTZ,
	created_at TIMESTAMPTZ NOT NULL,
	updated_at TIMESTAMPTZ NOT NULL,
	CHECK ((order_id IS NULL) <> (subscription_id IS NULL)),
	CHECK (destination <> 'credit' OR customer_accepted_credit_at IS NOT NULL),
	CHECK (destination <> 'card' OR card_refund_id IS NOT NULL)
);
CREATE INDEX claim_refunds_by_claim ON claim_refunds (claim_id, id);

-- One counter per claim subject (order line or subscription), bumped by
-- every claims transaction that decides on it. An automatic decision reads
-- the counter before reading its facts and commits only if it has not moved:
-- a decision is never taken on facts another claim's refund just changed.
CREATE TABLE claim_subjects (
	subject_id TEXT PRIMARY KEY,
	version BIGINT NOT NULL CHECK (version >= 1)
);
