package idempotency_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"comptoir/internal/audit"
	"comptoir/internal/billing"
	"comptoir/internal/clock"
	"comptoir/internal/db"
	"comptoir/internal/db/dbtest"
	"comptoir/internal/idempotency"
	"comptoir/internal/money"
	"comptoir/internal/testwait"
)

var t0 = time.Date(2026, 3, 8, 10, 0, 0, 0, time.UTC)

var (
	scope = idempotency.Scope("usr_admin", "POST /api/v1/balance/credits")
	hashA = idempotency.RequestHash("POST", "/api/v1/balance/credits", []byte(`{"customer_id":"usr_1","amount":{"amount":500,"currency":"EUR"},"reason":"a"}`))
	hashB = idempotency.RequestHash("POST", "/api/v1/balance/credits", []byte(`{"customer_id":"usr_1","amount":{"amount":900,"currency":"EUR"},"reason":"a"}`))
)

func setup(t testing.TB) (*idempotency.Store, *db.DB, *clock.Manual) {
	t.Helper()
	d := dbtest.Open(t)
	c := clock.NewManual(t0)
	return idempotency.New(d, c), d, c
}

// replayed rolls back a transaction whose SaveTx found another answer, as
// the handlers do.
type replayed struct{ out idempotency.Outcome }

func (replayed) Error() string { return "replayed" }

// save runs SaveTx in a transaction of its own, rolled back unless the key
// is now this request's; it returns what SaveTx returned.
func save(s *idempotency.Store, d *db.DB, scope, key, hash string, status int, body string) (idempotency.Outcome, error) {
	ctx := context.Background()
	err := d.Tx(ctx, func(tx *sql.Tx) error {
		out, err := s.SaveTx(ctx, tx, scope, key, hash, status, []byte(body))
		if err == nil && out.Replay {
			return replayed{out}
		}
		return err
	})
	var rep replayed
	if errors.As(err, &rep) {
		return rep.out, nil
	}
	return idempotency.Outcome{}, err
}

// mustSave is save for a key that must be free.
func mustSave(t *testing.T, s *idempotency.Store, d *db.DB, key, hash, body string) {
	t.Helper()
	if out, err := save(s, d, scope, key, hash, 201, body); err != nil || out.Replay {
		t.Fatalf("SaveTx(%q) on a free key: %+v, %v", key, out, err)
	}
}

// wantFree checks that Lookup finds key free for hash (new or expired).
func wantFree(t *testing.T, s *idempotency.Store, key, hash, what string) {
	t.Helper()
	if out, err := s.Lookup(context.Background(), scope, key, hash); err != nil || out.Replay {
		t.Fatalf("%s: %+v, %v; want a free key", what, out, err)
	}
}

// wantReplay checks that Lookup replays body for key.
func wantReplay(t *testing.T, s *idempotency.Store, key, hash, body, what string) {
	t.Helper()
	if out, err := s.Lookup(context.Background(), scope, key, hash); err != nil || !out.Replay || string(out.Body) != body {
		t.Fatalf("%s: %+v, %v; want the replay of %q", what, out, err, body)
	}
}

// keys lists the stored keys, in order.
func keys(t *testing.T, d *db.DB) []string {
	t.Helper()
	ks, err := db.Strings(context.Background(), d.Read, `SELECT key FROM idempotency_keys ORDER BY key`)
	if err != nil {
		t.Fatal(err)
	}
	return ks
}

