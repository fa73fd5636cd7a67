package claims_test

import (
	"context"
	"database/sql"
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"comptoir/internal/account"
	"comptoir/internal/audit"
	"comptoir/internal/billing"
	"comptoir/internal/blob"
	"comptoir/internal/catalog"
	"comptoir/internal/claims"
	"comptoir/internal/clock"
	"comptoir/internal/db"
	"comptoir/internal/db/dbtest"
	"comptoir/internal/jobs"
	"comptoir/internal/mail"
	"comptoir/internal/money"
	"comptoir/internal/orders"
)

var (
	admin = audit.Actor{ID: "usr_admin", Role: account.RoleAdmin}
	// t0 is when the tests' orders are placed: 11:00 in Paris.
	t0 = time.Date(2026, 3, 8, 10, 0, 0, 0, time.UTC)
)

// env is a store with real services on the test run's engine: accounts,
// catalog, balance, mail outbox, orders, a blob directory and claims.
type env struct {
	db       *db.DB
	clock    *clock.Manual
	accounts *account.Service
	catalog  *catalog.Service
	ledger   *billing.Ledger
	outbox   *mail.Outbox
	orders   *orders.Service
	blobs    *blob.Dir
	blobDir  string
	claims   *claims.Service
	card     *fakeCard
	agent    account.User
	n        int
}

func setup(t *testing.T) *env {
	t.Helper()
	return setupWith(t, func(*claims.Deps) {})
}

func setupWith(t *testing.T, adjust func(*claims.Deps)) *env {
	t.Helper()
	return setupFull(t, adjust, func(*claims.Options) {})
}

// setupFull also adjusts the service's options (the answer clock).
func setupFull(t *testing.T, adjust func(*claims.Deps), adjustOpts func(*claims.Options)) *env {
	t.Helper()
	ctx := context.Background()
	d := dbtest.Open(t)
	clk := clock.NewManual(t0)
	inserter, err := jobs.New(d, jobs.Config{})
	if err != nil {
		t.Fatal(err)
	}
	from, _ := mail.ParseAddress("shop@shop.test")
	outbox, err := mail.NewOutbox(d, inserter, clk, from)
	if err != nil {
		t.Fatal(err)
	}
	e := &env{db: d, clock: clk, outbox: outbox,
		accounts: account.New(d, clk, outbox, account.Options{BaseURL: "http://shop.test", HashParams: &account.FastHashParams}),
		catalog:  catalog.New(d, clk), ledger: billing.New(d, clk), card: &fakeCard{}}
	e.orders = orders.New(d, clk, e.catalog, e.ledger, e.accounts, outbox, orders.Options{BaseURL: "http://shop.test", StoreName: "Shop"})
	e.blobDir = filepath.Join(t.TempDir(), "blobs")
	if e.blobs, err = blob.NewDir(e.blobDir); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.blobs.Close() })
	deps := claims.Deps{Orders: e.orders, Ledger: e.ledger, Customers: e.accounts, Mailer: outbox, Jobs: inserter, Blobs: e.blobs, Card: e.card}
	adjust(&deps)
	opts := claims.Options{BaseURL: "http://shop.test", StoreName: "Shop", MaxEvidenceBytes: 64 << 10, MaxEvidenceFiles: 3}
	adjustOpts(&opts)
	if e.claims, err = claims.New(d, clk, deps, opts); err != nil {
		t.Fatal(err)
	}
	if e.agent, err = e.accounts.CreateUser(ctx, account.CreateUserInput{Email: "agent@shop.test", Role: account.RoleAgent, Password: "0123456789", Language: "en"}); err != nil {
		t.Fatal(err)
	}
	return e
}

// customer signs up a customer with a balance of 100 EUR.
func (e *env) customer(t *testing.T, country, kind, lang string) account.User {
	t.Helper()
	e.n++
	in := account.SignUpInput{Email: fmt.Sprintf("c%d@example.fr", e.n), Password: "correct horse battery", Name: fmt.Sprintf("Ana %d", e.n),
		Language: lang, Country: country, City: "Lyon", CustomerType: kind}
	if kind == account.CustomerBusiness {
		in.VATNumber = "FR40303265045"
	}
	u, err := e.accounts.SignUp(context.Background(), in)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.ledger.AdminCredit(context.Background(), admin, u.ID, money.MustNew(10000, "EUR"), "test credit"); err != nil {
		t.Fatal(err)
	}
	return u
}

