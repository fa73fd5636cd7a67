package web_test

import (
	"context"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"comptoir/internal/account"
	"comptoir/internal/apptest"
	"comptoir/internal/browsertest"
)

// sidewaysOverflow lists what sticks out past the right edge of the
// window, outermost elements only, as "tag#id.class right-edge"; empty
// when the page fits. A page wider than the phone's screen scrolls
// sideways, and what lies past the edge (a footer link, a table's last
// column with its button) is easily never seen.
const sidewaysOverflow = `(() => {
	const w = document.documentElement.clientWidth, out = [];
	const past = e => e.getBoundingClientRect().right > w + 1;
	const scrolls = e => getComputedStyle(e).overflowX !== 'visible';
	for (const e of document.querySelectorAll('body *')) {
		if (!past(e) || past(e.parentElement)) continue;
		let inside = false;
		for (let a = e.parentElement; a && a !== document.body; a = a.parentElement) if (scrolls(a)) { inside = true; break; }
		if (!inside) out.push(e.tagName.toLowerCase() + '#' + e.id + '.' + e.className + ' ' + Math.round(e.getBoundingClientRect().right));
	}
	if (out.length === 0 && document.documentElement.scrollWidth > w + 1) out.push('html ' + document.documentElement.scrollWidth);
	return out;
})()`

// pageProblems lists what a screen reader or keyboard user would trip
// on: a page without exactly one h1, an id used twice (a label's for= then
// names the wrong field), a form field or button with no name to read
// out, an image without alt text.
const pageProblems = `(() => {
	const out = [], seen = new Map();
	const h1 = document.querySelectorAll('h1').length;
	if (h1 !== 1) out.push(h1 + ' h1');
	for (const e of document.querySelectorAll('[id]')) seen.set(e.id, (seen.get(e.id) || 0) + 1);
	for (const [id, n] of seen) if (n > 1) out.push('id ' + id + ' used ' + n + ' times');
	const named = e => (e.labels && e.labels.length > 0) || e.getAttribute('aria-label') || e.getAttribute('aria-labelledby') || e.title;
	for (const e of document.querySelectorAll('input:not([type=hidden]):not([type=submit]):not([type=button]), select, textarea'))
		if (!named(e)) out.push(e.tagName.toLowerCase() + ' ' + (e.name || e.id) + ' has no label');
	for (const e of document.querySelectorAll('button'))
		if (!e.innerText.trim() && !e.getAttribute('aria-label')) out.push('button ' + (e.name || e.id) + ' has no text');
	for (const e of document.querySelectorAll('img:not([alt])')) out.push('img ' + e.src + ' has no alt');
	return out;
})()`

