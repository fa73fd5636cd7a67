package web_test

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/base64"
	"encoding/json"
	"errors"
	"mime/multipart"
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
	"comptoir/internal/catalog"
	"comptoir/internal/config"
	"comptoir/internal/mail"
	"comptoir/internal/money"
	"comptoir/internal/orders"
	"comptoir/internal/policy"
	"comptoir/internal/webhooksig"
)

var adminActor = audit.Actor{ID: "usr_admin", Role: account.RoleAdmin}

func newService(t *testing.T, h *apptest.Harness, slug string, price int64) catalog.Product {
	t.Helper()
	p, err := h.App.Catalog.Create(context.Background(), adminActor, catalog.ProductInput{
		Slug: slug, Kind: catalog.KindService, NameFR: "Publications " + slug, NameEN: "Posts " + slug,
		DescriptionFR: "Des publications.", DescriptionEN: "Some posts.", UnitPrice: money.MustNew(price, "EUR"),
		MinQuantity: 10, MaxQuantity: 1000, ProcessingTime: 72 * time.Hour,
	})
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func credit(t *testing.T, h *apptest.Harness, u account.User, minor int64) {
	t.Helper()
	if _, err := h.App.Ledger.AdminCredit(context.Background(), adminActor, u.ID, money.MustNew(minor, "EUR"), "test"); err != nil {
		t.Fatal(err)
	}
}

func balanceOf(t *testing.T, h *apptest.Harness, u account.User) int64 {
	t.Helper()
	b, err := h.App.Ledger.Balance(context.Background(), u.ID, "EUR")
	if err != nil {
		t.Fatal(err)
	}
	return b.Minor
}

var checkoutKey = regexp.MustCompile(`name="checkout_key" value="([^"]+)"`)

func TestCheckoutPageWithBalance(t *testing.T) {
	h := apptest.Start(t)
	p := newService(t, h, "posts", 25)
	u, c := h.User(t, account.RoleCustomer, "ana@example.fr")
	credit(t, h, u, 10000)
	c.PostForm("/lang", url.Values{"lang": {"en"}})

	mustContain(t, c.Get("/shop"), "Posts posts", "/shop/posts")
	mustContain(t, c.Get("/shop/posts"), `id="add-to-cart"`, "72 hours")
	r := c.PostForm("/cart", url.Values{"product_id": {p.ID}, "quantity": {"5"}})
	if r.Status != http.StatusUnprocessableEntity || !strings.Contains(r.Body, `id="quantity-error"`) {
		t.Fatalf("quantity below the minimum: %d", r.Status)
	}
	mustMarkRefused(t, "quantity", r.Body, map[string]string{"quantity": "quantity"})
	if r := c.PostForm("/cart", url.Values{"product_id": {p.ID}, "quantity": {"100"}}); r.Status != http.StatusSeeOther {
		t.Fatalf("add to cart: %d", r.Status)
	}
	cart := c.Get("/cart")
	mustContain(t, cart, "€25.00", `id="immediate_performance"`, "14-day withdrawal period")
	key := checkoutKey.FindStringSubmatch(cart.Body)[1]

	// Without the two boxes: the error, in the page's language, and no charge.
	r = c.PostForm("/checkout", url.Values{"checkout_key": {key}, "payment": {"balance"}, "accept_policy": {"default@1"}})
	if r.Status != http.StatusUnprocessableEntity || !strings.Contains(r.Body, `id="consent-error"`) || !strings.Contains(r.Body, "tick both boxes") {
		t.Fatalf("checkout without consent: %d", r.Status)
	}
	mustMarkRefused(t, "consent", r.Body, map[string]string{"immediate_performance": "consent", "withdrawal_waiver": "consent"})
	if balanceOf(t, h, u) != 10000 {
		t.Fatal("a refused checkout charged the balance")
	}
	form := url.Values{"checkout_key": {key}, "payment": {"balance"}, "accept_policy": {"default@1"},
		"immediate_performance": {"yes"}, "withdrawal_waiver": {"yes"}}
	r = c.PostForm("/checkout", form)
	if r.Status != http.StatusSeeOther || !strings.HasPrefix(r.Location, "/orders/ord_") {
		t.Fatalf("checkout: %d %q %s", r.Status, r.Location, r.Body)
	}
	orderPath := r.Location
	// The same form sent again (a double click) finds the same order.
	again := c.PostForm("/checkout", form)
	if again.Location != orderPath || balanceOf(t, h, u) != 7500 {
		t.Fatalf("resubmitted checkout: %q, balance %d", again.Location, balanceOf(t, h, u))
	}
	page := c.Get(orderPath)
	mustContain(t, page, "In progress", `<progress max="100" value="0"`, "14-day withdrawal period", `href="/policy?version=default%401" class="docref">`)
	mustContain(t, c.Get("/orders"), orderPath)
	mustContain(t, c.Get(orderPath+"/receipt"), "€0.25", "€25.00")
	mustContain(t, c.Get("/balance"), "€75.00", "Purchase")
	if c.Get("/cart").Body == cart.Body || !strings.Contains(c.Get("/cart").Body, `id="cart-empty"`) {
		t.Fatal("the cart was not emptied")
	}

	// Another customer: the order does not exist for them.
	_, other := h.User(t, account.RoleCustomer, "ben@example.fr")
	if r := other.Get(orderPath); r.Status != http.StatusNotFound {
		t.Fatalf("another customer's order page: %d", r.Status)
	}
	if r := other.Get(orderPath + "/receipt"); r.Status != http.StatusNotFound {
		t.Fatalf("another customer's receipt: %d", r.Status)
	}

	// An agent records progress; the customer sees it.
	_, agent := h.User(t, account.RoleAgent, "agent@shop.test")
	o, _ := h.App.Orders.Get(context.Background(), strings.TrimPrefix(orderPath, "/orders/"))
	r = agent.PostForm("/console/orders/"+o.ID+"/delivery", url.Values{"line_id": {o.Lines[0].ID}, "delivered": {"40"}})
	if r.Status != http.StatusSeeOther {
		t.Fatalf("agent delivery: %d %s", r.Status, r.Body)
	}
	mustContain(t, c.Get(orderPath), `<progress max="100" value="40"`, "Partly delivered", "delivered 0 → 40")
	r = agent.PostForm("/console/orders/"+o.ID+"/delivery", url.Values{"line_id": {o.Lines[0].ID}, "delivered": {"101"}})
	if r.Status != http.StatusUnprocessableEntity || !strings.Contains(r.Body, `id="delivered-error"`) {
		t.Fatalf("over-delivery: %d", r.Status)
	}
	if r := c.PostForm("/console/orders/"+o.ID+"/delivery", url.Values{"line_id": {o.Lines[0].ID}, "delivered": {"100"}}); r.Status != http.StatusNotFound {
		t.Fatalf("a customer recording delivery: %d", r.Status)
	}
	h.Clock.Advance(73 * time.Hour)
	mustContain(t, c.Get(orderPath), `id="overdue"`)
	mustContain(t, agent.Get("/console/orders"), o.ID, `class="badge bad"`)
}

func TestOrdersAPI(t *testing.T) {
	h := apptest.Start(t)
	p := newService(t, h, "posts", 25)
	u, _ := h.User(t, account.RoleCustomer, "ana@example.fr")
	credit(t, h, u, 4000)
	auth := h.Bearer(t, u.ID)
	c := h.NewClient(t)

	r := c.Get("/api/v1/products")
	var products struct {
		Items []struct {
			ID          string
			Kind        string
			Price       money.Amount
			MinQuantity int `json:"min_quantity"`
		}
		Next *string
	}
	if err := json.Unmarshal([]byte(r.Body), &products); err != nil || len(products.Items) != 1 || products.Items[0].Price.Minor != 25 ||
		products.Items[0].MinQuantity != 10 || products.Next != nil {
		t.Fatalf("products: %s (%v)", r.Body, err)
	}

	body := `{"lines":[{"product_id":"` + p.ID + `","quantity":100}],"payment":"balance","consent":{"immediate_performance":true,"withdrawal_waiver":true},"accept_policy":"default@1"}`
	withKey := func(key string) http.Header {
		hd := auth.Clone()
		hd.Set("Idempotency-Key", key)
		return hd
	}
	first := postJSON(c, "/api/v1/orders", body, withKey("k1"))
	if first.Status != http.StatusCreated {
		t.Fatalf("create: %d %s", first.Status, first.Body)
	}
	var o struct {
		ID, Status string
		Lines      []struct {
			ID        string
			Quantity  int
			Delivered int
		}
		Paid money.Amount
	}
	json.Unmarshal([]byte(first.Body), &o)
	if o.Status != "processing" || o.Paid.Minor != 2500 || len(o.Lines) != 1 || o.Lines[0].Quantity != 100 {
		t.Fatalf("order %s", first.Body)
	}
	replay := postJSON(c, "/api/v1/orders", body, withKey("k1"))
	if replay.Status != http.StatusCreated || replay.Body != first.Body || balanceOf(t, h, u) != 1500 {
		t.Fatalf("replay: %d %s, balance %d", replay.Status, replay.Body, balanceOf(t, h, u))
	}
	// Every keyed route answers alike: a replay says so, and no answer is
	// kept by a cache.
	if replay.Header.Get("Idempotent-Replayed") != "true" || replay.Header.Get("Cache-Control") != "no-store" || first.Header.Get("Cache-Control") != "no-store" {
		t.Fatalf("replay headers %v, first answer's %v", replay.Header, first.Header)
	}
	reused := postJSON(c, "/api/v1/orders", strings.Replace(body, `"quantity":100`, `"quantity":50`, 1), withKey("k1"))
	if reused.Status != http.StatusUnprocessableEntity || !strings.Contains(reused.Body, `"code":"idempotency_key_reused"`) {
		t.Fatalf("reused key: %d %s", reused.Status, reused.Body)
	}
	poor := postJSON(c, "/api/v1/orders", body, withKey("k2"))
	if poor.Status != http.StatusPaymentRequired || !strings.Contains(poor.Body, `"code":"insufficient_balance"`) || balanceOf(t, h, u) != 1500 {
		t.Fatalf("insufficient balance: %d %s", poor.Status, poor.Body)
	}
	for _, bad := range []string{
		strings.Replace(body, `"quantity":100`, `"quantity":0`, 1),
		strings.Replace(body, `"quantity":100`, `"quantity":-5`, 1),
		strings.Replace(body, `"payment":"balance"`, `"payment":"cheque"`, 1),
		strings.Replace(body, `"accept_policy"`, `"unknown"`, 1),
	} {
		if r := postJSON(c, "/api/v1/orders", bad, auth); r.Status/100 != 4 {
			t.Errorf("%s: %d %s", bad, r.Status, r.Body)
		}
	}
	if r := c.Send(http.MethodGet, "/api/v1/orders/"+o.ID, "", nil, auth); r.Status != http.StatusOK || !strings.Contains(r.Body, o.ID) {
		t.Fatalf("get order: %d", r.Status)
	}
	if r := c.Send(http.MethodGet, "/api/v1/orders", "", nil, auth); !strings.Contains(r.Body, `"items":[{`) {
		t.Fatalf("list orders: %s", r.Body)
	}
	other, _ := h.User(t, account.RoleCustomer, "ben@example.fr")
	if r := c.Send(http.MethodGet, "/api/v1/orders/"+o.ID, "", nil, h.Bearer(t, other.ID)); r.Status != http.StatusNotFound {
		t.Fatalf("another customer's order: %d %s", r.Status, r.Body)
	}

	delivery := `{"line_id":"` + o.Lines[0].ID + `","delivered":60}`
	if r := postJSON(c, "/api/v1/orders/"+o.ID+"/delivery", delivery, auth); r.Status != http.StatusNotFound {
		t.Fatalf("a customer recording delivery: %d", r.Status)
	}
	agent, _ := h.User(t, account.RoleAgent, "agent@shop.test")
	agentAuth := h.Bearer(t, agent.ID)
	r = postJSON(c, "/api/v1/orders/"+o.ID+"/delivery", delivery, agentAuth)
	if r.Status != http.StatusOK || !strings.Contains(r.Body, `"delivered":60`) || !strings.Contains(r.Body, `"status":"partial"`) {
		t.Fatalf("delivery: %d %s", r.Status, r.Body)
	}
	if r := postJSON(c, "/api/v1/orders/"+o.ID+"/delivery", `{"line_id":"`+o.Lines[0].ID+`","delivered":101}`, agentAuth); r.Status != http.StatusUnprocessableEntity || !strings.Contains(r.Body, "over_delivery") {
		t.Fatalf("over-delivery: %d %s", r.Status, r.Body)
	}

	r = c.Send(http.MethodGet, "/api/v1/balance", "", nil, auth)
	if !strings.Contains(r.Body, `"balance":{"amount":1500,"currency":"EUR"}`) || !strings.Contains(r.Body, `"kind":"purchase"`) {
		t.Fatalf("balance: %s", r.Body)
	}
}

func TestBalanceCreditsByAdmin(t *testing.T) {
	h := apptest.Start(t)
	u, _ := h.User(t, account.RoleCustomer, "ana@example.fr")
	admin, adminClient := h.User(t, account.RoleAdmin, "admin@shop.test")
	c := h.NewClient(t)
	auth := h.Bearer(t, admin.ID)
	r := postJSON(c, "/api/v1/balance/credits", `{"customer_id":"`+u.ID+`","amount":{"amount":1500,"currency":"EUR"},"reason":"Geste commercial"}`, auth)
	if r.Status != http.StatusCreated || balanceOf(t, h, u) != 1500 {
		t.Fatalf("credit: %d %s", r.Status, r.Body)
	}
	for _, bad := range []string{
		`{"customer_id":"` + u.ID + `","amount":{"amount":0,"currency":"EUR"},"reason":"x"}`,
		`{"customer_id":"` + u.ID + `","amount":{"amount":100,"currency":"EUR"},"reason":""}`,
		`{"customer_id":"` + u.ID + `","amount":{"amount":-5000,"currency":"EUR"},"reason":"too much"}`,
		`{"customer_id":"usr_nobody","amount":{"amount":100,"currency":"EUR"},"reason":"x"}`,
	} {
		if r := postJSON(c, "/api/v1/balance/credits", bad, auth); r.Status/100 != 4 {
			t.Errorf("%s: %d %s", bad, r.Status, r.Body)
		}
	}
	if balanceOf(t, h, u) != 1500 {
		t.Fatalf("refused credits changed the balance: %d", balanceOf(t, h, u))
	}
	if r := postJSON(c, "/api/v1/balance/credits", `{"customer_id":"`+u.ID+`","amount":{"amount":100,"currency":"EUR"},"reason":"x"}`, h.Bearer(t, u.ID)); r.Status != http.StatusNotFound {
		t.Fatalf("a customer crediting themselves: %d", r.Status)
	}
	r = adminClient.PostForm("/admin/credits", url.Values{"email": {"ana@example.fr"}, "amount": {"5,00"}, "direction": {"debit"}, "reason": {"Correction"}})
	if r.Status != http.StatusSeeOther || balanceOf(t, h, u) != 1000 {
		t.Fatalf("admin debit form: %d, balance %d", r.Status, balanceOf(t, h, u))
	}
}

func TestAdminProductPages(t *testing.T) {
	h := apptest.Start(t)
	_, admin := h.User(t, account.RoleAdmin, "admin@shop.test")
	_, customer := h.User(t, account.RoleCustomer, "ana@example.fr")
	admin.PostForm("/lang", url.Values{"lang": {"en"}})
	form := url.Values{"kind": {"service"}, "slug": {"logo"}, "name_fr": {"Logo"}, "name_en": {"Logo design"},
		"description_fr": {"Un logo."}, "description_en": {"A logo."}, "unit_price": {"120,00"}, "currency": {"EUR"},
		"min_quantity": {"1"}, "max_quantity": {"3"}, "processing_hours": {"240"}}
	if r := customer.PostForm("/admin/products", form); r.Status != http.StatusNotFound {
		t.Fatalf("a customer creating a product: %d", r.Status)
	}
	r := admin.PostForm("/admin/products", form)
	if r.Status != http.StatusSeeOther {
		t.Fatalf("create: %d %s", r.Status, r.Body)
	}
	edit := admin.Get(r.Location)
	// 10 days of processing cannot fit in the 7-day non-delivery window.
	mustContain(t, edit, "non-delivery claim window", `value="120.00"`)
	p, err := h.App.Catalog.GetBySlug(context.Background(), "logo")
	if err != nil || p.UnitPrice.Minor != 12000 {
		t.Fatalf("product %+v %v", p, err)
	}
	form.Set("unit_price", "abc")
	r = admin.PostForm("/admin/products/"+p.ID, form)
	if r.Status != http.StatusUnprocessableEntity || !strings.Contains(r.Body, `id="unit_price-error"`) {
		t.Fatalf("bad price: %d", r.Status)
	}
	mustMarkRefused(t, "price", r.Body, map[string]string{"unit_price": "unit_price"})
	form.Set("unit_price", "150")
	if r := admin.PostForm("/admin/products/"+p.ID, form); r.Status != http.StatusSeeOther {
		t.Fatalf("edit: %d", r.Status)
	}
	if p, _ := h.App.Catalog.Get(context.Background(), p.ID); p.Revision != 2 || p.UnitPrice.Minor != 15000 {
		t.Fatalf("after edit: %+v", p)
	}
	admin.PostForm("/admin/products/"+p.ID+"/archive", nil)
	if r := customer.Get("/shop/logo"); r.Status != http.StatusNotFound {
		t.Fatalf("an archived product page: %d", r.Status)
	}
	if r := customer.PostForm("/cart", url.Values{"product_id": {p.ID}, "quantity": {"1"}}); r.Status != http.StatusNotFound {
		t.Fatalf("an archived product into the cart: %d", r.Status)
	}
}

func orderFilter(customerID string) orders.ListFilter {
	return orders.ListFilter{CustomerID: customerID}
}

func deliveryOf(orderID, lineID string, n int) orders.DeliveryInput {
	return orders.DeliveryInput{OrderID: orderID, LineID: lineID, Delivered: n, Source: orders.SourceAgent, Actor: adminActor}
}

func TestLastLicenceKeySoldAlertsTheAdmins(t *testing.T) {
	h := apptest.Start(t)
	admin, _ := h.User(t, account.RoleAdmin, "admin@shop.test")
	u, _ := h.User(t, account.RoleCustomer, "ana@example.fr")
	credit(t, h, u, 5000)
	p, err := h.App.Catalog.Create(context.Background(), adminActor, catalog.ProductInput{
		Slug: "licence", Kind: catalog.KindDigital, NameFR: "Logiciel", NameEN: "Software", DescriptionFR: "Une licence.", DescriptionEN: "One licence.",
		UnitPrice: money.MustNew(500, "EUR"), MinQuantity: 1, MaxQuantity: 1, DigitalDelivery: catalog.DeliveryLicenceKey,
	})
	if err != nil {
		t.Fatal(err)
	}
	h.App.Catalog.AddLicenceKeys(context.Background(), adminActor, p.ID, []string{"K-1", "K-2"})
	buy := func() error {
		_, err := h.App.Orders.Place(context.Background(), orders.PlaceInput{CustomerID: u.ID, Lines: []orders.LineInput{{ProductID: p.ID, Quantity: 1}},
			Payment: orders.PayBalance, ImmediatePerformance: true, WithdrawalWaiver: true}, nil)
		return err
	}
	if err := buy(); err != nil {
		t.Fatal(err)
	}
	if alerts, _ := h.App.Outbox.List(context.Background(), mail.Filter{Kind: "alert_licence_pool_empty"}); len(alerts) != 0 {
		t.Fatal("alerted while keys are left")
	}
	if err := buy(); err != nil {
		t.Fatal(err)
	}
	alerts, _ := h.App.Outbox.List(context.Background(), mail.Filter{Kind: "alert_licence_pool_empty"})
	if len(alerts) != 1 || alerts[0].To != admin.Email || !strings.Contains(alerts[0].Text, "/admin/products/"+p.ID) {
		t.Fatalf("alerts %+v", alerts)
	}
	// The admin reads French: the product by its French name, not its slug.
	if alerts[0].Subject != "Plus aucune clé de licence pour Logiciel" || !strings.Contains(alerts[0].Text, "«\u00a0Logiciel\u00a0»") {
		t.Errorf("the alert names the product as:\n%s\n%s", alerts[0].Subject, alerts[0].Text)
	}
	if err := buy(); !errors.Is(err, orders.ErrOutOfStock) {
		t.Fatalf("third sale: %v", err)
	}
}

func TestDigitalFileDownloadExpiresAndIsLogged(t *testing.T) {
	h := apptest.Start(t)
	_, admin := h.User(t, account.RoleAdmin, "admin@shop.test")
	u, c := h.User(t, account.RoleCustomer, "ana@example.fr")
	credit(t, h, u, 5000)
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	for k, v := range map[string]string{"kind": "digital", "slug": "guide", "name_fr": "Guide", "name_en": "Guide",
		"description_fr": "Un guide.", "description_en": "A guide.", "unit_price": "9,00", "currency": "EUR",
		"min_quantity": "1", "max_quantity": "1", "download_hours": "48"} {
		mw.WriteField(k, v)
	}
	fw, _ := mw.CreateFormFile("file", "guide.pdf")
	fw.Write([]byte("%PDF-1.4\n% the guide\n"))
	mw.Close()
	r := admin.Send(http.MethodPost, "/admin/products", mw.FormDataContentType(), &buf, http.Header{"Sec-Fetch-Site": {"same-origin"}})
	if r.Status != http.StatusSeeOther {
		t.Fatalf("create a file product: %d %s", r.Status, r.Body)
	}
	p, err := h.App.Catalog.GetBySlug(context.Background(), "guide")
	if err != nil || p.DigitalDelivery != catalog.DeliveryFile || p.DownloadTTL != 48*time.Hour {
		t.Fatalf("product %+v %v", p, err)
	}
	o, err := h.App.Orders.Place(context.Background(), orders.PlaceInput{CustomerID: u.ID, Lines: []orders.LineInput{{ProductID: p.ID, Quantity: 1}},
		Payment: orders.PayBalance, ImmediatePerformance: true, WithdrawalWaiver: true}, nil)
	if err != nil || o.Status != orders.StatusCompleted {
		t.Fatalf("order %+v %v", o, err)
	}
	link := "/orders/" + o.ID + "/lines/" + o.Lines[0].ID + "/download"
	mustContain(t, c.Get("/orders/"+o.ID), link)
	dl := c.Get(link)
	if dl.Status != http.StatusOK || dl.Header.Get("Content-Type") != "application/pdf" || !strings.HasPrefix(dl.Body, "%PDF-1.4") {
		t.Fatalf("download: %d %v", dl.Status, dl.Header)
	}
	// Saved under a name the customer's computer opens: the slug alone
	// ("guide") had no extension.
	if cd := dl.Header.Get("Content-Disposition"); cd != `attachment; filename="guide.pdf"` {
		t.Errorf("the file is saved as %s", cd)
	}
	if n, _ := h.App.Orders.Downloads(context.Background(), o.Lines[0].ID); n != 1 {
		t.Fatalf("downloads recorded: %d", n)
	}
	_, other := h.User(t, account.RoleCustomer, "ben@example.fr")
	if r := other.Get(link); r.Status != http.StatusNotFound {
		t.Fatalf("another customer's download: %d", r.Status)
	}
	// A refund of part of the line leaves the file to the customer; once
	// the whole line is paid back the link ends at once. Before, it kept
	// working until it expired.
	refund := func(minor int64) {
		t.Helper()
		if err := h.App.DB.Tx(context.Background(), func(tx *sql.Tx) error {
			return h.App.Orders.RefundLineTx(context.Background(), tx, o.ID, o.Lines[0].ID, money.MustNew(minor, "EUR"),
				audit.Actor{ID: "usr_agent", Role: account.RoleAgent})
		}); err != nil {
			t.Fatal(err)
		}
	}
	refund(300)
	if r := c.Get(link); r.Status != http.StatusOK {
		t.Fatalf("download after a partial refund: %d", r.Status)
	}
	refund(600)
	if r := c.Get(link); r.Status != http.StatusGone {
		t.Fatalf("download after a full refund: %d", r.Status)
	}
	if page := c.Get("/orders/" + o.ID); strings.Contains(page.Body, link) {
		t.Fatal("the order page still offers the download of a line paid back")
	}
	if n, _ := h.App.Orders.Downloads(context.Background(), o.Lines[0].ID); n != 2 {
		t.Fatalf("downloads recorded: %d, want 2", n)
	}
	h.Clock.Advance(49 * time.Hour)
	if r := c.Get(link); r.Status != http.StatusGone {
		t.Fatalf("an expired link: %d", r.Status)
	}
	if n, _ := h.App.Orders.Downloads(context.Background(), o.Lines[0].ID); n != 2 {
		t.Fatalf("an expired attempt was recorded as a download: %d", n)
	}
}

func TestSignedFulfilmentWebhookRecordsDelivery(t *testing.T) {
	secretText := "whsec_" + base64.StdEncoding.EncodeToString([]byte("fulfilment secret of 32 bytes!!!"))
	h := apptest.StartWith(t, func(c *config.Config) { c.FulfilmentWebhookSecret = secretText })
	u, _ := h.User(t, account.RoleCustomer, "ana@example.fr")
	p := newService(t, h, "posts", 25)
	credit(t, h, u, 10000)
	o, err := h.App.Orders.Place(context.Background(), orders.PlaceInput{CustomerID: u.ID, Lines: []orders.LineInput{{ProductID: p.ID, Quantity: 100}},
		Payment: orders.PayBalance, ImmediatePerformance: true, WithdrawalWaiver: true}, nil)
	if err != nil {
		t.Fatal(err)
	}
	secret, _ := webhooksig.ParseSecret(secretText)
	body := []byte(`{"line_id":"` + o.Lines[0].ID + `","delivered":70}`)
	send := func(sig string, at time.Time) apptest.Response {
		hd := http.Header{"webhook-id": {"msg_1"}, "webhook-timestamp": {strconv.FormatInt(at.Unix(), 10)}, "webhook-signature": {sig}}
		return h.NewClient(t).Send(http.MethodPost, "/api/v1/orders/"+o.ID+"/delivery", "application/json", bytes.NewReader(body), hd)
	}
	now := h.Clock.Now()
	if r := send("v1,"+base64.StdEncoding.EncodeToString([]byte("forged")), now); r.Status != http.StatusBadRequest {
		t.Fatalf("forged webhook: %d %s", r.Status, r.Body)
	}
	if r := send(secret.Sign("msg_1", now.Add(-time.Hour), body), now.Add(-time.Hour)); r.Status != http.StatusBadRequest {
		t.Fatalf("an old webhook replayed: %d", r.Status)
	}
	if got, _ := h.App.Orders.Get(context.Background(), o.ID); got.Lines[0].Delivered != 0 {
		t.Fatal("a refused webhook changed the delivery")
	}
	r := send(secret.Sign("msg_1", now, body), now)
	if r.Status != http.StatusOK || !strings.Contains(r.Body, `"delivered":70`) {
		t.Fatalf("signed webhook: %d %s", r.Status, r.Body)
	}
	events, _ := h.App.Orders.DeliveryEvents(context.Background(), o.ID)
	if len(events) != 1 || events[0].Source != orders.SourceWebhook {
		t.Fatalf("delivery record %+v", events)
	}
	if r := h.NewClient(t).Send(http.MethodPost, "/api/v1/orders/"+o.ID+"/delivery", "application/json", bytes.NewReader(body), nil); r.Status != http.StatusUnauthorized {
		t.Fatalf("unsigned, unauthenticated: %d", r.Status)
	}
}

// Ten copies of one keyed request sent at once place one order, and every
// copy gets its answer.
func TestConcurrentRetriesWithOneKeyPlaceOneOrder(t *testing.T) {
	h := apptest.Start(t)
	p := newService(t, h, "posts", 25)
	u, _ := h.User(t, account.RoleCustomer, "ana@example.fr")
	credit(t, h, u, 2500) // enough for exactly one order
	hd := h.Bearer(t, u.ID)
	hd.Set("Idempotency-Key", "same-key")
	body := `{"lines":[{"product_id":"` + p.ID + `","quantity":100}],"payment":"balance","consent":{"immediate_performance":true,"withdrawal_waiver":true}}`
	var wg sync.WaitGroup
	answers := make([]apptest.Response, 10)
	for i := range answers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			answers[i] = postJSON(h.NewClient(t), "/api/v1/orders", body, hd)
		}()
	}
	wg.Wait()
	for i, a := range answers {
		if a.Status != http.StatusCreated || a.Body != answers[0].Body {
			t.Fatalf("copy %d: %d %s (first: %s)", i, a.Status, a.Body, answers[0].Body)
		}
	}
	list, _, _ := h.App.Orders.List(context.Background(), orders.ListFilter{CustomerID: u.ID})
	if len(list) != 1 || balanceOf(t, h, u) != 0 {
		t.Fatalf("%d orders, balance %d", len(list), balanceOf(t, h, u))
	}
}

