package web_test

// Tests of the JSON API against API.md, from outside: what a script relying
// on the contract as written would notice.

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"comptoir/internal/account"
	"comptoir/internal/apptest"
	"comptoir/internal/desk"
	"comptoir/internal/orders"
)

// API.md: POSTs that move money accept Idempotency-Key. An admin's credit
// ignored it, so a retried credit (a timeout, a dropped connection) paid the
// customer twice.
func TestBalanceCreditIdempotencyKey(t *testing.T) {
	h := apptest.Start(t)
	u, _ := h.User(t, account.RoleCustomer, "ana@example.fr")
	admin, _ := h.User(t, account.RoleAdmin, "admin@shop.test")
	c := h.NewClient(t)
	keyed := h.Bearer(t, admin.ID)
	keyed.Set("Idempotency-Key", "credit-1")
	body := `{"customer_id":"` + u.ID + `","amount":{"amount":1500,"currency":"EUR"},"reason":"Geste commercial"}`
	first := postJSON(c, "/api/v1/balance/credits", body, keyed)
	if first.Status != http.StatusCreated || balanceOf(t, h, u) != 1500 {
		t.Fatalf("credit: %d %s", first.Status, first.Body)
	}
	again := postJSON(c, "/api/v1/balance/credits", body, keyed)
	if again.Status != http.StatusCreated || again.Body != first.Body || again.Header.Get("Idempotent-Replayed") != "true" {
		t.Errorf("retry: %d %s (replayed %q), want the first answer %s", again.Status, again.Body, again.Header.Get("Idempotent-Replayed"), first.Body)
	}
	if b := balanceOf(t, h, u); b != 1500 {
		t.Fatalf("a retried credit was paid again: balance %d, want 1500", b)
	}
	other := postJSON(c, "/api/v1/balance/credits", strings.Replace(body, "1500", "2500", 1), keyed)
	if other.Status != http.StatusUnprocessableEntity || !strings.Contains(other.Body, `"code":"idempotency_key_reused"`) {
		t.Errorf("same key, another body: %d %s", other.Status, other.Body)
	}
	// A debit under a key of its own moves money once too.
	debit := h.Bearer(t, admin.ID)
	debit.Set("Idempotency-Key", "debit-1")
	body = `{"customer_id":"` + u.ID + `","amount":{"amount":-500,"currency":"EUR"},"reason":"Correction"}`
	for range 2 {
		if r := postJSON(c, "/api/v1/balance/credits", body, debit); r.Status != http.StatusCreated {
			t.Fatalf("debit: %d %s", r.Status, r.Body)
		}
	}
	// Balances are in euros: a credit in another currency would vanish
	// from GET /balance.
	usd := postJSON(c, "/api/v1/balance/credits", `{"customer_id":"`+u.ID+`","amount":{"amount":100,"currency":"USD"},"reason":"x"}`, h.Bearer(t, admin.ID))
	if usd.Status != http.StatusUnprocessableEntity || !strings.Contains(usd.Body, `"currency":"unsupported"`) {
		t.Errorf("a credit in USD: %d %s", usd.Status, usd.Body)
	}
	if b, err := h.App.Ledger.Balance(context.Background(), u.ID, "USD"); err != nil || b.Minor != 0 {
		t.Errorf("USD balance %v (%v), want none", b, err)
	}
	// Without a key, two requests are two credits, as before.
	plain := h.Bearer(t, admin.ID)
	body = `{"customer_id":"` + u.ID + `","amount":{"amount":100,"currency":"EUR"},"reason":"x"}`
	postJSON(c, "/api/v1/balance/credits", body, plain)
	postJSON(c, "/api/v1/balance/credits", body, plain)
	if b := balanceOf(t, h, u); b != 1500-500+200 {
		t.Fatalf("balance %d, want %d", b, 1500-500+200)
	}
}

// apiTicket is a ticket as API.md shows it.
type apiTicket struct {
	ID        string  `json:"id"`
	Reference string  `json:"reference"`
	Status    string  `json:"status"`
	DueAt     *string `json:"due_at"`
	Messages  []struct {
		Direction string `json:"direction"`
		Text      string `json:"text"`
	} `json:"messages"`
}

func decodeAs[T any](t *testing.T, r apptest.Response) T {
	t.Helper()
	var v T
	if err := json.Unmarshal([]byte(r.Body), &v); err != nil {
		t.Fatalf("%d %s: %v", r.Status, r.Body, err)
	}
	return v
}

// API.md lists POST /tickets, GET /tickets, GET /tickets/{id} and POST
// /tickets/{id}/messages; none existed, every one answered 404 not_found.
func TestTicketsAPI(t *testing.T) {
	h := apptest.Start(t)
	ana, _ := h.User(t, account.RoleCustomer, "ana@example.fr")
	ben, _ := h.User(t, account.RoleCustomer, "ben@example.fr")
	agentUser, _ := h.User(t, account.RoleAgent, "agent@shop.test")
	c := h.NewClient(t)
	anaAuth, benAuth, agentAuth := h.Bearer(t, ana.ID), h.Bearer(t, ben.ID), h.Bearer(t, agentUser.ID)

	// The contact form, as a guest: {id, reference}.
	r := postJSON(c, "/api/v1/tickets", `{"name":"Guest","email":"guest@example.fr","topic":"question","message":"Do you translate into German?"}`, nil)
	if r.Status != http.StatusCreated {
		t.Fatalf("guest ticket: %d %s", r.Status, r.Body)
	}
	guest := decodeAs[apiTicket](t, r)
	if guest.ID == "" || !strings.HasPrefix(guest.Reference, "T-") || guest.Status != "open" || guest.DueAt == nil {
		t.Fatalf("guest ticket: %s", r.Body)
	}
	// Bad input: a clear 4xx naming the fields, nothing opened.
	r = postJSON(c, "/api/v1/tickets", `{"name":"Guest","email":"not an address","topic":"gossip","message":""}`, nil)
	if r.Status != http.StatusUnprocessableEntity || !strings.Contains(r.Body, `"code":"invalid"`) {
		t.Fatalf("invalid ticket: %d %s", r.Status, r.Body)
	}
	for _, field := range []string{"email", "topic", "message"} {
		if !strings.Contains(r.Body, `"`+field+`":`) {
			t.Errorf("invalid ticket: %s does not name %s", r.Body, field)
		}
	}
	// API.md names no topic: a client that guessed wrong was told
	// "Choose a subject." with nothing to choose from.
	var bad apiErr
	json.Unmarshal([]byte(r.Body), &bad)
	for _, topic := range desk.Topics {
		if !strings.Contains(bad.Error.Fields["topic"], topic) {
			t.Errorf("invalid topic: %q does not offer %s", bad.Error.Fields["topic"], topic)
		}
	}
	if r := postJSON(c, "/api/v1/tickets", `{"name":"Guest","email":"guest@example.fr","topic":"question","message":"x","colour":"red"}`, nil); r.Status != http.StatusBadRequest {
		t.Errorf("unknown field: %d %s", r.Status, r.Body)
	}

	// A signed-in customer's ticket joins their account.
	r = postJSON(c, "/api/v1/tickets", `{"name":"Ana","email":"ana@example.fr","topic":"order","message":"Where is my order?"}`, anaAuth)
	if r.Status != http.StatusCreated {
		t.Fatalf("Ana's ticket: %d %s", r.Status, r.Body)
	}
	mine := decodeAs[apiTicket](t, r)
	if _, err := h.App.Desk.Note(context.Background(), agentUser.Actor(), mine.ID, "Internal: check the order"); err != nil {
		t.Fatal(err)
	}

	// The queue: staff only, both tickets, with their deadlines.
	r = c.Send(http.MethodGet, "/api/v1/tickets", "", nil, agentAuth)
	queue := decodeAs[struct {
		Items []apiTicket `json:"items"`
		Next  *string     `json:"next"`
	}](t, r)
	if r.Status != http.StatusOK || len(queue.Items) != 2 || queue.Next != nil || strings.Contains(r.Body, `"next"`) {
		t.Fatalf("queue: %d %s", r.Status, r.Body)
	}
	for _, it := range queue.Items {
		if it.Reference == "" || it.Status != "open" || it.DueAt == nil {
			t.Errorf("queue item %+v", it)
		}
	}
	// A customer sees their own tickets only.
	r = c.Send(http.MethodGet, "/api/v1/tickets", "", nil, anaAuth)
	if list := decodeAs[struct{ Items []apiTicket }](t, r); r.Status != http.StatusOK || len(list.Items) != 1 || list.Items[0].ID != mine.ID {
		t.Fatalf("Ana's tickets: %d %s", r.Status, r.Body)
	}
	if r := c.Get("/api/v1/tickets"); r.Status != http.StatusUnauthorized {
		t.Errorf("queue without credentials: %d", r.Status)
	}

	// The ticket: its owner without internal notes, staff with them;
	// anyone else 404.
	r = c.Send(http.MethodGet, "/api/v1/tickets/"+mine.ID, "", nil, anaAuth)
	got := decodeAs[apiTicket](t, r)
	if r.Status != http.StatusOK || got.Reference != mine.Reference || len(got.Messages) == 0 || got.Messages[0].Text != "Where is my order?" ||
		got.Messages[0].Direction != "in" || strings.Contains(r.Body, "Internal:") || strings.Contains(r.Body, `"direction":"note"`) {
		t.Fatalf("Ana's ticket: %d %s", r.Status, r.Body)
	}
	r = c.Send(http.MethodGet, "/api/v1/tickets/"+mine.ID, "", nil, agentAuth)
	if got := decodeAs[apiTicket](t, r); r.Status != http.StatusOK || got.Messages[len(got.Messages)-1].Direction != "note" {
		t.Fatalf("agent's view: %d %s", r.Status, r.Body)
	}
	for _, path := range []string{"/api/v1/tickets/" + mine.ID, "/api/v1/tickets/" + guest.ID} {
		if r := c.Send(http.MethodGet, path, "", nil, benAuth); r.Status != http.StatusNotFound || !strings.Contains(r.Body, `"code":"not_found"`) {
			t.Errorf("Ben reads %s: %d %s", path, r.Status, r.Body)
		}
	}

	// Replies: the agent's answer, then the owner's message.
	r = postJSON(c, "/api/v1/tickets/"+mine.ID+"/messages", `{"message":"It leaves today."}`, agentAuth)
	if got := decodeAs[apiTicket](t, r); r.Status != http.StatusCreated || got.Status != "answered" || got.Messages[len(got.Messages)-1].Direction != "out" {
		t.Fatalf("agent's reply: %d %s", r.Status, r.Body)
	}
	r = postJSON(c, "/api/v1/tickets/"+mine.ID+"/messages", `{"message":"Thanks!"}`, anaAuth)
	got = decodeAs[apiTicket](t, r)
	if r.Status != http.StatusCreated || got.Status != "open" || got.Messages[len(got.Messages)-1].Text != "Thanks!" {
		t.Fatalf("Ana's reply: %d %s", r.Status, r.Body)
	}
	before, _ := h.App.Desk.Thread(context.Background(), mine.ID, true)
	if r := postJSON(c, "/api/v1/tickets/"+mine.ID+"/messages", `{"message":"  "}`, anaAuth); r.Status != http.StatusUnprocessableEntity || !strings.Contains(r.Body, `"message":`) {
		t.Errorf("empty reply: %d %s", r.Status, r.Body)
	}
	if r := postJSON(c, "/api/v1/tickets/"+mine.ID+"/messages", `{"message":"Me too"}`, benAuth); r.Status != http.StatusNotFound {
		t.Errorf("Ben replies on Ana's ticket: %d %s", r.Status, r.Body)
	}
	thread, _ := h.App.Desk.Thread(context.Background(), mine.ID, true)
	if len(thread) != len(before) {
		t.Errorf("thread has %d messages, want %d (refused replies store nothing)", len(thread), len(before))
	}
}

