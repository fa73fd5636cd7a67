package web_test

import (
	"context"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"comptoir/internal/account"
	"comptoir/internal/apptest"
	"comptoir/internal/claims"
	"comptoir/internal/orders"
	"comptoir/internal/policy"
	"comptoir/internal/subscriptions"
	"comptoir/internal/testwait"
)

// twoProductOrder places, paid from the balance, an order of 10 of one
// service and 20 of another for u.
func twoProductOrder(t *testing.T, h *apptest.Harness, u account.User) orders.Order {
	t.Helper()
	a := newService(t, h, "posts-a", 25)
	b := newService(t, h, "posts-b", 40)
	credit(t, h, u, 10000)
	o, err := h.App.Orders.Place(context.Background(), orders.PlaceInput{
		CustomerID: u.ID, Lines: []orders.LineInput{{ProductID: a.ID, Quantity: 10}, {ProductID: b.ID, Quantity: 20}},
		Payment: orders.PayBalance, ImmediatePerformance: true, WithdrawalWaiver: true, Lang: "en", IP: "192.0.2.1", UserAgent: "test",
	}, nil)
	if err != nil {
		t.Fatal(err)
	}
	return o
}

// An order's delivery record says which product each delivery was of.
// Before, it read "delivered 0 → 5", "delivered 0 → 3": on an order of
// two products neither the customer nor the agent could tell which.
func TestDeliveryRecordNamesTheProduct(t *testing.T) {
	h := apptest.Start(t)
	ctx := context.Background()
	u, c := h.User(t, account.RoleCustomer, "ana@example.fr")
	c.PostForm("/lang", url.Values{"lang": {"en"}})
	o := twoProductOrder(t, h, u)
	for _, d := range []orders.DeliveryInput{deliveryOf(o.ID, o.Lines[1].ID, 5), deliveryOf(o.ID, o.Lines[0].ID, 3)} {
		if _, err := h.App.Orders.RecordDelivery(ctx, d); err != nil {
			t.Fatal(err)
		}
	}
	_, ag := h.User(t, account.RoleAgent, "agent@shop.test")
	ag.PostForm("/lang", url.Values{"lang": {"en"}})
	for _, page := range []string{c.Get("/orders/" + o.ID).Body, ag.Get("/console/orders/" + o.ID).Body} {
		for _, want := range []string{`Posts posts-b</span> — delivered 0 → 5`, `Posts posts-a</span> — delivered 0 → 3`} {
			if !regexp.MustCompile(regexp.QuoteMeta(want)).MatchString(page) {
				t.Fatalf("the delivery record lacks %q:\n%s", want, page)
			}
		}
	}
}

// The console's order page is written for the agent and says whose order
// it is. Before, it named no customer at all, and it spoke to the customer
// ("My claims", "My invoices", "What you agreed to at checkout") and
// showed the invoice's VAT rule as a code ("(seller_country)", "card: ").
func TestConsoleOrderPageIsTheAgents(t *testing.T) {
	for _, lang := range []string{"en", "fr"} {
		t.Run(lang, func(t *testing.T) {
			h := apptest.Start(t)
			u, _ := h.User(t, account.RoleCustomer, "ana@example.fr")
			o := twoProductOrder(t, h, u)
			_, ag := h.User(t, account.RoleAgent, "agent@shop.test")
			ag.PostForm("/lang", url.Values{"lang": {lang}})
			if _, err := h.App.Claims.File(context.Background(), claims.FileInput{Kind: policy.Dissatisfied, CustomerID: u.ID,
				OrderID: o.ID, LineID: o.Lines[0].ID, Actor: u.Actor()}); err != nil {
				t.Fatal(err)
			}
			// Invoices are numbered by a background pass.
			testwait.Until(t, "the order's invoice", func() bool {
				invs, err := h.App.Invoices.ForOrder(context.Background(), o.ID)
				return err == nil && len(invs) > 0
			})
			page := ag.Get("/console/orders/" + o.ID)
			mustContain(t, page, `id="customer-context"`, "ana@example.fr", `href="/console/orders/`+o.ID+`"`)
			want := map[string][]string{
				"en": {"<h2>Claims</h2>", "<h2>Invoices and credit notes</h2>", "What the customer agreed to at checkout", "France (FR) — the seller’s country;", "—</small>"},
				"fr": {"<h2>Réclamations</h2>", "<h2>Factures et avoirs</h2>", "Ce que le client a accepté lors de la commande", "France (FR) — pays du vendeur\u00a0;", "—</small>"},
			}[lang]
			mustContain(t, page, want...)
			for _, not := range []string{"My claims", "My invoices", "What you agreed", "Mes réclamations", "Mes factures", "Ce que vous avez accepté", "seller_country"} {
				if strings.Contains(page.Body, not) {
					t.Errorf("the console's order page says %q", not)
				}
			}
		})
	}
}

