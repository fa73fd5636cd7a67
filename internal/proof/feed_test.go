package proof_test

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"testing"
	"time"

	"comptoir/internal/account"
	"comptoir/internal/apptest"
	"comptoir/internal/audit"
	"comptoir/internal/catalog"
	"comptoir/internal/money"
	"comptoir/internal/orders"
	"comptoir/internal/proof"
)

var admin = audit.Actor{ID: "usr_admin", Role: account.RoleAdmin}

type store struct {
	t       *testing.T
	h       *apptest.Harness
	product catalog.Product
	n       int
}

func newStore(t *testing.T) *store {
	h := apptest.Start(t)
	p, err := h.App.Catalog.Create(context.Background(), admin, catalog.ProductInput{
		Slug: "logo", Kind: catalog.KindService, NameFR: "Création de logo", NameEN: "Logo design",
		DescriptionFR: "Un logo.", DescriptionEN: "A logo.", UnitPrice: money.MustNew(500, "EUR"),
		MinQuantity: 1, MaxQuantity: 10, ProcessingTime: 72 * time.Hour,
	})
	if err != nil {
		t.Fatal(err)
	}
	return &store{t: t, h: h, product: p}
}

func (s *store) settings(mod func(*proof.Settings)) {
	s.t.Helper()
	st := proof.DefaultSettings()
	st.Enabled = true
	if mod != nil {
		mod(&st)
	}
	if err := s.h.App.Proof.SaveSettings(context.Background(), st, admin); err != nil {
		s.t.Fatal(err)
	}
}

// customer makes a customer billed in the given place.
func (s *store) customer(country, region, city string) account.User {
	s.t.Helper()
	s.n++
	u, err := s.h.App.Accounts.CreateUser(context.Background(), account.CreateUserInput{
		Email: fmt.Sprintf("c%d@example.fr", s.n), Role: account.RoleCustomer, Password: apptest.Password, Language: "fr",
		Name: "Client", Country: country, Region: region, City: city,
	})
	if err != nil {
		s.t.Fatal(err)
	}
	if _, err := s.h.App.Ledger.AdminCredit(context.Background(), admin, u.ID, money.MustNew(100000, "EUR"), "test"); err != nil {
		s.t.Fatal(err)
	}
	return u
}

// buy places a paid order as checkout does, the buyer's choice recorded
// in its transaction.
func (s *store) buy(u account.User, optOut *bool) orders.Order {
	s.t.Helper()
	o, err := s.h.App.Orders.Place(context.Background(), orders.PlaceInput{
		CustomerID: u.ID, Lines: []orders.LineInput{{ProductID: s.product.ID, Quantity: 1}}, Payment: orders.PayBalance,
		ImmediatePerformance: true, WithdrawalWaiver: true, Lang: "fr",
	}, func(ctx context.Context, tx *sql.Tx, o orders.Order) error {
		return s.h.App.Proof.RecordChoiceTx(ctx, tx, o.ID, optOut)
	})
	if err != nil {
		s.t.Fatal(err)
	}
	return o
}

func (s *store) recent(lang string) []proof.Item {
	s.t.Helper()
	items, err := s.h.App.Proof.Recent(context.Background(), lang)
	if err != nil {
		s.t.Fatal(err)
	}
	return items
}

func (s *store) current() []proof.Shown {
	s.t.Helper()
	shown, err := s.h.App.Proof.Current(context.Background(), "en")
	if err != nil {
		s.t.Fatal(err)
	}
	return shown
}

func orderIDs(shown []proof.Shown) []string {
	var ids []string
	for _, n := range shown {
		ids = append(ids, n.OrderID)
	}
	return ids
}

func yes() *bool { b := true; return &b }
func no() *bool  { b := false; return &b }

