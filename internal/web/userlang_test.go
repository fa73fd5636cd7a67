package web_test

import (
	"encoding/json"
	"html"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"comptoir/internal/account"
	"comptoir/internal/apptest"
)

// What people wrote, and names an order recorded in its language, carry
// that language on pages in the other one, so that a screen reader reads
// French words as French on an English page. What people wrote also reads
// in its own direction (dir="auto"), and what nobody knows the language of
// (an agent's internal note) says so with HTML's empty lang: left
// unmarked, it claimed the page's language. Before, none of it was marked.
func TestUserTextIsMarkedWithItsLanguage(t *testing.T) {
	h := apptest.Start(t)
	users := authzUsers(t, h)
	// A buys and writes in French.
	if _, c := signedInClient(t, h, users[custA]); c.PostForm("/lang", url.Values{"lang": {"fr"}}).Status != http.StatusSeeOther {
		t.Fatal("A to French")
	}
	a, err := h.App.Accounts.UserByID(t.Context(), users[custA].ID)
	if err != nil {
		t.Fatal(err)
	}
	users[custA] = a
	o := authzSetup(t, h, users)
	ctx := t.Context()
	// The order is in English (buyAndDeliver), the tickets in French (A's
	// language when writing): each is read on a page in the other.
	order, err := h.App.Orders.Get(ctx, o.order)
	if err != nil || order.Lang != "en" {
		t.Fatalf("A's order: %q %v (the test needs an English order)", order.Lang, err)
	}
	lineName := order.Lines[0].Name
	tk, err := h.App.Desk.Get(ctx, o.ticket)
	if err != nil || tk.Lang != "fr" {
		t.Fatalf("A's ticket: %q %v (the test needs a French ticket)", tk.Lang, err)
	}

	// A adds a text to the claim, in French like the claim itself.
	ctype, body := multipartBody(t, "La page promettait autre chose.", nil)
	if r := h.NewClient(t).Send(http.MethodPost, "/api/v1/claims/"+o.claim+"/evidence", ctype, body, h.Bearer(t, users[custA].ID)); r.Status != http.StatusOK {
		t.Fatalf("evidence: %d %s", r.Status, r.Body)
	}

	clients := map[string]*apptest.Client{}
	for _, who := range []string{custA, agent, admin} {
		_, clients[who] = signedInClient(t, h, users[who])
	}
	// speak switches who's saved language (and so every page of theirs).
	speak := func(who, lang string) *apptest.Client {
		t.Helper()
		c := clients[who]
		if r := c.PostForm("/lang", url.Values{"lang": {lang}}); r.Status != http.StatusSeeOther {
			t.Fatalf("%s to %s: %d", who, lang, r.Status)
		}
		return c
	}
	if r := speak(agent, "en").PostForm("/console/tickets/"+o.ticket, url.Values{"action": {"note"}, "text": {"Checked the delivery record."}}); r.Status != http.StatusSeeOther {
		t.Fatalf("note: %d %s", r.Status, r.Body)
	}
	tests := []struct {
		who, lang, path string
		want            []string
	}{
		// The boxes ticked at checkout, as worded then in the order's language.
		{custA, "fr", "/orders/" + o.order, []string{`<span lang="en">` + lineName + `</span>`, `aria-label="` + lineName + `" lang="en">`,
			`<p lang="en">[x] I ask for the service to start now`}},
		{custA, "fr", "/orders/" + o.order + "/receipt", []string{`<td lang="en">` + lineName + `</td>`}},
		{custA, "fr", "/orders", []string{`aria-label="` + lineName + `" lang="en">`}},
		{custA, "en", "/support/tickets/" + o.ticket, []string{`<p class="description" lang="fr" dir="auto">`}},
		{custA, "en", "/claims/" + o.claim, []string{`<p class="description" lang="fr" dir="auto">Not what the page said.</p>`,
			`<span class="description" lang="fr" dir="auto">La page promettait autre chose.</span>`}},
		{agent, "en", "/console/claims/" + o.claim, []string{`<p class="description" lang="fr" dir="auto">Not what the page said.</p>`}},
		{agent, "fr", "/console/orders/" + o.order, []string{`<span lang="en">` + lineName + `</span>`}},
		{agent, "fr", "/console/orders", []string{`aria-label="` + lineName + `" lang="en">`}},
		{agent, "en", "/console/tickets/" + o.ticket, []string{`<p class="description" lang="fr" dir="auto">`,
			`<p class="description" lang="" dir="auto">Checked the delivery record.</p>`}},
		{agent, "fr", "/console/tickets/" + o.ticket, []string{`aria-label="` + lineName + `" lang="en">`}},
		// A customer document opened in the other language (an email's
		// link names it): the text is marked, the page's own words too.
		{custA, "fr", "/policy?lang=en", []string{`<article class="policy" lang="en">`, `<p lang="fr"><small id="policy-version">Version`}},
		{custA, "fr", "/legal/notice?lang=en", []string{`<article class="legal" lang="en"`, `<p lang="fr"><small id="legal-version">`,
			`id="trader-identity" lang="fr"`}},
		// An invoice is in its buyer's language; the page's links in the page's.
		{custA, "fr", "/invoices/" + o.invoice, []string{`<article class="receipt invoice" lang="en">`, `<p class="no-print" lang="fr">`}},
		// A card network's dispute reason is worded, not its code.
		{agent, "fr", "/console/disputes/" + o.dispute, []string{`<dd id="dispute-reason">Paiement frauduleux</dd>`}},
		{agent, "en", "/console/disputes", []string{`<td>Fraudulent payment</td>`}},
		{admin, "en", "/admin/products/" + o.product, []string{`id="name_fr" name="name_fr" lang="fr"`, `id="name_en" name="name_en" lang="en"`,
			`id="description_fr" name="description_fr" rows="5" lang="fr"`, `id="slug" name="slug" value=`}},
	}
	for _, tt := range tests {
		r := speak(tt.who, tt.lang).Get(tt.path)
		if r.Status != http.StatusOK || !strings.Contains(r.Body, `<html lang="`+tt.lang+`"`) {
			t.Errorf("%s %s: %d", tt.who, tt.path, r.Status)
			continue
		}
		for _, w := range tt.want {
			if !strings.Contains(r.Body, w) {
				t.Errorf("%s (%s) %s: no %s", tt.who, tt.lang, tt.path, w)
			}
		}
	}
}