// A delivery the order refuses comes back beside its line's form with the
// number the agent typed. Before, the reason stood above the page, naming
// no line of an order of several, and the field showed the old count.
func TestDeliveryRefusalStaysBesideItsLine(t *testing.T) {
	h := apptest.Start(t)
	u, _ := h.User(t, account.RoleCustomer, "ana@example.fr")
	o := twoProductOrder(t, h, u)
	_, ag := h.User(t, account.RoleAgent, "agent@shop.test")
	ag.PostForm("/lang", url.Values{"lang": {"en"}})
	r := ag.PostForm("/console/orders/"+o.ID+"/delivery", url.Values{"line_id": {o.Lines[1].ID}, "delivered": {"25"}})
	if r.Status != http.StatusUnprocessableEntity {
		t.Fatalf("over-delivery: %d", r.Status)
	}
	mustMarkRefused(t, "over-delivery", r.Body, map[string]string{"delivered": "delivered"})
	if !regexp.MustCompile(`id="delivered-` + o.Lines[1].ID + `" name="delivered"[^>]*value="25"[^>]*>\s*<button[^>]*>[^<]*</button>\s*<p class="error" role="alert" id="delivered-error">`).MatchString(r.Body) {
		t.Fatalf("the refusal is not beside the second line's form with 25 kept:\n%s", r.Body)
	}
	if !strings.Contains(r.Body, `id="delivered-`+o.Lines[0].ID+`" name="delivered" type="number" min="0" max="10" value="0"`) {
		t.Fatal("the other line's form lost its count")
	}
}

// The console's list of orders says whose each is. Before, it showed the
// order, date, status, products and total: an agent looking for a
// customer's order had to open them one by one.
func TestConsoleOrdersNameTheirCustomer(t *testing.T) {
	h := apptest.Start(t)
	u, _ := h.User(t, account.RoleCustomer, "ana@example.fr")
	o := twoProductOrder(t, h, u)
	_, ag := h.User(t, account.RoleAgent, "agent@shop.test")
	page := ag.Get("/console/orders").Body
	i := strings.Index(page, `<a href="/console/orders/`+o.ID+`">`)
	if i < 0 {
		t.Fatal("the order is not listed")
	}
	row := page[i:]
	row = row[:strings.Index(row, "</tr>")]
	if !strings.Contains(row, `<td class="order-customer">`) || !strings.Contains(row, "ana@example.fr") {
		t.Fatalf("the order's row names no customer: %s", row)
	}
}

// A line's progress agrees with what was delivered: in French "1 sur 10
// livré" but "2 sur 20 livrés" (0 and 1 are singular), in English
// "delivered" either way. Before, every count read "livrés".
func TestDeliveredCountAgreesWithItsNumber(t *testing.T) {
	h := apptest.Start(t)
	ctx := context.Background()
	u, c := h.User(t, account.RoleCustomer, "ana@example.fr")
	o := twoProductOrder(t, h, u)
	for _, d := range []orders.DeliveryInput{deliveryOf(o.ID, o.Lines[0].ID, 1), deliveryOf(o.ID, o.Lines[1].ID, 2)} {
		if _, err := h.App.Orders.RecordDelivery(ctx, d); err != nil {
			t.Fatal(err)
		}
	}
	_, ag := h.User(t, account.RoleAgent, "agent@shop.test")
	for _, tc := range []struct{ lang, one, two string }{
		{"fr", "1 sur 10 livré<", "2 sur 20 livrés<"},
		{"en", "1 of 10 delivered<", "2 of 20 delivered<"},
	} {
		c.PostForm("/lang", url.Values{"lang": {tc.lang}})
		ag.PostForm("/lang", url.Values{"lang": {tc.lang}})
		for _, page := range []string{c.Get("/orders/" + o.ID).Body, c.Get("/orders").Body, ag.Get("/console/orders").Body} {
			for _, want := range []string{tc.one, tc.two} {
				if !strings.Contains(page, want) {
					t.Fatalf("%s: the page lacks %q:\n%s", tc.lang, want, page)
				}
			}
		}
	}
}

// The console's customer panel names each subscription by its plan, in
// the agent's language, as the customer's own list does. Before, it
// listed them by id ("sub_…"), which told the agent nothing.
func TestCustomerPanelNamesSubscriptionsByPlan(t *testing.T) {
	h := apptest.Start(t)
	ctx := context.Background()
	plan := newPlan(t, h, "veille", 990, 0)
	u, _ := h.User(t, account.RoleCustomer, "ana@example.fr")
	credit(t, h, u, 5000)
	sub, err := h.App.Subscriptions.Start(ctx, subscriptions.StartInput{CustomerID: u.ID, PlanID: plan.ID, Payment: subscriptions.PayBalance,
		ImmediatePerformance: true, WithdrawalWaiver: true}, nil)
	if err != nil {
		t.Fatal(err)
	}
	o := twoProductOrder(t, h, u)
	_, ag := h.User(t, account.RoleAgent, "agent@shop.test")
	for lang, want := range map[string]string{"fr": "<li>Formule veille · ", "en": "<li>Plan veille · "} {
		ag.PostForm("/lang", url.Values{"lang": {lang}})
		page := ag.Get("/console/orders/" + o.ID).Body
		list := page[strings.Index(page, `id="context-subscriptions"`):]
		if !strings.Contains(list, want) || strings.Contains(list[:strings.Index(list, "</ul>")], sub.ID) {
			t.Fatalf("%s: the customer panel does not name the plan (%q):\n%s", lang, want, list)
		}
	}
}
