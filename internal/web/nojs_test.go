package web_test

import (
	"html"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"comptoir/internal/account"
	"comptoir/internal/apptest"
)

// The usability walk of session 19: the store used as a customer and an
// agent would, without JavaScript, through its HTML alone.

var langNext = regexp.MustCompile(`<form method="post" action="/lang"[^>]*>\s*<input type="hidden" name="next" value="([^"]*)">`)

// switchLanguage presses the language switcher of page r, follows where it
// leads and returns that page with the path it was at.
func switchLanguage(t *testing.T, c *apptest.Client, r apptest.Response) (string, apptest.Response) {
	t.Helper()
	m := langNext.FindStringSubmatch(r.Body)
	if m == nil {
		t.Fatalf("no language switcher on the page: %.300s", r.Body)
	}
	next := html.UnescapeString(m[1])
	sw := c.PostForm("/lang", url.Values{"lang": {"en"}, "next": {next}})
	if sw.Status != http.StatusSeeOther {
		t.Fatalf("language switch: %d", sw.Status)
	}
	return sw.Location, c.Get(sw.Location)
}

// A refused form is shown again at its action's address (POST
// /orders/{id}/claims), which is no page: the language switcher on it sent
// the visitor back there with a GET, to "Page not found", and what they
// were doing was gone. It now comes back to the page the form is on.
func TestLanguageSwitchOnARefusedFormComesBackToItsPage(t *testing.T) {
	h := apptest.Start(t)
	p := newService(t, h, "posts", 25)
	plan := newPlan(t, h, "pro", 990, 0)
	u, c := h.User(t, account.RoleCustomer, "ana@example.fr")
	_, agc := h.User(t, account.RoleAgent, "agent@shop.test")
	o := buyAndDeliver(t, h, u, 40)
	c.PostForm("/cart", url.Values{"product_id": {p.ID}, "quantity": {"100"}})
	cart := c.Get("/cart")
	key := checkoutKey.FindStringSubmatch(cart.Body)[1]
	claim := c.PostForm("/orders/"+o.ID+"/claims", url.Values{"kind": {"not_as_described"}, "message": {"Not what the page said."}})
	claimID := strings.TrimPrefix(claim.Location, "/claims/")

	for _, tt := range []struct {
		what   string
		c      *apptest.Client
		post   func() apptest.Response
		page   string
		marker string // on the page come back to
	}{
		{"checkout without the policy ticked", c, func() apptest.Response {
			return c.PostForm("/checkout", url.Values{"checkout_key": {key}, "payment": {"balance"}})
		}, "/cart", `id="checkout"`},
		{"a claim of no known kind", c, func() apptest.Response {
			return c.PostForm("/orders/"+o.ID+"/claims", url.Values{"kind": {"nonsense"}, "message": {"typed"}})
		}, "/orders/" + o.ID, `id="claim-submit"`},
		{"a password change left empty", c, func() apptest.Response {
			return c.PostForm("/account/password", url.Values{})
		}, "/account", `action="/account/password"`},
		{"a quantity below the minimum", c, func() apptest.Response {
			return c.PostForm("/cart", url.Values{"product_id": {p.ID}, "quantity": {"1"}})
		}, "/shop/posts", `id="add-to-cart"`},
		{"a subscription without the policy ticked", c, func() apptest.Response {
			return c.PostForm("/subscriptions", url.Values{"plan_id": {plan.ID}, "payment": {"balance"}})
		}, "/shop/pro", `id="subscribe-submit"`},
		{"an agent's refund amount that is no amount", agc, func() apptest.Response {
			return agc.PostForm("/console/claims/"+claimID+"/decision", url.Values{"outcome": {"refund"}, "amount": {"douze"}, "currency": {"EUR"}})
		}, "/console/claims/" + claimID, `action="/console/claims/` + claimID + `/decision"`},
		{"a delivery count that is no number", agc, func() apptest.Response {
			return agc.PostForm("/console/orders/"+o.ID+"/delivery", url.Values{"line_id": {o.Lines[0].ID}, "delivered": {"many"}})
		}, "/console/orders/" + o.ID, `action="/console/orders/` + o.ID + `/delivery"`},
	} {
		r := tt.post()
		if r.Status < 400 {
			t.Fatalf("%s: %d, want it refused", tt.what, r.Status)
		}
		at, page := switchLanguage(t, tt.c, r)
		if at != tt.page || page.Status != http.StatusOK || !strings.Contains(page.Body, tt.marker) {
			t.Errorf("%s, then the language switched: %s answers %d, want %s (200, the form's page)", tt.what, at, page.Status, tt.page)
		}
		tt.c.PostForm("/lang", url.Values{"lang": {"fr"}})
	}
}

