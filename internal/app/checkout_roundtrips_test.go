package app_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"comptoir/internal/account"
	"comptoir/internal/apptest"
	"comptoir/internal/catalog"
	"comptoir/internal/db"
	"comptoir/internal/db/dbtest"
	"comptoir/internal/idempotency"
	"comptoir/internal/money"
	"comptoir/internal/testwait"
)

// checkoutRoundTrips is what one API checkout paid from the balance, with
// an idempotency key, waits for on PostgreSQL: the key's lookup and the
// token's, then its transaction: BEGIN, one pipeline of every row (the
// order, its line, its consent, the debit with its entry and audit line,
// the key's claim, the proof choice, the invoice and its line, the
// confirmation with its queue row and attachment, the other audit lines)
// and COMMIT. It was 13, each row a round trip of its own, and the waits
// on both sides cost more CPU than the inserts (issue #9); then 7, the
// key's claim a round trip of its own (idempotency.ClaimTx puts it in the
// pipeline); then 6, the debit a round trip of its own, whose outcome
// decided the answer (billing.Ledger.AppendDebitTx puts it in the
// pipeline, and a balance too short fails the pipeline).
const checkoutRoundTrips = 5

// checkoutStatements is how many statements those are, each parsed,
// planned and run by the server: the round trips' and the pipeline's
// (the order with its lines and consent, one statement; the debit with
// its entry and audit line, one; the key's claim; the proof choice; the
// invoice with its line; the confirmation with its content, queue row and
// attachment; the audit lines of the order and the invoice, one
// statement: db.AppendRow). It was 15, the order, its lines and its
// consent a statement each, and each audit line.
const checkoutStatements = 11

// TestCheckoutRoundTrips pins checkoutRoundTrips, so that a row that
// leaves the pipeline (a tx.ExecContext where db.AppendWrapped would do)
// shows in go test rather than in a bench run. PostgreSQL only: SQLite
// has no round trips.
func TestCheckoutRoundTrips(t *testing.T) {
	if dbtest.Engine() != db.Postgres {
		t.Skip("PostgreSQL only: SQLite runs in the process")
	}
	h := apptest.Start(t)
	ctx := context.Background()
	p, u := checkoutFixture(t, h)
	auth := h.Bearer(t, u.ID).Get("Authorization")
	handler := h.App.Web.Handler()
	checkout := func(key string) (*db.RoundTrips, string) {
		t.Helper()
		var rt db.RoundTrips
		req := httptest.NewRequestWithContext(db.CountRoundTrips(ctx, &rt), http.MethodPost, "/api/v1/orders", strings.NewReader(
			`{"lines":[{"product_id":"`+p.ID+`","quantity":2}],"payment":"balance","consent":{"immediate_performance":true,"withdrawal_waiver":true}}`))
		req.Header.Set("Authorization", auth)
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Idempotency-Key", key)
		rec := httptest.NewRecorder()
		handler.ServeHTTP(rec, req)
		if rec.Code != http.StatusCreated {
			t.Fatalf("checkout %s: %d %s", key, rec.Code, rec.Body)
		}
		return &rt, rec.Body.String()
	}
	// The first requests with the token record its use.
	checkout("warm-1")
	checkout("warm-2")
	rt, body := checkout("counted")
	if n := rt.Load(); n != checkoutRoundTrips {
		t.Errorf("one checkout: %d round trips to PostgreSQL, want %d", n, checkoutRoundTrips)
	}
	if n := rt.Statements(); n != checkoutStatements {
		t.Errorf("one checkout: %d statements, want %d", n, checkoutStatements)
	}
	// Everything the pipeline carried is there.
	orderID := between(body, `"id":"`, `"`)
	var orders, lines, consents, invoices, mails int
	if err := h.App.DB.Read.QueryRowContext(ctx, `SELECT
		(SELECT COUNT(*) FROM orders WHERE id = $1), (SELECT COUNT(*) FROM order_lines WHERE order_id = $1),
		(SELECT COUNT(*) FROM order_consents WHERE order_id = $1), (SELECT COUNT(*) FROM invoices i JOIN invoice_lines l ON l.invoice_id = i.id WHERE i.order_id = $1),
		(SELECT COUNT(*) FROM outgoing_mail m JOIN outgoing_mail_content c ON c.content_id = m.content_id JOIN outgoing_mail_attachments a ON a.mail_id = m.id
			WHERE m.kind = 'order_confirmation' AND c.text_body LIKE '%' || $1 || '%')`, orderID).
		Scan(&orders, &lines, &consents, &invoices, &mails); err != nil {
		t.Fatal(err)
	}
	if orders != 1 || lines != 1 || consents != 1 || invoices != 1 || mails != 1 {
		t.Errorf("order %s: %d orders, %d lines, %d consents, %d invoice lines, %d confirmations with an attachment", orderID, orders, lines, consents, invoices, mails)
	}
}

