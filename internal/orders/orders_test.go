package orders_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"comptoir/internal/account"
	"comptoir/internal/audit"
	"comptoir/internal/billing"
	"comptoir/internal/catalog"
	"comptoir/internal/clock"
	"comptoir/internal/db"
	"comptoir/internal/db/dbtest"
	"comptoir/internal/jobs"
	"comptoir/internal/mail"
	"comptoir/internal/money"
	"comptoir/internal/orders"
)

var admin = audit.Actor{ID: "usr_admin", Role: account.RoleAdmin}

type env struct {
	db       *db.DB
	clock    *clock.Manual
	accounts *account.Service
	catalog  *catalog.Service
	ledger   *billing.Ledger
	outbox   *mail.Outbox
	orders   *orders.Service
	products int
}

func setup(t testing.TB) *env {
	t.Helper()
	d := dbtest.Open(t)
	clk := clock.NewManual(time.Date(2026, 3, 8, 10, 0, 0, 0, time.UTC))
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
		catalog:  catalog.New(d, clk), ledger: billing.New(d, clk)}
	e.orders = orders.New(d, clk, e.catalog, e.ledger, e.accounts, outbox, orders.Options{BaseURL: "http://shop.test", StoreName: "Shop"})
	return e
}

func (e *env) customer(t testing.TB, email, country, kind string, balance int64) account.User {
	t.Helper()
	in := account.SignUpInput{Email: email, Password: "correct horse battery", Name: "Ana", Language: "fr", Country: country, City: "Lyon", CustomerType: kind}
	if kind == account.CustomerBusiness {
		in.VATNumber = "FR40303265045"
	}
	u, err := e.accounts.SignUp(context.Background(), in)
	if err != nil {
		t.Fatal(err)
	}
	if balance > 0 {
		if _, err := e.ledger.AdminCredit(context.Background(), admin, u.ID, money.MustNew(balance, "EUR"), "test credit"); err != nil {
			t.Fatal(err)
		}
	}
	return u
}