// A form sent once the session had expired sent the visitor to sign in and
// then back to the form's action with a GET: "Page not found" after
// signing in, on the way to filing a claim. They now come back to the page
// the form is on, where they can send it again.
func TestFormSentWithAnExpiredSessionComesBackToItsPage(t *testing.T) {
	h := apptest.Start(t)
	u, c := h.User(t, account.RoleCustomer, "ana@example.fr")
	c.PostForm("/lang", url.Values{"lang": {"en"}})
	o := buyAndDeliver(t, h, u, 40)
	h.Clock.Advance(31 * 24 * time.Hour)

	for _, tt := range []struct{ action, page, marker string }{
		{"/orders/" + o.ID + "/claims", "/orders/" + o.ID, `id="claim-submit"`},
		{"/checkout", "/cart", `<h1>Your cart</h1>`},
		{"/account/password", "/account", `action="/account/password"`},
	} {
		r := c.PostForm(tt.action, url.Values{"kind": {"dissatisfied"}, "message": {"Still nothing."}})
		if r.Status != http.StatusSeeOther || !strings.HasPrefix(r.Location, "/signin?") {
			t.Fatalf("%s with an expired session: %d %q", tt.action, r.Status, r.Location)
		}
		signin := c.Get(r.Location)
		mustContain(t, signin, "Your session has expired")
		q, _ := url.ParseQuery(strings.SplitN(r.Location, "?", 2)[1])
		in := c.PostForm("/signin", url.Values{"email": {"ana@example.fr"}, "password": {apptest.Password}, "next": {q.Get("next")}})
		if in.Status != http.StatusSeeOther || in.Location != tt.page {
			t.Errorf("%s: signed in again, sent to %q, want %q", tt.action, in.Location, tt.page)
		}
		if page := c.Get(in.Location); page.Status != http.StatusOK || !strings.Contains(page.Body, tt.marker) {
			t.Errorf("%s: signed in again, %s answers %d", tt.action, in.Location, page.Status)
		}
		// The session expires again for the next form.
		h.Clock.Advance(31 * 24 * time.Hour)
	}
}

// A password change with the new password left empty said "The field
// auth.new_password is required": its label was looked up under a key
// that does not exist. It names the field as its label does, in both
// languages, next to it.
func TestPasswordChangeNamesItsFieldsInThePageLanguage(t *testing.T) {
	h := apptest.Start(t)
	ct := newCrawlTexts(h.App.Messages)
	_, c := h.User(t, account.RoleCustomer, "ana@example.fr")
	for lang, want := range map[string]string{"en": "New password is required.", "fr": "Le champ «\u00a0Nouveau mot de passe\u00a0» est obligatoire."} {
		c.PostForm("/lang", url.Values{"lang": {lang}})
		r := c.PostForm("/account/password", url.Values{"current_password": {apptest.Password}})
		if r.Status != http.StatusUnprocessableEntity {
			t.Fatalf("%s: an empty new password: %d", lang, r.Status)
		}
		mustContain(t, r, `<p class="error" id="new_password-error">`+html.EscapeString(want)+`</p>`)
		for _, p := range ct.pageProblems(r.Body, lang) {
			t.Errorf("%s: %s", lang, p)
		}
	}
}

