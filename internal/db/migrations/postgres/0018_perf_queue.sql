-- The agents' queue (desk.Queue) reads the tickets not closed, nearest
-- promised reply first, all of them or one agent's. Closed tickets are
-- nearly all of them once a store has some history: without these indexes
-- the queue read every ticket (or every ticket an agent ever had) to find
-- the few still open. At 250,000 tickets, one agent's queue went from 31 ms
-- to 0.2 ms in the sqlite3 shell.
CREATE INDEX tickets_queue ON tickets (promise_at, id) WHERE status <> 'closed';
CREATE INDEX tickets_queue_assignee ON tickets (assignee_id, promise_at, id) WHERE status <> 'closed';