func (e *env) service(t *testing.T, price int64) catalog.Product {
	t.Helper()
	e.products++
	p, err := e.catalog.Create(context.Background(), admin, catalog.ProductInput{
		Slug: fmt.Sprintf("service-%d", e.products), Kind: catalog.KindService, NameFR: "Gestion de réseaux sociaux", NameEN: "Social media management",
		DescriptionFR: "Publications planifiées.", DescriptionEN: "Scheduled posts.",
		UnitPrice: money.MustNew(price, "EUR"), MinQuantity: 10, MaxQuantity: 1000, ProcessingTime: 72 * time.Hour,
	})
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func (e *env) licenceProduct(t *testing.T, keys ...string) catalog.Product {
	t.Helper()
	e.products++
	p, err := e.catalog.Create(context.Background(), admin, catalog.ProductInput{
		Slug: fmt.Sprintf("licence-%d", e.products), Kind: catalog.KindDigital, NameFR: "Logiciel", NameEN: "Software", DescriptionFR: "Une licence.", DescriptionEN: "One licence.",
		UnitPrice: money.MustNew(500, "EUR"), MinQuantity: 1, MaxQuantity: 1, DigitalDelivery: catalog.DeliveryLicenceKey,
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(keys) > 0 {
		if _, err := e.catalog.AddLicenceKeys(context.Background(), admin, p.ID, keys); err != nil {
			t.Fatal(err)
		}
	}
	return p
}

func place(u account.User, productID string, qty int, consent bool) orders.PlaceInput {
	return orders.PlaceInput{
		CustomerID: u.ID, Lines: []orders.LineInput{{ProductID: productID, Quantity: qty}}, Payment: orders.PayBalance,
		ImmediatePerformance: consent, WithdrawalWaiver: consent, Lang: "fr", IP: "192.0.2.1", UserAgent: "test",
	}
}

func (e *env) balance(t *testing.T, u account.User) int64 {
	t.Helper()
	b, err := e.ledger.Balance(context.Background(), u.ID, "EUR")
	if err != nil {
		t.Fatal(err)
	}
	return b.Minor
}

func (e *env) count(t *testing.T, table string) int {
	t.Helper()
	var n int
	if err := e.db.Read.QueryRow(`SELECT COUNT(*) FROM ` + table).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

func TestPlaceWithBalanceRecordsEverything(t *testing.T) {
	e := setup(t)
	ctx := context.Background()
	u := e.customer(t, "ana@example.fr", "FR", account.CustomerConsumer, 10000)
	p := e.service(t, 25)
	o, err := e.orders.Place(ctx, place(u, p.ID, 100, true), nil)
	if err != nil {
		t.Fatal(err)
	}
	if o.Status != orders.StatusProcessing || o.Total.Minor != 2500 || o.Paid.Minor != 2500 || o.PolicyVersion != "default@1" {
		t.Fatalf("order %+v", o)
	}
	if got := e.balance(t, u); got != 7500 {
		t.Fatalf("balance %d, want 7500", got)
	}
	read, err := e.orders.GetForCustomer(ctx, u.ID, o.ID)
	if err != nil {
		t.Fatal(err)
	}
	l := read.Lines[0]
	if l.Name != "Gestion de réseaux sociaux" || l.Quantity != 100 || l.Delivered != 0 || l.ProductRevision != 1 ||
		!l.ProcessingUntil.Equal(e.clock.Now().Add(72*time.Hour)) {
		t.Fatalf("line %+v", l)
	}
	c, err := e.orders.ConsentOf(ctx, o.ID)
	if err != nil {
		t.Fatal(err)
	}
	if !c.Required || !c.ImmediatePerformance || !c.WithdrawalWaiver || c.WordingVersion != orders.ConsentWordingVersion ||
		c.Lang != "fr" || !strings.Contains(c.ImmediateText, "14 jours") || c.IP != "192.0.2.1" || c.PolicyVersion != "default@1" {
		t.Fatalf("consent %+v", c)
	}
	msgs, err := e.outbox.List(ctx, mail.Filter{Kind: "order_confirmation"})
	if err != nil || len(msgs) != 1 {
		t.Fatalf("confirmation emails: %d %v", len(msgs), err)
	}
	for _, want := range []string{o.ID, "25,00", c.ImmediateText, c.WaiverText, "politique de remboursement (version 1) telle qu’en vigueur le ", "version=default%401", "Formulaire de rétractation"} {
		if !strings.Contains(msgs[0].Text, want) {
			t.Errorf("confirmation lacks %q:\n%s", want, msgs[0].Text)
		}
	}
	// The policy is named by when it was in force, not by its ID.
	if strings.Contains(msgs[0].Text, "default@1") {
		t.Errorf("confirmation names the policy by its ID:\n%s", msgs[0].Text)
	}
	// Another customer cannot see it.
	other := e.customer(t, "ben@example.fr", "FR", account.CustomerConsumer, 0)
	if _, err := e.orders.GetForCustomer(ctx, other.ID, o.ID); !errors.Is(err, orders.ErrNotFound) {
		t.Fatalf("another customer's order: %v", err)
	}
}

func TestConsentRules(t *testing.T) {
	e := setup(t)
	ctx := context.Background()
	p := e.service(t, 10)
	for _, tc := range []struct {
		name, country, kind string
		consent             bool
		want                error
	}{
		{"EU consumer without the boxes", "FR", account.CustomerConsumer, false, orders.ErrConsentRequired},
		{"EU consumer with the boxes", "BE", account.CustomerConsumer, true, nil},
		{"business needs no boxes", "FR", account.CustomerBusiness, false, nil},
		{"consumer outside the EU", "CH", account.CustomerConsumer, false, nil},
		// Réunion is in the Union (an outermost region) though outside its
		// VAT territory; New Caledonia is not in the Union.
		{"consumer in Reunion without the boxes", "RE", account.CustomerConsumer, false, orders.ErrConsentRequired},
		{"consumer in New Caledonia", "NC", account.CustomerConsumer, false, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			u := e.customer(t, strings.ReplaceAll(tc.name, " ", ".")+"@example.fr", tc.country, tc.kind, 1000)
			ordersBefore := e.count(t, "orders")
			_, err := e.orders.Place(ctx, place(u, p.ID, 10, tc.consent), nil)
			if !errors.Is(err, tc.want) {
				t.Fatalf("Place = %v, want %v", err, tc.want)
			}
			if tc.want != nil && (e.count(t, "orders") != ordersBefore || e.balance(t, u) != 1000) {
				t.Fatal("a refused checkout changed something")
			}
		})
	}
}

func TestRefusedCheckoutsChangeNothing(t *testing.T) {
	e := setup(t)
	ctx := context.Background()
	u := e.customer(t, "ana@example.fr", "FR", account.CustomerConsumer, 100)
	p := e.service(t, 25)
	archived := e.service(t, 5)
	if err := e.catalog.Archive(ctx, admin, archived.ID); err != nil {
		t.Fatal(err)
	}
	noKeys := e.licenceProduct(t)
	mails := e.count(t, "outgoing_mail")
	for _, tc := range []struct {
		name string
		in   orders.PlaceInput
		want string
	}{
		{"too little balance", place(u, p.ID, 10, true), "insufficient_balance"},
		{"below the minimum", place(u, p.ID, 9, true), "invalid"},
		{"above the maximum", place(u, p.ID, 1001, true), "invalid"},
		{"archived product", place(u, archived.ID, 10, true), "product_unavailable"},
		{"unknown product", place(u, "prd_nothing", 10, true), "product_unavailable"},
		{"empty licence pool", place(u, noKeys.ID, 1, true), "out_of_stock"},
		{"no lines", orders.PlaceInput{CustomerID: u.ID, Payment: orders.PayBalance}, "invalid"},
		{"bad payment", orders.PlaceInput{CustomerID: u.ID, Lines: []orders.LineInput{{ProductID: p.ID, Quantity: 10}}, Payment: "cash"}, "invalid"},
		{"old policy version", func() orders.PlaceInput { in := place(u, p.ID, 10, true); in.AcceptPolicy = "default@0"; return in }(), "policy_not_accepted"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := e.orders.Place(ctx, tc.in, nil)
			if orders.Code(err) != tc.want {
				t.Fatalf("Place = %v (%s), want %s", err, orders.Code(err), tc.want)
			}
		})
	}
	if e.count(t, "orders") != 0 || e.count(t, "order_lines") != 0 || e.count(t, "outgoing_mail") != mails || e.balance(t, u) != 100 {
		t.Fatal("a refused checkout left something behind")
	}
}

func TestEditingAProductNeverRewritesWhatWasSold(t *testing.T) {
	e := setup(t)
	ctx := context.Background()
	u := e.customer(t, "ana@example.fr", "FR", account.CustomerConsumer, 10000)
	p := e.service(t, 25)
	o, err := e.orders.Place(ctx, place(u, p.ID, 10, true), nil)
	if err != nil {
		t.Fatal(err)
	}
	in := p.Input()
	in.NameFR, in.UnitPrice = "Nouveau nom", money.MustNew(99, "EUR")
	if _, err := e.catalog.Update(ctx, admin, p.ID, in); err != nil {
		t.Fatal(err)
	}
	read, _ := e.orders.Get(ctx, o.ID)
	if read.Lines[0].Name != "Gestion de réseaux sociaux" || read.Lines[0].UnitPrice.Minor != 25 || read.Lines[0].ProductRevision != 1 {
		t.Fatalf("the sold line changed: %+v", read.Lines[0])
	}
	rev, err := e.catalog.Revision(ctx, p.ID, read.Lines[0].ProductRevision)
	if err != nil || rev.NameFR != "Gestion de réseaux sociaux" || rev.UnitPrice.Minor != 25 {
		t.Fatalf("revision as sold: %+v %v", rev, err)
	}
}

func TestDigitalLicenceDeliveredAtOnce(t *testing.T) {
	e := setup(t)
	ctx := context.Background()
	u := e.customer(t, "ana@example.fr", "FR", account.CustomerConsumer, 1000)
	p := e.licenceProduct(t, "KEY-1")
	o, err := e.orders.Place(ctx, place(u, p.ID, 1, true), nil)
	if err != nil {
		t.Fatal(err)
	}
	if o.Status != orders.StatusCompleted || o.Lines[0].Delivered != 1 || o.Lines[0].LicenceKey != "KEY-1" {
		t.Fatalf("digital order %+v", o)
	}
	events, _ := e.orders.DeliveryEvents(ctx, o.ID)
	if len(events) != 1 || events[0].Source != orders.SourceSystem {
		t.Fatalf("delivery record %+v", events)
	}
	msgs, _ := e.outbox.List(ctx, mail.Filter{Kind: "order_confirmation"})
	if len(msgs) != 1 || !strings.Contains(msgs[0].Text, "KEY-1") {
		t.Fatal("the licence key is not in the confirmation")
	}
	// The pool is now empty: the next sale stops and nothing is charged.
	if _, err := e.orders.Place(ctx, place(u, p.ID, 1, true), nil); !errors.Is(err, orders.ErrOutOfStock) {
		t.Fatalf("empty pool: %v", err)
	}
	if e.balance(t, u) != 500 {
		t.Fatalf("balance %d", e.balance(t, u))
	}
}

func TestDeliveryProgress(t *testing.T) {
	e := setup(t)
	ctx := context.Background()
	u := e.customer(t, "ana@example.fr", "FR", account.CustomerConsumer, 10000)
	p := e.service(t, 10)
	o, _ := e.orders.Place(ctx, place(u, p.ID, 100, true), nil)
	line := o.Lines[0].ID
	agent := audit.Actor{ID: "usr_agent", Role: account.RoleAgent}
	deliver := func(n int) (orders.Order, error) {
		return e.orders.RecordDelivery(ctx, orders.DeliveryInput{OrderID: o.ID, LineID: line, Delivered: n, Source: orders.SourceAgent, Actor: agent})
	}
	got, err := deliver(40)
	if err != nil || got.Status != orders.StatusPartial || got.Lines[0].Delivered != 40 || got.Lines[0].Progress() != 40 {
		t.Fatalf("partial delivery: %+v %v", got, err)
	}
	if _, err := deliver(101); !errors.Is(err, orders.ErrOverDelivery) {
		t.Fatalf("over delivery: %v", err)
	}
	if _, err := deliver(30); !errors.Is(err, orders.ErrDeliveryRegression) {
		t.Fatalf("regression: %v", err)
	}
	if _, err := e.orders.RecordDelivery(ctx, orders.DeliveryInput{OrderID: o.ID, LineID: "oln_other", Delivered: 1, Source: orders.SourceAPI, Actor: agent}); !errors.Is(err, orders.ErrNotFound) {
		t.Fatalf("unknown line: %v", err)
	}
	// The database refuses over-delivery even from code that skips the check.
	if _, err := e.db.Write.Exec(`UPDATE order_lines SET delivered = 101 WHERE id = $1`, line); err == nil {
		t.Fatal("the database accepted delivered > quantity")
	}
	if _, err := e.db.Write.Exec(`DELETE FROM delivery_events`); err == nil {
		t.Fatal("the delivery record can be deleted")
	}
	if got.Overdue(e.clock.Now()) {
		t.Fatal("overdue too early")
	}
	e.clock.Advance(73 * time.Hour)
	if !got.Overdue(e.clock.Now()) {
		t.Fatal("not overdue after the processing time")
	}
	got, err = deliver(100)
	if err != nil || got.Status != orders.StatusCompleted || got.Overdue(e.clock.Now()) {
		t.Fatalf("completed: %+v %v", got, err)
	}
	events, _ := e.orders.DeliveryEvents(ctx, o.ID)
	if len(events) != 2 || events[0].DeliveredAfter != 40 || events[1].DeliveredBefore != 40 || events[1].DeliveredAfter != 100 || events[1].ActorID != "usr_agent" {
		t.Fatalf("delivery record %+v", events)
	}
}

func TestConcurrentCheckoutsNeverOverspend(t *testing.T) {
	e := setup(t)
	ctx := context.Background()
	u := e.customer(t, "ana@example.fr", "FR", account.CustomerConsumer, 1000)
	p := e.service(t, 10) // 10 units × 10 = 100 per order
	var wg sync.WaitGroup
	var mu sync.Mutex
	ok, refused := 0, 0
	for i := 0; i < 20; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := e.orders.Place(ctx, place(u, p.ID, 10, true), nil)
			mu.Lock()
			defer mu.Unlock()
			switch {
			case err == nil:
				ok++
			case errors.Is(err, orders.ErrInsufficientBalance):
				refused++
			default:
				t.Errorf("unexpected error: %v", err)
			}
		}()
	}
	wg.Wait()
	if ok != 10 || refused != 10 || e.balance(t, u) != 0 {
		t.Fatalf("%d placed, %d refused, balance %d", ok, refused, e.balance(t, u))
	}
	if m, err := e.ledger.Reconcile(ctx); err != nil || len(m) != 0 {
		t.Fatalf("ledger mismatch %v %v", m, err)
	}
}