// A reply refused (empty, too long), the customer's from their portal or
// the agent's from the console, came back with its reason as a notice at
// the top of the page, far from the box to correct, the box not marked,
// and the page's title saying nothing was wrong. The reason now stands
// under the box, which is marked invalid and described by it.
func TestRefusedReplyNamesItsReasonBesideTheBox(t *testing.T) {
	h := apptest.Start(t)
	_, customer := h.User(t, account.RoleCustomer, "ben@example.fr")
	_, agent := h.User(t, account.RoleAgent, "agent@shop.test")
	customer.PostForm("/lang", url.Values{"lang": {"en"}})
	agent.PostForm("/lang", url.Values{"lang": {"en"}})
	customer.PostForm("/contact", url.Values{"name": {"Ben"}, "email": {"ben@example.fr"}, "topic": {"question"}, "message": {"Hi"}})
	tk := ticketOf(t, h, "ben@example.fr")

	for _, tt := range []struct {
		what string
		send func() apptest.Response
	}{
		{"the customer's blank reply", func() apptest.Response { return postReply(customer, h, "/support/tickets/"+tk.ID, "   ") }},
		{"the agent's blank reply", func() apptest.Response {
			return agent.PostForm("/console/tickets/"+tk.ID, url.Values{"action": {"reply"}, "text": {"  "}})
		}},
	} {
		r := tt.send()
		if r.Status != http.StatusUnprocessableEntity {
			t.Fatalf("%s: %d", tt.what, r.Status)
		}
		mustMarkRefused(t, tt.what, r.Body, map[string]string{"text": "text"})
		box := strings.Index(r.Body, `name="text"`)
		reason := strings.Index(r.Body, `<p class="error" role="alert" id="text-error">Please write a message.</p>`)
		if box < 0 || reason < box || strings.Contains(r.Body[box:reason], "</form>") {
			t.Errorf("%s: the reason is not under the box", tt.what)
		}
		mustContain(t, r, "<title>Error: ")
	}
}

// An agent turning a customer's message into a claim about an order id
// that names none of this customer's orders was told "This claim does not
// exist", at the top of the ticket they were sent back to, the id they
// typed gone. The ticket now comes back with the reason under the
// reference, what they typed and chose kept; likewise for a subscription.
func TestClaimFromAMessageNamesTheWrongReference(t *testing.T) {
	h := apptest.Start(t)
	u, customer := h.User(t, account.RoleCustomer, "ben@example.fr")
	_, agent := h.User(t, account.RoleAgent, "agent@shop.test")
	agent.PostForm("/lang", url.Values{"lang": {"en"}})
	o := buyAndDeliver(t, h, u, 40)
	customer.PostForm("/contact", url.Values{"name": {"Ben"}, "email": {"ben@example.fr"}, "topic": {"order"}, "message": {"Not what I ordered."}})
	tk := ticketOf(t, h, "ben@example.fr")
	page := agent.Get("/console/tickets/" + tk.ID)
	msg := regexp.MustCompile(`name="message_id" value="([^"]+)"`).FindStringSubmatch(page.Body)[1]
	key := regexp.MustCompile(`name="claim_key" value="([^"]+)"`).FindStringSubmatch(page.Body)[1]

	r := agent.PostForm("/console/tickets/"+tk.ID+"/claim", url.Values{"message_id": {msg}, "claim_key": {key}, "kind": {"dissatisfied"}, "order_id": {"ord_typo"}})
	if r.Status != http.StatusNotFound {
		t.Fatalf("a claim on an order id that names no order: %d %q", r.Status, r.Location)
	}
	mustContain(t, r, `<p class="error" role="alert" id="order_id-error">This order or order line does not exist.</p>`,
		`value="ord_typo"`, `<option value="dissatisfied" selected>`)
	mustMarkRefused(t, "order id", r.Body, map[string]string{"order_id": "order_id"})

	r = agent.PostForm("/console/tickets/"+tk.ID+"/claim", url.Values{"message_id": {msg}, "claim_key": {key}, "kind": {"subscription_cancel"},
		"subscription_id": {"sub_typo"}, "choice": {"now"}})
	if r.Status != http.StatusNotFound {
		t.Fatalf("a claim on a subscription id that names none: %d %q", r.Status, r.Location)
	}
	mustContain(t, r, `<p class="error" role="alert" id="subscription_id-error">This subscription does not exist.</p>`,
		`value="sub_typo"`, `<option value="now" selected>`)
	mustMarkRefused(t, "subscription id", r.Body, map[string]string{"subscription_id": "subscription_id"})
	if n := countRows(t, h, "claims"); n != 0 {
		t.Fatalf("%d claims filed by refused forms", n)
	}

	// Corrected, from the page shown: the claim is filed.
	key = regexp.MustCompile(`name="claim_key" value="([^"]+)"`).FindStringSubmatch(r.Body)[1]
	r = agent.PostForm("/console/tickets/"+tk.ID+"/claim", url.Values{"message_id": {msg}, "claim_key": {key}, "kind": {"dissatisfied"}, "order_id": {o.ID}})
	if r.Status != http.StatusSeeOther || !strings.HasPrefix(r.Location, "/console/claims/") {
		t.Fatalf("the corrected claim: %d %q", r.Status, r.Location)
	}
}