// The product form's warning follows the non-delivery window of the policy
// in force (POLICY.md non_delivery: "The catalog warns the seller when a
// product's stated processing time is not shorter than this window"), not
// the default policy's 7 days: under a published 3-day window, a 4-day
// processing time leaves customers no time to claim.
func TestProductWarningFollowsThePolicyInForce(t *testing.T) {
	h := apptest.Start(t)
	ctx := context.Background()
	adminUser, admin := h.User(t, account.RoleAdmin, "admin@shop.test")
	admin.PostForm("/lang", url.Values{"lang": {"en"}})
	doc := strings.Replace(string(policy.DefaultDocument()), `name = "default"`, `name = "short"`, 1)
	doc = strings.Replace(doc, "[kinds.non_delivery]\nenabled = true\nwindow = \"7d\"", "[kinds.non_delivery]\nenabled = true\nwindow = \"3d\"", 1)
	if !strings.Contains(doc, "window = \"3d\"") {
		t.Fatal("the test document did not change the non-delivery window")
	}
	d, err := h.App.Policies.SaveDraft(ctx, adminUser.Actor(), []byte(doc))
	if err != nil || len(d.Errors) > 0 {
		t.Fatalf("draft: %v %+v", err, d.Errors)
	}
	if err := h.App.Policies.Publish(ctx, adminUser.Actor(), "short@1"); err != nil {
		t.Fatal(err)
	}
	form := url.Values{"kind": {"service"}, "slug": {"banner"}, "name_fr": {"Bannière"}, "name_en": {"Banner"},
		"description_fr": {"Une bannière."}, "description_en": {"A banner."}, "unit_price": {"20,00"}, "currency": {"EUR"},
		"min_quantity": {"1"}, "max_quantity": {"3"}, "processing_hours": {"96"}}
	r := admin.PostForm("/admin/products", form)
	if r.Status != http.StatusSeeOther {
		t.Fatalf("create: %d %s", r.Status, r.Body)
	}
	mustContain(t, admin.Get(r.Location), "3-day non-delivery claim window")
}

// A product's quantities read as numbers do in each language: "10 – 1 000"
// (a narrow no-break space) in French, "10 – 1,000" in English, on its
// page and in the error for a quantity out of range; they read "1000",
// beside descriptions and amounts grouped by thousands.
func TestQuantitiesAreGroupedByThousands(t *testing.T) {
	h := apptest.Start(t)
	p := newService(t, h, "posts", 25)
	c := h.NewClient(t)
	for lang, want := range map[string][2]string{
		"fr": {"10 – 1\u202f000", "Choisissez une quantité entre 10 et 1\u202f000."},
		"en": {"10 – 1,000", "Choose a quantity between 10 and 1,000."},
	} {
		c.PostForm("/lang", url.Values{"lang": {lang}})
		mustContain(t, c.Get("/shop/posts"), "<dd>"+want[0]+"</dd>", `max="1000"`)
		r := c.PostForm("/cart", url.Values{"product_id": {p.ID}, "quantity": {"5"}})
		mustContain(t, r, `id="quantity-error">`+want[1])
	}
}
