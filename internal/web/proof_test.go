package web_test

import (
	"context"
	"encoding/json"
	"fmt"
	"html"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stripe/stripe-go/v82"

	"comptoir/internal/account"
	"comptoir/internal/apptest"
	"comptoir/internal/cardpay"
	"comptoir/internal/cardpay/cardpaytest"
	"comptoir/internal/catalog"
	"comptoir/internal/proof"
)

type proofFeed struct {
	Items []struct {
		ID      string
		Text    string
		Product struct{ ID, Name string }
		Place   struct{ Level, Name string }
		Ago     string
	}
}

func readFeed(t *testing.T, r apptest.Response) proofFeed {
	t.Helper()
	var f proofFeed
	if r.Status != http.StatusOK || json.Unmarshal([]byte(r.Body), &f) != nil || f.Items == nil {
		t.Fatalf("feed: %d %s", r.Status, r.Body)
	}
	return f
}

// proofSettings is the admin form turning the notices on.
func proofSettings(k string) url.Values {
	return url.Values{"enabled": {"yes"}, "k": {k}, "delay_minutes": {"10"}, "products": {"all"},
		"origins": {"https://blog.example.com"}}
}

// A buyer who ticks the box at checkout, or says so through the API, is
// never shown; the others are, anonymised, in the visitor's language, on
// the feed other sites of the store may read and on the admin's list with
// the order each notice comes from.
func TestProofCheckoutOptOutFeedCORSAndAdmin(t *testing.T) {
	h := apptest.Start(t)
	_, adm := h.User(t, account.RoleAdmin, "admin@shop.test")
	p := newService(t, h, "posts", 25)

	if r := adm.PostForm("/admin/proof", url.Values{"enabled": {"yes"}, "k": {"1"}, "delay_minutes": {"0"}, "products": {"some"}, "origins": {"blog.example.com/x"}}); r.Status != http.StatusUnprocessableEntity ||
		!strings.Contains(r.Body, `id="k-error"`) || !strings.Contains(r.Body, `id="delay-error"`) || !strings.Contains(r.Body, `id="origins-error"`) || !strings.Contains(r.Body, `id="products-error"`) {
		t.Fatalf("bad settings: %d", r.Status)
	}
	if r := adm.PostForm("/admin/proof", proofSettings("2")); r.Status != http.StatusSeeOther {
		t.Fatalf("save settings: %d %s", r.Status, r.Body)
	}

	checkout := func(email string, optOut bool) string {
		t.Helper()
		u, c := h.User(t, account.RoleCustomer, email)
		credit(t, h, u, 10000)
		if r := c.PostForm("/cart", url.Values{"product_id": {p.ID}, "quantity": {"10"}}); r.Status != http.StatusSeeOther {
			t.Fatalf("add to cart: %d", r.Status)
		}
		cart := c.Get("/cart")
		mustContain(t, cart, `id="proof_opt_out"`, `name="proof_asked"`)
		if strings.Contains(cart.Body, "proof.js") {
			t.Fatal("the toast runs on the checkout page")
		}
		form := url.Values{"checkout_key": {checkoutKey.FindStringSubmatch(cart.Body)[1]}, "payment": {"balance"}, "accept_policy": {"default@1"},
			"immediate_performance": {"yes"}, "withdrawal_waiver": {"yes"}, "proof_asked": {"1"}}
		if optOut {
			form.Set("proof_opt_out", "yes")
		}
		r := c.PostForm("/checkout", form)
		if r.Status != http.StatusSeeOther || !strings.HasPrefix(r.Location, "/orders/ord_") {
			t.Fatalf("checkout: %d %s", r.Status, r.Body)
		}
		return strings.TrimPrefix(r.Location, "/orders/")
	}
	viaAPI := func(email, extra string) string {
		t.Helper()
		u, c := h.User(t, account.RoleCustomer, email)
		credit(t, h, u, 10000)
		body := `{"lines":[{"product_id":"` + p.ID + `","quantity":10}],"payment":"balance","consent":{"immediate_performance":true,"withdrawal_waiver":true},"accept_policy":"default@1"` + extra + `}`
		r := postJSON(c, "/api/v1/orders", body, h.Bearer(t, u.ID))
		var o struct{ ID string }
		if r.Status != http.StatusCreated || json.Unmarshal([]byte(r.Body), &o) != nil {
			t.Fatalf("API order: %d %s", r.Status, r.Body)
		}
		return o.ID
	}
	pageOptOut := checkout("a@example.fr", true)
	pageShown := checkout("b@example.fr", false)
	apiOptOut := viaAPI("c@example.fr", `,"proof_opt_out":true`)
	apiDefault := viaAPI("d@example.fr", ``)

	visitor := h.NewClient(t)
	visitor.Lang = "en"
	if f := readFeed(t, visitor.Get("/api/v1/proof/recent")); len(f.Items) != 0 {
		t.Fatalf("shown before the delay: %+v", f)
	}
	h.Clock.Advance(11 * time.Minute)
	f := readFeed(t, visitor.Get("/api/v1/proof/recent"))
	if len(f.Items) != 2 || f.Items[0].Text != "Someone in Lyon bought “Posts posts” about 10 minutes ago" || f.Items[0].Place.Level != "city" {
		t.Fatalf("feed: %+v", f)
	}
	fr := readFeed(t, visitor.Get("/api/v1/proof/recent?lang=fr"))
	if !strings.HasPrefix(fr.Items[0].Text, "Quelqu’un à Lyon a acheté «\u00A0Publications posts\u00A0» il y a environ 10\u00A0minutes") {
		t.Fatalf("French feed: %q", fr.Items[0].Text)
	}

	admin := adm.Get("/admin/proof")
	mustContain(t, admin, `href="/console/orders/`+pageShown+`"`, `href="/console/orders/`+apiDefault+`"`, "/embed/proof.js")
	for _, hidden := range []string{pageOptOut, apiOptOut} {
		if strings.Contains(admin.Body, hidden) {
			t.Fatalf("opted-out order %s listed as shown", hidden)
		}
	}

	// CORS: the allowed origin only, never with credentials.
	get := func(method, path, origin string) apptest.Response {
		return visitor.Send(method, path, "", nil, http.Header{"Origin": {origin}})
	}
	r := get(http.MethodGet, "/api/v1/proof/recent", "https://blog.example.com")
	if r.Header.Get("Access-Control-Allow-Origin") != "https://blog.example.com" || r.Header.Get("Access-Control-Allow-Credentials") != "" {
		t.Fatalf("allowed origin: %v", r.Header)
	}
	if r := get(http.MethodGet, "/api/v1/proof/recent", "https://evil.example"); r.Header.Get("Access-Control-Allow-Origin") != "" || r.Status != http.StatusOK {
		t.Fatalf("other origin got %q", r.Header.Get("Access-Control-Allow-Origin"))
	}
	if r := get(http.MethodOptions, "/api/v1/proof/recent", "https://blog.example.com"); r.Status != http.StatusNoContent || r.Header.Get("Access-Control-Allow-Origin") == "" {
		t.Fatalf("preflight: %d %v", r.Status, r.Header)
	}
	js := get(http.MethodGet, "/embed/proof.js", "https://blog.example.com")
	if js.Status != http.StatusOK || !strings.HasPrefix(js.Header.Get("Content-Type"), "text/javascript") ||
		js.Header.Get("Access-Control-Allow-Origin") != "https://blog.example.com" || !strings.Contains(js.Body, "/api/v1/proof/recent") {
		t.Fatalf("embed script: %d %v", js.Status, js.Header)
	}
	mustContain(t, visitor.Get("/"), "proof.js", `data-close-label="Close this notice"`)

	// A notice withdrawn by the admin leaves the feed at once.
	if r := adm.PostForm("/admin/proof/"+pageShown+"/withdraw", nil); r.Status != http.StatusSeeOther {
		t.Fatalf("withdraw: %d", r.Status)
	}
	if f := readFeed(t, visitor.Get("/api/v1/proof/recent")); len(f.Items) != 1 {
		t.Fatalf("after withdrawal: %+v", f)
	}
	if r := adm.PostForm("/admin/proof/ord_nope/withdraw", nil); r.Status != http.StatusNotFound {
		t.Fatalf("withdraw unknown order: %d", r.Status)
	}

	// The store may make "do not show" the default: the box starts ticked,
	// and stays as the buyer left it when the form comes back with an error.
	form := proofSettings("2")
	form.Set("default_opt_out", "yes")
	if r := adm.PostForm("/admin/proof", form); r.Status != http.StatusSeeOther {
		t.Fatalf("save settings: %d", r.Status)
	}
	_, e := h.User(t, account.RoleCustomer, "e@example.fr")
	e.PostForm("/cart", url.Values{"product_id": {p.ID}, "quantity": {"10"}})
	cart := e.Get("/cart")
	mustContain(t, cart, `id="proof_opt_out" checked`)
	r = e.PostForm("/checkout", url.Values{"checkout_key": {checkoutKey.FindStringSubmatch(cart.Body)[1]}, "payment": {"balance"},
		"proof_asked": {"1"}, "immediate_performance": {"yes"}, "withdrawal_waiver": {"yes"}})
	if r.Status != http.StatusUnprocessableEntity || strings.Contains(r.Body, `id="proof_opt_out" checked`) || !strings.Contains(r.Body, `id="proof_opt_out"`) {
		t.Fatalf("refused checkout did not keep the buyer's choice: %d", r.Status)
	}
}