var tickedBox = regexp.MustCompile(`<input type="checkbox" name="([a-z_]+)"[^>]*>`)

// ticked lists the checkboxes of a page that are ticked.
func ticked(body string) map[string]bool {
	out := map[string]bool{}
	for _, m := range tickedBox.FindAllStringSubmatch(body, -1) {
		if strings.Contains(m[0], " checked") {
			out[m[1]] = true
		}
	}
	return out
}

// A checkout (or a subscription) refused for one box left unticked came
// back with every box unticked: the buyer who ticked the two consent boxes
// and forgot the policy had to tick all three again, and without script
// nothing said the others had been cleared. What they ticked is kept; the
// page shown to a visitor who has not yet sent it has every box unticked,
// and a cart that changed meanwhile asks for the consent boxes again.
func TestRefusedCheckoutKeepsWhatWasTicked(t *testing.T) {
	h := apptest.Start(t)
	p := newService(t, h, "posts", 25)
	plan := newPlan(t, h, "pro", 990, 0)
	u, c := h.User(t, account.RoleCustomer, "ana@example.fr")
	credit(t, h, u, 10000)
	c.PostForm("/lang", url.Values{"lang": {"en"}})
	c.PostForm("/cart", url.Values{"product_id": {p.ID}, "quantity": {"100"}})
	cart := c.Get("/cart")
	if got := ticked(cart.Body); len(got) != 0 {
		t.Fatalf("the cart page has boxes ticked before the buyer did: %v", got)
	}
	form := checkoutForm(t, cart)
	want := func(what string, r apptest.Response, boxes ...string) {
		t.Helper()
		if r.Status != http.StatusUnprocessableEntity {
			t.Fatalf("%s: %d, want 422", what, r.Status)
		}
		got := ticked(r.Body)
		for _, b := range boxes {
			if !got[b] {
				t.Errorf("%s: %s was ticked, shown unticked", what, b)
			}
			delete(got, b)
		}
		for b := range got {
			t.Errorf("%s: %s shown ticked", what, b)
		}
	}

	noPolicy := cloneForm(form)
	noPolicy.Del("accept_policy")
	want("checkout without the policy", c.PostForm("/checkout", noPolicy), "immediate_performance", "withdrawal_waiver")
	oneBox := cloneForm(form)
	oneBox.Del("withdrawal_waiver")
	want("checkout with one consent box", c.PostForm("/checkout", oneBox), "immediate_performance", "accept_policy")

	// Another product added in another tab: the cart is not the one the
	// boxes were ticked for.
	other := newService(t, h, "reels", 10)
	c.PostForm("/cart", url.Values{"product_id": {other.ID}, "quantity": {"100"}})
	want("checkout of a cart changed meanwhile", c.PostForm("/checkout", form), "accept_policy")
	if balanceOf(t, h, u) != 10000 {
		t.Fatal("a refused checkout charged the balance")
	}

	sub := url.Values{"plan_id": {plan.ID}, "payment": {"balance"}, "immediate_performance": {"yes"}, "withdrawal_waiver": {"yes"}}
	want("subscription without the policy", c.PostForm("/subscriptions", sub), "immediate_performance", "withdrawal_waiver")
	if got := ticked(c.Get("/shop/pro").Body); len(got) != 0 {
		t.Fatalf("the plan's page has boxes ticked before the buyer did: %v", got)
	}
}

func cloneForm(f url.Values) url.Values {
	out := url.Values{}
	for k, v := range f {
		out[k] = append([]string(nil), v...)
	}
	return out
}