// The queue pages like every list: next on a full page, ?after= gives the
// rest, no next on the last page, a cursor it never gave is 400.
func TestTicketsAPIQueuePages(t *testing.T) {
	h := apptest.Start(t)
	agentUser, _ := h.User(t, account.RoleAgent, "agent@shop.test")
	auth := h.Bearer(t, agentUser.ID)
	c := h.NewClient(t)
	const n, apiPage = 53, 50
	for i := range n {
		if _, err := h.App.Desk.OpenFromContact(context.Background(), desk.ContactInput{Name: "G", Email: fmt.Sprintf("g%d@example.fr", i),
			Topic: "question", Message: "Hello"}); err != nil {
			t.Fatal(err)
		}
	}
	seen := map[string]bool{}
	path, pages := "/api/v1/tickets", 0
	for {
		r := c.Send(http.MethodGet, path, "", nil, auth)
		page := decodeAs[struct {
			Items []apiTicket `json:"items"`
			Next  string      `json:"next"`
		}](t, r)
		if r.Status != http.StatusOK {
			t.Fatalf("%s: %d %s", path, r.Status, r.Body)
		}
		pages++
		for _, it := range page.Items {
			if seen[it.ID] {
				t.Fatalf("ticket %s on two pages", it.ID)
			}
			seen[it.ID] = true
		}
		if page.Next == "" {
			if strings.Contains(r.Body, `"next"`) {
				t.Errorf("last page carries next: %s", r.Body)
			}
			break
		}
		path = "/api/v1/tickets?after=" + url.QueryEscape(page.Next)
	}
	if len(seen) != n || pages != 2 {
		t.Errorf("%d tickets over %d pages, want %d over 2", len(seen), pages, n)
	}
	if r := c.Send(http.MethodGet, "/api/v1/tickets?after=garbage", "", nil, auth); r.Status != http.StatusBadRequest || !strings.Contains(r.Body, `"code":"bad_request"`) {
		t.Errorf("bad cursor: %d %s", r.Status, r.Body)
	}
	// The console's filters: nobody took a ticket yet.
	for filter, want := range map[string]int{"mine": 0, "unassigned": apiPage} {
		r := c.Send(http.MethodGet, "/api/v1/tickets?filter="+filter, "", nil, auth)
		if got := decodeAs[struct{ Items []apiTicket }](t, r); r.Status != http.StatusOK || len(got.Items) != want {
			t.Errorf("filter %s: %d, %d tickets, want %d", filter, r.Status, len(got.Items), want)
		}
	}
	if r := c.Send(http.MethodGet, "/api/v1/tickets?filter=bogus", "", nil, auth); r.Status != http.StatusBadRequest {
		t.Errorf("unknown filter: %d %s", r.Status, r.Body)
	}
}

// An agent may decide a claim again (a further partial refund), so a
// decision retried after a lost answer refunded twice: POST
// /claims/{id}/decision moves money and must honour Idempotency-Key.
func TestClaimDecisionIdempotencyKey(t *testing.T) {
	h := apptest.Start(t)
	u, _ := h.User(t, account.RoleCustomer, "ana@example.fr")
	agentUser, _ := h.User(t, account.RoleAgent, "agent@shop.test")
	o := buyAndDeliver(t, h, u, 40)
	c := h.NewClient(t)
	r := postJSON(c, "/api/v1/claims", `{"kind":"dissatisfied","order_id":"`+o.ID+`","message":"Not what I hoped"}`, h.Bearer(t, u.ID))
	if r.Status != http.StatusCreated {
		t.Fatalf("file: %d %s", r.Status, r.Body)
	}
	claim := decodeAs[struct{ ID string }](t, r)
	before := balanceOf(t, h, u)
	keyed := h.Bearer(t, agentUser.ID)
	keyed.Set("Idempotency-Key", "decide-1")
	body := `{"outcome":"refund","refund":{"amount":300,"currency":"EUR"},"reason_code":"goodwill","note":"sorry"}`
	first := postJSON(c, "/api/v1/claims/"+claim.ID+"/decision", body, keyed)
	if first.Status != http.StatusOK {
		t.Fatalf("decide: %d %s", first.Status, first.Body)
	}
	again := postJSON(c, "/api/v1/claims/"+claim.ID+"/decision", body, keyed)
	if again.Status != http.StatusOK || again.Body != first.Body || again.Header.Get("Idempotent-Replayed") != "true" {
		t.Errorf("retry: %d %s, want the first answer %s", again.Status, again.Body, first.Body)
	}
	if got := balanceOf(t, h, u); got != before+300 {
		t.Fatalf("balance %d after a retried decision, want %d (refunded once)", got, before+300)
	}
	other := postJSON(c, "/api/v1/claims/"+claim.ID+"/decision", strings.Replace(body, "300", "200", 1), keyed)
	if other.Status != http.StatusUnprocessableEntity || !strings.Contains(other.Body, `"code":"idempotency_key_reused"`) {
		t.Errorf("same key, another body: %d %s", other.Status, other.Body)
	}
	// The key is scoped to the caller and the route: on another claim it
	// is another request, refused as reused rather than run.
	r = postJSON(c, "/api/v1/claims", `{"kind":"not_as_described","order_id":"`+o.ID+`","message":"Wrong"}`, h.Bearer(t, u.ID))
	second := decodeAs[struct{ ID string }](t, r)
	if r := postJSON(c, "/api/v1/claims/"+second.ID+"/decision", body, keyed); r.Status != http.StatusUnprocessableEntity || !strings.Contains(r.Body, `"code":"idempotency_key_reused"`) {
		t.Errorf("same key on another claim: %d %s", r.Status, r.Body)
	}
	// A refused decision leaves the key free for a corrected retry.
	k2 := h.Bearer(t, agentUser.ID)
	k2.Set("Idempotency-Key", "decide-2")
	if r := postJSON(c, "/api/v1/claims/"+claim.ID+"/decision", `{"outcome":"refund","refund":{"amount":100000,"currency":"EUR"}}`, k2); r.Status/100 != 4 {
		t.Fatalf("over-refund: %d %s", r.Status, r.Body)
	}
	if got := balanceOf(t, h, u); got != before+300 {
		t.Fatalf("balance %d after a refused decision", got)
	}
}