// Off by default: no script on the pages, an empty feed, no box at checkout.
func TestProofOffByDefault(t *testing.T) {
	h := apptest.Start(t)
	c := h.NewClient(t)
	if strings.Contains(c.Get("/").Body, "proof.js") {
		t.Fatal("the toast script is on the page while the feature is off")
	}
	// A purchase the feed would show if it were on, long past any delay.
	p := newService(t, h, "posts", 25)
	u, buyer := h.User(t, account.RoleCustomer, "buyer@example.fr")
	credit(t, h, u, 10000)
	buyer.PostForm("/cart", url.Values{"product_id": {p.ID}, "quantity": {"10"}})
	if cart := buyer.Get("/cart"); strings.Contains(cart.Body, `name="proof_asked"`) {
		t.Fatal("the checkout asks about purchase notices while the feature is off")
	}
	body := `{"lines":[{"product_id":"` + p.ID + `","quantity":10}],"payment":"balance","consent":{"immediate_performance":true,"withdrawal_waiver":true},"accept_policy":"default@1"}`
	if r := postJSON(buyer, "/api/v1/orders", body, h.Bearer(t, u.ID)); r.Status != http.StatusCreated {
		t.Fatalf("order: %d %s", r.Status, r.Body)
	}
	h.Clock.Advance(2 * time.Hour)
	if f := readFeed(t, c.Get("/api/v1/proof/recent")); len(f.Items) != 0 {
		t.Fatalf("feed while off: %+v", f)
	}
}