// A form refused as sent from another site (a stale tab behind a proxy
// that changed the host, a privacy tool rewriting Origin) was answered in
// French whatever the visitor's language: the refusal runs before the
// visitor is identified, and found no language but the default.
func TestCrossOriginRefusalSpeaksTheVisitorsLanguage(t *testing.T) {
	h := apptest.Start(t)
	ct := newCrawlTexts(h.App.Messages)
	crossSite := http.Header{"Sec-Fetch-Site": {"cross-site"}, "Origin": {"https://elsewhere.example"}}
	guest := h.NewClient(t)
	guest.Lang = "en"
	_, customer := h.User(t, account.RoleCustomer, "ana@example.fr")
	customer.PostForm("/lang", url.Values{"lang": {"en"}}) // saved in the account; the browser asks for French
	customer.Lang = "fr"
	for what, c := range map[string]*apptest.Client{"a visitor whose browser asks for English": guest, "a customer who chose English": customer} {
		r := c.Send(http.MethodPost, "/contact", "application/x-www-form-urlencoded", strings.NewReader("name=Ana&message=Hello"), crossSite)
		if r.Status != http.StatusForbidden {
			t.Fatalf("%s: a cross-site form: %d", what, r.Status)
		}
		mustContain(t, r, `<html lang="en">`, "This form was refused because it was sent from another site.")
		for _, p := range ct.pageProblems(r.Body, "en") {
			t.Errorf("%s: %s", what, p)
		}
	}
}

// An agent's decision refused for one of its fields (a refusal without
// its reason, a refund without its amount, an amount with a refusal) said
// only "Some details of the claim are not valid." above the form: which
// field, and what to do, the agent had to guess. The reason now stands
// under the field, in the agent's language, the form as they left it.
func TestRefusedDecisionNamesItsField(t *testing.T) {
	h := apptest.Start(t)
	ct := newCrawlTexts(h.App.Messages)
	a, ac := h.User(t, account.RoleCustomer, "ana@example.fr")
	_, agc := h.User(t, account.RoleAgent, "agent@shop.test")
	o := buyAndDeliver(t, h, a, 40)
	claim := ac.PostForm("/orders/"+o.ID+"/claims", url.Values{"kind": {"not_as_described"}, "message": {"Not what the page said."}})
	claimID := strings.TrimPrefix(claim.Location, "/claims/")
	before, _ := h.App.Claims.Get(t.Context(), claimID)
	for _, lang := range []string{"en", "fr"} {
		agc.PostForm("/lang", url.Values{"lang": {lang}})
		m := h.App.Messages
		for _, tt := range []struct {
			what  string
			form  url.Values
			field string
			key   string
		}{
			{"a refusal without its reason", url.Values{"outcome": {"refused"}, "note": {"Checked the record."}}, "reason_code", "claim.error.reason_required"},
			{"a refund without its amount", url.Values{"outcome": {"refund"}, "note": {"Goodwill."}}, "amount", "claim.error.amount_invalid"},
			{"a refusal with an amount", url.Values{"outcome": {"refused"}, "reason_code": {"expectation_only"}, "amount": {"3"}}, "amount", "claim.error.amount_not_applicable"},
			{"a note too long", url.Values{"outcome": {"refused"}, "reason_code": {"expectation_only"}, "note": {strings.Repeat("n", 5001)}}, "note", "claim.error.note_too_long"},
		} {
			r := agc.PostForm("/console/claims/"+claimID+"/decision", tt.form)
			if r.Status != http.StatusUnprocessableEntity {
				t.Fatalf("%s %s: %d", lang, tt.what, r.Status)
			}
			mustContain(t, r, `id="`+tt.field+`-error">`+html.EscapeString(m.T(lang, tt.key))+`</p>`)
			mustMarkRefused(t, lang+" "+tt.what, r.Body, map[string]string{tt.field: tt.field})
			if strings.Contains(r.Body, `id="decide-error"`) {
				t.Errorf("%s %s: still the form's generic reason", lang, tt.what)
			}
			if note := tt.form.Get("note"); note != "" && !strings.Contains(r.Body, ">"+note+"</textarea>") {
				t.Errorf("%s %s: the note was lost", lang, tt.what)
			}
			for _, p := range ct.pageProblems(r.Body, lang) {
				t.Errorf("%s %s: %s", lang, tt.what, p)
			}
		}
	}
	if c, _ := h.App.Claims.Get(t.Context(), claimID); c.Revision != before.Revision || c.Decision.Outcome != before.Decision.Outcome {
		t.Fatalf("a refused decision was recorded: %s (revision %d, was %d)", c.Decision.Outcome, c.Revision, before.Revision)
	}
}

