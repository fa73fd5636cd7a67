package web_test

import (
	"context"
	"database/sql"
	"net/http"
	"strings"
	"testing"
	"time"

	"comptoir/internal/account"
	"comptoir/internal/apptest"
	"comptoir/internal/db"
	"comptoir/internal/orders"
	"comptoir/internal/web"
)

// holdDownloadsLock takes, from a connection of its own, the lock that
// recording a download waits on: on PostgreSQL an operator's session (or a
// migration) holding download_events locked, which the export reads too;
// on SQLite another process holding the file's write lock. release gives
// it back.
func holdDownloadsLock(t *testing.T, h *apptest.Harness) (release func()) {
	t.Helper()
	ctx := context.Background()
	pool := h.App.DB.Write
	stmts := []string{`BEGIN`, `LOCK TABLE download_events IN ACCESS EXCLUSIVE MODE`}
	if h.App.DB.Engine == db.SQLite {
		var err error
		if pool, err = sql.Open("sqlite", "file:"+h.App.DB.Path+"?_pragma=busy_timeout(10000)"); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { pool.Close() })
		stmts = []string{`BEGIN IMMEDIATE`}
	}
	conn, err := pool.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range stmts {
		if _, err := conn.ExecContext(ctx, s); err != nil {
			conn.Close()
			t.Fatalf("%s: %v", s, err)
		}
	}
	done := false
	release = func() {
		if !done {
			done = true
			conn.ExecContext(ctx, `ROLLBACK`)
			conn.Close()
		}
	}
	t.Cleanup(release)
	return release
}

// A download, and an export, waiting on a database lock another session
// holds are answered 503 storage_unavailable within their budget. They had
// none: on PostgreSQL the download's insert, and the export's reads, waited
// for the lock for ever; on SQLite they waited out the busy timeout (5 s)
// once for every transaction queued before theirs. Once the lock is given
// back both work.
func TestDownloadAndExportWithinTheirBudget(t *testing.T) {
	const budget = time.Second
	web.SetTransferBudgets(t, budget, budget)
	h := apptest.Start(t)
	_, admin := h.User(t, account.RoleAdmin, "admin@shop.test")
	u, c := h.User(t, account.RoleCustomer, "ana@example.fr")
	credit(t, h, u, 5000)
	if r := uploader(admin)("/admin/products", map[string]string{"kind": "digital", "slug": "guide", "name_fr": "Guide", "name_en": "Guide",
		"description_fr": "Un guide.", "description_en": "A guide.", "unit_price": "9,00", "currency": "EUR",
		"min_quantity": "1", "max_quantity": "1", "download_hours": "48"}, "%PDF-1.4\n% the guide\n"); r.Status != http.StatusSeeOther {
		t.Fatalf("create a file product: %d %s", r.Status, r.Body)
	}
	p, err := h.App.Catalog.GetBySlug(context.Background(), "guide")
	if err != nil {
		t.Fatal(err)
	}
	o, err := h.App.Orders.Place(context.Background(), orders.PlaceInput{CustomerID: u.ID, Lines: []orders.LineInput{{ProductID: p.ID, Quantity: 1}},
		Payment: orders.PayBalance, ImmediatePerformance: true, WithdrawalWaiver: true}, nil)
	if err != nil {
		t.Fatal(err)
	}
	link := "/orders/" + o.ID + "/lines/" + o.Lines[0].ID + "/download"
	if r := c.Get(link); r.Status != http.StatusOK {
		t.Fatalf("download: %d %s", r.Status, r.Body)
	}

	release := holdDownloadsLock(t, h)
	// Far below for ever (and below SQLite's busy timeout, which answered
	// a download on SQLite), with room for a loaded machine.
	const within = budget + 3*time.Second
	// get fetches path with a client that gives up long after the budget:
	// only a request that hangs reaches its timeout.
	get := func(path string) (apptest.Response, time.Duration) {
		start := time.Now()
		r := c.Get(path)
		return r, time.Since(start)
	}
	r, took := get(link)
	if r.Status != http.StatusServiceUnavailable || took > within {
		t.Errorf("download with the lock held: %d after %v, want 503 within %v", r.Status, took, within)
	}
	// The export numbers the invoices it holds first, a write on SQLite.
	r, took = get("/api/v1/me/export")
	if r.Status != http.StatusServiceUnavailable || !strings.Contains(r.Body, `"storage_unavailable"`) || took > within {
		t.Errorf("export with the lock held: %d %.200s after %v, want 503 storage_unavailable within %v", r.Status, r.Body, took, within)
	}

	release()
	if r := c.Get(link); r.Status != http.StatusOK || r.Body != "%PDF-1.4\n% the guide\n" {
		t.Fatalf("download once the lock is given back: %d %q", r.Status, r.Body)
	}
	if r := c.Get("/api/v1/me/export"); r.Status != http.StatusOK || !strings.Contains(r.Body, o.ID) {
		t.Fatalf("export once the lock is given back: %d %.200s", r.Status, r.Body)
	}
}