// A card payment disputed with the bank takes its order out of the feed
// as soon as Stripe's event is applied.
func TestProofDisputedCardOrderLeavesTheFeed(t *testing.T) {
	h := startWithStripe(t)
	_, adm := h.User(t, account.RoleAdmin, "admin@shop.test")
	if r := adm.PostForm("/admin/proof", proofSettings("2")); r.Status != http.StatusSeeOther {
		t.Fatalf("save settings: %d %s", r.Status, r.Body)
	}
	p := newService(t, h, "posts", 25)
	u, c := h.User(t, account.RoleCustomer, "ana@example.fr")
	body := `{"lines":[{"product_id":"` + p.ID + `","quantity":100}],"payment":"card","consent":{"immediate_performance":true,"withdrawal_waiver":true},"accept_policy":"default@1","proof_opt_out":false}`
	r := postJSON(c, "/api/v1/orders", body, h.Bearer(t, u.ID))
	var created struct{ ID string }
	if r.Status != http.StatusCreated || json.Unmarshal([]byte(r.Body), &created) != nil {
		t.Fatalf("card order: %d %s", r.Status, r.Body)
	}
	pay, ok, err := h.App.Card.Pending(context.Background(), cardpay.PurposeOrder, created.ID)
	if err != nil || !ok {
		t.Fatalf("pending payment: %v %v", ok, err)
	}
	visitor := h.NewClient(t)
	h.Clock.Advance(time.Hour)
	if f := readFeed(t, visitor.Get("/api/v1/proof/recent")); len(f.Items) != 0 {
		t.Fatalf("an unpaid card order is shown: %+v", f)
	}
	payload, sig := cardpaytest.Event(t, webhookSecret, cardpaytest.EventID(), stripe.EventTypeCheckoutSessionCompleted, completed(pay))
	if got := deliverEvent(t, h, payload, sig); got != http.StatusOK {
		t.Fatalf("payment webhook: %d", got)
	}
	h.Clock.Advance(11 * time.Minute)
	if f := readFeed(t, visitor.Get("/api/v1/proof/recent")); len(f.Items) != 1 {
		t.Fatalf("paid card order not shown: %+v", f)
	}
	payload, sig = cardpaytest.Event(t, webhookSecret, cardpaytest.EventID(), stripe.EventTypeChargeDisputeCreated, map[string]any{
		"id": "dp_test_1", "object": "dispute", "amount": 2500, "currency": "eur", "charge": "ch_test_1",
		"payment_intent": "pi_" + pay.ID, "reason": "fraudulent", "status": "needs_response",
	})
	if got := deliverEvent(t, h, payload, sig); got != http.StatusOK {
		t.Fatalf("dispute webhook: %d", got)
	}
	if f := readFeed(t, visitor.Get("/api/v1/proof/recent")); len(f.Items) != 0 {
		t.Fatalf("a disputed order is still shown: %+v", f)
	}
}