// Filing a claim can refund at once (a late non_delivery): POST /claims
// moves money, and a retry with the same key must get the first answer,
// not 409 claim_already_open or a second claim.
func TestClaimFilingIdempotencyKey(t *testing.T) {
	h := apptest.Start(t)
	u, _ := h.User(t, account.RoleCustomer, "ana@example.fr")
	o := buyAndDeliver(t, h, u, 40)
	h.Clock.Advance(73 * time.Hour)
	c := h.NewClient(t)
	before := balanceOf(t, h, u)
	keyed := h.Bearer(t, u.ID)
	keyed.Set("Idempotency-Key", "claim-1")
	body := `{"kind":"non_delivery","order_id":"` + o.ID + `","message":"Only 40 of 100"}`
	first := postJSON(c, "/api/v1/claims", body, keyed)
	if first.Status != http.StatusCreated || !strings.Contains(first.Body, `"outcome":"refund"`) {
		t.Fatalf("file: %d %s", first.Status, first.Body)
	}
	again := postJSON(c, "/api/v1/claims", body, keyed)
	if again.Status != http.StatusCreated || again.Body != first.Body || again.Header.Get("Idempotent-Replayed") != "true" {
		t.Errorf("retry: %d %s, want the first answer %s", again.Status, again.Body, first.Body)
	}
	if got := balanceOf(t, h, u); got != before+1500 {
		t.Errorf("balance %d, want %d (refunded once)", got, before+1500)
	}
	other := postJSON(c, "/api/v1/claims", strings.Replace(body, "Only 40", "Just 40", 1), keyed)
	if other.Status != http.StatusUnprocessableEntity || !strings.Contains(other.Body, `"code":"idempotency_key_reused"`) {
		t.Errorf("same key, another body: %d %s", other.Status, other.Body)
	}
}

// Cancelling inside the refund window gives the last payment back: a
// retried cancel with its key gets the first answer.
func TestSubscriptionCancelIdempotencyKey(t *testing.T) {
	h := apptest.Start(t)
	plan := newPlan(t, h, "pro", 990, 0)
	u, _ := h.User(t, account.RoleCustomer, "ana@example.fr")
	credit(t, h, u, 5000)
	auth := h.Bearer(t, u.ID)
	c := h.NewClient(t)
	subID := subscribeWithBalance(t, c, auth, plan.ID)
	h.Clock.Advance(3 * 24 * time.Hour)
	keyed := auth.Clone()
	keyed.Set("Idempotency-Key", "cancel-1")
	first := postJSON(c, "/api/v1/subscriptions/"+subID+"/cancel", `{"mode":"period_end"}`, keyed)
	if first.Status != http.StatusOK || !strings.Contains(first.Body, `"outcome":"refund"`) {
		t.Fatalf("cancel: %d %s", first.Status, first.Body)
	}
	again := postJSON(c, "/api/v1/subscriptions/"+subID+"/cancel", `{"mode":"period_end"}`, keyed)
	if again.Status != http.StatusOK || again.Body != first.Body || again.Header.Get("Idempotent-Replayed") != "true" {
		t.Errorf("retry: %d %s, want the first answer %s", again.Status, again.Body, first.Body)
	}
	if got := balanceOf(t, h, u); got != 5000 {
		t.Errorf("balance %d, want 5000 (refunded once)", got)
	}
}

// POST /subscriptions/{id}/cancel takes {mode, refund} (API.md), but its
// errors named the claim behind it: a wrong or missing mode came back as
// fields {"choice": …}, a field the route does not have, and another
// customer's subscription as "This claim does not exist".
func TestSubscriptionCancelErrorsNameItsFields(t *testing.T) {
	h := apptest.Start(t)
	plan := newPlan(t, h, "pro", 990, 0)
	u, _ := h.User(t, account.RoleCustomer, "ana@example.fr")
	other, _ := h.User(t, account.RoleCustomer, "ben@example.fr")
	credit(t, h, u, 5000)
	auth := h.Bearer(t, u.ID)
	c := h.NewClient(t)
	subID := subscribeWithBalance(t, c, auth, plan.ID)
	for _, tc := range []struct{ body, field, problem string }{
		{`{"mode":"later","refund":false}`, "mode", "invalid"},
		{`{"refund":false}`, "mode", "required"},
	} {
		r := postJSON(c, "/api/v1/subscriptions/"+subID+"/cancel", tc.body, auth)
		e := decodeAs[apiErr](t, r)
		if r.Status != http.StatusUnprocessableEntity || e.Error.Code != "invalid" || e.Error.Fields[tc.field] != tc.problem || len(e.Error.Fields) != 1 ||
			strings.Contains(e.Error.Message, "réclamation") || strings.Contains(e.Error.Message, "claim") {
			t.Errorf("%s: %d %s; want 422 invalid with fields {%q: %q}", tc.body, r.Status, r.Body, tc.field, tc.problem)
		}
	}
	r := postJSON(c, "/api/v1/subscriptions/"+subID+"/cancel", `{"mode":"now","refund":false}`, h.Bearer(t, other.ID))
	if e := decodeAs[apiErr](t, r); r.Status != http.StatusNotFound || e.Error.Code != "not_found" || strings.Contains(e.Error.Message, "claim") ||
		strings.Contains(e.Error.Message, "réclamation") {
		t.Errorf("another customer's subscription: %d %s; want 404 not_found about a subscription", r.Status, r.Body)
	}
	// Nothing was cancelled by the refused requests.
	r = c.Send(http.MethodGet, "/api/v1/subscriptions/"+subID, "", nil, auth)
	if s := decodeAs[struct {
		Status            string `json:"status"`
		CancelAtPeriodEnd bool   `json:"cancel_at_period_end"`
	}](t, r); s.Status != "active" || s.CancelAtPeriodEnd {
		t.Errorf("after refused cancels: %s", r.Body)
	}
}

// A body of the wrong shape is a 400 that names the field and the JSON type
// it wants: the decoder's own message printed the server's Go types
// ("cannot unmarshal string into Go struct field createOrderJSON.lines of
// type []struct { ProductID string …").
func TestAPIMalformedBodyNamesTheField(t *testing.T) {
	h := apptest.Start(t)
	u, _ := h.User(t, account.RoleCustomer, "ana@example.fr")
	auth := h.Bearer(t, u.ID)
	c := h.NewClient(t)
	for _, tc := range []struct{ path, body, want string }{
		{"/api/v1/orders", `{"lines":"x"}`, "lines: want an array, not a string"},
		{"/api/v1/orders", `{"lines":[{"product_id":"prd_x","quantity":2.5}]}`, "lines.quantity: want a whole number (in range), not a number 2.5"},
		{"/api/v1/orders", `{"lines":[{"product_id":"prd_x","quantity":99999999999999999999}]}`, "lines.quantity: want a whole number (in range)"},
		{"/api/v1/orders", `{"consent":{"immediate_performance":"yes"}}`, "consent.immediate_performance: want true or false, not a string"},
		{"/api/v1/orders", `[]`, "want an object, not an array"},
		{"/api/v1/orders", `{"lines":[],"colour":"red"}`, `unknown field \"colour\"`},
		{"/api/v1/orders", `{"lines":[`, "the JSON ends too early"},
		{"/api/v1/orders", ``, "the body is empty"},
		{"/api/v1/orders", `{"lines":[]} {}`, "trailing data"},
		{"/api/v1/orders", `{lines:[]}`, "not JSON at byte 2"},
		{"/api/v1/claims", `{"kind":"dissatisfied","message":7}`, "message: want a string, not a number"},
	} {
		r := postJSON(c, tc.path, tc.body, auth)
		if r.Status != http.StatusBadRequest || !strings.Contains(r.Body, `"code":"bad_request"`) || !strings.Contains(r.Body, tc.want) {
			t.Errorf("%s %s: %d %s\nwant 400 bad_request saying %q", tc.path, tc.body, r.Status, r.Body, tc.want)
		}
		if strings.Contains(r.Body, "Go ") || strings.Contains(r.Body, "struct") || strings.Contains(r.Body, "json:") {
			t.Errorf("%s %s: the message shows the server's Go types: %s", tc.path, tc.body, r.Body)
		}
	}
}