// Only orders that are paid, still stand and whose buyer did not opt out
// are shown, and only after the delay; a refund takes a notice down at
// once, even one the feed has cached.
func TestFeedShowsOnlyRealStandingPurchases(t *testing.T) {
	s := newStore(t)
	s.settings(nil)
	ctx := context.Background()
	lyon := make([]account.User, 6)
	for i := range lyon {
		lyon[i] = s.customer("FR", "Auvergne-Rhône-Alpes", "Lyon")
	}
	shown := s.buy(lyon[0], no())
	optedOut := s.buy(lyon[1], yes())
	byDefault := s.buy(lyon[2], nil) // the store's default: shown
	refunded := s.buy(lyon[3], no())
	canceled := s.buy(lyon[4], no())
	disputed := s.buy(lyon[5], no())

	if items := s.recent("en"); len(items) != 0 {
		t.Fatalf("purchases shown before the 10-minute delay: %+v", items)
	}
	s.h.Clock.Advance(11 * time.Minute)

	// A refund before the feed is computed, a cancellation after it is
	// cached, a dispute after too.
	if err := s.h.App.DB.Tx(ctx, func(tx *sql.Tx) error {
		return s.h.App.Orders.RefundLineTx(ctx, tx, refunded.ID, refunded.Lines[0].ID, money.MustNew(100, "EUR"), admin)
	}); err != nil {
		t.Fatal(err)
	}
	if got := len(s.recent("en")); got != 4 {
		t.Fatalf("%d notices, want 4 (shown, by default, canceled, disputed)", got)
	}
	if _, err := s.h.App.DB.Write.ExecContext(ctx, `UPDATE orders SET status = 'canceled' WHERE id = $1`, canceled.ID); err != nil {
		t.Fatal(err)
	}
	if err := s.h.App.Proof.Withdraw(ctx, disputed.ID, proof.ReasonDisputed, admin); err != nil {
		t.Fatal(err)
	}
	items := s.recent("en") // same moment: the cached feed, re-checked
	if len(items) != 2 {
		t.Fatalf("after cancel and dispute: %d notices, want 2: %+v", len(items), items)
	}
	got := strings.Join(orderIDs(s.current()), " ")
	if got != byDefault.ID+" "+shown.ID && got != shown.ID+" "+byDefault.ID {
		t.Fatalf("shown orders %q, want %s and %s (never %s, %s, %s, %s)", got, shown.ID, byDefault.ID, optedOut.ID, refunded.ID, canceled.ID, disputed.ID)
	}
	want := "Someone in Lyon bought “Logo design” about 10 minutes ago"
	if items[0].Text != want || items[0].Place.Level != proof.LevelCity || items[0].Product.ID != s.product.ID {
		t.Fatalf("item %+v, want %q", items[0], want)
	}
	if fr := s.recent("fr"); fr[0].Text != "Quelqu’un à Lyon a acheté «\u00A0Création de logo\u00A0» il y a environ 10\u00A0minutes" {
		t.Fatalf("French item %q", fr[0].Text)
	}
	for _, it := range items {
		if strings.Contains(it.ID, "ord_") {
			t.Fatalf("item id %q reveals the order", it.ID)
		}
	}

	// Turned off: nothing, at once on this node.
	s.settings(func(st *proof.Settings) { st.Enabled = false })
	if items := s.recent("en"); len(items) != 0 {
		t.Fatalf("feature off, still %d notices", len(items))
	}
}

// Orders placed while the feature is off were never asked: never shown.
func TestFeedNeverShowsBuyersWhoWereNotAsked(t *testing.T) {
	s := newStore(t)
	u := s.customer("FR", "", "Lyon")
	s.buy(u, nil)
	s.settings(nil)
	s.h.Clock.Advance(time.Hour)
	if shown := s.current(); len(shown) != 0 {
		t.Fatalf("order placed while off is shown: %+v", shown)
	}
}

// The store's products setting limits which purchases are shown.
func TestFeedOnlyAllowedProducts(t *testing.T) {
	s := newStore(t)
	other, err := s.h.App.Catalog.Create(context.Background(), admin, catalog.ProductInput{
		Slug: "audit", Kind: catalog.KindService, NameFR: "Audit", NameEN: "Audit",
		DescriptionFR: "Un audit.", DescriptionEN: "An audit.", UnitPrice: money.MustNew(500, "EUR"),
		MinQuantity: 1, MaxQuantity: 10, ProcessingTime: 72 * time.Hour,
	})
	if err != nil {
		t.Fatal(err)
	}
	s.settings(func(st *proof.Settings) { st.AllProducts, st.Products = false, []string{other.ID} })
	s.buy(s.customer("FR", "", "Lyon"), no())
	s.h.Clock.Advance(time.Hour)
	if shown := s.current(); len(shown) != 0 {
		t.Fatalf("a product outside the allowed set is shown: %+v", shown)
	}
	s.settings(func(st *proof.Settings) { st.AllProducts, st.Products = false, []string{s.product.ID} })
	if shown := s.current(); len(shown) != 1 {
		t.Fatalf("%d notices for the allowed product, want 1", len(shown))
	}
}