// A checkout form drawn while the notices were off has no box: its buyer
// was never asked, so their purchase is never shown, even when the admin
// turned the notices on before the form came back (the store's default
// decides only for an API client that did not say).
func TestProofCheckoutFormWithoutTheBoxIsNeverShown(t *testing.T) {
	h := apptest.Start(t)
	_, adm := h.User(t, account.RoleAdmin, "admin@shop.test")
	p := newService(t, h, "posts", 25)
	u, c := h.User(t, account.RoleCustomer, "a@example.fr")
	credit(t, h, u, 10000)
	if r := c.PostForm("/cart", url.Values{"product_id": {p.ID}, "quantity": {"10"}}); r.Status != http.StatusSeeOther {
		t.Fatalf("add to cart: %d", r.Status)
	}
	cart := c.Get("/cart")
	if strings.Contains(cart.Body, `name="proof_asked"`) {
		t.Fatal("the checkout asks about purchase notices while they are off")
	}
	if r := adm.PostForm("/admin/proof", proofSettings("2")); r.Status != http.StatusSeeOther {
		t.Fatalf("save settings: %d %s", r.Status, r.Body)
	}
	form := url.Values{"checkout_key": {checkoutKey.FindStringSubmatch(cart.Body)[1]}, "payment": {"balance"}, "accept_policy": {"default@1"},
		"immediate_performance": {"yes"}, "withdrawal_waiver": {"yes"}}
	if r := c.PostForm("/checkout", form); r.Status != http.StatusSeeOther || !strings.HasPrefix(r.Location, "/orders/ord_") {
		t.Fatalf("checkout: %d %s", r.Status, r.Body)
	}
	h.Clock.Advance(time.Hour)
	if f := readFeed(t, h.NewClient(t).Get("/api/v1/proof/recent")); len(f.Items) != 0 {
		t.Fatalf("a buyer who was never asked is shown: %+v", f)
	}
}

