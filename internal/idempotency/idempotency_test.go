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
)

var t0 = time.Date(2026, 3, 8, 10, 0, 0, 0, time.UTC)

var (
	scope = idempotency.Scope("usr_admin", "POST /api/v1/balance/credits")
	hashA = idempotency.RequestHash("POST", "/api/v1/balance/credits", []byte(`{"customer_id":"usr_1","amount":{"amount":500,"currency":"EUR"},"reason":"a"}`))
	hashB = idempotency.RequestHash("POST", "/api/v1/balance/credits", []byte(`{"customer_id":"usr_1","amount":{"amount":900,"currency":"EUR"},"reason":"a"}`))
)

func setup(t *testing.T) (*idempotency.Store, *db.DB, *clock.Manual) {
	t.Helper()
	d := dbtest.Open(t)
	c := clock.NewManual(t0)
	return idempotency.New(d, c), d, c
}

func begin(t *testing.T, s *idempotency.Store, key, hash string) idempotency.Outcome {
	t.Helper()
	out, err := s.Begin(context.Background(), scope, key, hash)
	if err != nil {
		t.Fatalf("Begin(%q): %v", key, err)
	}
	return out
}

func complete(t *testing.T, s *idempotency.Store, d *db.DB, key string, status int, body string) {
	t.Helper()
	ctx := context.Background()
	if err := d.Tx(ctx, func(tx *sql.Tx) error { return s.CompleteTx(ctx, tx, scope, key, status, []byte(body)) }); err != nil {
		t.Fatalf("CompleteTx(%q): %v", key, err)
	}
}

func TestRepeatGetsTheFirstAnswerAndAnotherBodyIsRefused(t *testing.T) {
	ctx := context.Background()
	s, d, c := setup(t)
	if out := begin(t, s, "k1", hashA); out.Replay {
		t.Fatalf("first Begin replays: %+v", out)
	}
	// Another body while the first still runs is a misuse of the key, not
	// a wait.
	if _, err := s.Begin(ctx, scope, "k1", hashB); !errors.Is(err, idempotency.ErrKeyReused) {
		t.Fatalf("other body in progress: %v", err)
	}
	complete(t, s, d, "k1", 201, `{"id":"ble_1"}`)
	c.Advance(23 * time.Hour)
	for range 2 {
		out := begin(t, s, "k1", hashA)
		if !out.Replay || out.Status != 201 || string(out.Body) != `{"id":"ble_1"}` {
			t.Fatalf("repeat: %+v", out)
		}
	}
	if _, err := s.Begin(ctx, scope, "k1", hashB); !errors.Is(err, idempotency.ErrKeyReused) {
		t.Fatalf("other body after the answer: %v", err)
	}
	// The same key from another caller or on another route is another key.
	if out, err := s.Begin(ctx, idempotency.Scope("usr_other", "POST /api/v1/balance/credits"), "k1", hashB); err != nil || out.Replay {
		t.Fatalf("same key, other scope: %+v, %v", out, err)
	}
}

func TestConcurrentDuplicatesOneWins(t *testing.T) {
	ctx := context.Background()
	s, _, _ := setup(t)
	const n = 20
	errs := make([]error, n)
	outs := make([]idempotency.Outcome, n)
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			<-start
			outs[i], errs[i] = s.Begin(ctx, scope, "k1", hashA)
		})
	}
	close(start)
	wg.Wait()
	won, waiting := 0, 0
	for i, err := range errs {
		switch {
		case err == nil && !outs[i].Replay:
			won++
		case errors.Is(err, idempotency.ErrInProgress):
			waiting++
		default:
			t.Fatalf("Begin: %+v, %v", outs[i], err)
		}
	}
	if won != 1 || waiting != n-1 {
		t.Fatalf("%d won and %d were told to wait; want 1 and %d", won, waiting, n-1)
	}
}

