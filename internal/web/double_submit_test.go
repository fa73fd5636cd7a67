package web_test

import (
	"bytes"
	"context"
	"mime/multipart"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"

	"comptoir/internal/account"
	"comptoir/internal/apptest"
	"comptoir/internal/catalog"
	"comptoir/internal/claims"
	"comptoir/internal/desk"
	"comptoir/internal/mail"
	"comptoir/internal/subscriptions"
)

// formKey is the value of a page's hidden form key.
func formKey(t *testing.T, r apptest.Response, name string) string {
	t.Helper()
	m := regexp.MustCompile(`name="` + name + `" value="([^"]+)"`).FindStringSubmatch(r.Body)
	if m == nil {
		t.Fatalf("no %s on the page (%d)", name, r.Status)
	}
	return m[1]
}

// twice sends the same form twice at once, as a double click without
// JavaScript does, then a third time (a reload of the answer).
func twice(c *apptest.Client, path string, form url.Values) []apptest.Response {
	out := make([]apptest.Response, 3)
	var wg sync.WaitGroup
	for i := range 2 {
		wg.Go(func() { out[i] = c.PostForm(path, form) })
	}
	wg.Wait()
	out[2] = c.PostForm(path, form)
	return out
}

// A balance movement sent twice from the admin page is recorded once:
// before, each press of the button credited the customer again.
func TestAdminCreditSentTwiceCreditsOnce(t *testing.T) {
	h := apptest.Start(t)
	a, _ := h.User(t, account.RoleCustomer, "ana@example.fr")
	_, adc := h.User(t, account.RoleAdmin, "admin@shop.test")
	before := balanceOf(t, h, a)
	form := url.Values{"credit_key": {formKey(t, adc.Get("/admin"), "credit_key")}, "email": {a.Email}, "amount": {"5"},
		"reason": {"goodwill"}, "direction": {"credit"}}
	for i, r := range twice(adc, "/admin/credits", form) {
		if r.Status != http.StatusSeeOther || r.Location != "/admin" {
			t.Errorf("send %d: %d %q, want 303 /admin", i+1, r.Status, r.Location)
		}
	}
	if got := balanceOf(t, h, a) - before; got != 500 {
		t.Fatalf("credited %d, want 500 once", got)
	}
	// A new movement is a new page, with a new key: it is recorded.
	form.Set("credit_key", formKey(t, adc.Get("/admin"), "credit_key"))
	if r := adc.PostForm("/admin/credits", form); r.Status != http.StatusSeeOther {
		t.Fatalf("second movement: %d", r.Status)
	}
	if got := balanceOf(t, h, a) - before; got != 1000 {
		t.Fatalf("after a second movement: credited %d, want 1000", got)
	}
	// A refused form keeps its key: corrected and sent twice, once.
	form.Set("credit_key", formKey(t, adc.Get("/admin"), "credit_key"))
	form.Set("amount", "cinq")
	r := adc.PostForm("/admin/credits", form)
	if r.Status != http.StatusUnprocessableEntity || formKey(t, r, "credit_key") != form.Get("credit_key") {
		t.Fatalf("amount refused: %d, key kept %v", r.Status, formKey(t, r, "credit_key") == form.Get("credit_key"))
	}
	form.Set("amount", "5")
	twice(adc, "/admin/credits", form)
	if got := balanceOf(t, h, a) - before; got != 1500 {
		t.Fatalf("after the corrected form sent twice: credited %d, want 1500", got)
	}
}