// The sign-up form sent twice (a double click without script, or back and
// send again) made the account and signed the visitor in, then answered
// the repeat "An account already exists for this email address", to the
// visitor now signed in to it. The repeat goes where the first answer
// went; someone else's address is still refused.
func TestSignUpSentTwiceGoesWhereTheFirstWent(t *testing.T) {
	h := apptest.Start(t)
	c := h.NewClient(t)
	c.Lang = "en"
	f := signupForm("dbl@example.fr")
	f.Set("next", "/cart")
	first := c.PostForm("/signup", f)
	if first.Status != http.StatusSeeOther || first.Location != "/cart" {
		t.Fatalf("sign-up: %d %q", first.Status, first.Location)
	}
	again := c.PostForm("/signup", f)
	if again.Status != http.StatusSeeOther || again.Location != "/cart" {
		t.Fatalf("the same sign-up again: %d %q, want 303 to /cart", again.Status, again.Location)
	}
	if n := countRows(t, h, "users"); n != 1 {
		t.Fatalf("%d accounts", n)
	}
	// Signed in as one account, another's address is still taken.
	h.User(t, account.RoleCustomer, "ben@example.fr")
	other := signupForm("ben@example.fr")
	if r := c.PostForm("/signup", other); r.Status != http.StatusConflict {
		t.Fatalf("someone else's address: %d", r.Status)
	}
}

// A password change sent twice (a double click without script, or back
// and send again) changed the password, then answered the repeat "The
// current password is incorrect", counted as a failed sign-in: the
// customer believed the change had failed. The repeat answers as the first
// did; a wrong current password is still refused and counted.
func TestPasswordChangeSentTwiceSaysItIsChanged(t *testing.T) {
	h := apptest.Start(t)
	_, c := h.User(t, account.RoleCustomer, "ana@example.fr")
	c.PostForm("/lang", url.Values{"lang": {"en"}})
	f := url.Values{"current_password": {apptest.Password}, "new_password": {"another good password"}, "password_confirm": {"another good password"}}
	if r := c.PostForm("/account/password", f); r.Status != http.StatusSeeOther || r.Location != "/account" {
		t.Fatalf("change: %d %q", r.Status, r.Location)
	}
	c.Get("/account") // takes the notice
	r := c.PostForm("/account/password", f)
	if r.Status != http.StatusSeeOther || r.Location != "/account" {
		t.Fatalf("the same change again: %d %q, want 303 to /account", r.Status, r.Location)
	}
	mustContain(t, c.Get("/account"), "Your password has been changed")
	wrong := url.Values{"current_password": {"not the password"}, "new_password": {"a third good password"}, "password_confirm": {"a third good password"}}
	if r := c.PostForm("/account/password", wrong); r.Status != http.StatusUnprocessableEntity || !strings.Contains(r.Body, "The current password is incorrect.") {
		t.Fatalf("a wrong current password: %d", r.Status)
	}
	if _, err := h.App.Accounts.Authenticate(t.Context(), "ana@example.fr", "another good password"); err != nil {
		t.Fatalf("the password in force: %v", err)
	}
}