func TestRepeatGetsTheFirstAnswerAndAnotherBodyIsRefused(t *testing.T) {
	ctx := context.Background()
	s, d, c := setup(t)
	wantFree(t, s, "k1", hashA, "a new key")
	mustSave(t, s, d, "k1", hashA, `{"id":"ble_1"}`)
	c.Advance(23 * time.Hour)
	for range 2 {
		// The repeat's own answer is not stored: the first one stays.
		out, err := save(s, d, scope, "k1", hashA, 200, `{"id":"ble_2"}`)
		if err != nil || !out.Replay || out.Status != 201 || string(out.Body) != `{"id":"ble_1"}` {
			t.Fatalf("repeat through SaveTx: %+v, %v", out, err)
		}
		out, err = s.Lookup(ctx, scope, "k1", hashA)
		if err != nil || !out.Replay || out.Status != 201 || string(out.Body) != `{"id":"ble_1"}` {
			t.Fatalf("repeat through Lookup: %+v, %v", out, err)
		}
	}
	if _, err := save(s, d, scope, "k1", hashB, 201, `{}`); !errors.Is(err, idempotency.ErrKeyReused) {
		t.Fatalf("other body through SaveTx: %v", err)
	}
	if _, err := s.Lookup(ctx, scope, "k1", hashB); !errors.Is(err, idempotency.ErrKeyReused) {
		t.Fatalf("other body through Lookup: %v", err)
	}
	// The same key from another caller or on another route is another key.
	other := idempotency.Scope("usr_other", "POST /api/v1/balance/credits")
	if out, err := s.Lookup(ctx, other, "k1", hashB); err != nil || out.Replay {
		t.Fatalf("same key, other scope, Lookup: %+v, %v", out, err)
	}
	if out, err := save(s, d, other, "k1", hashB, 201, `{"id":"ble_3"}`); err != nil || out.Replay {
		t.Fatalf("same key, other scope, SaveTx: %+v, %v", out, err)
	}
}

// TestConcurrentRequestsMoveMoneyOnce is what a handler does, from many
// clients sending the same request at once, each in its own transaction:
// exactly one commits its credit, every other one is told the first answer
// and rolls its credit back.
func TestConcurrentRequestsMoveMoneyOnce(t *testing.T) {
	ctx := context.Background()
	s, d, _ := setup(t)
	ledger := billing.New(d, clock.NewManual(t0))
	admin := audit.Actor{ID: "usr_admin", Role: "admin"}

	const n = 12
	outs := make([]idempotency.Outcome, n)
	errs := make([]error, n)
	bodies := make([]string, n)
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			<-start
			errs[i] = d.Tx(ctx, func(tx *sql.Tx) error {
				row, err := ledger.CreditTx(ctx, tx, billing.Entry{CustomerID: "usr_1", Amount: money.Amount{Minor: 500, Currency: "EUR"},
					Kind: billing.KindAdminCredit, Reason: "a", Actor: admin})
				if err != nil {
					return err
				}
				bodies[i] = fmt.Sprintf(`{"id":%q}`, row.ID)
				out, err := s.SaveTx(ctx, tx, scope, "k1", hashA, 201, []byte(bodies[i]))
				if err == nil && out.Replay {
					outs[i] = out
					return replayed{out}
				}
				return err
			})
		})
	}
	close(start)
	wg.Wait()

	winner := -1
	for i, err := range errs {
		if err == nil {
			if winner >= 0 {
				t.Fatalf("clients %d and %d both committed", winner, i)
			}
			winner = i
		} else if !errors.As(err, new(replayed)) {
			t.Fatalf("client %d: %v", i, err)
		}
	}
	if winner < 0 {
		t.Fatal("no client committed")
	}
	for i, out := range outs {
		if i != winner && (out.Status != 201 || string(out.Body) != bodies[winner]) {
			t.Fatalf("client %d was told %+v; want the winner's %s", i, out, bodies[winner])
		}
	}
	entries, _, err := ledger.Entries(ctx, "usr_1", "", 0)
	if err != nil || len(entries) != 1 || !strings.Contains(bodies[winner], entries[0].ID) {
		t.Fatalf("entries: %+v, %v; want the winner's only", entries, err)
	}
	if b, _ := ledger.Balance(ctx, "usr_1", "EUR"); b.Minor != 500 {
		t.Fatalf("balance %v, want 500", b)
	}
	wantReplay(t, s, "k1", hashA, bodies[winner], "stored answer")
}