// The Contact form sent twice opens one ticket and sends one
// acknowledgement, for a guest and for a customer; the repeat shows the
// first ticket's reference. Before, each send opened a ticket.
func TestContactSentTwiceOpensOneTicket(t *testing.T) {
	h := apptest.Start(t)
	ctx := context.Background()
	a, ac := h.User(t, account.RoleCustomer, "ana@example.fr")
	guest := h.NewClient(t)
	for _, c := range []struct {
		who    string
		client *apptest.Client
		email  string
	}{{"guest", guest, "gus@example.org"}, {"customer", ac, a.Email}} {
		form := url.Values{"contact_key": {formKey(t, c.client.Get("/contact"), "contact_key")}, "name": {"Ana"}, "email": {c.email},
			"topic": {"question"}, "message": {"Do you ship to Belgium?"}}
		refs := map[string]bool{}
		for i, r := range twice(c.client, "/contact", form) {
			r = followSeeOther(t, c.client, r)
			m := regexp.MustCompile(`T-[0-9A-Z]+`).FindString(r.Body)
			if r.Status != http.StatusOK || !strings.Contains(r.Body, `id="contact-sent"`) || m == "" {
				t.Fatalf("%s, send %d: %d %.300s", c.who, i+1, r.Status, r.Body)
			}
			refs[m] = true
		}
		if len(refs) != 1 {
			t.Errorf("%s: the answers name %d tickets: %v", c.who, len(refs), refs)
		}
		acks, err := h.App.Outbox.List(ctx, mail.Filter{Kind: "ticket_ack", Limit: 100})
		if err != nil {
			t.Fatal(err)
		}
		n := 0
		for _, m := range acks {
			if m.To == c.email {
				n++
			}
		}
		if n != 1 {
			t.Errorf("%s: %d acknowledgements, want 1", c.who, n)
		}
	}
	if ts, err := h.App.Desk.Queue(ctx, desk.QueueFilter{}); err != nil || len(ts) != 2 {
		t.Fatalf("tickets: %d %v, want one each", len(ts), err)
	}
	// Another message, from a new page, is another ticket.
	form := url.Values{"contact_key": {formKey(t, guest.Get("/contact"), "contact_key")}, "name": {"Gus"}, "email": {"gus@example.org"},
		"topic": {"question"}, "message": {"And to Switzerland?"}}
	if r := guest.PostForm("/contact", form); r.Status != http.StatusSeeOther {
		t.Fatalf("another message: %d", r.Status)
	}
	if ts, _ := h.App.Desk.Queue(ctx, desk.QueueFilter{}); len(ts) != 3 {
		t.Fatalf("tickets after another message: %d, want 3", len(ts))
	}
}

// An agent's reply sent twice (a double click) is one message and one
// mail to the customer: before, each send mailed the reply again.
func TestAgentReplySentTwiceMailsOnce(t *testing.T) {
	h := apptest.Start(t)
	ctx := context.Background()
	_, ac := h.User(t, account.RoleCustomer, "ana@example.fr")
	_, agc := h.User(t, account.RoleAgent, "agent@shop.test")
	ac.PostForm("/contact", url.Values{"name": {"Ana"}, "email": {"ana@example.fr"}, "topic": {"question"}, "message": {"Hello"}})
	id := regexp.MustCompile(`/support/tickets/(tkt_[0-9A-Z]+)`).FindStringSubmatch(ac.Get("/support/tickets").Body)[1]
	form := url.Values{"reply_key": {formKey(t, agc.Get("/console/tickets/"+id), "reply_key")}, "action": {"reply"}, "text": {"We are on it."}}
	for i, r := range twice(agc, "/console/tickets/"+id, form) {
		if r.Status != http.StatusSeeOther || r.Location != "/console/tickets/"+id {
			t.Errorf("send %d: %d %q", i+1, r.Status, r.Location)
		}
	}
	replies, err := h.App.Outbox.List(ctx, mail.Filter{Kind: "ticket_reply"})
	if err != nil || len(replies) != 1 {
		t.Fatalf("reply mails: %d %v, want 1", len(replies), err)
	}
	if n := strings.Count(ac.Get("/support/tickets/"+id).Body, "We are on it."); n != 1 {
		t.Fatalf("the reply shows %d times on the customer's page", n)
	}
	// The next reply, from the page shown again, is sent.
	form.Set("reply_key", formKey(t, agc.Get("/console/tickets/"+id), "reply_key"))
	form.Set("text", "Shipped today.")
	agc.PostForm("/console/tickets/"+id, form)
	if replies, _ := h.App.Outbox.List(ctx, mail.Filter{Kind: "ticket_reply"}); len(replies) != 2 {
		t.Fatalf("reply mails after a second reply: %d, want 2", len(replies))
	}
}

