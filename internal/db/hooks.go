package db

import (
	"database/sql"
	"sync"
)

// commitHooks holds the functions to run once a transaction has committed,
// by transaction. On SQLite one database transaction carries a whole group
// of callers' transactions, each in a savepoint: a caller rolled back to
// its savepoint loses the hooks it added, the others keep theirs.
type commitHooks struct {
	mu sync.Mutex
	m  map[*sql.Tx][]func()
}

func (h *commitHooks) add(tx *sql.Tx, fn func()) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.m == nil {
		h.m = map[*sql.Tx][]func(){}
	}
	h.m[tx] = append(h.m[tx], fn)
}

// mark is how many hooks tx has so far, for truncate.
func (h *commitHooks) mark(tx *sql.Tx) int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return len(h.m[tx])
}

// truncate drops the hooks tx gained after mark n (a rolled-back savepoint).
func (h *commitHooks) truncate(tx *sql.Tx, n int) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if fns := h.m[tx]; len(fns) > n {
		h.m[tx] = fns[:n]
	}
}

// take removes tx's hooks and returns them.
func (h *commitHooks) take(tx *sql.Tx) []func() {
	h.mu.Lock()
	defer h.mu.Unlock()
	fns := h.m[tx]
	delete(h.m, tx)
	return fns
}

// finish runs tx's hooks if it committed, and forgets them either way.
func (h *commitHooks) finish(tx *sql.Tx, committed bool) {
	fns := h.take(tx)
	if !committed {
		return
	}
	for _, fn := range fns {
		fn()
	}
}

// AfterCommit arranges for fn to run once the transaction tx (given to a Tx
// function) has committed; if it rolls back, fn never runs. It is for
// telling another part of the process that durable work is waiting (waking
// the mail dispatcher), so fn must be quick and must not block: it runs in
// the committing goroutine, before the callers of the group return.
func (d *DB) AfterCommit(tx *sql.Tx, fn func()) {
	d.hooks.add(tx, fn)
}