// GET /invoices is a list like the others: it stopped at 500 documents with
// no next, so an admin's script saw a truncated list as the whole.
func TestInvoicesAPIPages(t *testing.T) {
	h := apptest.Start(t)
	ana, _ := h.User(t, account.RoleCustomer, "ana@example.fr")
	ben, _ := h.User(t, account.RoleCustomer, "ben@example.fr")
	adminUser, _ := h.User(t, account.RoleAdmin, "admin@shop.test")
	p := newService(t, h, "posts", 10) // at least 10 a line: 1 € an order
	buy := func(u account.User, n int) {
		credit(t, h, u, int64(n)*100)
		for range n {
			if _, err := h.App.Orders.Place(context.Background(), orders.PlaceInput{
				CustomerID: u.ID, Lines: []orders.LineInput{{ProductID: p.ID, Quantity: 10}}, Payment: orders.PayBalance,
				ImmediatePerformance: true, WithdrawalWaiver: true, Lang: "en", IP: "192.0.2.1", UserAgent: "test",
			}, nil); err != nil {
				t.Fatal(err)
			}
		}
	}
	buy(ana, 103)
	buy(ben, 2)
	c := h.NewClient(t)
	// Every page, following next until it is absent.
	all := func(auth http.Header) (ids []string, pages int) {
		t.Helper()
		seen := map[string]bool{}
		path := "/api/v1/invoices"
		for {
			r := c.Send(http.MethodGet, path, "", nil, auth)
			page := decodeAs[struct {
				Items []struct{ ID, CustomerID string } `json:"items"`
				Next  string                            `json:"next"`
			}](t, r)
			if r.Status != http.StatusOK {
				t.Fatalf("%s: %d %s", path, r.Status, r.Body)
			}
			pages++
			for _, it := range page.Items {
				if seen[it.ID] {
					t.Fatalf("%s on two pages", it.ID)
				}
				seen[it.ID] = true
				ids = append(ids, it.ID)
			}
			if page.Next == "" {
				if strings.Contains(r.Body, `"next"`) {
					t.Errorf("last page carries next: %.200s", r.Body)
				}
				return ids, pages
			}
			path = "/api/v1/invoices?after=" + url.QueryEscape(page.Next)
		}
	}
	anaAuth := h.Bearer(t, ana.ID)
	if ids, pages := all(anaAuth); len(ids) != 103 || pages != 2 {
		t.Errorf("Ana: %d invoices over %d pages, want 103 over 2", len(ids), pages)
	}
	if ids, pages := all(h.Bearer(t, adminUser.ID)); len(ids) != 105 || pages != 2 {
		t.Errorf("admin: %d invoices over %d pages, want 105 over 2", len(ids), pages)
	}
	benIDs, _ := all(h.Bearer(t, ben.ID))
	// A cursor that is not one of the caller's documents is refused.
	for _, after := range []string{"garbage", benIDs[0]} {
		if r := c.Send(http.MethodGet, "/api/v1/invoices?after="+after, "", nil, anaAuth); r.Status != http.StatusBadRequest || !strings.Contains(r.Body, `"code":"bad_request"`) {
			t.Errorf("after=%s: %d %.200s", after, r.Status, r.Body)
		}
	}
}

// A claim refused as invalid says which fields, as orders and sign-up do:
// it answered {"code":"invalid"} alone.
func TestClaimValidationNamesTheFields(t *testing.T) {
	h := apptest.Start(t)
	u, _ := h.User(t, account.RoleCustomer, "ana@example.fr")
	o := buyAndDeliver(t, h, u, 40)
	auth := h.Bearer(t, u.ID)
	c := h.NewClient(t)
	r := postJSON(c, "/api/v1/claims", `{"kind":"bogus","order_id":"`+o.ID+`","message":"x"}`, auth)
	if r.Status != http.StatusUnprocessableEntity || !strings.Contains(r.Body, `"code":"invalid"`) || !strings.Contains(r.Body, `"fields":{"kind":`) {
		t.Errorf("bad kind: %d %s", r.Status, r.Body)
	}
	r = postJSON(c, "/api/v1/claims", `{"kind":"not_as_described","order_id":"`+o.ID+`","message":"Not as described"}`, auth)
	claim := decodeAs[struct{ ID string }](t, r)
	ct, body := multipartBody(t, "", nil)
	r = c.Send(http.MethodPost, "/api/v1/claims/"+claim.ID+"/evidence", ct, body, auth)
	if r.Status != http.StatusUnprocessableEntity || !strings.Contains(r.Body, `"fields":{`) {
		t.Errorf("empty evidence: %d %s", r.Status, r.Body)
	}
}

// A method a path does not take is 405 method_not_allowed with Allow, in
// JSON: it was 404 not_found, as if the resource did not exist.
func TestAPIWrongMethodIs405(t *testing.T) {
	h := apptest.Start(t)
	u, _ := h.User(t, account.RoleCustomer, "ana@example.fr")
	auth := h.Bearer(t, u.ID)
	c := h.NewClient(t)
	for _, tc := range []struct{ method, path, allow string }{
		{http.MethodPut, "/api/v1/products", "GET, HEAD"},
		{http.MethodDelete, "/api/v1/orders", "GET, HEAD, POST"},
		{http.MethodGet, "/api/v1/signup", "POST"},
		{http.MethodPatch, "/api/v1/orders/ord_x", "GET, HEAD"},
		{http.MethodGet, "/api/v1/tickets/tkt_x/messages", "POST"},
	} {
		r := c.Send(tc.method, tc.path, "application/json", strings.NewReader("{}"), auth)
		if r.Status != http.StatusMethodNotAllowed || r.Header.Get("Allow") != tc.allow || !strings.Contains(r.Body, `"code":"method_not_allowed"`) ||
			!strings.HasPrefix(r.Header.Get("Content-Type"), "application/json") {
			t.Errorf("%s %s: %d Allow %q %s; want 405, Allow %q, JSON", tc.method, tc.path, r.Status, r.Header.Get("Allow"), r.Body, tc.allow)
		}
	}
	// Unknown paths stay 404, and so does a route that hides what the caller
	// may not see.
	for _, tc := range []struct{ method, path string }{
		{http.MethodGet, "/api/v1/nothing-here"},
		{http.MethodPost, "/api/v1/balance/credits"},
		{http.MethodPost, "/api/v1/orders/ord_x/delivery"},
	} {
		r := c.Send(tc.method, tc.path, "application/json", strings.NewReader("{}"), auth)
		if r.Status != http.StatusNotFound || !strings.Contains(r.Body, `"code":"not_found"`) {
			t.Errorf("%s %s: %d %s; want 404 not_found", tc.method, tc.path, r.Status, r.Body)
		}
	}
}

