-- The agents' queue (desk.Queue) reads the tickets not closed, nearest
-- promised reply first. Closed tickets are nearly all of them once a store
-- has some history: without this index the queue read every ticket to find
-- the few still open (a scan of the whole table at each page view).
CREATE INDEX tickets_queue ON tickets (promise_at, id) WHERE status <> 'closed';
