-- Stripe keeps its answer to a request under the request's idempotency key
-- for a day, a server error (5xx) included: every retry sent under the same
-- key gets that error back. key_round counts the server errors a payment's
-- (or a refund's) call has met; the call's key carries it ("checkout-<id>",
-- then "checkout-<id>-r1", …), so the attempt after such an error reaches
-- Stripe again instead of its stored failure. Calls that move money first
-- look for what an earlier attempt may have made.
ALTER TABLE card_payments ADD COLUMN key_round INTEGER NOT NULL DEFAULT 0 CHECK (key_round >= 0);
ALTER TABLE card_refunds ADD COLUMN key_round INTEGER NOT NULL DEFAULT 0 CHECK (key_round >= 0);