// On a phone (390 CSS pixels wide, as an iPhone's screen), no page of the
// store, the customer's pages, the console or the admin scrolls sideways,
// in either language: wide tables scroll inside themselves, long words
// (addresses, user agents, the embed snippet) wrap, and the footer's links
// wrap onto more lines. Before, the footer's row of links made every page
// 720 to 940 pixels wide, and tables (sessions, queue, staff, products)
// ran past the edge. Each page is also checked for what pageProblems
// lists (one h1, unique ids, named fields and buttons, alt texts).
func TestEveryPageOnAPhone(t *testing.T) {
	h := apptest.Start(t)
	h.User(t, account.RoleAdmin, "administratrice.boutique@example.fr")
	u, c := h.User(t, account.RoleCustomer, "camille.de.la.fontaine-lefebvre@example.fr")
	o, claimID := fileWaitingClaim(t, h, u, c)
	c.PostForm("/contact", url.Values{"name": {u.Name}, "email": {u.Email}, "topic": {"question"},
		"message": {"Bonjour, une question sur ma commande : https://example.fr/un/lien/très/long/qui/ne/se/coupe/pas/tout/seul"}})
	ticket := ticketOf(t, h, u.Email)
	product := newService(t, h, "accompagnement-reseaux-sociaux-mensuel", 2500)

	public := []string{"/", "/shop", "/shop/" + product.Slug, "/cart", "/contact", "/signin", "/signup", "/reset", "/policy",
		"/legal/terms", "/legal/notice", "/legal/withdrawal-form"}
	customer := []string{"/shop/" + product.Slug, "/account", "/orders", "/orders/" + o.ID,
		"/orders/" + o.ID + "/withdraw", "/orders/" + o.ID + "/receipt", "/claims", "/claims/" + claimID,
		"/support/tickets", "/support/tickets/" + ticket.ID, "/balance", "/invoices", "/subscriptions", "/account/delete"}
	staff := []string{"/console", "/console/tickets", "/console/tickets/" + ticket.ID, "/console/claims",
		"/console/claims/" + claimID, "/console/orders", "/console/orders/" + o.ID, "/console/disputes",
		"/admin", "/admin/products", "/admin/products/new", "/admin/policies", "/admin/policies/edit", "/admin/staff",
		"/admin/vat", "/admin/proof", "/admin/privacy", "/admin/legal", "/admin/legal/terms", "/admin/canned"}

	check := func(b context.Context, who string, paths []string) {
		t.Helper()
		for _, lang := range []string{"en", "fr"} {
			if err := chromedp.Do(b, chromedp.Navigate(h.URL+"/"), chromedp.WaitVisible(css("#lang-switch"))); err != nil {
				t.Fatal(err)
			}
			if cur, err := chromedp.Run(b, chromedp.Evaluate[string](`document.documentElement.lang`)); err != nil {
				t.Fatal(err)
			} else if cur != lang {
				if err := chromedp.Do(b, chromedp.Click(css("#lang-switch")), chromedp.WaitVisible(css(`html[lang="`+lang+`"] #lang-switch`))); err != nil {
					t.Fatal(err)
				}
			}
			for _, p := range paths {
				if err := chromedp.Do(b, chromedp.Navigate(h.URL+p), chromedp.WaitReady(css("footer"))); err != nil {
					t.Fatalf("%s %s: %v", who, p, err)
				}
				over, err := chromedp.Run(b, chromedp.Evaluate[[]string](sidewaysOverflow))
				if err != nil {
					t.Fatal(err)
				}
				if len(over) > 0 {
					t.Errorf("%s, %s, %s scrolls sideways on a phone: %s", who, lang, p, strings.Join(over, "; "))
				}
				problems, err := chromedp.Run(b, chromedp.Evaluate[[]string](pageProblems))
				if err != nil {
					t.Fatal(err)
				}
				if len(problems) > 0 {
					t.Errorf("%s, %s, %s: %s", who, lang, p, strings.Join(problems, "; "))
				}
			}
		}
	}
	phone := chromedp.EmulateViewport(390, 844, chromedp.EmulateMobile, chromedp.EmulateTouch)

	visitor := browsertest.New(t, 3*time.Minute)
	if err := chromedp.Do(visitor, phone); err != nil {
		t.Fatal(err)
	}
	// Both checks see what they are for, so a page passing means something.
	bad := "data:text/html,<main><table><tr><td>" + strings.Repeat("x", 200) + "</td></tr></table>" +
		"<input id=a><input id=a><button></button><img src=x></main>"
	if err := chromedp.Do(visitor, chromedp.Navigate(bad)); err != nil {
		t.Fatal(err)
	}
	if over, err := chromedp.Run(visitor, chromedp.Evaluate[[]string](sidewaysOverflow)); err != nil || len(over) != 1 {
		t.Fatalf("overflow check on a wide table: %q (%v)", over, err)
	}
	if problems, err := chromedp.Run(visitor, chromedp.Evaluate[[]string](pageProblems)); err != nil || len(problems) != 6 {
		t.Fatalf("problems on a bad page: %q (%v)", problems, err)
	}
	check(visitor, "visitor", public)

	buyer := browsertest.New(t, 3*time.Minute)
	if err := chromedp.Do(buyer, phone, signIn(h, u.Email)); err != nil {
		t.Fatal(err)
	}
	check(buyer, "customer", customer)

	admin := browsertest.New(t, 3*time.Minute)
	if err := chromedp.Do(admin, phone, signIn(h, "administratrice.boutique@example.fr")); err != nil {
		t.Fatal(err)
	}
	check(admin, "admin", staff)
}
