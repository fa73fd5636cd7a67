package db

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"
)

// ErrClosed is returned by Tx after Close.
var ErrClosed = errors.New("database is closed")

// maxGroup bounds how many transactions share one commit, so that one
// commit's latency stays bounded under any load.
const maxGroup = 64

// groupCommitter shares SQLite commits between concurrent transactions.
//
// SQLite has one writer, and with synchronous=FULL every commit waits for
// the disk to flush: done one transaction at a time, the store could never
// write faster than the disk flushes. Instead, a single goroutine takes the
// transactions that are waiting, runs each in its own savepoint inside one
// database transaction, and commits them together: one flush for the whole
// group. A transaction whose function fails is rolled back to its savepoint
// alone; the others commit. Nobody is told "done" before the commit that
// holds their change has returned, so an acknowledged change is durable, as
// it would be one by one.
type groupCommitter struct {
	db      *sql.DB
	hooks   *commitHooks
	reqs    chan *txRequest
	stop    chan struct{}
	stopped sync.WaitGroup
	once    sync.Once
	// commits counts the groups committed, and committed the transactions
	// they held: their ratio is how many transactions share a disk flush.
	commits, committed atomic.Uint64
	// busy is how long the writer spent running groups and outside work,
	// flushing how much of that was their COMMITs (nanoseconds): busy
	// near the wall-clock time means the single writer is what limits
	// the store's write rate, not the disk nor the requests.
	busy, flushing atomic.Int64
}

type txRequest struct {
	ctx  context.Context
	fn   func(*sql.Tx) error
	done chan txResult
	// state says whether the committer started fn (or the outside work)
	// or its caller left first (see submit).
	state atomic.Int32
	// unhurried: nobody waits on this transaction (see Unhurried).
	unhurried bool
	// outside, when set, runs on the write connection outside any
	// transaction (a WAL checkpoint), between two groups.
	outside func(context.Context, *sql.DB) error
}

type txResult struct {
	err      error
	panicked bool
	panicVal any
}

func newGroupCommitter(db *sql.DB, hooks *commitHooks) *groupCommitter {
	g := &groupCommitter{db: db, hooks: hooks, reqs: make(chan *txRequest), stop: make(chan struct{})}
	g.stopped.Add(1)
	go g.loop()
	return g
}

func (g *groupCommitter) close() {
	g.once.Do(func() { close(g.stop) })
	g.stopped.Wait()
}

// Request states: queued until the committer starts it or its caller
// leaves, whichever comes first.
const (
	reqQueued int32 = iota
	reqStarted
	reqLeft
)

// run hands fn to the committer and waits for the commit that holds it.
// When ctx ends before fn started (the writer busy with a long group, or
// waiting on a lock another process holds), it returns ctx's error at once
// and fn never runs: a request answers within its own deadline. Once fn has
// started it waits even when ctx ends: its caller must learn whether it
// committed.
func (g *groupCommitter) run(ctx context.Context, fn func(*sql.Tx) error) error {
	res, err := g.submit(&txRequest{ctx: ctx, fn: fn, done: make(chan txResult, 1), unhurried: isUnhurried(ctx)})
	if err != nil {
		return err
	}
	if res.panicked {
		panic(res.panicVal)
	}
	return res.err
}

// runOutside runs fn on the write connection when no group is in flight.
func (g *groupCommitter) runOutside(ctx context.Context, fn func(context.Context, *sql.DB) error) error {
	res, err := g.submit(&txRequest{ctx: ctx, outside: fn, done: make(chan txResult, 1)})
	if err != nil {
		return err
	}
	return res.err
}