// service is a service sold per unit at 1 cent, processed within 72 hours.
func (e *env) service(t *testing.T) catalog.Product {
	t.Helper()
	e.n++
	p, err := e.catalog.Create(context.Background(), admin, catalog.ProductInput{
		Slug: fmt.Sprintf("followers-%d", e.n), Kind: catalog.KindService, NameFR: "Abonnés", NameEN: "Followers",
		DescriptionFR: "Des abonnés.", DescriptionEN: "Followers.", UnitPrice: money.MustNew(1, "EUR"),
		MinQuantity: 10, MaxQuantity: 5000, ProcessingTime: 72 * time.Hour,
	})
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// licence is digital content delivered at once as a licence key, 5 EUR.
func (e *env) licence(t *testing.T) catalog.Product {
	t.Helper()
	e.n++
	p, err := e.catalog.Create(context.Background(), admin, catalog.ProductInput{
		Slug: fmt.Sprintf("software-%d", e.n), Kind: catalog.KindDigital, NameFR: "Logiciel", NameEN: "Software",
		DescriptionFR: "Une licence.", DescriptionEN: "One licence.", UnitPrice: money.MustNew(500, "EUR"),
		MinQuantity: 1, MaxQuantity: 1, DigitalDelivery: catalog.DeliveryLicenceKey,
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.catalog.AddLicenceKeys(context.Background(), admin, p.ID, []string{fmt.Sprintf("KEY-%d", e.n)}); err != nil {
		t.Fatal(err)
	}
	return p
}

// order places an order of qty units of p at t0 (the clock is set there),
// with the consent boxes ticked or not, and records delivered units.
func (e *env) order(t *testing.T, u account.User, p catalog.Product, qty int, consent bool, delivered int) orders.Order {
	t.Helper()
	ctx := context.Background()
	e.clock.Set(t0)
	o, err := e.orders.Place(ctx, orders.PlaceInput{
		CustomerID: u.ID, Lines: []orders.LineInput{{ProductID: p.ID, Quantity: qty}}, Payment: orders.PayBalance,
		ImmediatePerformance: consent, WithdrawalWaiver: consent, Lang: u.Language, IP: "192.0.2.1", UserAgent: "test",
	}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if delivered > 0 && p.Kind == catalog.KindService {
		if o, err = e.orders.RecordDelivery(ctx, orders.DeliveryInput{OrderID: o.ID, LineID: o.Lines[0].ID, Delivered: delivered,
			Source: orders.SourceAgent, Actor: admin}); err != nil {
			t.Fatal(err)
		}
	}
	return o
}

// paidByCard marks o (env.order pays from the balance) as paid by card:
// its refunds then go to the fake card processor.
func (e *env) paidByCard(t *testing.T, o orders.Order) {
	t.Helper()
	if _, err := e.db.Write.Exec(`UPDATE orders SET payment_method = 'card' WHERE id = $1`, o.ID); err != nil {
		t.Fatal(err)
	}
}

func customerActor(u account.User) audit.Actor {
	return audit.Actor{ID: u.ID, Role: account.RoleCustomer}
}

func (e *env) agentActor() audit.Actor { return e.agent.Actor() }

func (e *env) balance(t *testing.T, u account.User) int64 {
	t.Helper()
	b, err := e.ledger.Balance(context.Background(), u.ID, "EUR")
	if err != nil {
		t.Fatal(err)
	}
	return b.Minor
}

func (e *env) count(t *testing.T, query string, args ...any) int {
	t.Helper()
	var n int
	if err := e.db.Read.QueryRow(query, args...).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// mails returns the emails of a kind sent to u, newest first.
func (e *env) mails(t *testing.T, u account.User, kind string) []mail.Stored {
	t.Helper()
	ms, err := e.outbox.List(context.Background(), mail.Filter{UserID: u.ID, Kind: kind})
	if err != nil {
		t.Fatal(err)
	}
	return ms
}

func mustContain(t *testing.T, what, text string, wants ...string) {
	t.Helper()
	for _, w := range wants {
		if !strings.Contains(text, w) {
			t.Errorf("%s lacks %q:\n%s", what, w, text)
		}
	}
}

// fakeCard stands in for cardpay: it records the refunds asked for.
type fakeCard struct {
	mu    sync.Mutex
	calls []money.Amount
	// refuse, when set, is the processor's refusal of every refund (a
	// payment under dispute).
	refuse error
}

func (f *fakeCard) RefundableTx(ctx context.Context, tx *sql.Tx, orderID string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.refuse
}

func (f *fakeCard) RefundOrderTx(ctx context.Context, tx *sql.Tx, orderID string, amount money.Amount, reason string) (string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.refuse != nil {
		return "", f.refuse
	}
	f.calls = append(f.calls, amount)
	return fmt.Sprintf("rfd_%d", len(f.calls)), nil
}