// TestConcurrentTakeoverOfAnExpiredKey: several transactions find the same
// key expired and each tries to take it over. One does; the others get its
// answer, even those that read the key as expired before that one committed
// (PostgreSQL): never a second takeover, never "in progress" for a request
// whose answer is there.
func TestConcurrentTakeoverOfAnExpiredKey(t *testing.T) {
	s, d, c := setup(t)
	mustSave(t, s, d, "k1", hashA, `old`)
	c.Advance(idempotency.TTL)

	const n = 8
	outs := make([]idempotency.Outcome, n)
	errs := make([]error, n)
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			<-start
			outs[i], errs[i] = save(s, d, scope, "k1", hashB, 201, fmt.Sprintf("new %d", i))
		})
	}
	close(start)
	wg.Wait()

	winner := -1
	for i := range n {
		if errs[i] == nil && !outs[i].Replay {
			if winner >= 0 {
				t.Fatalf("clients %d and %d both took the key over", winner, i)
			}
			winner = i
		}
	}
	if winner < 0 {
		t.Fatalf("no client took the key over: %+v, %v", outs, errs)
	}
	want := fmt.Sprintf("new %d", winner)
	for i := range n {
		switch {
		case i == winner:
		case errs[i] == nil && outs[i].Replay && string(outs[i].Body) == want:
		default:
			t.Fatalf("client %d: %+v, %v; want the replay of %q", i, outs[i], errs[i], want)
		}
	}
	wantReplay(t, s, "k1", hashB, want, "stored answer")
}

// TestOverlappingTakeoversCannotBothCommit makes the race of the test above
// certain: a third transaction holds the expired key's row, so two SaveTx
// calls both read the key as expired and then wait at their takeover. Once
// the row is let go, one takes the key over; the other must not, though it
// read the key as expired too, and gets the first one's answer: before, it
// got ErrInProgress (a 409 "in progress" for an answered request). SQLite has one writer, so there two
// transactions never overlap and the test above is all there is.
func TestOverlappingTakeoversCannotBothCommit(t *testing.T) {
	if dbtest.Engine() != db.Postgres {
		t.Skip("SQLite runs one write transaction at a time")
	}
	dbtest.NeedConnections(t, 4) // the holder, two takeovers, the watcher
	ctx := context.Background()
	s, d, c := setup(t)
	mustSave(t, s, d, "k1", hashA, `old`)
	c.Advance(idempotency.TTL)

	holder, err := d.Write.BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer holder.Rollback()
	if _, err := holder.ExecContext(ctx, `SELECT 1 FROM idempotency_keys WHERE scope = $1 AND key = 'k1' FOR UPDATE`, scope); err != nil {
		t.Fatal(err)
	}
	outs := make([]idempotency.Outcome, 2)
	errs := make([]error, 2)
	var wg sync.WaitGroup
	for i := range 2 {
		wg.Go(func() { outs[i], errs[i] = save(s, d, scope, "k1", hashB, 201, fmt.Sprintf("new %d", i)) })
	}
	// Both wait at the row once they have read it: at their UPDATE.
	for deadline := time.Now().Add(testwait.Default); ; {
		var waiting int
		// (The second waits behind the first's claim on the row, not
		// directly behind the holder.) Each test has a database of its own.
		if err := d.Read.QueryRowContext(ctx, `SELECT COUNT(*) FROM pg_stat_activity
			WHERE datname = current_database() AND wait_event_type = 'Lock' AND query LIKE 'UPDATE idempotency_keys%'`).Scan(&waiting); err != nil {
			t.Fatal(err)
		}
		if waiting == 2 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d transactions waiting at the takeover; want 2", waiting)
		}
		time.Sleep(5 * time.Millisecond) // polling the condition
	}
	if err := holder.Rollback(); err != nil {
		t.Fatal(err)
	}
	wg.Wait()

	took := -1
	for i := range 2 {
		if errs[i] == nil && !outs[i].Replay {
			if took >= 0 {
				t.Fatalf("transactions %d and %d both took the key over", took, i)
			}
			took = i
		}
	}
	if took < 0 {
		t.Fatalf("no transaction took the key over: %+v, %v", outs, errs)
	}
	other, want := 1-took, fmt.Sprintf("new %d", took)
	if errs[other] != nil || !outs[other].Replay || string(outs[other].Body) != want {
		t.Fatalf("the other transaction: %+v, %v; want the replay of %q", outs[other], errs[other], want)
	}
	wantReplay(t, s, "k1", hashB, want, "stored answer")
}