// A number of minutes too large for the delay is refused in the admin's
// language and changes nothing; it used to wrap around into the allowed
// range and be saved as 10m52s.
func TestProofAdminRefusesAHugeDelay(t *testing.T) {
	h := apptest.Start(t)
	_, adm := h.User(t, account.RoleAdmin, "admin@shop.test")
	for _, tt := range []struct{ lang, minutes, want string }{
		{"fr", "600479950316077", "Saisissez un nombre entier de minutes de 1 à 10080"},
		{"en", "600479950316077", "Enter a whole number of minutes from 1 to 10080"},
		{"en", "-600479950316077", "Enter a whole number of minutes from 1 to 10080"},
		{"en", "10081", "Enter a whole number of minutes from 1 to 10080"},
		{"en", "0", "Enter a whole number of minutes from 1 to 10080"},
	} {
		if r := adm.PostForm("/lang", url.Values{"lang": {tt.lang}}); r.Status != http.StatusSeeOther {
			t.Fatalf("switch language: %d", r.Status)
		}
		form := proofSettings("2")
		form.Set("delay_minutes", tt.minutes)
		if r := adm.PostForm("/admin/proof", form); r.Status != http.StatusUnprocessableEntity || !strings.Contains(r.Body, `id="delay-error"`) || !strings.Contains(r.Body, tt.want) {
			t.Fatalf("%s minutes (%s): %d, want 422 with %q", tt.minutes, tt.lang, r.Status, tt.want)
		}
		if st, err := h.App.Proof.Settings(context.Background()); err != nil || st.Enabled || st.Delay != proof.DefaultDelay {
			t.Fatalf("a refused delay changed the settings: %+v %v", st, err)
		}
	}
	form := proofSettings("2")
	form.Set("delay_minutes", "10080")
	if r := adm.PostForm("/admin/proof", form); r.Status != http.StatusSeeOther {
		t.Fatalf("a week: %d", r.Status)
	}
	if st, _ := h.App.Proof.Settings(context.Background()); st.Delay != proof.MaxDelay {
		t.Fatalf("delay saved %s, want a week", st.Delay)
	}
}

// While the notices are off, the admin's list of notices is what visitors
// would see, and the page says so instead of calling them shown.
func TestProofAdminListSaysWhenTheNoticesAreOff(t *testing.T) {
	h := apptest.Start(t)
	_, adm := h.User(t, account.RoleAdmin, "admin@shop.test")
	p := newService(t, h, "posts", 25)
	if r := adm.PostForm("/admin/proof", proofSettings("2")); r.Status != http.StatusSeeOther {
		t.Fatalf("save settings: %d %s", r.Status, r.Body)
	}
	u, _ := h.User(t, account.RoleCustomer, "a@example.fr")
	credit(t, h, u, 10000)
	body := `{"lines":[{"product_id":"` + p.ID + `","quantity":10}],"payment":"balance","consent":{"immediate_performance":true,"withdrawal_waiver":true},"accept_policy":"default@1","proof_opt_out":false}`
	if r := postJSON(h.NewClient(t), "/api/v1/orders", body, h.Bearer(t, u.ID)); r.Status != http.StatusCreated {
		t.Fatalf("order: %d %s", r.Status, r.Body)
	}
	h.Clock.Advance(time.Hour)
	adm.PostForm("/lang", url.Values{"lang": {"en"}})
	on := adm.Get("/admin/proof")
	mustContain(t, on, "Notices shown now", `id="proof-shown"`)
	if strings.Contains(on.Body, `id="proof-off"`) {
		t.Fatal("the page says the notices are off while they are on")
	}

	off := proofSettings("2")
	off.Del("enabled")
	if r := adm.PostForm("/admin/proof", off); r.Status != http.StatusSeeOther {
		t.Fatalf("turn off: %d", r.Status)
	}
	if f := readFeed(t, h.NewClient(t).Get("/api/v1/proof/recent")); len(f.Items) != 0 {
		t.Fatalf("feed while off: %+v", f)
	}
	page := adm.Get("/admin/proof")
	mustContain(t, page, "Notices that would be shown now", `id="proof-off"`, `id="proof-shown"`)
	if strings.Contains(page.Body, "Notices shown now") {
		t.Fatal("while off, the admin page calls its notices shown")
	}
	adm.PostForm("/lang", url.Values{"lang": {"fr"}})
	mustContain(t, adm.Get("/admin/proof"), "Notifications qui seraient affichées en ce moment", "les visiteurs n’en voient aucune")
}