// An agent's internal note sent twice (a double click on "Add note") is
// one note: the reply's form key went with it but was not used.
func TestAgentNoteSentTwiceIsOneNote(t *testing.T) {
	h := apptest.Start(t)
	ctx := context.Background()
	_, agc := h.User(t, account.RoleAgent, "agent@shop.test")
	h.NewClient(t).PostForm("/contact", url.Values{"name": {"Ana"}, "email": {"ana@example.fr"}, "topic": {"question"}, "message": {"Hello"}})
	tk := ticketOf(t, h, "ana@example.fr")
	form := url.Values{"reply_key": {formKey(t, agc.Get("/console/tickets/"+tk.ID), "reply_key")}, "action": {"note"}, "text": {"Regular customer."}}
	for i, r := range twice(agc, "/console/tickets/"+tk.ID, form) {
		if r.Status != http.StatusSeeOther || r.Location != "/console/tickets/"+tk.ID {
			t.Errorf("send %d: %d %q", i+1, r.Status, r.Location)
		}
	}
	notes := func() int {
		msgs, err := h.App.Desk.Thread(ctx, tk.ID, true)
		if err != nil {
			t.Fatal(err)
		}
		n := 0
		for _, m := range msgs {
			if m.Direction == desk.DirectionNote {
				n++
			}
		}
		return n
	}
	if n := notes(); n != 1 {
		t.Fatalf("notes after a note sent twice: %d, want 1", n)
	}
	// The same key sent with a reply is another request: the reply goes.
	form.Set("action", "reply")
	form.Set("text", "We are on it.")
	agc.PostForm("/console/tickets/"+tk.ID, form)
	if replies, _ := h.App.Outbox.List(ctx, mail.Filter{Kind: "ticket_reply"}); len(replies) != 1 {
		t.Fatalf("reply mails after a note then a reply under one key: %d, want 1", len(replies))
	}
}

// A customer's reply from the portal, or a guest's from their link, sent
// twice is one message: before, each send added it to the thread again.
func TestCustomerReplySentTwiceIsOneMessage(t *testing.T) {
	h := apptest.Start(t)
	_, ac := h.User(t, account.RoleCustomer, "ana@example.fr")
	_, agc := h.User(t, account.RoleAgent, "agent@shop.test")
	ac.PostForm("/contact", url.Values{"name": {"Ana"}, "email": {"ana@example.fr"}, "topic": {"question"}, "message": {"Hello"}})
	id := regexp.MustCompile(`/support/tickets/(tkt_[0-9A-Z]+)`).FindStringSubmatch(ac.Get("/support/tickets").Body)[1]
	guest := h.NewClient(t)
	guest.PostForm("/contact", url.Values{"name": {"Gus"}, "email": {"gus@example.org"}, "topic": {"question"}, "message": {"Hi"}})
	guestPath := "/support/t/" + guestToken(t, h, "ticket_ack", "gus@example.org")
	gid := regexp.MustCompile(`T-[0-9A-Z]+`).FindString(guest.Get(guestPath).Body)
	for _, c := range []struct {
		who, path, console string
		client             *apptest.Client
	}{{"customer", "/support/tickets/" + id, "/console/tickets/" + id, ac}, {"guest", guestPath, "", guest}} {
		text := "More details from the " + c.who + "."
		form := url.Values{"reply_key": {formKey(t, c.client.Get(c.path), "reply_key")}, "text": {text}}
		for i, r := range twice(c.client, c.path, form) {
			if r.Status != http.StatusSeeOther || r.Location != c.path {
				t.Errorf("%s send %d: %d %q", c.who, i+1, r.Status, r.Location)
			}
		}
		if n := strings.Count(c.client.Get(c.path).Body, text); n != 1 {
			t.Errorf("%s: the reply shows %d times", c.who, n)
		}
	}
	if gid == "" {
		t.Fatal("no reference on the guest's page")
	}
	if n := strings.Count(agc.Get("/console/tickets/"+id).Body, "More details from the customer."); n != 1 {
		t.Errorf("the agent sees the customer's reply %d times", n)
	}
}