func TestListPages(t *testing.T) {
	e := setup(t)
	ctx := context.Background()
	u := e.customer(t, "ana@example.fr", "FR", account.CustomerConsumer, 100000)
	other := e.customer(t, "ben@example.fr", "FR", account.CustomerConsumer, 100000)
	p := e.service(t, 1)
	for i := 0; i < 5; i++ {
		if _, err := e.orders.Place(ctx, place(u, p.ID, 10, true), nil); err != nil {
			t.Fatal(err)
		}
		e.clock.Advance(time.Millisecond)
	}
	e.orders.Place(ctx, place(other, p.ID, 10, true), nil)
	var seen []string
	after := ""
	for {
		page, next, err := e.orders.List(ctx, orders.ListFilter{CustomerID: u.ID, After: after, Limit: 2})
		if err != nil {
			t.Fatal(err)
		}
		for _, o := range page {
			if o.CustomerID != u.ID || len(o.Lines) != 1 {
				t.Fatalf("page holds %+v", o)
			}
			seen = append(seen, o.ID)
		}
		if next == "" {
			break
		}
		after = next
	}
	if len(seen) != 5 {
		t.Fatalf("saw %d orders", len(seen))
	}
	all, _, _ := e.orders.List(ctx, orders.ListFilter{Limit: 100})
	if len(all) != 6 {
		t.Fatalf("agents see %d orders", len(all))
	}
}