// TestCrashBeforeCommitLeavesTheKeyFree: the first attempt died before its
// transaction committed, taking its claim on the key with it. A retry runs
// at once, with nothing to wait for.
func TestCrashBeforeCommitLeavesTheKeyFree(t *testing.T) {
	ctx := context.Background()
	s, d, _ := setup(t)
	crash := errors.New("process killed")
	err := d.Tx(ctx, func(tx *sql.Tx) error {
		if out, err := s.SaveTx(ctx, tx, scope, "k1", hashA, 201, []byte(`{"id":"lost"}`)); err != nil || out.Replay {
			return fmt.Errorf("SaveTx: %+v, %v", out, err)
		}
		return crash // the commit never happens
	})
	if !errors.Is(err, crash) {
		t.Fatal(err)
	}
	wantFree(t, s, "k1", hashA, "after the crash")
	mustSave(t, s, d, "k1", hashA, `{"id":"ble_2"}`)
	wantReplay(t, s, "k1", hashA, `{"id":"ble_2"}`, "after the retry")
}

func TestExpiredKeysStartOverAndArePruned(t *testing.T) {
	ctx := context.Background()
	s, d, c := setup(t)
	mustSave(t, s, d, "old", hashA, `old`)
	mustSave(t, s, d, "stale", hashA, `stale`)
	c.Advance(12 * time.Hour)
	mustSave(t, s, d, "young", hashA, `young`)

	c.Advance(12 * time.Hour) // "old" and "stale" are exactly 24 hours old
	// Until pruned, an expired key is already a new key, whatever the body.
	for _, h := range []string{hashA, hashB} {
		wantFree(t, s, "old", h, "expired key looked up")
	}
	mustSave(t, s, d, "old", hashB, `old again`)
	wantReplay(t, s, "old", hashB, `old again`, "renewed key")
	if _, err := s.Lookup(ctx, scope, "old", hashA); !errors.Is(err, idempotency.ErrKeyReused) {
		t.Fatalf("the renewed key's former request: %v", err)
	}
	wantReplay(t, s, "young", hashA, `young`, "a key within its TTL")

	prune := func(at time.Time) int64 {
		t.Helper()
		var n int64
		if err := d.Tx(ctx, func(tx *sql.Tx) (err error) {
			n, err = idempotency.PruneTx(ctx, tx, at)
			return err
		}); err != nil {
			t.Fatal(err)
		}
		return n
	}
	// "young" expires at t0+36h, the renewed "old" at t0+48h, "stale"
	// expired at t0+24h.
	if n := prune(t0.Add(36*time.Hour - time.Second)); n != 1 {
		t.Fatalf("first prune deleted %d keys; want stale", n)
	}
	if got := strings.Join(keys(t, d), " "); got != "old young" {
		t.Fatalf("after the first prune: %q", got)
	}
	if n := prune(t0.Add(36 * time.Hour)); n != 1 {
		t.Fatalf("second prune deleted %d keys; want young, expiring that instant", n)
	}
	if got := strings.Join(keys(t, d), " "); got != "old" {
		t.Fatalf("after the second prune: %q", got)
	}
	if n := prune(t0.Add(36 * time.Hour)); n != 0 {
		t.Fatalf("pruning again deleted %d keys", n)
	}
	c.Set(t0.Add(36 * time.Hour))
	wantFree(t, s, "young", hashB, "pruned key")
}