// Subscribe sent twice (a double click, a reload of the answer) starts one
// subscription, charged once, and every answer leads to it as the first
// did. Before, the second answer was the product page saying "you already
// have this subscription", though the first had just started it.
func TestSubscribeSentTwiceStartsOne(t *testing.T) {
	h := apptest.Start(t)
	plan := newPlan(t, h, "pro", 990, 0)
	u, c := h.User(t, account.RoleCustomer, "ana@example.fr")
	credit(t, h, u, 5000)
	form := url.Values{"subscribe_key": {formKey(t, c.Get("/shop/pro"), "subscribe_key")}, "plan_id": {plan.ID}, "payment": {"balance"},
		"accept_policy": {"default@1"}, "immediate_performance": {"yes"}, "withdrawal_waiver": {"yes"}}
	var first string
	for i, r := range twice(c, "/subscriptions", form) {
		if r.Status != http.StatusSeeOther || !strings.HasPrefix(r.Location, "/subscriptions/sub_") || first != "" && r.Location != first {
			t.Errorf("send %d: %d %q, want 303 to the one subscription %q", i+1, r.Status, r.Location, first)
		}
		if first == "" {
			first = r.Location
		}
	}
	subs, _, err := h.App.Subscriptions.List(context.Background(), subscriptions.ListFilter{CustomerID: u.ID})
	if err != nil || len(subs) != 1 {
		t.Fatalf("subscriptions: %d %v, want 1", len(subs), err)
	}
	if got := balanceOf(t, h, u); got != 5000-990 {
		t.Errorf("balance %d, want one period charged (4010)", got)
	}
	// A new page offers no form but the way to the subscription; a form
	// sent under a new key is a new request: already subscribed, said so.
	mustContain(t, c.Get("/shop/pro"), `id="subscribe-live"`, `href="`+first+`"`)
	form.Set("subscribe_key", "sbk_new_page")
	if r := c.PostForm("/subscriptions", form); r.Status != http.StatusUnprocessableEntity || !strings.Contains(r.Body, `id="subscribe-live"`) {
		t.Errorf("subscribing again under a new key: %d", r.Status)
	}
}

// A claim sent twice from the order page is filed once, and every answer
// leads to it. Before, the second answer was the order page saying a claim
// is already open, though the first had just filed it.
func TestClaimSentTwiceFilesOne(t *testing.T) {
	h := apptest.Start(t)
	a, ac := h.User(t, account.RoleCustomer, "ana@example.fr")
	o := buyAndDeliver(t, h, a, 40)
	form := url.Values{"claim_key": {formKey(t, ac.Get("/orders/"+o.ID), "claim_key")}, "kind": {"not_as_described"},
		"message": {"Not what the page said."}}
	var first string
	for i, r := range twice(ac, "/orders/"+o.ID+"/claims", form) {
		if r.Status != http.StatusSeeOther || !strings.HasPrefix(r.Location, "/claims/") || first != "" && r.Location != first {
			t.Errorf("send %d: %d %q, want 303 to the one claim %q", i+1, r.Status, r.Location, first)
		}
		if first == "" {
			first = r.Location
		}
	}
	cls, _, err := h.App.Claims.List(context.Background(), claims.ListFilter{CustomerID: a.ID})
	if err != nil || len(cls) != 1 {
		t.Fatalf("claims: %d %v, want 1", len(cls), err)
	}
	// A new page's form is a new request: the claim is open, said so.
	form.Set("claim_key", formKey(t, ac.Get("/orders/"+o.ID), "claim_key"))
	if r := ac.PostForm("/orders/"+o.ID+"/claims", form); r.Status != http.StatusConflict || !strings.Contains(r.Body, `id="claim-error"`) {
		t.Errorf("the claim again from a new page: %d", r.Status)
	}
}