// The confirmation email repeats what was ticked, box by box (POLICY.md
// "Consent at checkout": the durable medium): a buyer who ticked only the
// request to start at once must not read both boxes as unticked, nor both
// as ticked.
func TestConfirmationRepeatsEachBoxAsTicked(t *testing.T) {
	e := setup(t)
	ctx := context.Background()
	p := e.service(t, 10)
	for _, tc := range []struct {
		name               string
		immediate, waiver  bool
		wantImm, wantWaive string
	}{
		{"only the request", true, false, "[x] ", "[ ] "},
		{"only the acknowledgement", false, true, "[ ] ", "[x] "},
	} {
		t.Run(tc.name, func(t *testing.T) {
			u := e.customer(t, strings.ReplaceAll(tc.name, " ", ".")+"@example.ch", "CH", account.CustomerConsumer, 1000)
			in := place(u, p.ID, 10, false)
			in.ImmediatePerformance, in.WithdrawalWaiver = tc.immediate, tc.waiver
			o, err := e.orders.Place(ctx, in, nil)
			if err != nil {
				t.Fatal(err)
			}
			c, err := e.orders.ConsentOf(ctx, o.ID)
			if err != nil || c.ImmediatePerformance != tc.immediate || c.WithdrawalWaiver != tc.waiver {
				t.Fatalf("consent %+v (%v)", c, err)
			}
			msgs, err := e.outbox.List(ctx, mail.Filter{Kind: "order_confirmation", UserID: u.ID})
			if err != nil || len(msgs) != 1 {
				t.Fatalf("confirmation emails: %d %v", len(msgs), err)
			}
			for _, want := range []string{tc.wantImm + c.ImmediateText, tc.wantWaive + c.WaiverText} {
				if !strings.Contains(msgs[0].Text, want) {
					t.Errorf("confirmation lacks %q:\n%s", want, msgs[0].Text)
				}
			}
		})
	}
}

