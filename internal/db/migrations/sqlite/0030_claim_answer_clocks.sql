-- The answer clocks of claims (POLICY.md "Customer service promise"): a
-- claim that waits for an agent (filed in review or solution, or moved to
-- review when the customer's evidence arrived) gets a first human answer
-- aimed for by answer_target_at and promised by answer_promise_at, counted
-- in the store's SLA calendar from the moment it started waiting. An
-- agent's decision (or an automatic one that closes the claim) stops the
-- clock: answered_at. NULL promise: nothing was ever due (decided
-- automatically, or waiting for the customer or the processing time).
ALTER TABLE claims ADD COLUMN answer_target_at TIMESTAMP;
ALTER TABLE claims ADD COLUMN answer_promise_at TIMESTAMP;
ALTER TABLE claims ADD COLUMN answered_at TIMESTAMP;
-- Set once, by a conditional update (the breach scan, or a decision that
-- came after the promise), and audited then; never cleared: a claim
-- answered late stays counted as late.
ALTER TABLE claims ADD COLUMN answer_breached BOOLEAN NOT NULL DEFAULT FALSE;
-- The breach scan (claims.MarkBreaches) and the console's "nearest promise
-- first" read the claims whose clock runs and that are not flagged yet.
CREATE INDEX claims_answer_breach_scan ON claims (answer_promise_at)
	WHERE answer_promise_at IS NOT NULL AND answered_at IS NULL AND answer_breached = FALSE;