// Stopping a subscription sent twice files one cancellation, refunds once,
// and every answer leads to it. Before, the second answer was the
// subscription page with "already canceled".
func TestSubscriptionCancelSentTwiceFilesOne(t *testing.T) {
	h := apptest.Start(t)
	plan := newPlan(t, h, "pro", 990, 0)
	u, c := h.User(t, account.RoleCustomer, "ana@example.fr")
	credit(t, h, u, 5000)
	subID := subscribeWithBalance(t, c, h.Bearer(t, u.ID), plan.ID)
	form := url.Values{"cancel_key": {formKey(t, c.Get("/subscriptions/"+subID), "cancel_key")}, "mode": {"now"}, "refund": {"yes"}}
	var first string
	for i, r := range twice(c, "/subscriptions/"+subID+"/cancel", form) {
		if r.Status != http.StatusSeeOther || !strings.HasPrefix(r.Location, "/claims/") || first != "" && r.Location != first {
			t.Errorf("send %d: %d %q, want 303 to the one cancellation %q", i+1, r.Status, r.Location, first)
		}
		if first == "" {
			first = r.Location
		}
	}
	cls, _, err := h.App.Claims.List(context.Background(), claims.ListFilter{CustomerID: u.ID})
	if err != nil || len(cls) != 1 {
		t.Fatalf("claims: %d %v, want 1", len(cls), err)
	}
	if got := balanceOf(t, h, u); got != 5000 {
		t.Errorf("balance %d, want the period refunded once (5000)", got)
	}
}

// The withdrawal confirmed twice is one claim, and every answer leads to
// it. Before, the second answer was a refusal ("already withdrawn").
func TestWithdrawalSentTwiceFilesOne(t *testing.T) {
	h := apptest.Start(t)
	a, ac := h.User(t, account.RoleCustomer, "ana@example.fr")
	o := buyAndDeliver(t, h, a, 40)
	form := url.Values{"withdraw_key": {formKey(t, ac.Get("/orders/"+o.ID+"/withdraw"), "withdraw_key")}}
	var first string
	for i, r := range twice(ac, "/orders/"+o.ID+"/withdraw", form) {
		if r.Status != http.StatusSeeOther || !strings.HasPrefix(r.Location, "/claims/") || first != "" && r.Location != first {
			t.Errorf("send %d: %d %q, want 303 to the one withdrawal %q", i+1, r.Status, r.Location, first)
		}
		if first == "" {
			first = r.Location
		}
	}
	if cls, _, err := h.App.Claims.List(context.Background(), claims.ListFilter{CustomerID: a.ID}); err != nil || len(cls) != 1 {
		t.Fatalf("claims: %d %v, want 1", len(cls), err)
	}
}

// An agent's refund decision sent twice (a double click, then a reload of
// the answer) is taken once and refunds once. A claim may be decided
// again, so before, each send was another decision: 5 € decided, 15 €
// refunded.
func TestAgentDecisionSentTwiceRefundsOnce(t *testing.T) {
	h := apptest.Start(t)
	a, ac := h.User(t, account.RoleCustomer, "ana@example.fr")
	_, agc := h.User(t, account.RoleAgent, "agent@shop.test")
	o := buyAndDeliver(t, h, a, 40)
	filed := ac.PostForm("/orders/"+o.ID+"/claims", url.Values{"kind": {"not_as_described"}, "message": {"Not what the page said."}})
	claimID := strings.TrimPrefix(filed.Location, "/claims/")
	if filed.Status != http.StatusSeeOther || claimID == "" {
		t.Fatalf("file a claim: %d %q", filed.Status, filed.Location)
	}
	before := balanceOf(t, h, a)
	decided, err := h.App.Claims.Decisions(context.Background(), claimID)
	if err != nil {
		t.Fatal(err)
	}
	form := url.Values{"decision_key": {formKey(t, agc.Get("/console/claims/"+claimID), "decision_key")}, "outcome": {"refund"},
		"amount": {"5"}, "currency": {"EUR"}, "reason_code": {"insufficient_evidence"}, "note": {"Partial refund"}}
	for i, r := range twice(agc, "/console/claims/"+claimID+"/decision", form) {
		if r.Status != http.StatusSeeOther || r.Location != "/console/claims/"+claimID {
			t.Errorf("send %d: %d %q", i+1, r.Status, r.Location)
		}
	}
	if got := balanceOf(t, h, a) - before; got != 500 {
		t.Errorf("refunded %d, want 500 once", got)
	}
	if ds, err := h.App.Claims.Decisions(context.Background(), claimID); err != nil || len(ds) != len(decided)+1 {
		t.Errorf("decisions %d %v, want %d", len(ds), err, len(decided)+1)
	}
}

