package app_test

import (
	"context"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"comptoir/internal/account"
	"comptoir/internal/apptest"
	"comptoir/internal/audit"
	"comptoir/internal/config"
	"comptoir/internal/db"
)

var faultAdmin = audit.Actor{ID: "usr_admin", Role: account.RoleAdmin}

// placeOrder posts one balance checkout over the API.
func placeOrder(c *apptest.Client, auth http.Header, productID string) apptest.Response {
	body := `{"lines":[{"product_id":"` + productID + `","quantity":1}],"payment":"balance","consent":{"immediate_performance":true,"withdrawal_waiver":true}}`
	hd := auth.Clone()
	return c.Send(http.MethodPost, "/api/v1/orders", "application/json", strings.NewReader(body), hd)
}

func countRows(t *testing.T, d *db.DB, q string, args ...any) int {
	t.Helper()
	var n int
	if err := d.Read.QueryRow(q, args...).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// A data directory whose file system has less free space than
// --min-free-mb fails /readyz before any write does; the same store with a
// minimum it meets is ready. /metrics shows the free space compared.
func TestReadyzWantsFreeSpace(t *testing.T) {
	for _, tt := range []struct {
		minMB int64
		want  int
	}{{1 << 40, http.StatusServiceUnavailable}, {1, http.StatusOK}} {
		h := apptest.StartWith(t, func(c *config.Config) { c.MinFreeMB = tt.minMB })
		c := h.NewClient(t)
		if r := c.Get("/readyz"); r.Status != tt.want {
			t.Errorf("--min-free-mb %d: /readyz %d, want %d", tt.minMB, r.Status, tt.want)
		}
		body := c.Get("/metrics").Body
		m := regexp.MustCompile(`(?m)^comptoir_data_dir_free_bytes (\S+)$`).FindStringSubmatch(body)
		if m == nil {
			t.Fatalf("no comptoir_data_dir_free_bytes in /metrics:\n%s", body)
		}
		if free, err := strconv.ParseFloat(m[1], 64); err != nil || free < 1<<20 {
			t.Errorf("comptoir_data_dir_free_bytes %q (%v), want at least 1 MiB", m[1], err)
		}
	}
}

// TestDatabaseFullOrReadOnly makes the database refuse writes, SQLite by
// its max_page_count and PostgreSQL by default_transaction_read_only:
// /readyz fails, a checkout (by a customer who reads French) answers a clear 503 and leaves nothing behind,
// and all is well again once the database takes writes.
func TestDatabaseFullOrReadOnly(t *testing.T) {
	h := apptest.Start(t)
	d := h.App.DB
	p, u := checkoutFixture(t, h)
	auth := h.Bearer(t, u.ID)
	c := h.NewClient(t)
	if r := c.Get("/readyz"); r.Status != http.StatusOK {
		t.Fatalf("readyz before: %d", r.Status)
	}
	if r := placeOrder(c, auth, p.ID); r.Status != http.StatusCreated {
		t.Fatalf("checkout before: %d %s", r.Status, r.Body)
	}

	restore := refuseWrites(t, d)
	t.Cleanup(restore)
	if r := c.Get("/readyz"); r.Status != http.StatusServiceUnavailable {
		t.Fatalf("readyz with the database refusing writes: %d", r.Status)
	}
	ordersBefore := countRows(t, d, `SELECT COUNT(*) FROM orders`)
	entriesBefore := countRows(t, d, `SELECT COUNT(*) FROM balance_entries`)
	// SQLite may still fit a few rows in pages it has; the limit is met
	// within a few checkouts.
	var r apptest.Response
	for range 200 {
		if r = placeOrder(c, auth, p.ID); r.Status != http.StatusCreated {
			break
		}
	}
	if r.Status != http.StatusServiceUnavailable || !strings.Contains(r.Body, `"storage_unavailable"`) ||
		!strings.Contains(r.Body, "lecture seule") || r.Header.Get("Retry-After") == "" {
		t.Fatalf("checkout with the database refusing writes: %d %s", r.Status, r.Body)
	}
	// A page that writes (the contact form) says the same in HTML.
	var page apptest.Response
	for range 200 {
		page = c.PostForm("/contact", url.Values{"name": {"Ana"}, "email": {"ana@example.fr"}, "topic": {"order"}, "message": {"Où en est ma commande ?"}})
		if page.Status >= 400 {
			break
		}
	}
	if page.Status != http.StatusServiceUnavailable || !strings.Contains(page.Body, "lecture seule") {
		t.Fatalf("contact form with the database refusing writes: %d %s", page.Status, page.Body)
	}
	placed := countRows(t, d, `SELECT COUNT(*) FROM orders`) - ordersBefore
	if got := countRows(t, d, `SELECT COUNT(*) FROM balance_entries`) - entriesBefore; got != placed {
		t.Fatalf("%d orders but %d ledger entries written: something was half-written", placed, got)
	}
	if n := countRows(t, d, `SELECT COUNT(*) FROM orders WHERE paid_at IS NULL`); n != 0 {
		t.Fatalf("%d unpaid balance orders left behind", n)
	}

	restore()
	if r := c.Get("/readyz"); r.Status != http.StatusOK {
		t.Fatalf("readyz once writes are taken again: %d", r.Status)
	}
	if r := placeOrder(c, auth, p.ID); r.Status != http.StatusCreated {
		t.Fatalf("checkout once writes are taken again: %d %s", r.Status, r.Body)
	}
	var balance, sum int64
	d.Read.QueryRow(`SELECT balance FROM balance_accounts WHERE customer_id = $1`, u.ID).Scan(&balance)
	d.Read.QueryRow(`SELECT SUM(amount) FROM balance_entries WHERE customer_id = $1`, u.ID).Scan(&sum)
	if balance != sum {
		t.Fatalf("balance %d, ledger sums to %d", balance, sum)
	}
}

// refuseWrites makes the store's database refuse writes and returns what
// undoes it.
func refuseWrites(t *testing.T, d *db.DB) func() {
	t.Helper()
	var once sync.Once
	ctx := context.Background()
	if d.Engine == db.SQLite {
		// max_page_count is a setting of the connection: the one write
		// connection is where every write goes.
		var pages int64
		if err := d.Write.QueryRow(`PRAGMA page_count`).Scan(&pages); err != nil {
			t.Fatal(err)
		}
		if _, err := d.Write.Exec(`PRAGMA max_page_count = ` + strconv.FormatInt(pages, 10)); err != nil {
			t.Fatal(err)
		}
		return func() {
			once.Do(func() {
				if _, err := d.Write.Exec(`PRAGMA max_page_count = 1073741823`); err != nil {
					t.Error(err)
				}
			})
		}
	}
	var name string
	if err := d.Write.QueryRow(`SELECT current_database()`).Scan(&name); err != nil {
		t.Fatal(err)
	}
	if _, err := d.Write.Exec(`ALTER DATABASE "` + name + `" SET default_transaction_read_only = on`); err != nil {
		t.Fatal(err)
	}
	// The setting reaches new connections only. Emptying the idle pool is
	// not enough: a connection busy meanwhile (a background worker's)
	// comes back to the pool writable, and a contact form written through
	// it answers 200 until its rate limit says 429. Connections that
	// expire at once are never reused: every use from now on opens one.
	// They stay so until the test ends, so that none opened while writes
	// were refused is reused after the restore either.
	d.Write.SetConnMaxLifetime(time.Nanosecond)
	t.Cleanup(func() { d.Write.SetConnMaxLifetime(db.PostgresConnMaxLifetime) })
	d.Write.SetMaxIdleConns(0)
	d.Write.SetMaxIdleConns(16)
	return func() {
		once.Do(func() {
			conn, err := d.Write.Conn(ctx)
			if err != nil {
				t.Error(err)
				return
			}
			defer conn.Close()
			if _, err := conn.ExecContext(ctx, `SET default_transaction_read_only = off`); err != nil {
				t.Error(err)
			}
			if _, err := conn.ExecContext(ctx, `ALTER DATABASE "`+name+`" RESET default_transaction_read_only`); err != nil {
				t.Error(err)
			}
			d.Write.SetMaxIdleConns(0)
			d.Write.SetMaxIdleConns(16)
		})
	}
}

// TestSignedInVisitorsReadWhileWritesAreRefused: with the database taking
// no writes (SQLite query_only, a PostgreSQL read-only transaction
// default), a signed-in customer whose session is due for its last-seen
// refresh still reads their pages and keeps their session, and an API
// token still reads: before, the failed refresh signed them out (the
// cookie cleared) and the token was answered 401 as if revoked.
func TestSignedInVisitorsReadWhileWritesAreRefused(t *testing.T) {
	h := apptest.Start(t)
	d := h.App.DB
	u, c := h.User(t, account.RoleCustomer, "ana@example.fr")
	bearer := h.Bearer(t, u.ID)
	if r := c.Send(http.MethodGet, "/api/v1/me", "", nil, bearer); r.Status != http.StatusOK {
		t.Fatalf("API before: %d %s", r.Status, r.Body)
	}
	var restore func()
	if d.Engine == db.SQLite {
		if _, err := d.Write.Exec(`PRAGMA query_only = 1`); err != nil {
			t.Fatal(err)
		}
		restore = func() {
			if _, err := d.Write.Exec(`PRAGMA query_only = 0`); err != nil {
				t.Error(err)
			}
		}
	} else {
		restore = refuseWrites(t, d)
	}
	defer restore()
	h.Clock.Advance(2 * time.Minute) // past the session's and token's refresh interval
	r := c.Get("/orders")
	if r.Status != http.StatusOK {
		t.Fatalf("orders page with writes refused: %d %s", r.Status, r.Body)
	}
	for _, sc := range r.Header.Values("Set-Cookie") {
		if strings.HasPrefix(sc, "comptoir_session=") {
			t.Fatalf("the session cookie was changed with writes refused: %s", sc)
		}
	}
	if r := c.Send(http.MethodGet, "/api/v1/me", "", nil, bearer); r.Status != http.StatusOK {
		t.Fatalf("API with writes refused: %d %s", r.Status, r.Body)
	}
	restore()
	if r := c.Get("/orders"); r.Status != http.StatusOK {
		t.Fatalf("orders page once writes are taken again: %d", r.Status)
	}
}