// checkoutFixture is what the checkout tests buy and who buys it: a
// service at 1 EUR, and a customer whose balance pays for it many times.
func checkoutFixture(t *testing.T, h *apptest.Harness) (catalog.Product, account.User) {
	t.Helper()
	ctx := context.Background()
	p, err := h.App.Catalog.Create(ctx, faultAdmin, catalog.ProductInput{
		Slug: "posts", Kind: catalog.KindService, NameFR: "Publications", NameEN: "Posts", DescriptionFR: "Des publications.",
		DescriptionEN: "Some posts.", UnitPrice: money.MustNew(100, "EUR"), MinQuantity: 1, MaxQuantity: 10, ProcessingTime: time.Hour,
	})
	if err != nil {
		t.Fatal(err)
	}
	u, _ := h.User(t, account.RoleCustomer, "ana@example.fr")
	if _, err := h.App.Ledger.AdminCredit(ctx, faultAdmin, u.ID, money.MustNew(100_000, "EUR"), "test"); err != nil {
		t.Fatal(err)
	}
	return p, u
}

// between is the text of s after the first start, up to end.
func between(s, start, end string) string {
	_, after, _ := strings.Cut(s, start)
	v, _, _ := strings.Cut(after, end)
	return v
}

// TestCheckoutPipelineFailure: a row of the checkout's pipeline that fails
// (the confirmation's attachment, near its end) fails the checkout as a
// failing statement did before the pipeline, with nothing written: no
// order, no debit, no invoice, no mail, no idempotency key (the same key
// then checks out). One that loses a conflict (40P01) runs the whole
// transaction again, which succeeds. PostgreSQL only: SQLite has no
// pipeline.
func TestCheckoutPipelineFailure(t *testing.T) {
	if dbtest.Engine() != db.Postgres {
		t.Skip("PostgreSQL only: SQLite runs each statement at once")
	}
	h := apptest.Start(t)
	ctx := context.Background()
	d := h.App.DB
	p, u := checkoutFixture(t, h)
	header := h.Bearer(t, u.ID)
	header.Set("Idempotency-Key", "pipeline-1")
	c := h.NewClient(t)
	checkout := func() apptest.Response {
		return c.Send(http.MethodPost, "/api/v1/orders", "application/json", strings.NewReader(
			`{"lines":[{"product_id":"`+p.ID+`","quantity":2}],"payment":"balance","consent":{"immediate_performance":true,"withdrawal_waiver":true}}`), header)
	}
	state := func() [6]int {
		t.Helper()
		var s [6]int
		if err := d.Read.QueryRowContext(ctx, `SELECT (SELECT COUNT(*) FROM orders), (SELECT COUNT(*) FROM order_lines),
			(SELECT COUNT(*) FROM balance_entries), (SELECT COUNT(*) FROM invoices), (SELECT COUNT(*) FROM outgoing_mail WHERE kind = 'order_confirmation'),
			(SELECT COUNT(*) FROM idempotency_keys)`).Scan(&s[0], &s[1], &s[2], &s[3], &s[4], &s[5]); err != nil {
			t.Fatal(err)
		}
		return s
	}
	before := state()
	balance := func() int64 {
		t.Helper()
		b, err := h.App.Ledger.Balance(ctx, u.ID, "EUR")
		if err != nil {
			t.Fatal(err)
		}
		return b.Minor
	}
	credit := balance()

	for _, stmt := range []string{
		`CREATE FUNCTION test_refuse_attachment() RETURNS trigger LANGUAGE plpgsql AS $$
		BEGIN RAISE EXCEPTION 'attachment refused by the test' USING ERRCODE = 'check_violation'; END $$`,
		`CREATE TRIGGER test_refuse_attachment BEFORE INSERT ON outgoing_mail_attachments FOR EACH ROW EXECUTE FUNCTION test_refuse_attachment()`,
	} {
		if _, err := d.Write.ExecContext(ctx, stmt); err != nil {
			t.Fatal(err)
		}
	}
	if r := checkout(); r.Status != http.StatusInternalServerError {
		t.Fatalf("checkout with its attachment refused: %d %s", r.Status, r.Body)
	}
	if after := state(); after != before || balance() != credit {
		t.Fatalf("after a failed pipeline: %v (balance %d), want %v (balance %d)", after, balance(), before, credit)
	}
	if _, err := d.Write.ExecContext(ctx, `DROP TRIGGER test_refuse_attachment ON outgoing_mail_attachments`); err != nil {
		t.Fatal(err)
	}

	// A conflict on the same row: the transaction runs again.
	retried := d.ConflictsRetried()
	dbtest.ConflictOnInsert(t, d, "outgoing_mail_attachments", 1)
	if r := checkout(); r.Status != http.StatusCreated {
		t.Fatalf("checkout after a conflict in its pipeline: %d %s", r.Status, r.Body)
	}
	if n := d.ConflictsRetried() - retried; n != 1 {
		t.Errorf("%d transactions run again, want 1", n)
	}
	after := state()
	for i, want := range []int{1, 1, 1, 1, 1, 1} {
		if after[i] != before[i]+want {
			t.Fatalf("after the checkout run again: %v, want one more of each than %v", after, before)
		}
	}
	if got := balance(); got != credit-200 {
		t.Errorf("balance %d after the checkout, want %d", got, credit-200)
	}
}