// Evidence sent twice (a double click, a reload of the answer) is added
// once, and every answer leads back to the claim. Before, each send added
// the text and the files again, and the copies went into the dispute's
// evidence pack.
func TestEvidenceSentTwiceIsAddedOnce(t *testing.T) {
	h := apptest.Start(t)
	a, ac := h.User(t, account.RoleCustomer, "ana@example.fr")
	o := buyAndDeliver(t, h, a, 40)
	filed := ac.PostForm("/orders/"+o.ID+"/claims", url.Values{"kind": {"not_as_described"}, "message": {"Not what the page said."}})
	claimID := strings.TrimPrefix(filed.Location, "/claims/")
	key := formKey(t, ac.Get("/claims/"+claimID), "evidence_key")
	send := func() apptest.Response {
		var buf bytes.Buffer
		mw := multipart.NewWriter(&buf)
		mw.WriteField("evidence_key", key)
		mw.WriteField("text", "The logo has three colours, not two.")
		fw, _ := mw.CreateFormFile("files", "note.txt")
		fw.Write([]byte("Colours counted on the delivered file: 3.\n"))
		mw.Close()
		return ac.Send(http.MethodPost, "/claims/"+claimID+"/evidence", mw.FormDataContentType(), &buf,
			http.Header{"Origin": {h.URL}, "Sec-Fetch-Site": {"same-origin"}})
	}
	answers := make([]apptest.Response, 3)
	var wg sync.WaitGroup
	for i := range 2 {
		wg.Go(func() { answers[i] = send() })
	}
	wg.Wait()
	answers[2] = send()
	for i, r := range answers {
		if r.Status != http.StatusSeeOther || r.Location != "/claims/"+claimID {
			t.Errorf("send %d: %d %q", i+1, r.Status, r.Location)
		}
	}
	ev, err := h.App.Claims.Evidence(context.Background(), claimID)
	if err != nil || len(ev) != 2 {
		t.Fatalf("evidence: %d %v, want the text and the file once", len(ev), err)
	}
}

// A new canned reply sent twice (a double click, then a reload of the
// answer) is added once. Before, each send added the reply again.
func TestAdminCannedReplySentTwiceIsAddedOnce(t *testing.T) {
	h := apptest.Start(t)
	_, adc := h.User(t, account.RoleAdmin, "admin@shop.test")
	ctx := context.Background()
	before, _ := h.App.Desk.CannedReplies(ctx)
	form := url.Values{"canned_key": {formKey(t, adc.Get("/admin/canned"), "canned_key")}, "title_fr": {"Colis parti"}, "title_en": {"Parcel sent"},
		"body_fr": {"Bonjour {name}, c’est parti."}, "body_en": {"Hello {name}, it is on its way."}}
	for i, r := range twice(adc, "/admin/canned", form) {
		if r.Status != http.StatusSeeOther || r.Location != "/admin/canned" {
			t.Errorf("send %d: %d %q, want 303 /admin/canned", i+1, r.Status, r.Location)
		}
	}
	after, _ := h.App.Desk.CannedReplies(ctx)
	if len(after) != len(before)+1 {
		t.Fatalf("%d canned replies after adding one to %d", len(after), len(before))
	}
	// A refused form keeps its key: corrected, it adds one reply.
	bad := url.Values{"canned_key": {formKey(t, adc.Get("/admin/canned"), "canned_key")}, "title_fr": {"Relance"}, "title_en": {""},
		"body_fr": {"Bonjour"}, "body_en": {"Hello"}}
	r := adc.PostForm("/admin/canned", bad)
	if r.Status != http.StatusUnprocessableEntity || formKey(t, r, "canned_key") != bad.Get("canned_key") {
		t.Fatalf("refused: %d, key %q", r.Status, formKey(t, r, "canned_key"))
	}
	bad.Set("title_en", "Reminder")
	for i, r := range twice(adc, "/admin/canned", bad) {
		if r.Status != http.StatusSeeOther {
			t.Errorf("corrected send %d: %d", i+1, r.Status)
		}
	}
	if got, _ := h.App.Desk.CannedReplies(ctx); len(got) != len(before)+2 {
		t.Fatalf("%d canned replies after adding two to %d", len(got), len(before))
	}
}

