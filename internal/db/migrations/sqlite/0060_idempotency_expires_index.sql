-- idempotency_keys_expires (expires_at) served one query: the daily
-- retention's deletion of the expired keys (idempotency PruneTx). Every
-- keyed request (every API checkout with an Idempotency-Key) wrote into it
-- (issue #9: on SQLite another page written to the write-ahead log by every
-- group commit, on PostgreSQL another index insert per request). The table
-- holds a day or two of keys and the retention deletes about half of them
-- each day, writing those rows' pages anyway: reading the whole table once
-- a day costs less than writing an index on every request.
DROP INDEX idempotency_keys_expires;