// TestConcurrentRequestsMoveMoneyOnce is what a handler does, from many
// clients retrying the same request at once: the credit happens once and
// every client ends up with the same answer.
func TestConcurrentRequestsMoveMoneyOnce(t *testing.T) {
	ctx := context.Background()
	s, d, _ := setup(t)
	ledger := billing.New(d, clock.NewManual(t0))
	admin := audit.Actor{ID: "usr_admin", Role: "admin"}

	handle := func() (int, string, error) {
		for {
			out, err := s.Begin(ctx, scope, "k1", hashA)
			switch {
			case errors.Is(err, idempotency.ErrInProgress):
				time.Sleep(time.Millisecond) // the client's retry
				continue
			case err != nil:
				return 0, "", err
			case out.Replay:
				return out.Status, string(out.Body), nil
			}
			var body string
			err = d.Tx(ctx, func(tx *sql.Tx) error {
				row, err := ledger.CreditTx(ctx, tx, billing.Entry{CustomerID: "usr_1", Amount: money.Amount{Minor: 500, Currency: "EUR"},
					Kind: billing.KindAdminCredit, Reason: "a", Actor: admin})
				if err != nil {
					return err
				}
				body = fmt.Sprintf(`{"id":%q}`, row.ID)
				return s.CompleteTx(ctx, tx, scope, "k1", 201, []byte(body))
			})
			return 201, body, err
		}
	}
	const n = 12
	bodies := make([]string, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() { _, bodies[i], errs[i] = handle() })
	}
	wg.Wait()
	for i := range n {
		if errs[i] != nil || bodies[i] != bodies[0] || bodies[0] == "" {
			t.Fatalf("client %d: %q, %v (client 0 got %q)", i, bodies[i], errs[i], bodies[0])
		}
	}
	entries, _, err := ledger.Entries(ctx, "usr_1", "", 0)
	if err != nil || len(entries) != 1 || !strings.Contains(bodies[0], entries[0].ID) {
		t.Fatalf("entries: %+v, %v", entries, err)
	}
	if b, _ := ledger.Balance(ctx, "usr_1", "EUR"); b.Minor != 500 {
		t.Fatalf("balance %v, want 500", b)
	}
}

// TestRetryAfterACrash: the first attempt died before its effect committed
// (its transaction never did). A retry waits out the lease, then runs.
func TestRetryAfterACrash(t *testing.T) {
	ctx := context.Background()
	s, d, c := setup(t)
	begin(t, s, "k1", hashA)
	crash := errors.New("process killed")
	err := d.Tx(ctx, func(tx *sql.Tx) error {
		if err := s.CompleteTx(ctx, tx, scope, "k1", 201, []byte(`{"id":"lost"}`)); err != nil {
			return err
		}
		return crash // the commit never happens
	})
	if !errors.Is(err, crash) {
		t.Fatal(err)
	}
	c.Advance(idempotency.Lease - time.Second)
	if _, err := s.Begin(ctx, scope, "k1", hashA); !errors.Is(err, idempotency.ErrInProgress) {
		t.Fatalf("retry within the lease: %v", err)
	}
	// Another body is still a reuse, lease or not.
	c.Advance(2 * time.Second)
	if _, err := s.Begin(ctx, scope, "k1", hashB); !errors.Is(err, idempotency.ErrKeyReused) {
		t.Fatalf("other body after the lease: %v", err)
	}
	if out := begin(t, s, "k1", hashA); out.Replay {
		t.Fatalf("retry after the lease replays %+v", out)
	}
	// The retry holds a fresh lease.
	if _, err := s.Begin(ctx, scope, "k1", hashA); !errors.Is(err, idempotency.ErrInProgress) {
		t.Fatalf("a second retry right after the takeover: %v", err)
	}
	complete(t, s, d, "k1", 201, `{"id":"ble_2"}`)
	if out := begin(t, s, "k1", hashA); !out.Replay || string(out.Body) != `{"id":"ble_2"}` {
		t.Fatalf("after the retry: %+v", out)
	}
}

// TestSlowFirstAttemptAndItsRetryCannotBothCommit: the first attempt was
// slow, not dead. Whichever completes first wins; the other's CompleteTx
// fails, so its effect rolls back.
func TestSlowFirstAttemptAndItsRetryCannotBothCommit(t *testing.T) {
	ctx := context.Background()
	for _, slowFirst := range []bool{true, false} {
		t.Run(fmt.Sprintf("slow attempt completes first: %v", slowFirst), func(t *testing.T) {
			s, d, c := setup(t)
			begin(t, s, "k1", hashA) // the slow attempt
			c.Advance(idempotency.Lease + time.Second)
			begin(t, s, "k1", hashA) // the retry takes over
			first, second := "slow", "retry"
			if !slowFirst {
				first, second = second, first
			}
			complete(t, s, d, "k1", 201, first)
			err := d.Tx(ctx, func(tx *sql.Tx) error { return s.CompleteTx(ctx, tx, scope, "k1", 201, []byte(second)) })
			if !errors.Is(err, idempotency.ErrNotInProgress) {
				t.Fatalf("second completion: %v", err)
			}
			if out := begin(t, s, "k1", hashA); !out.Replay || string(out.Body) != first {
				t.Fatalf("stored answer: %+v, want %q", out, first)
			}
		})
	}
}