// API.md: an agent's claim from a customer's message is filed as of that
// message. The API took source_message_id as a label only and filed the
// claim when the agent got to it, so a customer who wrote inside the window
// was refused for the agent's delay.
func TestAgentClaimFromMessageIsFiledAtTheMessage(t *testing.T) {
	h := apptest.Start(t)
	u, _ := h.User(t, account.RoleCustomer, "ana@example.fr")
	agentUser, _ := h.User(t, account.RoleAgent, "agent@shop.test")
	o := buyAndDeliver(t, h, u, 40)
	h.Clock.Advance(6 * 24 * time.Hour) // the dissatisfied window is 7 days
	tk, err := h.App.Desk.OpenFromContact(context.Background(), desk.ContactInput{CustomerID: u.ID, Name: "Ana", Email: "ana@example.fr",
		OrderRef: o.ID, Topic: "dissatisfied", Message: "The posts are not what I hoped for."})
	if err != nil {
		t.Fatal(err)
	}
	thread, _ := h.App.Desk.Thread(context.Background(), tk.ID, false)
	written := h.Clock.Now()
	h.Clock.Advance(3 * 24 * time.Hour) // the agent files it three days later
	c := h.NewClient(t)
	auth := h.Bearer(t, agentUser.ID)
	r := postJSON(c, "/api/v1/claims", `{"kind":"dissatisfied","order_id":"`+o.ID+`","source_message_id":"`+thread[0].ID+`"}`, auth)
	got := decodeAs[struct {
		FiledAt  time.Time `json:"filed_at"`
		Decision struct{ Outcome string }
	}](t, r)
	if r.Status != http.StatusCreated || !got.FiledAt.Equal(written) || got.Decision.Outcome != "solution" {
		t.Fatalf("claim from the message: %d %s; want filed at %s, in time", r.Status, r.Body, written.Format(time.RFC3339))
	}
	// A message that is not a customer's, or a filed_at or customer that
	// contradicts it, is refused.
	for body, field := range map[string]string{
		`{"kind":"dissatisfied","order_id":"` + o.ID + `","source_message_id":"tms_nope"}`:                                                  "source_message_id",
		`{"kind":"dissatisfied","order_id":"` + o.ID + `","source_message_id":"` + thread[1].ID + `"}`:                                      "source_message_id",
		`{"kind":"dissatisfied","order_id":"` + o.ID + `","source_message_id":"` + thread[0].ID + `","filed_at":"2026-03-01T00:00:00Z"}`:    "filed_at",
		`{"kind":"dissatisfied","order_id":"` + o.ID + `","source_message_id":"` + thread[0].ID + `","customer_id":"` + agentUser.ID + `"}`: "customer_id",
	} {
		r := postJSON(c, "/api/v1/claims", body, auth)
		if r.Status != http.StatusUnprocessableEntity || !strings.Contains(r.Body, `"`+field+`":`) {
			t.Errorf("%s: %d %s; want 422 naming %s", body, r.Status, r.Body, field)
		}
	}
}

// A cursor the list never gave is 400 on every list, as on /products and
// /balance: /orders, /claims and /subscriptions read ?after=garbage as
// "nothing after it" and answered an empty last page.
func TestListsRefuseACursorTheyNeverGave(t *testing.T) {
	h := apptest.Start(t)
	u, c := h.User(t, account.RoleCustomer, "ana@example.fr")
	_, staff := h.User(t, account.RoleAgent, "agent@shop.test")
	buyAndDeliver(t, h, u, 0)
	auth := h.Bearer(t, u.ID)
	api := h.NewClient(t)
	for _, path := range []string{"/api/v1/orders", "/api/v1/claims", "/api/v1/subscriptions", "/api/v1/products", "/api/v1/balance", "/api/v1/invoices"} {
		r := api.Send(http.MethodGet, path+"?after=garbage", "", nil, auth)
		if r.Status != http.StatusBadRequest || !strings.Contains(r.Body, `"code":"bad_request"`) {
			t.Errorf("%s?after=garbage: %d %.200s", path, r.Status, r.Body)
		}
		if r := api.Send(http.MethodGet, path, "", nil, auth); r.Status != http.StatusOK {
			t.Errorf("%s: %d %.200s", path, r.Status, r.Body)
		}
	}
	// The pages that take the same cursor say 400 too, not 500.
	// The console's claims, in promise order, page by position.
	for _, p := range []struct {
		c    *apptest.Client
		path string
	}{{c, "/orders?after=garbage"}, {c, "/claims?after=garbage"}, {c, "/subscriptions?after=garbage"},
		{staff, "/console/orders?after=garbage"}, {staff, "/console/claims?from=garbage"}, {staff, "/console/claims?from=-1"}} {
		if r := p.c.Get(p.path); r.Status != http.StatusBadRequest {
			t.Errorf("page %s: %d", p.path, r.Status)
		}
	}
}

// API.md: evidence is "multipart files and text". A part under another name
// (a file sent as "file") was dropped without a word and the request
// answered 200 as if it had been kept.
func TestEvidenceRefusesPartsItDoesNotRead(t *testing.T) {
	h := apptest.Start(t)
	u, _ := h.User(t, account.RoleCustomer, "ana@example.fr")
	o := buyAndDeliver(t, h, u, 40)
	auth := h.Bearer(t, u.ID)
	c := h.NewClient(t)
	r := postJSON(c, "/api/v1/claims", `{"kind":"not_as_described","order_id":"`+o.ID+`","message":"Not as described"}`, auth)
	claim := decodeAs[struct{ ID string }](t, r)
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	mw.WriteField("text", "See the screenshot")
	fw, _ := mw.CreateFormFile("file", "shot.txt")
	fw.Write([]byte("what the page said"))
	mw.Close()
	r = c.Send(http.MethodPost, "/api/v1/claims/"+claim.ID+"/evidence", mw.FormDataContentType(), &buf, auth)
	if r.Status != http.StatusBadRequest || !strings.Contains(r.Body, `unknown field \"file\"`) {
		t.Fatalf("a file under \"file\": %d %s", r.Status, r.Body)
	}
	// Nothing was kept: the claim still waits for its evidence.
	if got, _ := h.App.Claims.Get(context.Background(), claim.ID); got.Decision.Outcome != "awaiting_evidence" {
		t.Errorf("claim after a refused upload: %s", got.Decision.Outcome)
	}
	// Evidence sent as JSON, as every other POST of the API is, was
	// refused 400 without a word of why.
	r = c.Send(http.MethodPost, "/api/v1/claims/"+claim.ID+"/evidence", "application/json", strings.NewReader(`{"text":"See the screenshot"}`), auth)
	if r.Status != http.StatusBadRequest || !strings.Contains(r.Body, "multipart/form-data") {
		t.Errorf("evidence as JSON: %d %s; want 400 saying it is multipart/form-data", r.Status, r.Body)
	}
	ct, body := multipartBody(t, "See the screenshot", map[string][]byte{"shot.txt": []byte("what the page said")})
	if r := c.Send(http.MethodPost, "/api/v1/claims/"+claim.ID+"/evidence", ct, body, auth); r.Status != http.StatusOK || !strings.Contains(r.Body, `"outcome":"review"`) {
		t.Errorf("text and files: %d %s", r.Status, r.Body)
	}
}

// A delivery without line_id is 422 naming it, like one without delivered;
// it answered 404 "this order does not exist" about an order that does.
func TestDeliveryNeedsItsLine(t *testing.T) {
	h := apptest.Start(t)
	u, _ := h.User(t, account.RoleCustomer, "ana@example.fr")
	agentUser, _ := h.User(t, account.RoleAgent, "agent@shop.test")
	o := buyAndDeliver(t, h, u, 0)
	c := h.NewClient(t)
	auth := h.Bearer(t, agentUser.ID)
	r := postJSON(c, "/api/v1/orders/"+o.ID+"/delivery", `{"delivered":10}`, auth)
	if r.Status != http.StatusUnprocessableEntity || !strings.Contains(r.Body, `"line_id":"required"`) {
		t.Errorf("no line_id: %d %s", r.Status, r.Body)
	}
	if r := postJSON(c, "/api/v1/orders/"+o.ID+"/delivery", `{"line_id":"`+o.Lines[0].ID+`","delivered":10}`, auth); r.Status != http.StatusOK {
		t.Errorf("delivery: %d %s", r.Status, r.Body)
	}
}

// Under /api/v1 every answer is JSON (API.md). A path the mux would clean
// (a double slash, a dot segment) was answered by its 307 redirect with an
// HTML body; it is 404 not_found in JSON now, and the pages keep their
// redirect.
func TestAPIUncleanPathIsJSON404(t *testing.T) {
	h := apptest.Start(t)
	u, _ := h.User(t, account.RoleCustomer, "ana@example.fr")
	auth := h.Bearer(t, u.ID)
	c := h.NewClient(t)
	for _, tc := range []struct{ method, path string }{
		{http.MethodGet, "/api/v1//products"},
		{http.MethodGet, "/api//v1/products"},
		{http.MethodGet, "/api/v1/./products"},
		{http.MethodGet, "/api/v1/orders/../products"},
		{http.MethodPost, "/api/v1//orders"},
	} {
		r := c.Send(tc.method, tc.path, "application/json", strings.NewReader("{}"), auth)
		if r.Status != http.StatusNotFound || !strings.Contains(r.Body, `"code":"not_found"`) ||
			!strings.HasPrefix(r.Header.Get("Content-Type"), "application/json") || r.Location != "" {
			t.Errorf("%s %s: %d %q %s; want 404 not_found in JSON", tc.method, tc.path, r.Status, r.Location, r.Body)
		}
	}
	if r := c.Get("//cart"); r.Status != http.StatusTemporaryRedirect || r.Location != "/cart" {
		t.Errorf("GET //cart: %d %q, want the mux's redirect to /cart", r.Status, r.Location)
	}
}

