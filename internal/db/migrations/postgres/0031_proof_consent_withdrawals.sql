-- A customer's withdrawal of the consent they gave at checkout to appear
-- in the purchase notices (internal/proof). GDPR art. 7(3): withdrawing
-- must be as easy as giving, so the account page offers it, and it takes
-- effect on the notices already shown, not only on future purchases.
--
-- One row per customer who withdrew: it covers every choice recorded at
-- or before `at` (the feed's live condition checks it, so a cached notice
-- goes at once too). A later checkout where the customer ticks "show my
-- purchase" again is a new consent for that order and is not covered.
-- Giving the consent again on the account page deletes the row; both
-- changes are in the audit log.
CREATE TABLE proof_consent_withdrawals (
	customer_id TEXT PRIMARY KEY REFERENCES users (id),
	at TIMESTAMPTZ NOT NULL
);