// submit queues req unless its context ends or the committer stops first,
// then waits for its result, or for its context to end before the
// committer started it.
func (g *groupCommitter) submit(req *txRequest) (txResult, error) {
	select {
	case g.reqs <- req:
	case <-req.ctx.Done():
		return txResult{}, req.ctx.Err()
	case <-g.stop:
		return txResult{}, ErrClosed
	}
	select {
	case res := <-req.done:
		return res, nil
	case <-req.ctx.Done():
		if req.state.CompareAndSwap(reqQueued, reqLeft) {
			return txResult{}, fmt.Errorf("waiting for the database writer: %w", req.ctx.Err())
		}
		return <-req.done, nil // started: its outcome must be known
	}
}

// start marks req as started, unless its caller has left.
func (r *txRequest) start() bool {
	return r.state.CompareAndSwap(reqQueued, reqStarted)
}

func (g *groupCommitter) loop() {
	defer g.stopped.Done()
	for {
		var first *txRequest
		select {
		case first = <-g.reqs:
		case <-g.stop:
			return
		}
		start := time.Now()
		if first.outside != nil {
			g.runOutsideRequest(first)
			g.busy.Add(int64(time.Since(start)))
			continue
		}
		batch := []*txRequest{first}
		// Take whatever else is already waiting: under load, requests pile
		// up while the previous group flushes, so groups grow by themselves
		// without ever delaying a lone request.
		later := g.drain(&batch)
		if later == nil && unhurriedOnly(batch) {
			waited := time.Now()
			later = g.waitForCompany(&batch)
			start = start.Add(time.Since(waited)) // waiting is not working
		}
		g.commit(batch)
		if later != nil {
			g.runOutsideRequest(later)
		}
		g.busy.Add(int64(time.Since(start)))
	}
}

// runOutsideRequest runs req's outside work, unless its caller has left.
func (g *groupCommitter) runOutsideRequest(req *txRequest) {
	if !req.start() {
		req.done <- txResult{err: req.ctx.Err()}
		return
	}
	req.done <- txResult{err: req.outside(req.ctx, g.db)}
}

// drain adds to batch the transactions already waiting, up to maxGroup,
// and returns the request to run outside any group if one came first.
func (g *groupCommitter) drain(batch *[]*txRequest) (later *txRequest) {
	for len(*batch) < maxGroup {
		select {
		case r := <-g.reqs:
			if r.outside != nil {
				return r
			}
			*batch = append(*batch, r)
		default:
			return nil
		}
	}
	return nil
}

// waitForCompany holds a group of background work alone for up to
// unhurriedWait, gathering what arrives meanwhile, until a transaction
// somebody waits on joins: alone it would take a disk flush of its own, and
// every request arriving meanwhile would queue behind it. It returns the
// request to run outside any group if one came.
func (g *groupCommitter) waitForCompany(batch *[]*txRequest) (later *txRequest) {
	if testHookWaitForCompany != nil {
		testHookWaitForCompany()
	}
	timer := time.NewTimer(unhurriedWait)
	defer timer.Stop()
	for unhurriedOnly(*batch) {
		select {
		case r := <-g.reqs:
			if r.outside != nil {
				return r
			}
			*batch = append(*batch, r)
			if later := g.drain(batch); later != nil {
				return later
			}
		case <-timer.C:
			return nil
		case <-g.stop:
			return nil
		}
	}
	return nil
}

// unhurriedWait is how long background work alone waits for other
// transactions to share its commit: about one disk flush. A variable for
// the tests, as is the hook they watch the wait with.
var (
	unhurriedWait          = time.Millisecond
	testHookWaitForCompany func()
)

type unhurriedKey struct{}

// Unhurried marks the transactions run with ctx as background work that
// nobody is waiting on (numbering invoices, dispatching and marking mail):
// on SQLite, when only such work is waiting, its group waits up to a
// millisecond for other transactions to commit with, rather than taking a
// disk flush of its own that the requests arriving meanwhile would queue
// behind. It changes nothing on PostgreSQL.
func Unhurried(ctx context.Context) context.Context {
	return context.WithValue(ctx, unhurriedKey{}, true)
}