// More allowed sites than the store keeps: the error says so, in the
// admin's language, rather than that each line must be an origin (they all
// are), and nothing changes.
func TestProofAdminSaysWhenThereAreTooManyOrigins(t *testing.T) {
	h := apptest.Start(t)
	_, adm := h.User(t, account.RoleAdmin, "admin@shop.test")
	origins := func(n int) string {
		var lines []string
		for i := range n {
			lines = append(lines, fmt.Sprintf("https://site%d.example.com", i))
		}
		return strings.Join(lines, "\n")
	}
	for _, tt := range []struct{ lang, want string }{
		{"fr", "Saisissez au plus 50\u00A0origines."},
		{"en", "Enter at most 50 origins."},
	} {
		adm.PostForm("/lang", url.Values{"lang": {tt.lang}})
		form := proofSettings("2")
		form.Set("origins", origins(proof.MaxOrigins+1))
		r := adm.PostForm("/admin/proof", form)
		if r.Status != http.StatusUnprocessableEntity {
			t.Fatalf("%d origins (%s): %d", proof.MaxOrigins+1, tt.lang, r.Status)
		}
		mustContain(t, r, `id="origins-error"`, tt.want)
		if st, err := h.App.Proof.Settings(context.Background()); err != nil || st.Enabled || len(st.Origins) != 0 {
			t.Fatalf("refused origins changed the settings: %+v %v", st, err)
		}
	}
	form := proofSettings("2")
	form.Set("origins", origins(proof.MaxOrigins))
	if r := adm.PostForm("/admin/proof", form); r.Status != http.StatusSeeOther {
		t.Fatalf("%d origins: %d", proof.MaxOrigins, r.Status)
	}
}

// The page's ticks replace the saved products: a chosen product the page
// did not list (archived, or past the first 200 of the catalog) was dropped
// by the next save of the settings, whatever the admin changed. Every
// chosen product is listed, an archived one said to be, and stays chosen
// when the form is sent back as the page drew it; the admin can still
// untick it.
func TestProofAdminKeepsChosenProductsThePageDidNotList(t *testing.T) {
	h := apptest.Start(t)
	ctx := context.Background()
	_, adm := h.User(t, account.RoleAdmin, "admin@shop.test")
	adm.PostForm("/lang", url.Values{"lang": {"en"}})
	// One archived, 200 listed, one past them.
	ids := manyServices(t, h, catalog.MaxListLimit+2)
	archived, listed, late := ids[0], ids[1], ids[len(ids)-1]
	chosen := []string{archived, listed, late}
	chooseProducts(t, h, chosen...)
	if err := h.App.Catalog.Archive(ctx, adminActor, archived); err != nil {
		t.Fatal(err)
	}

	// The form as a browser sends it back: the boxes the page ticked.
	page := adm.Get("/admin/proof")
	form := proofSettings("2")
	form.Set("products", "some")
	for _, m := range regexp.MustCompile(`name="product" value="([^"]+)" checked`).FindAllStringSubmatch(page.Body, -1) {
		form.Add("product", m[1])
	}
	form.Set("k", "3") // what the admin came to change
	if r := adm.PostForm("/admin/proof", form); r.Status != http.StatusSeeOther {
		t.Fatalf("save: %d %s", r.Status, r.Body)
	}
	if st, err := h.App.Proof.Settings(ctx); err != nil || st.K != 3 || !slices.Equal(st.Products, chosen) {
		t.Fatalf("saved %v (k %d), want %v: %v", st.Products, st.K, chosen, err)
	}
	mustContain(t, page, `value="`+archived+`" checked> Posts posts-000 (archived)`)

	// Unticked, the archived product leaves the list.
	form.Del("product")
	form["product"] = []string{listed, late}
	if r := adm.PostForm("/admin/proof", form); r.Status != http.StatusSeeOther {
		t.Fatalf("untick: %d %s", r.Status, r.Body)
	}
	if st, _ := h.App.Proof.Settings(ctx); !slices.Equal(st.Products, []string{listed, late}) {
		t.Fatalf("after unticking the archived product: %v", st.Products)
	}
}

