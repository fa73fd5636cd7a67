-- PostgreSQL's 0063 adds balance_debit_covered, for the checkout's debit
-- sent in its transaction's pipeline (billing.Ledger.AppendDebitTx).
-- SQLite runs each statement at once in the process: its debit is the
-- conditional update whose outcome the code reads (billing.Ledger.DebitTx),
-- and it needs nothing new. This migration keeps the engines' versions in
-- step.
SELECT 1;