// A JSON body that names a key twice is ambiguous (the decoder kept the
// last, another reader may keep the first): it is 400 naming the key, at
// any depth, and nothing is done. Trailing data after the value is 400 too.
func TestAPIRefusesAmbiguousJSON(t *testing.T) {
	h := apptest.Start(t)
	p := newService(t, h, "posts", 25)
	u, c := h.User(t, account.RoleCustomer, "ana@example.fr")
	credit(t, h, u, 5000)
	auth := h.Bearer(t, u.ID)
	line := `{"product_id":"` + p.ID + `","quantity":10}`
	order := func(lines, rest string) string {
		return `{"lines":[` + lines + `],"consent":{"immediate_performance":true,"withdrawal_waiver":true},"accept_policy":"default@1"` + rest + `}`
	}
	for _, tc := range []struct{ name, body, key string }{
		{"payment twice", order(line, `,"payment":"balance","payment":"card"`), `payment`},
		{"in another case", order(line, `,"payment":"balance","Payment":"card"`), `Payment`},
		{"inside an object", `{"lines":[` + line + `],"payment":"balance","consent":{"immediate_performance":true,"withdrawal_waiver":true,"withdrawal_waiver":false},"accept_policy":"default@1"}`, `consent.withdrawal_waiver`},
		{"inside a list", order(`{"product_id":"`+p.ID+`","quantity":10,"quantity":99}`, `,"payment":"balance"`), `lines[0].quantity`},
		{"trailing garbage", order(line, `,"payment":"balance"`) + ` garbage`, ``},
		{"a second value", order(line, `,"payment":"balance"`) + `{}`, ``},
	} {
		r := postJSON(c, "/api/v1/orders", tc.body, auth)
		if r.Status != http.StatusBadRequest || !strings.Contains(r.Body, `"code":"bad_request"`) ||
			(tc.key != "" && !strings.Contains(r.Body, `duplicate key \"`+tc.key+`\"`)) {
			t.Errorf("%s: %d %s", tc.name, r.Status, r.Body)
		}
	}
	if b := balanceOf(t, h, u); b != 5000 {
		t.Fatalf("balance %d after refused orders, want 5000", b)
	}
	if r := postJSON(c, "/api/v1/orders", order(line, `,"payment":"balance"`)+"\n", auth); r.Status != http.StatusCreated {
		t.Fatalf("the same order once, trailing newline: %d %s", r.Status, r.Body)
	}
}

// A queue of exactly one page is one page: next was given whenever a page
// was full, so the client fetched a second, empty page. The list reads one
// row more to know whether another page exists, as the other lists do.
func TestTicketsAPIExactlyOnePage(t *testing.T) {
	h := apptest.Start(t)
	agentUser, _ := h.User(t, account.RoleAgent, "agent@shop.test")
	auth := h.Bearer(t, agentUser.ID)
	c := h.NewClient(t)
	const apiPage = 50
	for i := range apiPage {
		if _, err := h.App.Desk.OpenFromContact(context.Background(), desk.ContactInput{Name: "G", Email: fmt.Sprintf("g%d@example.fr", i),
			Topic: "question", Message: "Hello"}); err != nil {
			t.Fatal(err)
		}
	}
	r := c.Send(http.MethodGet, "/api/v1/tickets", "", nil, auth)
	page := decodeAs[struct {
		Items []apiTicket `json:"items"`
	}](t, r)
	if r.Status != http.StatusOK || len(page.Items) != apiPage || strings.Contains(r.Body, `"next"`) {
		t.Fatalf("a queue of one page: %d, %d tickets, next given: %v", r.Status, len(page.Items), strings.Contains(r.Body, `"next"`))
	}
}

// A claim about an order, a line or a subscription that is not the
// caller's answers 404 about that subject: it said "This claim does not
// exist", of a claim nobody had named.
func TestFileClaimNotFoundNamesItsSubject(t *testing.T) {
	h := apptest.Start(t)
	plan := newPlan(t, h, "pro", 990, 0)
	ana, _ := h.User(t, account.RoleCustomer, "ana@example.fr")
	ben, _ := h.User(t, account.RoleCustomer, "ben@example.fr")
	o := buyAndDeliver(t, h, ana, 40)
	credit(t, h, ana, 5000)
	c := h.NewClient(t)
	subID := subscribeWithBalance(t, c, h.Bearer(t, ana.ID), plan.ID)
	// In the account's language (French for both).
	for _, tc := range []struct{ name, body, want string }{
		{"another's order", `{"kind":"dissatisfied","order_id":"` + o.ID + `","message":"Hm"}`, "Cette commande ou cette ligne de commande n’existe pas."},
		{"an unknown line", `{"kind":"non_delivery","order_id":"` + o.ID + `","line_id":"oln_nope","message":"Hm"}`, "Cette commande ou cette ligne de commande n’existe pas."},
		{"another's subscription", `{"kind":"subscription_cancel","subscription_id":"` + subID + `","choice":"now","message":"Stop"}`, "Cet abonnement n’existe pas."},
	} {
		who := ben
		if tc.name == "an unknown line" {
			who = ana
		}
		r := postJSON(c, "/api/v1/claims", tc.body, h.Bearer(t, who.ID))
		if e := decodeAs[apiErr](t, r); r.Status != http.StatusNotFound || e.Error.Code != "not_found" || e.Error.Message != tc.want {
			t.Errorf("%s: %d %s; want 404 not_found %q", tc.name, r.Status, r.Body, tc.want)
		}
	}
}

// A malformed Idempotency-Key is 400 bad_request naming the header's field
// on every keyed route: checkout answered 422 invalid where the others
// answered 400.
func TestMalformedIdempotencyKeyIsBadRequestEverywhere(t *testing.T) {
	h := apptest.Start(t)
	p := newService(t, h, "posts", 25)
	u, _ := h.User(t, account.RoleCustomer, "ana@example.fr")
	admin, _ := h.User(t, account.RoleAdmin, "admin@shop.test")
	credit(t, h, u, 5000)
	c := h.NewClient(t)
	for _, tc := range []struct {
		path, body string
		who        string
	}{
		{"/api/v1/orders", `{"lines":[{"product_id":"` + p.ID + `","quantity":10}],"payment":"balance","consent":{"immediate_performance":true,"withdrawal_waiver":true}}`, u.ID},
		{"/api/v1/balance/credits", `{"customer_id":"` + u.ID + `","amount":{"amount":100,"currency":"EUR"},"reason":"goodwill"}`, admin.ID},
	} {
		auth := h.Bearer(t, tc.who)
		auth.Set("Idempotency-Key", strings.Repeat("k", 256))
		r := postJSON(c, tc.path, tc.body, auth)
		if e := decodeAs[apiErr](t, r); r.Status != http.StatusBadRequest || e.Error.Code != "bad_request" || e.Error.Fields["idempotency_key"] != "invalid" {
			t.Errorf("%s: %d %s; want 400 bad_request, fields {idempotency_key: invalid}", tc.path, r.Status, r.Body)
		}
	}
	// Nothing was bought nor credited.
	if got := balanceOf(t, h, u); got != 5000 {
		t.Errorf("balance %d after refused requests, want 5000", got)
	}
}

// apiErr is API.md's error body, with the fields a 4xx names.
type apiErr struct {
	Error struct {
		Code    string            `json:"code"`
		Message string            `json:"message"`
		Fields  map[string]string `json:"fields"`
	} `json:"error"`
}