// A product id that names no product (only a crafted form sends one) is
// refused with an error that says so, not "choose at least one product",
// and nothing changes.
func TestProofAdminSaysWhenAChosenProductDoesNotExist(t *testing.T) {
	h := apptest.Start(t)
	_, adm := h.User(t, account.RoleAdmin, "admin@shop.test")
	p := newService(t, h, "posts", 25)
	for _, tt := range []struct{ lang, want string }{
		{"fr", "Un des produits choisis n’existe pas."},
		{"en", "One of the chosen products does not exist."},
	} {
		adm.PostForm("/lang", url.Values{"lang": {tt.lang}})
		form := proofSettings("2")
		form.Set("products", "some")
		form["product"] = []string{p.ID, "prd_01HZZZZZZZZZZZZZZZZZZZZZZZ"}
		r := adm.PostForm("/admin/proof", form)
		if r.Status != http.StatusUnprocessableEntity {
			t.Fatalf("unknown product (%s): %d", tt.lang, r.Status)
		}
		mustContain(t, r, `id="products-error"`, tt.want, `value="`+p.ID+`" checked aria-invalid="true"`)
		if st, err := h.App.Proof.Settings(context.Background()); err != nil || st.Enabled || len(st.Products) != 0 {
			t.Fatalf("a refused form changed the settings: %+v %v", st, err)
		}
	}
}

// A product past the first page of the catalog could not be chosen: the
// form listed the first 200 products and no more. The page now leads to
// the following ones, and a product ticked there is saved with those
// chosen on the first page.
func TestProofAdminReachesEveryProduct(t *testing.T) {
	h := apptest.Start(t)
	ctx := context.Background()
	_, adm := h.User(t, account.RoleAdmin, "admin@shop.test")
	adm.PostForm("/lang", url.Values{"lang": {"en"}})
	ids := manyServices(t, h, catalog.MaxListLimit+1)
	first, late := ids[0], ids[len(ids)-1]
	chooseProducts(t, h, first)

	page := adm.Get("/admin/proof")
	if strings.Contains(page.Body, `value="`+late+`"`) {
		t.Fatal("the first page lists the 201st product")
	}
	next := regexp.MustCompile(`href="(/admin/proof\?after=[^"]+)" id="proof-products-next">More products`).FindStringSubmatch(page.Body)
	if next == nil {
		t.Fatalf("no way to the products past the first %d:\n%s", catalog.MaxListLimit, page.Body)
	}
	page = adm.Get(html.UnescapeString(next[1]))
	mustContain(t, page, `value="`+late+`"`, `value="`+first+`" checked`, `id="proof-products-first"`)
	if strings.Contains(page.Body, `id="proof-products-next"`) {
		t.Fatal("the last page offers a next one")
	}
	form := proofFormOf(t, page)
	form.Set("k", "2")
	form.Add("product", late)
	if r := adm.PostForm("/admin/proof", form); r.Status != http.StatusSeeOther {
		t.Fatalf("save from the second page: %d %s", r.Status, r.Body)
	}
	if st, err := h.App.Proof.Settings(ctx); err != nil || !slices.Equal(st.Products, []string{first, late}) {
		t.Fatalf("saved %v, want %v: %v", st.Products, []string{first, late}, err)
	}
}