// A product added to a cart already holding the most products a cart can
// (20) was left out, and the cart shown as if it had been added: the buyer
// paid for the cart without it, unwarned. The product page comes back
// saying so, with the way to the cart; a product no longer for sale, which
// the cart page does not show, makes room first.
func TestAddingToAFullCartSaysSo(t *testing.T) {
	h := apptest.Start(t)
	ct := newCrawlTexts(h.App.Messages)
	c := h.NewClient(t)
	c.Lang = "en"
	var ids []string
	for i := range 21 {
		ids = append(ids, newService(t, h, "s"+strconv.Itoa(i), 25).ID)
	}
	for _, id := range ids[:20] {
		if r := c.PostForm("/cart", url.Values{"product_id": {id}, "quantity": {"10"}}); r.Status != http.StatusSeeOther {
			t.Fatalf("add: %d", r.Status)
		}
	}
	cartLines := func() int { return strings.Count(c.Get("/cart").Body, `action="/cart/remove"`) }
	r := c.PostForm("/cart", url.Values{"product_id": {ids[20]}, "quantity": {"10"}})
	if r.Status != http.StatusConflict {
		t.Fatalf("the 21st product: %d %q, want 409 and the product page", r.Status, r.Location)
	}
	mustContain(t, r, `id="cart-error">Your cart already holds 20 products`, `<a href="/cart">`)
	for _, p := range ct.pageProblems(r.Body, "en") {
		t.Error(p)
	}
	if n := cartLines(); n != 20 {
		t.Fatalf("the cart holds %d lines", n)
	}
	if err := h.App.Catalog.Archive(t.Context(), adminActor, ids[3]); err != nil {
		t.Fatal(err)
	}
	if r := c.PostForm("/cart", url.Values{"product_id": {ids[20]}, "quantity": {"10"}}); r.Status != http.StatusSeeOther {
		t.Fatalf("the 21st product once another is archived: %d", r.Status)
	}
	if cart := c.Get("/cart"); !strings.Contains(cart.Body, "/shop/s20") || strings.Count(cart.Body, `action="/cart/remove"`) != 20 {
		t.Fatalf("the cart after making room: %d lines", strings.Count(cart.Body, `action="/cart/remove"`))
	}
}

// Without script, picking a canned reply was a separate GET form: the page
// came back with the canned reply in the box and what the agent had
// already written there gone. The picker is now part of the reply form,
// and "Insert" brings the page back with the canned reply added after the
// agent's words, as the script does in place; nothing is sent or stored.
func TestCannedReplyWithoutScriptKeepsWhatWasWritten(t *testing.T) {
	h := apptest.Start(t)
	en := h.NewClient(t)
	en.Lang = "en"
	en.PostForm("/contact", contactFields("Ana", "ana@example.org", "Where is my order?"))
	confirmContact(t, h, "ana@example.org") // named once the guest confirmed it
	tk := onlyTicket(t, h)
	_, agent := h.User(t, account.RoleAgent, "agent@shop.test")
	page := agent.Get("/console/tickets/" + tk.ID)
	form := regexp.MustCompile(`(?s)<form method="post" action="/console/tickets/` + tk.ID + `">(.*?)</form>`).FindStringSubmatch(page.Body)
	if form == nil || !strings.Contains(form[1], `name="canned"`) || !strings.Contains(form[1], `id="canned-insert"`) || !strings.Contains(form[1], `name="text"`) {
		t.Fatal("the canned reply picker is not part of the reply form")
	}
	in, out := ticketMessages(t, h, tk.ID)
	r := agent.PostForm("/console/tickets/"+tk.ID, url.Values{"action": {"insert"}, "canned": {cannedDelayed}, "text": {"Dear Ana,\nthank you for your patience.\n"}})
	if r.Status != http.StatusOK {
		t.Fatalf("insert: %d %q", r.Status, r.Location)
	}
	draft := textarea(t, r.Body)
	if !strings.HasPrefix(draft, "Dear Ana,\nthank you for your patience.\n\nHello Ana,") || !strings.Contains(draft, "("+tk.Reference+")") {
		t.Fatalf("the reply box after inserting: %q", draft)
	}
	if !regexp.MustCompile(`value="` + cannedDelayed + `"[^>]* selected>`).MatchString(r.Body) {
		t.Error("the picker does not show the canned reply picked")
	}
	if in2, out2 := ticketMessages(t, h, tk.ID); in2 != in || out2 != out {
		t.Fatalf("inserting a canned reply stored messages: %d/%d, was %d/%d", in2, out2, in, out)
	}
	// An empty box takes the canned reply alone.
	r = agent.PostForm("/console/tickets/"+tk.ID, url.Values{"action": {"insert"}, "canned": {cannedDelayed}, "text": {""}})
	if draft := textarea(t, r.Body); !strings.HasPrefix(draft, "Hello Ana,") {
		t.Fatalf("the reply box after inserting into an empty one: %q", draft)
	}
}