// API.md: an agent files a claim with the body a customer sends ({kind,
// order_id|subscription_id, line_id?, message, …}): the claim is the
// customer's who owns what it is about. The agent's filing was refused
// (422, customer_id required), a field API.md does not have.
func TestAgentFilesAClaimWithTheDocumentedBody(t *testing.T) {
	h := apptest.Start(t)
	u, _ := h.User(t, account.RoleCustomer, "ana@example.fr")
	other, _ := h.User(t, account.RoleCustomer, "bob@example.fr")
	agentUser, _ := h.User(t, account.RoleAgent, "agent@shop.test")
	o := buyAndDeliver(t, h, u, 40)
	plan := newPlan(t, h, "pro", 990, 0)
	credit(t, h, u, 5000)
	c := h.NewClient(t)
	subID := subscribeWithBalance(t, c, h.Bearer(t, u.ID), plan.ID)
	h.Clock.Advance(24 * time.Hour)
	agentAuth := h.Bearer(t, agentUser.ID)

	for _, body := range []string{
		`{"kind":"dissatisfied","order_id":"` + o.ID + `","message":"She called: the posts are not what she hoped for."}`,
		`{"kind":"subscription_cancel","subscription_id":"` + subID + `","message":"She asked by phone.","choice":"period_end"}`,
	} {
		r := postJSON(c, "/api/v1/claims", body, agentAuth)
		got := decodeAs[struct {
			ID       string `json:"id"`
			Decision struct{ Outcome string }
		}](t, r)
		if r.Status != http.StatusCreated || got.ID == "" || got.Decision.Outcome == "" {
			t.Errorf("agent files %s: %d %s; want 201 with the decision", body, r.Status, r.Body)
			continue
		}
		// The claim is the owner's: they read it, another customer does not.
		if mine := c.Send(http.MethodGet, "/api/v1/claims/"+got.ID, "", nil, h.Bearer(t, u.ID)); mine.Status != http.StatusOK {
			t.Errorf("the owner reads the claim the agent filed: %d %s", mine.Status, mine.Body)
		}
		if theirs := c.Send(http.MethodGet, "/api/v1/claims/"+got.ID, "", nil, h.Bearer(t, other.ID)); theirs.Status != http.StatusNotFound {
			t.Errorf("another customer reads it: %d %s; want 404", theirs.Status, theirs.Body)
		}
	}
	// What names nothing, or a customer who does not own it, is not found.
	for _, body := range []string{
		`{"kind":"non_delivery","order_id":"ord_nope","message":"x"}`,
		`{"kind":"subscription_cancel","subscription_id":"sub_nope","message":"x","choice":"now"}`,
		`{"kind":"non_delivery","order_id":"` + o.ID + `","customer_id":"` + other.ID + `","message":"x"}`,
	} {
		if r := postJSON(c, "/api/v1/claims", body, agentAuth); r.Status != http.StatusNotFound || !strings.Contains(r.Body, `"code":"not_found"`) {
			t.Errorf("agent files %s: %d %s; want 404 not_found", body, r.Status, r.Body)
		}
	}
}

// API.md gives POST /signup and POST /login one body ({email, password,
// name, language, country, region?, city, customer_type?, vat_number?}):
// a client that signs in with the body it signed up with was refused 400
// (unknown field "name"). Only email and password count.
func TestLoginTakesTheSignupBody(t *testing.T) {
	h := apptest.Start(t)
	c := h.NewClient(t)
	body := `{"email":"ana@example.fr","password":"correct horse battery","name":"Ana","language":"fr","country":"FR",` +
		`"region":"ARA","city":"Lyon","customer_type":"consumer","vat_number":""}`
	if r := postJSON(c, "/api/v1/signup", body, nil); r.Status != http.StatusCreated {
		t.Fatalf("signup: %d %s", r.Status, r.Body)
	}
	r := postJSON(c, "/api/v1/login", body, nil)
	got := decodeAs[struct {
		Token    string `json:"token"`
		Customer struct {
			Email string `json:"email"`
		} `json:"customer"`
	}](t, r)
	if r.Status != http.StatusOK || got.Token == "" || got.Customer.Email != "ana@example.fr" {
		t.Fatalf("login with the sign-up body: %d %s; want 200 {token, customer}", r.Status, r.Body)
	}
	// The other fields say nothing about who signs in: a wrong password
	// is still refused, and a field neither route has still is.
	if r := postJSON(c, "/api/v1/login", strings.Replace(body, "correct horse", "wrong horse", 1), nil); r.Status != http.StatusUnauthorized {
		t.Errorf("wrong password: %d %s; want 401", r.Status, r.Body)
	}
	if r := postJSON(c, "/api/v1/login", `{"email":"ana@example.fr","password":"correct horse battery","remember":true}`, nil); r.Status != http.StatusBadRequest {
		t.Errorf("unknown field: %d %s; want 400", r.Status, r.Body)
	}
}

// API.md: "Authorization: Bearer …". An authentication scheme's name is
// case-insensitive (RFC 9110, section 11.1), but "bearer …" was ignored and
// the client answered 401 unauthorized, as if it had sent nothing.
func TestBearerSchemeIsCaseInsensitive(t *testing.T) {
	h := apptest.Start(t)
	u, _ := h.User(t, account.RoleCustomer, "ana@example.fr")
	token := strings.TrimPrefix(h.Bearer(t, u.ID).Get("Authorization"), "Bearer ")
	c := h.NewClient(t)
	for _, scheme := range []string{"Bearer", "bearer", "BEARER"} {
		r := c.Send(http.MethodGet, "/api/v1/me", "", nil, http.Header{"Authorization": {scheme + " " + token}})
		if r.Status != http.StatusOK || !strings.Contains(r.Body, `"id":"`+u.ID+`"`) {
			t.Errorf("Authorization: %s …: %d %s; want 200, the user", scheme, r.Status, r.Body)
		}
	}
	for _, authz := range []string{"Bearer", "Bearer" + token, "Basic " + token} {
		if r := c.Send(http.MethodGet, "/api/v1/me", "", nil, http.Header{"Authorization": {authz}}); r.Status != http.StatusUnauthorized {
			t.Errorf("Authorization: %.12s…: %d %s; want 401", authz, r.Status, r.Body)
		}
	}
}

// API.md: POST /orders and POST /subscriptions are a customer's. An agent
// or an admin with money on their balance (an admin can credit any
// account) placed orders and took out subscriptions as if they were
// customers; without money they were answered 402 insufficient_balance.
// Their role does not reach those routes (404, as every route a role does
// not reach), nor the pages that buy, which tell them why instead of
// offering to pay.
func TestStaffBuyNothing(t *testing.T) {
	h := apptest.Start(t)
	p := newService(t, h, "posts", 25)
	plan := newPlan(t, h, "pro", 990, 0)
	order := `{"lines":[{"product_id":"` + p.ID + `","quantity":100}],"payment":"balance",` +
		`"consent":{"immediate_performance":true,"withdrawal_waiver":true}}`
	subscribe := `{"plan_id":"` + plan.ID + `","payment":"balance","consent":{"immediate_performance":true,"withdrawal_waiver":true}}`
	for _, role := range []string{account.RoleAgent, account.RoleAdmin} {
		u, pages := h.User(t, role, role+"@shop.test")
		credit(t, h, u, 100000)
		c := h.NewClient(t)
		auth := h.Bearer(t, u.ID)
		for path, body := range map[string]string{"/api/v1/orders": order, "/api/v1/subscriptions": subscribe} {
			if r := postJSON(c, path, body, auth); r.Status != http.StatusNotFound || !strings.Contains(r.Body, `"code":"not_found"`) {
				t.Errorf("%s: POST %s: %d %s; want 404 not_found", role, path, r.Status, r.Body)
			}
		}
		pages.PostForm("/lang", url.Values{"lang": {"en"}})
		if r := pages.PostForm("/cart", url.Values{"product_id": {p.ID}, "quantity": {"100"}}); r.Status != http.StatusSeeOther {
			t.Fatalf("%s: add to cart: %d", role, r.Status)
		}
		cart := pages.Get("/cart")
		if strings.Contains(cart.Body, `id="checkout"`) || !strings.Contains(cart.Body, `id="staff-buy-nothing"`) ||
			!strings.Contains(cart.Body, "A staff account buys nothing") {
			t.Errorf("%s: the cart offers to pay, or does not say why it cannot:\n%s", role, cart.Body)
		}
		if r := pages.PostForm("/checkout", url.Values{"payment": {"balance"}, "accept_policy": {"default@1"},
			"immediate_performance": {"yes"}, "withdrawal_waiver": {"yes"}}); r.Status != http.StatusNotFound {
			t.Errorf("%s: POST /checkout: %d; want 404", role, r.Status)
		}
		if r := pages.Get("/shop/pro"); strings.Contains(r.Body, `id="subscribe"`) || !strings.Contains(r.Body, `id="staff-buy-nothing"`) {
			t.Errorf("%s: the plan's page offers to subscribe:\n%s", role, r.Body)
		}
		if got := balanceOf(t, h, u); got != 100000 {
			t.Errorf("%s: balance %d, want 100000 (nothing bought)", role, got)
		}
	}
	var n int
	if err := h.App.DB.Read.QueryRow(`SELECT (SELECT COUNT(*) FROM orders) + (SELECT COUNT(*) FROM subscriptions)`).Scan(&n); err != nil || n != 0 {
		t.Errorf("%d orders and subscriptions (%v), want none", n, err)
	}
	// A customer still buys with the same bodies.
	u, _ := h.User(t, account.RoleCustomer, "ana@example.fr")
	credit(t, h, u, 100000)
	if r := postJSON(h.NewClient(t), "/api/v1/orders", order, h.Bearer(t, u.ID)); r.Status != http.StatusCreated {
		t.Errorf("customer: POST /api/v1/orders: %d %s", r.Status, r.Body)
	}
}