// The new-product form sent twice (a double click, then a reload of the
// answer) makes one product, and every answer goes to it. Before, the
// second send was refused as "another product already uses this address",
// the page the admin was left on, inviting a second product under another
// address.
func TestAdminNewProductSentTwiceMakesOne(t *testing.T) {
	h := apptest.Start(t)
	_, adc := h.User(t, account.RoleAdmin, "admin@shop.test")
	ctx := context.Background()
	form := url.Values{"product_key": {formKey(t, adc.Get("/admin/products/new"), "product_key")}, "kind": {"service"}, "slug": {""},
		"name_fr": {"Logo"}, "name_en": {"Logo design"}, "description_fr": {"Un logo."}, "description_en": {"A logo."},
		"unit_price": {"120,00"}, "currency": {"EUR"}, "min_quantity": {"1"}, "max_quantity": {"3"}, "processing_hours": {"48"}}
	rs := twice(adc, "/admin/products", form)
	p, err := h.App.Catalog.GetBySlug(ctx, "logo-design")
	if err != nil {
		t.Fatal(err)
	}
	for i, r := range rs {
		if r.Status != http.StatusSeeOther || r.Location != "/admin/products/"+p.ID {
			t.Errorf("send %d: %d %q, want 303 to %s", i+1, r.Status, r.Location, p.ID)
		}
	}
	page, _, _ := h.App.Catalog.List(ctx, catalog.ListFilter{IncludeArchived: true, Limit: catalog.MaxListLimit})
	n := 0
	for _, q := range page {
		if q.NameEN == "Logo design" {
			n++
		}
	}
	if n != 1 {
		t.Fatalf("%d products after the form was sent twice", n)
	}
}

// An agent's "turn this message into a claim" sent twice (a double click
// without script, a reload of its answer) files one claim, decided and
// mailed once, and every answer leads to it. Before, the form had no key:
// each send filed another claim about the same message, and the customer
// was mailed a decision for each.
func TestClaimFromAMessageSentTwiceFilesOne(t *testing.T) {
	h := apptest.Start(t)
	ctx := context.Background()
	plan := newPlan(t, h, "pro", 990, 0)
	u, c := h.User(t, account.RoleCustomer, "ana@example.fr")
	credit(t, h, u, 5000)
	subID := subscribeWithBalance(t, c, h.Bearer(t, u.ID), plan.ID)
	tk, err := h.App.Desk.OpenFromContact(ctx, desk.ContactInput{CustomerID: u.ID, Name: "Ana", Email: u.Email,
		Topic: desk.TopicSubscriptionCancel, Message: "Please stop my subscription and refund me."})
	if err != nil {
		t.Fatal(err)
	}
	thread, _ := h.App.Desk.Thread(ctx, tk.ID, false)
	_, ag := h.User(t, account.RoleAgent, "agent@shop.test")
	form := url.Values{"claim_key": {formKey(t, ag.Get("/console/tickets/"+tk.ID), "claim_key")}, "message_id": {thread[0].ID},
		"kind": {"subscription_cancel"}, "subscription_id": {subID}, "choice": {"now"}}
	var first string
	for i, r := range twice(ag, "/console/tickets/"+tk.ID+"/claim", form) {
		if r.Status != http.StatusSeeOther || !strings.HasPrefix(r.Location, "/console/claims/") || first != "" && r.Location != first {
			t.Errorf("send %d: %d %q, want 303 to the one claim %q", i+1, r.Status, r.Location, first)
		}
		if first == "" {
			first = r.Location
		}
	}
	cls, _, err := h.App.Claims.List(ctx, claims.ListFilter{CustomerID: u.ID})
	if err != nil || len(cls) != 1 {
		t.Fatalf("claims: %d %v, want 1", len(cls), err)
	}
	if got := balanceOf(t, h, u); got != 5000 {
		t.Errorf("balance %d, want the period refunded once (5000)", got)
	}
	// The cancellation's confirmation tells the decision.
	if n := len(mailsOf(t, h, u, "claim_filed")) + len(mailsOf(t, h, u, subscriptions.MailCancelConfirmed)); n != 1 {
		t.Errorf("%d decisions mailed to the customer, want 1", n)
	}
}