// A form refused before its handler (sent from another site, too large)
// answered with an error page whose only way on was the home page; the
// 403 said "Reload the page and try again", and reloading sent the refused
// form again. The page now leads back to the form's page as well.
func TestRefusedFormErrorLeadsBackToTheForm(t *testing.T) {
	h := apptest.Start(t)
	u, c := h.User(t, account.RoleCustomer, "ana@example.fr")
	c.PostForm("/lang", url.Values{"lang": {"en"}})
	o := buyAndDeliver(t, h, u, 40)
	crossSite := http.Header{"Sec-Fetch-Site": {"cross-site"}, "Origin": {"https://elsewhere.example"}}
	for _, tt := range []struct {
		what, path, back string
		status           int
		send             func(path string) apptest.Response
	}{
		{"a claim sent from another site", "/orders/" + o.ID + "/claims", "/orders/" + o.ID, http.StatusForbidden, func(path string) apptest.Response {
			return c.Send(http.MethodPost, path, "application/x-www-form-urlencoded", strings.NewReader("kind=dissatisfied"), crossSite)
		}},
		{"a password change too large", "/account/password", "/account", http.StatusRequestEntityTooLarge, func(path string) apptest.Response {
			return c.PostForm(path, url.Values{"new_password": {strings.Repeat("x", 2<<20)}})
		}},
	} {
		r := tt.send(tt.path)
		if r.Status != tt.status {
			t.Fatalf("%s: %d, want %d", tt.what, r.Status, tt.status)
		}
		mustContain(t, r, `<a href="`+tt.back+`" id="error-back">Back to the form</a>`)
		if back := c.Get(tt.back); back.Status != http.StatusOK {
			t.Errorf("%s: back to %s: %d", tt.what, tt.back, back.Status)
		}
	}
	// A page asked for with a GET needs no way back to a form.
	if r := c.Get("/orders/ord_nothing"); strings.Contains(r.Body, `id="error-back"`) {
		t.Error("a GET's error page offers a way back to a form")
	}
}

// A balance too low for the cart was said at the top of the page, away
// from the payment choice, with no way to add money: the buyer had to find
// the balance page alone. It is now said beside the choice, marked on the
// balance option, with a link to top up where card payments can do it (a
// store without them has no top-up to offer). With card payment on, the
// cart closes a short balance before (TestCheckoutClosesTheShortBalance-
// WithCardOn): a form from a page shown while the balance covered the
// cart is refused all the same, the top-up link beside the closed choice.
func TestBalanceTooLowIsSaidBesideThePaymentWithAWayToTopUp(t *testing.T) {
	for _, withCard := range []bool{false, true} {
		t.Run(map[bool]string{false: "without_card", true: "with_card"}[withCard], func(t *testing.T) {
			var h *apptest.Harness
			if withCard {
				h = startWithStripe(t)
			} else {
				h = apptest.Start(t)
			}
			p := newService(t, h, "posts", 25)
			u, c := h.User(t, account.RoleCustomer, "ana@example.fr")
			credit(t, h, u, 500)
			c.PostForm("/lang", url.Values{"lang": {"fr"}})
			c.PostForm("/cart", url.Values{"product_id": {p.ID}, "quantity": {"100"}})
			r := c.PostForm("/checkout", checkoutForm(t, c.Get("/cart")))
			if r.Status != http.StatusUnprocessableEntity {
				t.Fatalf("checkout beyond the balance: %d, want 422", r.Status)
			}
			msg := h.App.Messages.T("fr", "order.error.insufficient_balance")
			if !strings.Contains(r.Body, `id="payment-error">`+html.EscapeString(msg)) {
				t.Errorf("the reason is not beside the payment choice:\n%s", r.Body)
			}
			marked := `id="pay-balance" aria-invalid="true" aria-describedby="payment-error"`
			if withCard {
				marked = `id="pay-balance" aria-invalid="true" aria-describedby="pay-balance-short payment-error" disabled`
			}
			if !strings.Contains(r.Body, marked) {
				t.Errorf("the balance option is not marked as refused")
			}
			if got := strings.Count(r.Body, `<a href="/balance" id="pay`); got != map[bool]int{false: 0, true: 1}[withCard] {
				t.Errorf("%d top-up links shown, want %v", got, withCard)
			}
			if balanceOf(t, h, u) != 500 {
				t.Error("the refused checkout charged the balance")
			}
		})
	}
}