// POST /balance/credits takes a customer_id (API.md): an agent's or an
// admin's id was credited (201), money a staff account could never spend
// since it buys nothing. It is not found, as an unknown id is.
func TestBalanceCreditIsForCustomers(t *testing.T) {
	h := apptest.Start(t)
	agentUser, _ := h.User(t, account.RoleAgent, "agent@shop.test")
	admin, _ := h.User(t, account.RoleAdmin, "admin@shop.test")
	c := h.NewClient(t)
	for _, id := range []string{agentUser.ID, admin.ID, "usr_nope"} {
		r := postJSON(c, "/api/v1/balance/credits", `{"customer_id":"`+id+`","amount":{"amount":100,"currency":"EUR"},"reason":"goodwill"}`, h.Bearer(t, admin.ID))
		if r.Status != http.StatusNotFound || !strings.Contains(r.Body, `"code":"not_found"`) {
			t.Errorf("credit %s: %d %s; want 404 not_found", id, r.Status, r.Body)
		}
	}
	if got := balanceOf(t, h, agentUser) + balanceOf(t, h, admin); got != 0 {
		t.Errorf("staff balances %d, want 0", got)
	}
}

// API.md: the API takes a bearer token (or the session cookie). A 401
// must say how to authenticate (RFC 9110, section 15.5.2: a WWW-Authenticate
// challenge), and a token that was refused says so (RFC 6750, section 3:
// error="invalid_token"), so that a client tells a missing credential from
// a revoked one without reading the message. The API's 401s carried none:
// only /metrics did.
func TestAPIUnauthorizedCarriesAChallenge(t *testing.T) {
	h := apptest.Start(t)
	u, _ := h.User(t, account.RoleCustomer, "ana@example.fr")
	c := h.NewClient(t)
	for _, tc := range []struct {
		name, method, path, body string
		header                   http.Header
		want                     string
	}{
		{"no credential", http.MethodGet, "/api/v1/me", "", nil, `Bearer realm="comptoir"`},
		{"no credential, a POST", http.MethodPost, "/api/v1/orders", `{}`, nil, `Bearer realm="comptoir"`},
		{"no credential, delivery", http.MethodPost, "/api/v1/orders/ord_x/delivery", `{}`, nil, `Bearer realm="comptoir"`},
		{"unknown token", http.MethodGet, "/api/v1/me", "", http.Header{"Authorization": {"Bearer cpt_nothing"}}, `Bearer realm="comptoir", error="invalid_token"`},
		{"another scheme", http.MethodGet, "/api/v1/me", "", http.Header{"Authorization": {"Basic YTpi"}}, `Bearer realm="comptoir"`},
		{"wrong password", http.MethodPost, "/api/v1/login", `{"email":"ana@example.fr","password":"not the password"}`, nil, `Bearer realm="comptoir"`},
	} {
		var body io.Reader
		if tc.body != "" {
			body = strings.NewReader(tc.body)
		}
		r := c.Send(tc.method, tc.path, "application/json", body, tc.header)
		if r.Status != http.StatusUnauthorized || r.Header.Get("WWW-Authenticate") != tc.want {
			t.Errorf("%s: %d, WWW-Authenticate %q; want 401 and %q (%s)", tc.name, r.Status, r.Header.Get("WWW-Authenticate"), tc.want, r.Body)
		}
	}
	// A good token answers without a challenge.
	if r := c.Send(http.MethodGet, "/api/v1/me", "", nil, h.Bearer(t, u.ID)); r.Status != http.StatusOK || r.Header.Get("WWW-Authenticate") != "" {
		t.Errorf("good token: %d, WWW-Authenticate %q", r.Status, r.Header.Get("WWW-Authenticate"))
	}
}

// An admin's debit (a negative POST /balance/credits) beyond the
// customer's balance was refused with the words of a customer's purchase,
// "Your balance is too low for this order", said to the admin about no
// order and no balance of theirs. It now says what the page says: the
// customer's balance, which a debit never takes below zero.
func TestAdminDebitBeyondTheBalanceSaysWhose(t *testing.T) {
	h := apptest.Start(t)
	admin, _ := h.User(t, account.RoleAdmin, "admin@shop.test")
	cust, _ := h.User(t, account.RoleCustomer, "ana@example.fr")
	c := h.NewClient(t)
	if r := postJSON(c, "/api/v1/balance/credits", `{"customer_id":"`+cust.ID+`","amount":{"amount":500,"currency":"EUR"},"reason":"goodwill"}`, h.Bearer(t, admin.ID)); r.Status != http.StatusCreated {
		t.Fatalf("credit: %d %s", r.Status, r.Body)
	}
	r := postJSON(c, "/api/v1/balance/credits", `{"customer_id":"`+cust.ID+`","amount":{"amount":-1000,"currency":"EUR"},"reason":"correction"}`, h.Bearer(t, admin.ID))
	var e apiErr
	json.Unmarshal([]byte(r.Body), &e)
	if r.Status != http.StatusUnprocessableEntity || e.Error.Code != "insufficient_balance" ||
		!(strings.Contains(e.Error.Message, "5,00") || strings.Contains(e.Error.Message, "5.00")) ||
		!(strings.Contains(e.Error.Message, "ne couvre pas ce débit") || strings.Contains(e.Error.Message, "does not cover this debit")) {
		t.Errorf("debit beyond the balance: %d %s; want 422 insufficient_balance naming the customer's balance, 5.00", r.Status, r.Body)
	}
	if got := balanceOf(t, h, cust); got != 500 {
		t.Errorf("balance %d after a refused debit, want 500", got)
	}
}

// RFC 3339 (§5.6) lets the "T" and "Z" of a time be lower case; the API's
// one time input, an agent's filed_at, refused them as a bad request.
func TestAPIFiledAtTakesLowercaseTAndZ(t *testing.T) {
	h := apptest.Start(t)
	u, _ := h.User(t, account.RoleCustomer, "ana@example.fr")
	agentUser, _ := h.User(t, account.RoleAgent, "agent@shop.test")
	o := buyAndDeliver(t, h, u, 40)
	h.Clock.Advance(6 * 24 * time.Hour)
	tk, err := h.App.Desk.OpenFromContact(context.Background(), desk.ContactInput{CustomerID: u.ID, Name: "Ana", Email: "ana@example.fr",
		OrderRef: o.ID, Topic: "dissatisfied", Message: "The posts are not what I hoped for."})
	if err != nil {
		t.Fatal(err)
	}
	thread, _ := h.App.Desk.Thread(context.Background(), tk.ID, false)
	written := thread[0].CreatedAt
	h.Clock.Advance(3 * 24 * time.Hour)
	c := h.NewClient(t)
	auth := h.Bearer(t, agentUser.ID)
	// Not a time at all stays a bad request naming the field.
	for _, bad := range []string{`123`, `"2026-03-01x00:00:00z"`, `"yesterday"`} {
		r := postJSON(c, "/api/v1/claims", `{"kind":"dissatisfied","order_id":"`+o.ID+`","source_message_id":"`+thread[0].ID+`","filed_at":`+bad+`}`, auth)
		if r.Status != http.StatusBadRequest || !strings.Contains(r.Body, "filed_at") {
			t.Errorf("filed_at %s: %d %s; want 400 naming filed_at", bad, r.Status, r.Body)
		}
	}
	lower := strings.NewReplacer("T", "t", "Z", "z").Replace(written.UTC().Format(time.RFC3339Nano))
	r := postJSON(c, "/api/v1/claims", `{"kind":"dissatisfied","order_id":"`+o.ID+`","source_message_id":"`+thread[0].ID+`","filed_at":"`+lower+`"}`, auth)
	got := decodeAs[struct {
		FiledAt time.Time `json:"filed_at"`
	}](t, r)
	if r.Status != http.StatusCreated || !got.FiledAt.Equal(written) {
		t.Fatalf("filed_at %s: %d %s; want filed at %s", lower, r.Status, r.Body, written.Format(time.RFC3339Nano))
	}
}