// TestCheckoutDuplicateClaimsInThePipeline: on PostgreSQL the key's claim
// goes in the checkout's pipeline (idempotency.ClaimTx), where its outcome
// cannot decide the answer; a duplicate that looked the key up before the
// first committed must still get the first's answer, byte for byte, and a
// request reusing the key with another body must still be refused (API.md),
// with nothing of theirs written. The first checkout is held in its
// pipeline at its key's claim, after its debit (another transaction
// inserts the key, and rolls back), the two others wait behind it on the
// buyer's balance, then all go. Not by a table it writes locked: the
// pipeline prepares its statements before running any, and preparing one
// that writes a table waits for its lock, before the debit.
func TestCheckoutDuplicateClaimsInThePipeline(t *testing.T) {
	if dbtest.Engine() != db.Postgres {
		t.Skip("PostgreSQL only: the claim is appended there")
	}
	dbtest.NeedConnections(t, 6)
	h := apptest.Start(t)
	ctx := context.Background()
	d := h.App.DB
	p, u := checkoutFixture(t, h)
	header := h.Bearer(t, u.ID)
	header.Set("Idempotency-Key", "dup-1")
	checkout := func(quantity string) apptest.Response {
		return h.NewClient(t).Send(http.MethodPost, "/api/v1/orders", "application/json", strings.NewReader(
			`{"lines":[{"product_id":"`+p.ID+`","quantity":`+quantity+`}],"payment":"balance","consent":{"immediate_performance":true,"withdrawal_waiver":true}}`), header)
	}
	waiting := func(n int) func() bool {
		return func() bool {
			var got int
			err := d.Read.QueryRowContext(ctx, `SELECT COUNT(*) FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid
				WHERE NOT l.granted AND a.datname = current_database()`).Scan(&got)
			return err == nil && got >= n
		}
	}
	retried := d.ConflictsRetried()

	hold, err := d.Write.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer hold.Close()
	if _, err := hold.ExecContext(ctx, `BEGIN`); err != nil {
		t.Fatal(err)
	}
	if _, err := hold.ExecContext(ctx, `INSERT INTO idempotency_keys (scope, key, request_hash, status, response_status, response_body, created_at, lease_until, expires_at)
		VALUES ($1, 'dup-1', 'held', 'done', 201, '{}', now(), now(), now() + interval '1 day')`, idempotency.Scope(u.ID, "POST /api/v1/orders")); err != nil {
		t.Fatal(err)
	}
	var answers [3]apptest.Response
	var wg sync.WaitGroup
	run := func(i int, quantity string) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			answers[i] = checkout(quantity)
		}()
	}
	run(0, "2")
	testwait.Until(t, "the first checkout waiting at its key's claim", waiting(1))
	run(1, "2") // a retry of it
	run(2, "3") // the key reused with another body
	testwait.Until(t, "both duplicates waiting on the balance", waiting(3))
	if _, err := hold.ExecContext(ctx, `ROLLBACK`); err != nil {
		t.Fatal(err)
	}
	wg.Wait()

	first, retry, reused := answers[0], answers[1], answers[2]
	if first.Status != http.StatusCreated {
		t.Fatalf("first checkout: %d %s", first.Status, first.Body)
	}
	if retry.Status != http.StatusCreated || retry.Body != first.Body || retry.Header.Get("Idempotent-Replayed") != "true" {
		t.Errorf("its retry: %d %q (replayed %q), want the first answer %q", retry.Status, retry.Body, retry.Header.Get("Idempotent-Replayed"), first.Body)
	}
	if reused.Status != http.StatusUnprocessableEntity || !strings.Contains(reused.Body, `"idempotency_key_reused"`) {
		t.Errorf("the key with another body: %d %s", reused.Status, reused.Body)
	}
	var orders, keys int
	if err := d.Read.QueryRowContext(ctx, `SELECT (SELECT COUNT(*) FROM orders), (SELECT COUNT(*) FROM idempotency_keys)`).Scan(&orders, &keys); err != nil {
		t.Fatal(err)
	}
	b, err := h.App.Ledger.Balance(ctx, u.ID, "EUR")
	if err != nil {
		t.Fatal(err)
	}
	if orders != 1 || keys != 1 || b.Minor != 100_000-200 {
		t.Errorf("%d orders, %d keys, balance %d: want 1, 1, %d", orders, keys, b.Minor, 100_000-200)
	}
	if n := d.ConflictsRetried() - retried; n != 0 {
		t.Errorf("%d transactions run again for a conflict, want none", n)
	}
}