// k-anonymity at its edges, through the database: the buyer's city is
// named only once k distinct customers (not orders) bought from it in the
// last 90 days; below, the region, then the country, then nothing.
func TestFeedPlaceAtTheEdgesOfK(t *testing.T) {
	s := newStore(t)
	s.settings(func(st *proof.Settings) { st.K = 3 })
	placeOf := func() (proof.Level, string) {
		t.Helper()
		shown := s.current()
		if len(shown) == 0 {
			t.Fatal("nothing shown")
		}
		return shown[0].Place.Level, shown[0].Place.Name
	}
	old := s.customer("FR", "Bretagne", "Rennes")
	s.buy(old, no()) // 91 days before the notice: outside the crowd
	s.h.Clock.Advance(91 * 24 * time.Hour)

	buyer := s.customer("FR", "Bretagne", "Rennes")
	s.buy(buyer, no())
	s.buy(buyer, no()) // the same customer twice is one in the crowd
	s.h.Clock.Advance(time.Hour)
	if level, name := placeOf(); level != proof.LevelNone || name != "" {
		t.Fatalf("1 customer in Rennes, Bretagne, France (k=3): %s %q, want none", level, name)
	}
	s.buy(s.customer("FR", "Alsace", "Strasbourg"), yes()) // opted out, still in the crowd
	s.buy(s.customer("FR", "Alsace", "Colmar"), no())
	s.h.Clock.Advance(time.Minute)
	// The newest notice is Colmar's; look at the buyer's.
	levelOf := func(customer account.User) proof.ItemPlace {
		t.Helper()
		for _, n := range s.current() {
			var cid string
			if err := s.h.App.DB.Read.QueryRow(`SELECT customer_id FROM orders WHERE id = $1`, n.OrderID).Scan(&cid); err != nil {
				t.Fatal(err)
			}
			if cid == customer.ID {
				return n.Place
			}
		}
		t.Fatalf("no notice for %s", customer.Email)
		return proof.ItemPlace{}
	}
	if p := levelOf(buyer); p.Level != proof.LevelCountry || p.Name != "France" {
		t.Fatalf("3 customers in France (k=3): %+v, want country France", p)
	}
	s.buy(s.customer("FR", "bretagne", "Brest"), no())
	if p := levelOf(buyer); p.Level != proof.LevelCountry {
		t.Fatalf("2 in Bretagne (k-1): %+v, want country", p)
	}
	s.buy(s.customer("FR", " BRETAGNE ", "Quimper"), no())
	if p := levelOf(buyer); p.Level != proof.LevelRegion || p.Name != "Bretagne" {
		t.Fatalf("3 in Bretagne (k): %+v, want region Bretagne", p)
	}
	s.buy(s.customer("FR", "Bretagne", "rennes"), no())
	if p := levelOf(buyer); p.Level != proof.LevelRegion {
		t.Fatalf("2 in Rennes (k-1): %+v, want region", p)
	}
	s.buy(s.customer("FR", "Bretagne", "Rennes"), no())
	if p := levelOf(buyer); p.Level != proof.LevelCity || p.Name != "Rennes" {
		t.Fatalf("3 in Rennes (k): %+v, want city Rennes", p)
	}
}

// There is no way to make a notice that is not an order: the choice table
// refuses rows for orders that do not exist and cannot be changed.
func TestNoNoticeWithoutAnOrder(t *testing.T) {
	s := newStore(t)
	s.settings(nil)
	ctx := context.Background()
	err := s.h.App.DB.Tx(ctx, func(tx *sql.Tx) error {
		return s.h.App.Proof.RecordChoiceTx(ctx, tx, "ord_invented", no())
	})
	if err == nil {
		t.Fatal("a choice for an order that does not exist was recorded")
	}
	o := s.buy(s.customer("FR", "", "Lyon"), yes())
	if _, err := s.h.App.DB.Write.ExecContext(ctx, `UPDATE proof_choices SET opt_out = $1 WHERE order_id = $2`, false, o.ID); err == nil {
		t.Fatal("a buyer's opt-out was changed afterwards")
	}
	if err := s.h.App.Proof.Withdraw(ctx, "ord_invented", proof.ReasonAdmin, admin); err != proof.ErrNotFound {
		t.Fatalf("withdraw an unknown order: %v", err)
	}
}

func TestSettingsValidation(t *testing.T) {
	s := newStore(t)
	ctx := context.Background()
	bad := proof.DefaultSettings()
	bad.K, bad.Delay, bad.Origins, bad.AllProducts = 1, 30*time.Second, []string{"https://ok.example", "blog.example.com/path"}, false
	err := s.h.App.Proof.SaveSettings(ctx, bad, admin)
	verr, ok := err.(*proof.ValidationError)
	if !ok || len(verr.Fields) != 4 {
		t.Fatalf("invalid settings: %v", err)
	}
	if st, _ := s.h.App.Proof.Settings(ctx); st.Enabled || st.K != proof.DefaultK {
		t.Fatalf("refused settings changed something: %+v", st)
	}
	good := proof.DefaultSettings()
	good.K, good.Origins = 2, []string{"HTTPS://Blog.Example.com/", "https://blog.example.com"}
	if err := s.h.App.Proof.SaveSettings(ctx, good, admin); err != nil {
		t.Fatal(err)
	}
	st, _ := s.h.App.Proof.Settings(ctx)
	if st.K != 2 || len(st.Origins) != 1 || !st.Allows("https://blog.example.com") || st.Allows("https://evil.example") {
		t.Fatalf("saved settings %+v", st)
	}
	// A product that does not exist is a field error, not a failure, and
	// changes nothing.
	unknown := good
	unknown.K, unknown.AllProducts, unknown.Products = 3, false, []string{"prd_01HZZZZZZZZZZZZZZZZZZZZZZZ"}
	err = s.h.App.Proof.SaveSettings(ctx, unknown, admin)
	if verr, ok := err.(*proof.ValidationError); !ok || verr.Fields["products"] != "unknown" {
		t.Fatalf("unknown product: %v", err)
	}
	if st, _ := s.h.App.Proof.Settings(ctx); st.K != 2 || !st.AllProducts {
		t.Fatalf("a refused save changed the settings: %+v", st)
	}
}