// The two boxes say what POLICY.md "Consent at checkout" words for each
// kind of product, word for word in English.
func TestConsentWordingByProductKind(t *testing.T) {
	for _, tc := range []struct {
		kind              string
		immediate, waiver string
	}{
		{catalog.KindService, "I ask for the service to start now, before the end of the 14-day withdrawal period.",
			"I understand that I lose my right of withdrawal once the service has been fully performed, and that if I withdraw earlier I pay for what was already delivered."},
		{catalog.KindDigital, "I ask for the content to be supplied now.",
			"I understand that I lose my right of withdrawal once supply has begun."},
	} {
		got := orders.ConsentWording([]string{tc.kind}, "en")
		if got.Immediate != tc.immediate || got.Waiver != tc.waiver {
			t.Errorf("%s boxes:\n%q\n%q\nwant\n%q\n%q", tc.kind, got.Immediate, got.Waiver, tc.immediate, tc.waiver)
		}
	}
}

// An order's lines, as many as a cart holds, are written with their order
// and its consent (on PostgreSQL one statement, placeStatement): each
// line's product, position, name, price, quantity, amount and processing
// time (none for a licence) read back as placed, and the consent too.
func TestPlaceWritesEveryLine(t *testing.T) {
	e := setup(t)
	ctx := context.Background()
	u := e.customer(t, "ana@example.fr", "FR", account.CustomerConsumer, 10_000_000)
	in := place(u, e.service(t, 10).ID, 10, true)
	in.Lines = nil
	for i := range 20 {
		if i%7 == 3 {
			in.Lines = append(in.Lines, orders.LineInput{ProductID: e.licenceProduct(t, fmt.Sprintf("KEY-%d", i)).ID, Quantity: 1})
			continue
		}
		in.Lines = append(in.Lines, orders.LineInput{ProductID: e.service(t, int64(10+i)).ID, Quantity: 10 + i})
	}
	o, err := e.orders.Place(ctx, in, nil)
	if err != nil {
		t.Fatal(err)
	}
	got, err := e.orders.Get(ctx, o.ID)
	if err != nil {
		t.Fatal(err)
	}
	if len(got.Lines) != 20 || got.Total != o.Total || got.Status != o.Status {
		t.Fatalf("read back %d lines, total %v, status %s; placed 20, %v, %s", len(got.Lines), got.Total, got.Status, o.Total, o.Status)
	}
	for i, l := range got.Lines {
		w := o.Lines[i]
		if l.ID != w.ID || l.Position != i+1 || l.ProductID != w.ProductID || l.Name != w.Name || l.UnitPrice != w.UnitPrice ||
			l.Quantity != w.Quantity || l.Amount != w.Amount || !l.ProcessingUntil.Equal(w.ProcessingUntil) || l.Kind != w.Kind {
			t.Errorf("line %d read back %+v, placed %+v", i+1, l, w)
		}
		if (l.Kind == catalog.KindDigital) != l.ProcessingUntil.IsZero() {
			t.Errorf("line %d (%s): processing until %v", i+1, l.Kind, l.ProcessingUntil)
		}
	}
	c, err := e.orders.ConsentOf(ctx, o.ID)
	if err != nil || !c.ImmediatePerformance || !c.WithdrawalWaiver || c.IP != "192.0.2.1" || c.UserAgent != "test" {
		t.Errorf("consent %+v, %v", c, err)
	}
}
