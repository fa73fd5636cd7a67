package web_test

import (
	"context"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"comptoir/internal/account"
	"comptoir/internal/apptest"
	"comptoir/internal/orders"
)

// hostileInputs go into every text field of the main forms; none may come
// back unescaped on any page that shows it, and none may break anything.
var hostileInputs = []string{
	`<script>alert(1)</script>`,
	`"><img src=x onerror=alert(1)>`,
	`'; DROP TABLE users; --`,
	`" OR "1"="1`,
	`../../../../etc/passwd`,
	"Ana\r\nX-Injected: yes\r\n\r\n<b>body</b>",
	"{{.Secret}} ${7*7} %s%n \x00",
}

// unescaped reports the dangerous part of a payload found raw in a page.
func unescaped(body string) string {
	for _, raw := range []string{`<script>alert(1)</script>`, `<img src=x onerror`, `<b>body</b>`} {
		if strings.Contains(body, raw) {
			return raw
		}
	}
	return ""
}

var (
	ticketLink = regexp.MustCompile(`href="/support/tickets/([^"/]+)"`)
	claimLink  = regexp.MustCompile(`href="/claims/([^"/]+)"`)
)

func TestHostileInputIsEscapedEverywhere(t *testing.T) {
	h := apptest.Start(t)
	ctx := context.Background()
	_, agent := h.User(t, account.RoleAgent, "agent@example.fr")
	_, admin := h.User(t, account.RoleAdmin, "admin@example.fr")
	p := newService(t, h, "hostile", 25)
	for i, payload := range hostileInputs {
		t.Run(strconv.Itoa(i), func(t *testing.T) {
			seen := func(what string, status int, body string, hd http.Header) {
				t.Helper()
				if status >= 500 {
					t.Fatalf("%s: %d %s", what, status, body)
				}
				if raw := unescaped(body); raw != "" {
					t.Errorf("%s: %q unescaped in the page", what, raw)
				}
				if hd.Get("X-Injected") != "" {
					t.Errorf("%s: header injected", what)
				}
			}
			email := "h" + strconv.Itoa(i) + "@example.fr"
			// Sign-up: every text field.
			anon := h.NewClient(t)
			f := signupForm("s" + email)
			for _, k := range []string{"name", "region", "city"} {
				f.Set(k, payload)
			}
			r := anon.PostForm("/signup", f)
			seen("sign-up", r.Status, r.Body, r.Header)
			if r.Status == http.StatusSeeOther {
				a := anon.Get("/account")
				seen("account after sign-up", a.Status, a.Body, a.Header)
			}
			if r.Status == http.StatusSeeOther && !strings.ContainsAny(payload, "\x00\r") {
				if got, _ := h.App.Accounts.UserByEmail(ctx, "s"+email); got.Name != payload || got.City != payload {
					t.Errorf("stored as name %q city %q, sent %q", got.Name, got.City, payload)
				}
			}
			// Profile (language) and an API token's name, shown on the account page.
			u, c := h.User(t, account.RoleCustomer, email)
			r = c.PostForm("/account/profile", url.Values{"language": {payload}})
			seen("profile", r.Status, r.Body, r.Header)
			r = c.PostForm("/account/tokens", url.Values{"name": {payload}})
			seen("token", r.Status, r.Body, r.Header)
			a := c.Get("/account")
			seen("account", a.Status, a.Body, a.Header)
			// Contact (signed in) and a reply on the ticket.
			r = c.PostForm("/contact", url.Values{"name": {payload}, "email": {email}, "topic": {"question"}, "message": {payload}, "order_ref": {payload}})
			seen("contact", r.Status, r.Body, r.Header)
			list := c.Get("/support/tickets")
			seen("my tickets", list.Status, list.Body, list.Header)
			if m := ticketLink.FindStringSubmatch(list.Body); m != nil {
				r = c.PostForm("/support/tickets/"+m[1], url.Values{"text": {payload}})
				seen("ticket reply", r.Status, r.Body, r.Header)
				tp := c.Get("/support/tickets/" + m[1])
				seen("my ticket", tp.Status, tp.Body, tp.Header)
				ct := agent.Get("/console/tickets/" + m[1])
				seen("console ticket", ct.Status, ct.Body, ct.Header)
				if !strings.Contains(ct.Body, "alert(1)") && strings.Contains(payload, "alert(1)") {
					t.Errorf("the console ticket does not show the message at all")
				}
			} else if r.Status == http.StatusSeeOther {
				t.Errorf("no ticket listed after contact")
			}
			q := agent.Get("/console/tickets")
			seen("console queue", q.Status, q.Body, q.Header)
			// A claim on an order.
			credit(t, h, u, 10000)
			o, err := h.App.Orders.Place(ctx, orders.PlaceInput{CustomerID: u.ID, Lines: []orders.LineInput{{ProductID: p.ID, Quantity: 100}},
				Payment: orders.PayBalance, ImmediatePerformance: true, WithdrawalWaiver: true}, nil)
			if err != nil {
				t.Fatal(err)
			}
			r = c.PostForm("/orders/"+o.ID+"/claims", url.Values{"kind": {"non_delivery"}, "message": {payload}})
			seen("claim", r.Status, r.Body, r.Header)
			cl := c.Get("/claims")
			seen("my claims", cl.Status, cl.Body, cl.Header)
			if m := claimLink.FindStringSubmatch(cl.Body); m != nil {
				cp := c.Get("/claims/" + m[1])
				seen("my claim", cp.Status, cp.Body, cp.Header)
				cc := agent.Get("/console/claims/" + m[1])
				seen("console claim", cc.Status, cc.Body, cc.Header)
			}
			// Admin product: names and descriptions, shown in the shop.
			pf := url.Values{"slug": {"hostile-" + strconv.Itoa(i)}, "kind": {"service"}, "currency": {"EUR"}, "unit_price": {"1.00"},
				"min_quantity": {"1"}, "max_quantity": {"10"}, "processing_hours": {"24"},
				"name_fr": {payload}, "name_en": {payload}, "description_fr": {payload}, "description_en": {payload}}
			r = admin.PostForm("/admin/products", pf)
			seen("admin product", r.Status, r.Body, r.Header)
			for _, path := range []string{"/admin/products", "/shop", "/shop/hostile-" + strconv.Itoa(i), "/console/orders/" + o.ID, "/orders/" + o.ID} {
				who := admin
				if strings.HasPrefix(path, "/shop") || strings.HasPrefix(path, "/orders") {
					who = c
				}
				pg := who.Get(path)
				seen(path, pg.Status, pg.Body, pg.Header)
			}
			// SQL in query parameters of lists and searches.
			for _, path := range []string{"/shop?q=", "/console/tickets?q=", "/console/orders?q=", "/orders?after=", "/balance?after="} {
				who := agent
				if !strings.HasPrefix(path, "/console") {
					who = c
				}
				pg := who.Get(path + url.QueryEscape(payload))
				seen(path, pg.Status, pg.Body, pg.Header)
			}
		})
	}
}

