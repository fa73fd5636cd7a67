package db

import (
	"context"
	"database/sql"
	"fmt"
	"sync"
	"time"
)

// SetUnhurriedWait sets how long background work waits for company, and a
// hook called when it starts waiting, until the returned restore.
func SetUnhurriedWait(wait time.Duration, hook func()) (restore func()) {
	oldWait, oldHook := unhurriedWait, testHookWaitForCompany
	unhurriedWait, testHookWaitForCompany = wait, hook
	return func() { unhurriedWait, testHookWaitForCompany = oldWait, oldHook }
}

// RunTogether runs fns as transactions whose callers wait at once, fns[i]
// with ctxs[i], and returns their outcomes. On SQLite they share one group
// commit, run in order (as the committer runs a group it took whole); on
// PostgreSQL each is a Tx of its own, all at once.
func RunTogether(d *DB, ctxs []context.Context, fns []func(*sql.Tx) error) []error {
	errs := make([]error, len(fns))
	if d.group == nil {
		var wg sync.WaitGroup
		for i, fn := range fns {
			wg.Go(func() { errs[i] = d.Tx(ctxs[i], fn) })
		}
		wg.Wait()
		return errs
	}
	batch := make([]*txRequest, len(fns))
	for i, fn := range fns {
		batch[i] = &txRequest{ctx: ctxs[i], fn: fn, done: make(chan txResult, 1)}
	}
	d.group.commit(batch)
	for i, r := range batch {
		res := <-r.done
		errs[i] = res.err
		if res.panicked {
			errs[i] = fmt.Errorf("panic: %v", res.panicVal)
		}
	}
	return errs
}