// Two admins with the settings open: the second save undid the first's
// unseen. It is now refused, in the admin's language, with the admin's
// choices kept; saving again from that page replaces the settings
// knowingly.
func TestProofAdminSavesDoNotUndoEachOther(t *testing.T) {
	h := apptest.Start(t)
	ctx := context.Background()
	_, a := h.User(t, account.RoleAdmin, "a@shop.test")
	_, b := h.User(t, account.RoleAdmin, "b@shop.test")
	for _, tt := range []struct{ lang, want string }{
		{"fr", "Un autre administrateur a enregistré ces réglages"},
		{"en", "Another admin saved these settings"},
	} {
		b.PostForm("/lang", url.Values{"lang": {tt.lang}})
		pageA, pageB := a.Get("/admin/proof"), b.Get("/admin/proof")
		formA := proofFormOf(t, pageA)
		formA.Set("k", "3")
		if r := a.PostForm("/admin/proof", formA); r.Status != http.StatusSeeOther {
			t.Fatalf("first admin: %d %s", r.Status, r.Body)
		}
		formB := proofFormOf(t, pageB)
		formB.Set("k", "5")
		r := b.PostForm("/admin/proof", formB)
		if r.Status != http.StatusConflict {
			t.Fatalf("second admin from a page opened before (%s): %d, want 409", tt.lang, r.Status)
		}
		mustContain(t, r, `id="form-error"`, tt.want, `id="proof-k" name="k" inputmode="numeric" required value="5"`)
		if st, _ := h.App.Proof.Settings(ctx); st.K != 3 {
			t.Fatalf("a refused save changed k to %d", st.K)
		}
		if r := b.PostForm("/admin/proof", proofFormOf(t, r)); r.Status != http.StatusSeeOther {
			t.Fatalf("saving again, knowingly: %d %s", r.Status, r.Body)
		}
		if st, _ := h.App.Proof.Settings(ctx); st.K != 5 {
			t.Fatalf("saved again: k %d, want 5", st.K)
		}
	}
}

// proofFormOf is the settings form as a browser would send page's back.
func proofFormOf(t *testing.T, page apptest.Response) url.Values {
	t.Helper()
	form := url.Values{}
	for _, m := range regexp.MustCompile(`<input (?:type="hidden" )?(?:id="[^"]*" )?name="([a-z_]+)"[^>]*?value="([^"]*)"`).FindAllStringSubmatch(page.Body, -1) {
		form.Set(m[1], html.UnescapeString(m[2]))
	}
	for _, m := range regexp.MustCompile(`<input type="(?:checkbox|radio)" name="([a-z_]+)" value="([^"]*)"[^>]* checked`).FindAllStringSubmatch(page.Body, -1) {
		form.Add(m[1], html.UnescapeString(m[2]))
	}
	form.Set("origins", html.UnescapeString(regexp.MustCompile(`(?s)name="origins"[^>]*>(.*?)</textarea>`).FindStringSubmatch(page.Body)[1]))
	if form.Get("k") == "" {
		t.Fatalf("no settings form on the page: %v", form)
	}
	return form
}

// manyServices adds n services to the catalog and returns their ids in
// catalog order.
func manyServices(t *testing.T, h *apptest.Harness, n int) []string {
	t.Helper()
	var ids []string
	for i := range n {
		ids = append(ids, newService(t, h, fmt.Sprintf("posts-%03d", i), 25).ID)
	}
	slices.Sort(ids)
	return ids
}

// chooseProducts saves the notices' settings as showing only these
// products.
func chooseProducts(t *testing.T, h *apptest.Harness, ids ...string) {
	t.Helper()
	ctx := context.Background()
	st, err := h.App.Proof.Settings(ctx)
	if err != nil {
		t.Fatal(err)
	}
	st.AllProducts, st.Products = false, ids
	if err := h.App.Proof.SaveSettings(ctx, st, adminActor); err != nil {
		t.Fatal(err)
	}
}