// TestInProgressRowWaitsForItsLease: versions before SaveTx claimed a key
// in a commit of its own ('in_progress', leased until lease_until) and
// answered it later. Such a row in an upgraded database holds its key until
// its lease runs out, then is taken over.
func TestInProgressRowWaitsForItsLease(t *testing.T) {
	ctx := context.Background()
	s, d, c := setup(t)
	if err := d.Tx(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO idempotency_keys (scope, key, request_hash, status, created_at, lease_until, expires_at)
			VALUES ($1, 'k1', $2, 'in_progress', $3, $4, $5)`, scope, hashA, t0, t0.Add(time.Minute), t0.Add(idempotency.TTL))
		return err
	}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Lookup(ctx, scope, "k1", hashA); !errors.Is(err, idempotency.ErrInProgress) {
		t.Fatalf("Lookup within the lease: %v", err)
	}
	if _, err := save(s, d, scope, "k1", hashA, 201, `{}`); !errors.Is(err, idempotency.ErrInProgress) {
		t.Fatalf("SaveTx within the lease: %v", err)
	}
	if _, err := s.Lookup(ctx, scope, "k1", hashB); !errors.Is(err, idempotency.ErrKeyReused) {
		t.Fatalf("another body: %v", err)
	}
	c.Advance(time.Minute)
	wantFree(t, s, "k1", hashA, "Lookup after the lease")
	mustSave(t, s, d, "k1", hashA, `{"id":"ble_1"}`)
	wantReplay(t, s, "k1", hashA, `{"id":"ble_1"}`, "after the takeover")
}

func TestKeyValidation(t *testing.T) {
	ctx := context.Background()
	s, d, _ := setup(t)
	for key, code := range map[string]string{
		"":                       idempotency.CodeRequired,
		strings.Repeat("k", 256): idempotency.CodeTooLong,
		strings.Repeat("é", 256): idempotency.CodeTooLong,
		"line\nbreak":            idempotency.CodeInvalid,
		"nul\x00":                idempotency.CodeInvalid,
		"\xff\xfe not UTF-8":     idempotency.CodeInvalid,
	} {
		var ve *idempotency.ValidationError
		_, err := s.Lookup(ctx, scope, key, hashA)
		if !errors.As(err, &ve) || ve.Fields["idempotency_key"] != code {
			t.Errorf("Lookup(%q): %v; want %s", key, err, code)
		}
		ve = nil
		_, err = save(s, d, scope, key, hashA, 201, `{}`)
		if !errors.As(err, &ve) || ve.Fields["idempotency_key"] != code {
			t.Errorf("SaveTx(%q): %v; want %s", key, err, code)
		}
	}
	// A body PostgreSQL's TEXT would refuse is refused on both engines.
	for _, body := range []string{"\xff\xfe", "nul\x00"} {
		if _, err := save(s, d, scope, "k", hashA, 201, body); err == nil {
			t.Errorf("SaveTx with body %q: no error", body)
		}
	}
	if ks := keys(t, d); len(ks) != 0 {
		t.Fatalf("refused saves stored %d keys", len(ks))
	}
	for _, key := range []string{strings.Repeat("k", 255), strings.Repeat("é", 255), "6f1c2a9e-0d5b-4c1e-9a7b-3f2e1d0c9b8a"} {
		mustSave(t, s, d, key, hashA, `{}`)
		if out, err := s.Lookup(ctx, scope, key, hashA); err != nil || !out.Replay {
			t.Errorf("Lookup(%d-character key): %+v, %v", len([]rune(key)), out, err)
		}
	}
}

func TestRequestHash(t *testing.T) {
	base := idempotency.RequestHash("POST", "/a", []byte("b"))
	for name, h := range map[string]string{
		"method": idempotency.RequestHash("PUT", "/a", []byte("b")),
		"path":   idempotency.RequestHash("POST", "/ab", nil),
		"body":   idempotency.RequestHash("POST", "/a", []byte("c")),
	} {
		if h == base {
			t.Errorf("another %s gives the same hash", name)
		}
	}
	if idempotency.RequestHash("POST", "/a", []byte("b")) != base || len(base) != 64 {
		t.Fatalf("hash not stable or not hex SHA-256: %q", base)
	}
}

func TestSaveTxClaimsAndAnswersInOneTransaction(t *testing.T) {
	d := dbtest.Open(t)
	clk := clock.NewManual(time.Date(2026, 3, 8, 10, 0, 0, 0, time.UTC))
	s := idempotency.New(d, clk)
	ctx := context.Background()
	save := func(hash, body string) (idempotency.Outcome, error) {
		var out idempotency.Outcome
		err := d.Tx(ctx, func(tx *sql.Tx) error {
			var err error
			out, err = s.SaveTx(ctx, tx, "usr_1 POST /x", "k", hash, 201, []byte(body))
			return err
		})
		return out, err
	}
	if out, err := s.Lookup(ctx, "usr_1 POST /x", "k", "h1"); err != nil || out.Replay {
		t.Fatalf("free key: %+v %v", out, err)
	}
	if out, err := save("h1", `{"id":1}`); err != nil || out.Replay {
		t.Fatalf("first save: %+v %v", out, err)
	}
	if out, err := save("h1", `{"id":2}`); err != nil || !out.Replay || string(out.Body) != `{"id":1}` || out.Status != 201 {
		t.Fatalf("a repeat must get the first answer: %+v %v", out, err)
	}
	if out, err := s.Lookup(ctx, "usr_1 POST /x", "k", "h1"); err != nil || !out.Replay {
		t.Fatalf("lookup after save: %+v %v", out, err)
	}
	if _, err := save("h2", `{}`); !errors.Is(err, idempotency.ErrKeyReused) {
		t.Fatalf("another request under the key: %v", err)
	}
	if _, err := s.Lookup(ctx, "usr_1 POST /x", "k", "h2"); !errors.Is(err, idempotency.ErrKeyReused) {
		t.Fatalf("lookup with another request: %v", err)
	}
	// A save whose transaction rolls back leaves the key free.
	d.Tx(ctx, func(tx *sql.Tx) error {
		s.SaveTx(ctx, tx, "usr_1 POST /x", "other", "h1", 201, []byte(`{}`))
		return errors.New("the effect failed")
	})
	if out, err := s.Lookup(ctx, "usr_1 POST /x", "other", "h1"); err != nil || out.Replay {
		t.Fatalf("a rolled-back save kept the key: %+v %v", out, err)
	}
	// An expired key is a new one.
	clk.Advance(idempotency.TTL + time.Second)
	if out, err := save("h2", `{"id":3}`); err != nil || out.Replay {
		t.Fatalf("save over an expired key: %+v %v", out, err)
	}
}

// BenchmarkKeyedRequest is what a keyed checkout asks of the store: a
// lookup that finds the key free, then SaveTx in the effect's transaction
// with an answer the size of an order's (issue #9).
//
//	go test ./internal/idempotency -run '^$' -bench KeyedRequest -benchmem
func BenchmarkKeyedRequest(b *testing.B) {
	s, d, _ := setup(b)
	ctx := context.Background()
	body := []byte(`{"id":"ord_0123456789abcdef","status":"processing","lines":[` + strings.Repeat(`{"id":"oln_0123456789abcdef","name":"Posts","quantity":2},`, 8) + `{}]}`)
	b.ReportAllocs()
	n := 0
	for b.Loop() {
		n++
		key := fmt.Sprintf("bench-%d", n)
		if out, err := s.Lookup(ctx, scope, key, hashA); err != nil || out.Replay {
			b.Fatalf("Lookup = %+v, %v", out, err)
		}
		if out, err := save(s, d, scope, key, hashA, 201, string(body)); err != nil || out.Replay {
			b.Fatalf("SaveTx = %+v, %v", out, err)
		}
	}
}

// A keyed request writes its key into the table and its primary key
// (scope, key) only, the one index every look needs. The expiry index
// (expires_at) that served the daily prune alone was dropped by migration
// 0060 (issue #9: another page written by every SQLite group commit, another
// index insert per request on PostgreSQL); the prune reads the table.
func TestKeyedRequestWritesOneIndex(t *testing.T) {
	s, d, c := setup(t)
	ctx := context.Background()
	q := `SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'idempotency_keys' ORDER BY name`
	if dbtest.Engine() == db.Postgres {
		q = `SELECT indexname FROM pg_indexes WHERE schemaname = current_schema() AND tablename = 'idempotency_keys' ORDER BY indexname`
	}
	idx, err := db.Strings(ctx, d.Read, q)
	if err != nil {
		t.Fatal(err)
	}
	if len(idx) != 1 {
		t.Errorf("a saved key is written into %d indexes %v; want its primary key's only", len(idx), idx)
	}
	// And the prune still finds the expired keys, without that index.
	mustSave(t, s, d, "old", hashA, `{"id":"old"}`)
	c.Advance(time.Hour)
	mustSave(t, s, d, "new", hashA, `{"id":"new"}`)
	c.Advance(idempotency.TTL - time.Hour)
	var pruned int64
	if err := d.Tx(ctx, func(tx *sql.Tx) (err error) {
		pruned, err = idempotency.PruneTx(ctx, tx, c.Now())
		return err
	}); err != nil {
		t.Fatal(err)
	}
	if got := keys(t, d); pruned != 1 || strings.Join(got, ",") != "new" {
		t.Fatalf("prune at the first key's expiry: %d pruned, %v left; want 1, [new]", pruned, got)
	}
}

// ClaimTx after a Lookup: a free key is this request's once the
// transaction commits; a key claimed by another request between the
// Lookup and the claim gives that request's answer, or ErrKeyReused for
// another body (on PostgreSQL the claim waits in the pipeline, so the
// transaction fails with ErrTaken and Settle says it; on SQLite ClaimTx is
// SaveTx); an expired key is taken over. Nothing of a losing request stays.
func TestClaimTxAfterLookup(t *testing.T) {
	s, d, c := setup(t)
	ctx := context.Background()
	taken := 0 // transactions failed with ErrTaken
	claim := func(key, hash, body string) (idempotency.Outcome, error) {
		t.Helper()
		looked, err := s.Lookup(ctx, scope, key, hash)
		if err != nil || looked.Replay {
			t.Fatalf("Lookup(%q): %+v, %v; want a free key", key, looked, err)
		}
		if _, err := d.Write.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS t_effect (key TEXT NOT NULL)`); err != nil {
			t.Fatal(err)
		}
		// Another request with the key commits between the Lookup and
		// this one's claim.
		if key == "raced" {
			mustSave(t, s, d, key, hashA, "first")
		}
		err = d.Tx(ctx, func(tx *sql.Tx) error {
			if _, err := tx.ExecContext(ctx, `INSERT INTO t_effect (key) VALUES ($1)`, key+" "+hash); err != nil {
				return err
			}
			out, err := s.ClaimTx(ctx, tx, looked, scope, key, hash, 201, []byte(body))
			if err == nil && out.Replay {
				return replayed{out}
			}
			return err
		})
		var rep replayed
		switch {
		case errors.As(err, &rep):
			return rep.out, nil
		case errors.Is(err, idempotency.ErrTaken):
			if d.Engine != db.Postgres {
				t.Fatalf("ErrTaken on %s, where ClaimTx is SaveTx", d.Engine)
			}
			taken++
			return s.Settle(ctx, scope, key, hash)
		}
		return idempotency.Outcome{}, err
	}
	effects := func(key, hash string) int {
		t.Helper()
		var n int
		if err := d.Read.QueryRowContext(ctx, `SELECT COUNT(*) FROM t_effect WHERE key = $1`, key+" "+hash).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}

	if out, err := claim("new", hashA, "mine"); err != nil || out.Replay {
		t.Fatalf("a free key: %+v, %v", out, err)
	}
	wantReplay(t, s, "new", hashA, "mine", "after its claim committed")

	if out, err := claim("raced", hashA, "second"); err != nil || !out.Replay || string(out.Body) != "first" {
		t.Fatalf("a key claimed meanwhile, same request: %+v, %v; want the first answer", out, err)
	}
	if _, err := d.Write.ExecContext(ctx, `DELETE FROM idempotency_keys WHERE key = 'raced'`); err != nil {
		t.Fatal(err)
	}
	if _, err := claim("raced", hashB, "other"); !errors.Is(err, idempotency.ErrKeyReused) {
		t.Fatalf("a key claimed meanwhile, another body: %v; want ErrKeyReused", err)
	}
	if n := effects("raced", hashA) + effects("raced", hashB); n != 0 {
		t.Errorf("%d effects of the requests that lost the key stayed", n)
	}
	wantReplay(t, s, "raced", hashA, "first", "the key claimed meanwhile")
	if want := map[db.Engine]int{db.Postgres: 2, db.SQLite: 0}[d.Engine]; taken != want {
		t.Errorf("%d transactions failed with ErrTaken, want %d", taken, want)
	}

	c.Advance(idempotency.TTL + time.Minute)
	if out, err := claim("new", hashB, "renewed"); err != nil || out.Replay {
		t.Fatalf("an expired key: %+v, %v", out, err)
	}
	wantReplay(t, s, "new", hashB, "renewed", "the expired key taken over")
}