// An agent's decisions, in the claim's history on the console, are named
// in the agent's language: before, the outcome and the reason were their
// codes ("refused · expectation_only") on a French page.
func TestClaimHistoryInTheAgentsLanguage(t *testing.T) {
	h := apptest.Start(t)
	u, c := h.User(t, account.RoleCustomer, "ana@example.fr")
	_, agentc := h.User(t, account.RoleAgent, "agent@shop.test") // French
	o := buyAndDeliver(t, h, u, 100)
	r := postJSON(c, "/api/v1/claims", `{"kind":"not_as_described","order_id":"`+o.ID+`","message":"Not what the page said."}`, h.Bearer(t, u.ID))
	var cl struct{ ID string }
	if r.Status != http.StatusCreated || json.Unmarshal([]byte(r.Body), &cl) != nil {
		t.Fatalf("file a claim: %d %s", r.Status, r.Body)
	}
	page := agentc.Get("/console/claims/" + cl.ID)
	form := formValues(page.Body, `action="/console/claims/`+cl.ID+`/decision"`)
	form.Set("outcome", "refused")
	form.Set("reason_code", "expectation_only")
	form.Set("note", "Checked the description.")
	if r := agentc.PostForm("/console/claims/"+cl.ID+"/decision", form); r.Status != http.StatusSeeOther {
		t.Fatalf("decide: %d %s", r.Status, r.Body)
	}
	page = agentc.Get("/console/claims/" + cl.ID)
	// The agent's note: what a person wrote, in no language the store knows.
	mustContain(t, page, `<em class="description" lang="" dir="auto">Checked the description.</em>`)
	body := html.UnescapeString(page.Body)
	msgs := h.App.Messages
	want := msgs.T("fr", "claim.outcome.refused") + " (<code>agent.expectation_only</code>) · " + msgs.T("fr", "claim.reason.expectation_only")
	if !strings.Contains(body, want) {
		t.Errorf("the history does not say %q", want)
	}
}