// An erased customer's purchases leave the feed at once (their country
// stays on the account, so a notice would still speak of them), and they
// no longer count in the crowd that lets a place be named.
func TestFeedForgetsErasedCustomers(t *testing.T) {
	s := newStore(t)
	s.settings(func(st *proof.Settings) { st.K = 2 })
	ctx := context.Background()
	stays := s.customer("FR", "Bretagne", "Brest")
	leaves := s.customer("FR", "Bretagne", "Brest")
	kept := s.buy(stays, no())
	gone := s.buy(leaves, no())
	s.h.Clock.Advance(time.Hour)
	shown := s.current()
	if len(shown) != 2 || shown[0].Place.Level != proof.LevelCity {
		t.Fatalf("before erasure: %+v, want 2 notices naming Brest", shown)
	}
	if _, err := s.h.App.Privacy.Erase(ctx, leaves.ID, admin, "request_on_behalf"); err != nil {
		t.Fatal(err)
	}
	// The same moment: the cached feed is re-checked.
	if got := orderIDs(s.current()); len(got) != 1 || got[0] != kept.ID {
		t.Fatalf("after erasure: %v, want only %s (never %s)", got, kept.ID, gone.ID)
	}
	s.h.Clock.Advance(time.Minute)
	shown = s.current()
	if len(shown) != 1 || shown[0].Place.Level != proof.LevelNone {
		t.Fatalf("one customer left in Brest, France (k=2): %+v, want no place", shown)
	}
}

// A visitor polling the feed learns no payment time finer than the Grain:
// two purchases paid in the same five-minute slot appear at the same
// moment and read the same at every moment after, and none appears before
// the delay has passed since its payment.
func TestFeedTellsNoPaymentTimeFinerThanItsGrain(t *testing.T) {
	s := newStore(t)
	s.settings(func(st *proof.Settings) { st.K = 2 })
	start := s.h.Clock.Now() // 10:00:00, on the grid
	s.h.Clock.Advance(40 * time.Second)
	first := s.buy(s.customer("FR", "Rhône", "Lyon"), no()) // 10:00:40
	s.h.Clock.Advance(3*time.Minute + 40*time.Second)
	second := s.buy(s.customer("FR", "Rhône", "Lyon"), no()) // 10:04:20
	var appeared time.Time
	var texts []string
	for s.h.Clock.Now().Before(start.Add(2 * time.Hour)) {
		s.h.Clock.Advance(10 * time.Second)
		now := s.h.Clock.Now()
		items := s.recent("en")
		switch {
		case len(items) == 1:
			t.Fatalf("at %s only one of two purchases of the same slot is shown: the payment times differ by what a poll sees", now.Format("15:04:05"))
		case len(items) == 2 && appeared.IsZero():
			appeared = now
		}
		if len(items) == 2 {
			if items[0].Ago != items[1].Ago {
				t.Fatalf("at %s the two purchases of one slot read %q and %q", now.Format("15:04:05"), items[0].Ago, items[1].Ago)
			}
			if len(texts) == 0 || texts[len(texts)-1] != items[0].Ago {
				texts = append(texts, items[0].Ago)
			}
		}
	}
	if appeared.IsZero() {
		t.Fatal("never shown")
	}
	// Shown from the end of their slot plus the delay: 10:05 + 10 min.
	if want := start.Add(15 * time.Minute); appeared.Before(want) || appeared.After(want.Add(proof.Grain)) {
		t.Errorf("shown from %s, want from %s (the delay after the slot's end)", appeared.Format("15:04:05"), want.Format("15:04:05"))
	}
	if !appeared.After(start.Add(4*time.Minute + 20*time.Second + 10*time.Minute)) {
		t.Errorf("shown at %s, before the delay had passed since the second payment", appeared.Format("15:04:05"))
	}
	if len(texts) < 3 {
		t.Errorf("the elapsed time never moved: %v", texts)
	}
	if ids := orderIDs(s.current()); len(ids) != 2 || ids[0] != second.ID || ids[1] != first.ID {
		t.Errorf("the admin's list %v, want the newest payment first", ids)
	}
}