func isUnhurried(ctx context.Context) bool {
	v, _ := ctx.Value(unhurriedKey{}).(bool)
	return v
}

func unhurriedOnly(batch []*txRequest) bool {
	if len(batch) >= maxGroup {
		return false
	}
	for _, r := range batch {
		if !r.unhurried {
			return false
		}
	}
	return true
}

func (g *groupCommitter) commit(batch []*txRequest) {
	results := make([]txResult, len(batch))
	defer func() {
		for i, r := range batch {
			r.done <- results[i]
		}
	}()
	// The transaction belongs to the whole group, not to one request's
	// context: one caller going away must not roll back the others, nor
	// interrupt a statement of theirs (groupContext: see groupconn.go).
	tx, err := g.db.BeginTx(groupContext, nil)
	if err != nil {
		for i, r := range batch {
			// Gone before the group began: its own error, as below.
			if !r.start() || r.ctx.Err() != nil {
				results[i].err = r.ctx.Err()
				continue
			}
			results[i].err = fmt.Errorf("begin: %w", err)
		}
		return
	}
	committed := false
	defer func() { g.hooks.finish(tx, committed) }()
	single := len(batch) == 1
	broken := error(nil)
	for i, r := range batch {
		// Gone before its turn: never started, whatever became of the
		// group (broken by another's error, it says so all the same).
		if !r.start() || r.ctx.Err() != nil {
			results[i].err = r.ctx.Err()
			continue
		}
		if broken != nil {
			results[i].err = broken
			continue
		}
		if !single {
			if _, err := tx.Exec(savepointTx); err != nil {
				broken = fmt.Errorf("savepoint: %w", err)
				results[i].err = broken
				continue
			}
		}
		mark := g.hooks.mark(tx)
		results[i] = call(r.fn, tx)
		if single {
			break
		}
		if results[i].err != nil || results[i].panicked {
			g.hooks.truncate(tx, mark)
			if _, err := tx.Exec(rollbackToTx); err != nil {
				// The whole transaction is gone (SQLite rolls everything
				// back on some errors: a full disk, out of memory): nothing
				// of this group can commit.
				broken = fmt.Errorf("transaction aborted: %w", err)
			}
		}
		if broken == nil {
			if _, err := tx.Exec(releaseTx); err != nil {
				broken = fmt.Errorf("release savepoint: %w", err)
			}
		}
	}
	if broken != nil || (single && (results[0].err != nil || results[0].panicked)) {
		tx.Rollback()
		for i := range results {
			if results[i].err == nil && !results[i].panicked {
				results[i].err = broken
			}
		}
		return
	}
	flushStart := time.Now()
	err = tx.Commit()
	g.flushing.Add(int64(time.Since(flushStart)))
	if err != nil {
		for i := range results {
			if results[i].err == nil && !results[i].panicked {
				results[i].err = fmt.Errorf("commit: %w", err)
			}
		}
		return
	}
	committed = true
	var n uint64
	for _, r := range results {
		if r.err == nil && !r.panicked {
			n++
		}
	}
	g.commits.Add(1)
	g.committed.Add(n)
}

// Each transaction of a group runs in a savepoint that is released, or
// rolled back to and released, before the next one begins: one name serves
// them all, and the write connection keeps these three statements prepared
// (stmtcache.go). A name per place in the group (group_0 … group_63) made
// up to 192 statements of the 256 the connection keeps, evicting the
// checkout's own, which the writer then parsed again.
const (
	savepointTx  = "SAVEPOINT group_tx"
	rollbackToTx = "ROLLBACK TO group_tx"
	releaseTx    = "RELEASE group_tx"
)

// call runs fn, turning a panic into a result the caller re-raises in its
// own goroutine.
func call(fn func(*sql.Tx) error, tx *sql.Tx) (res txResult) {
	defer func() {
		if p := recover(); p != nil {
			res = txResult{panicked: true, panicVal: p}
		}
	}()
	return txResult{err: fn(tx)}
}