// A NUL or invalid UTF-8 in a path's id or a query parameter names nothing;
// PostgreSQL refuses both in text, so wherever such a value reached SQL the
// answer was a 500 (and an error in the log) for anyone who typed it. Every
// GET route of both tables, each parameter filled with such text, as a
// customer and as an admin: never a 5xx, and /api/ answers stay JSON. The
// public forms that look up what the visitor typed (sign-in and reset by
// email, the cart by product id) say what they say of anything unknown.
func TestUnstorableTextInPathsQueriesAndLookUps(t *testing.T) {
	h := apptest.Start(t)
	_, customer := h.User(t, account.RoleCustomer, "ana@example.fr")
	_, admin := h.User(t, account.RoleAdmin, "admin@example.fr")
	pages, api := h.App.Web.Routes()
	param := regexp.MustCompile(`\{[^}]*\}`)
	for _, bad := range []string{"%00", "%FF"} {
		for _, rt := range append(pages, api...) {
			method, pattern, _ := strings.Cut(rt.Pattern, " ")
			if method != http.MethodGet || !strings.Contains(pattern, "{") || strings.HasSuffix(pattern, "{$}") {
				continue
			}
			path := param.ReplaceAllString(pattern, "x"+bad+"y")
			for _, c := range []*apptest.Client{customer, admin} {
				for _, target := range []string{path, strings.TrimSuffix(param.ReplaceAllString(pattern, "x"), "/") + "?after=a" + bad} {
					r := c.Get(target)
					if r.Status >= 500 {
						t.Errorf("GET %s: %d", target, r.Status)
					}
					if strings.HasPrefix(target, "/api/") && !strings.HasPrefix(r.Header.Get("Content-Type"), "application/json") {
						t.Errorf("GET %s: %d %s, not JSON", target, r.Status, r.Header.Get("Content-Type"))
					}
				}
			}
		}
		for _, list := range []string{"/orders", "/claims", "/subscriptions", "/support/tickets", "/console/tickets", "/api/v1/orders", "/api/v1/invoices", "/api/v1/tickets"} {
			if r := admin.Get(list + "?after=a" + bad); r.Status != http.StatusBadRequest {
				t.Errorf("GET %s?after=a%s: %d, want 400", list, bad, r.Status)
			}
		}
	}
	anon := h.NewClient(t)
	for _, email := range []string{"ana\x00@example.fr", "ana\xff@example.fr"} {
		if r := anon.PostForm("/signin", url.Values{"email": {email}, "password": {apptest.Password}}); r.Status != http.StatusUnauthorized {
			t.Errorf("sign-in as %q: %d", email, r.Status)
		}
		if r := anon.PostForm("/reset", url.Values{"email": {email}}); r.Status != http.StatusSeeOther {
			t.Errorf("reset for %q: %d", email, r.Status)
		}
		if r := anon.PostForm("/cart", url.Values{"product_id": {"prd_" + email}, "quantity": {"1"}}); r.Status != http.StatusNotFound {
			t.Errorf("cart with product %q: %d", email, r.Status)
		}
	}
}