func TestExpiredKeysArePrunedAndStartOver(t *testing.T) {
	ctx := context.Background()
	s, d, c := setup(t)
	begin(t, s, "old", hashA)
	complete(t, s, d, "old", 201, `old`)
	c.Advance(12 * time.Hour)
	begin(t, s, "young", hashA)
	complete(t, s, d, "young", 201, `young`)
	begin(t, s, "abandoned", hashA) // never completed

	now := c.Advance(12 * time.Hour) // "old" is exactly 24 hours old
	// Until pruned, an expired key is already a new key, whatever the body.
	if out := begin(t, s, "old", hashB); out.Replay {
		t.Fatalf("expired key replayed: %+v", out)
	}
	if err := s.Release(ctx, scope, "old"); err != nil {
		t.Fatal(err)
	}
	begin(t, s, "old", hashA)
	complete(t, s, d, "old", 201, `old again`)

	var n int64
	err := d.Tx(ctx, func(tx *sql.Tx) (err error) {
		n, err = idempotency.PruneTx(ctx, tx, now.Add(12*time.Hour))
		return err
	})
	if err != nil || n != 2 {
		t.Fatalf("Prune = %d, %v; want the young and the abandoned key", n, err)
	}
	var left int
	if err := d.Read.QueryRowContext(ctx, `SELECT COUNT(*) FROM idempotency_keys`).Scan(&left); err != nil || left != 1 {
		t.Fatalf("%d keys left, %v; want the renewed one", left, err)
	}
	c.Set(now.Add(12 * time.Hour))
	if out := begin(t, s, "young", hashB); out.Replay {
		t.Fatalf("pruned key: %+v", out)
	}
}

func TestRelease(t *testing.T) {
	ctx := context.Background()
	s, d, _ := setup(t)
	begin(t, s, "k1", hashA)
	if err := s.Release(ctx, scope, "k1"); err != nil {
		t.Fatal(err)
	}
	begin(t, s, "k1", hashA) // at once, no lease to wait for
	complete(t, s, d, "k1", 402, `{"error":{"code":"insufficient_balance"}}`)
	if err := s.Release(ctx, scope, "k1"); err != nil {
		t.Fatal(err)
	}
	if out := begin(t, s, "k1", hashA); !out.Replay || out.Status != 402 {
		t.Fatalf("an answered key was released: %+v", out)
	}
	// Complete stores an answer with no effect behind it.
	begin(t, s, "k2", hashA)
	if err := s.Complete(ctx, scope, "k2", 409, []byte(`{}`)); err != nil {
		t.Fatal(err)
	}
	if err := s.Complete(ctx, scope, "k2", 200, []byte(`{}`)); !errors.Is(err, idempotency.ErrNotInProgress) {
		t.Fatalf("completing twice: %v", err)
	}
	if err := s.Complete(ctx, scope, "never-begun", 200, []byte(`{}`)); !errors.Is(err, idempotency.ErrNotInProgress) {
		t.Fatalf("completing a key never begun: %v", err)
	}
}

func TestKeyValidation(t *testing.T) {
	ctx := context.Background()
	s, _, _ := setup(t)
	for key, code := range map[string]string{
		"":                       idempotency.CodeRequired,
		strings.Repeat("k", 256): idempotency.CodeTooLong,
		strings.Repeat("é", 256): idempotency.CodeTooLong,
		"line\nbreak":            idempotency.CodeInvalid,
		"nul\x00":                idempotency.CodeInvalid,
		"\xff\xfe not UTF-8":     idempotency.CodeInvalid,
	} {
		_, err := s.Begin(ctx, scope, key, hashA)
		var ve *idempotency.ValidationError
		if !errors.As(err, &ve) || ve.Fields["idempotency_key"] != code {
			t.Errorf("Begin(%q): %v; want %s", key, err, code)
		}
	}
	for _, key := range []string{strings.Repeat("k", 255), strings.Repeat("é", 255), "6f1c2a9e-0d5b-4c1e-9a7b-3f2e1d0c9b8a"} {
		if _, err := s.Begin(ctx, scope, key, hashA); err != nil {
			t.Errorf("Begin(%d-character key): %v", len([]rune(key)), err)
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
