package web_test

import (
	"context"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"

	"comptoir/internal/apptest"
)

// The authorization matrix names objects in paths; some routes name them in
// their body too (the order a claim is about, the line a delivery counts,
// the message a claim comes from, an order a ticket is about). Each such
// reference must be to an object the caller may use with the rest of the
// request: customer B naming A's order, line or subscription, an agent
// pairing an order with another order's line or a message of another
// ticket, are refused as an unknown object would be, and nothing changes.
// So is an Idempotency-Key that A used, sent by B with A's very body: the
// key is B's own, and B gets no answer of A's.
func TestObjectsNamedInTheBodyAreTheCallersOwn(t *testing.T) {
	h := apptest.Start(t)
	ctx := context.Background()
	users := authzUsers(t, h)
	o := authzSetup(t, h, users)
	a, b := users[custA], users[custB]
	bOrder := buyAndDeliver(t, h, b, 40)
	bLine := bOrder.Lines[0].ID
	aOrder, err := h.App.Orders.Get(ctx, o.order)
	if err != nil {
		t.Fatal(err)
	}
	aLine := aOrder.Lines[0].ID
	aThread, err := h.App.Desk.Thread(ctx, o.ticket, false)
	if err != nil || len(aThread) == 0 {
		t.Fatalf("A's thread: %v %v", aThread, err)
	}
	guest := ticketOf(t, h, "gus@example.org")
	guestThread, err := h.App.Desk.Thread(ctx, guest.ID, false)
	if err != nil || len(guestThread) == 0 {
		t.Fatalf("the guest's thread: %v %v", guestThread, err)
	}

	// A files a claim with a key; B sends the same request, key and all.
	keyedBody := `{"kind":"dissatisfied","order_id":"` + o.order + `","message":"Not what I hoped."}`
	aKeyed := h.Bearer(t, a.ID)
	aKeyed.Set("Idempotency-Key", "same-key-1")
	if r := postJSON(h.NewClient(t), "/api/v1/claims", keyedBody, aKeyed); r.Status != http.StatusCreated {
		t.Fatalf("A's keyed claim: %d %s", r.Status, r.Body)
	}

	sessions := map[string]string{}
	for _, who := range []string{custB, agent, admin} {
		sessions[who] = newSession(t, h, users[who].ID)
	}
	type request struct {
		name, who, method, path string
		api                     bool
		body                    string // JSON for the API, a form for pages
		header                  http.Header
		want                    []int
		// accepted: the request is the caller's to make (a control
		// beside the refusals): it may change the database.
		accepted bool
		says     string // in the answer (French: the visitor's language)
	}
	form := func(v url.Values) string { return v.Encode() }
	bKeyed := h.Bearer(t, b.ID)
	bKeyed.Set("Idempotency-Key", "same-key-1")
	cases := []request{
		{name: "B files a claim on A's order", who: custB, method: "POST", path: "/api/v1/claims", api: true,
			body: `{"kind":"not_as_described","order_id":"` + o.order + `","message":"Mine now."}`, want: []int{404}},
		{name: "B files a claim on their order, naming A's line", who: custB, method: "POST", path: "/api/v1/claims", api: true,
			body: `{"kind":"not_as_described","order_id":"` + bOrder.ID + `","line_id":"` + aLine + `","message":"That line."}`, want: []int{404}},
		{name: "B cancels A's subscription by a claim", who: custB, method: "POST", path: "/api/v1/claims", api: true,
			body: `{"kind":"subscription_cancel","subscription_id":"` + o.sub + `","choice":"now","message":"Stop it."}`, want: []int{404}},
		{name: "B files a claim for A", who: custB, method: "POST", path: "/api/v1/claims", api: true,
			body: `{"kind":"not_as_described","order_id":"` + o.order + `","customer_id":"` + a.ID + `","message":"For Ana."}`, want: []int{404}},
		{name: "B sends A's keyed request with A's key", who: custB, method: "POST", path: "/api/v1/claims", api: true,
			body: keyedBody, header: bKeyed, want: []int{404}},
		{name: "B's claim form on their order, naming A's line", who: custB, method: "POST", path: "/orders/" + bOrder.ID + "/claims",
			body: form(url.Values{"kind": {"not_as_described"}, "line_id": {aLine}, "message": {"That line."}}), want: []int{404, 422}},
		{name: "B writes to the desk about A's order", who: custB, method: "POST", path: "/api/v1/tickets", api: true,
			body: `{"name":"Ben","email":"` + b.Email + `","order_ref":"` + o.order + `","topic":"order","message":"Where is it?"}`, want: []int{422}},
		{name: "B's Contact form about A's order", who: custB, method: "POST", path: "/contact",
			body: form(url.Values{"name": {"Ben"}, "email": {b.Email}, "order_ref": {o.order}, "topic": {"order"}, "message": {"Where is it?"}}), want: []int{422}},
		// Signed out, B was a guest, and a guest could name any order:
		// the ticket then showed A's order in the console as its own.
		{name: "B signed out writes to the desk about A's order", who: anon, method: "POST", path: "/api/v1/tickets", api: true,
			body: `{"name":"Ben","email":"` + b.Email + `","order_ref":"` + o.order + `","topic":"order","message":"Where is it?"}`, want: []int{422},
			says: "Nous ne trouvons aucune commande à ce numéro sous votre adresse e-mail."},
		{name: "B's Contact form signed out, about A's order", who: anon, method: "POST", path: "/contact",
			body: form(url.Values{"name": {"Ben"}, "email": {b.Email}, "order_ref": {o.order}, "topic": {"order"}, "message": {"Where is it?"}}), want: []int{422},
			says: "Nous ne trouvons aucune commande à ce numéro sous votre adresse e-mail."},
		// A, signed out, names their order from their address: the
		// answers go to the order's owner.
		{name: "A signed out writes to the desk about their order", who: anon, method: "POST", path: "/api/v1/tickets", api: true,
			body: `{"name":"Ana","email":"` + strings.ToUpper(a.Email) + `","order_ref":"` + o.order + `","topic":"order","message":"Where is it?"}`, want: []int{201}, accepted: true},
		{name: "an agent counts another order's line as delivered (API)", who: agent, method: "POST", path: "/api/v1/orders/" + o.order + "/delivery", api: true,
			body: `{"line_id":"` + bLine + `","delivered":41}`, want: []int{404}},
		{name: "an agent counts another order's line as delivered (console)", who: agent, method: "POST", path: "/console/orders/" + o.order + "/delivery",
			body: form(url.Values{"line_id": {bLine}, "delivered": {"41"}}), want: []int{404, 422}},
		{name: "an agent files A's message as a claim on B's order", who: agent, method: "POST", path: "/api/v1/claims", api: true,
			body: `{"kind":"not_as_described","order_id":"` + bOrder.ID + `","source_message_id":"` + aThread[0].ID + `"}`, want: []int{404}},
		{name: "an agent files a guest's message as a claim", who: agent, method: "POST", path: "/api/v1/claims", api: true,
			body: `{"kind":"not_as_described","order_id":"` + o.order + `","source_message_id":"` + guestThread[0].ID + `"}`, want: []int{422}},
		{name: "an agent files another ticket's message as a claim on A's ticket", who: agent, method: "POST", path: "/console/tickets/" + o.ticket + "/claim",
			body: form(url.Values{"kind": {"not_as_described"}, "message_id": {guestThread[0].ID}, "order_id": {o.order}}), want: []int{303}},
	}
	sr := newStateReader(t, h.App.DB)
	c := h.NewClient(t)
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			header := http.Header{}
			for k, v := range tc.header {
				header[k] = v
			}
			ctype := "application/x-www-form-urlencoded"
			switch {
			case tc.api && tc.header == nil && tc.who != anon:
				header = h.Bearer(t, users[tc.who].ID)
				ctype = "application/json"
			case tc.api:
				ctype = "application/json"
			default:
				if tc.who != anon {
					header.Set("Cookie", "comptoir_session="+sessions[tc.who])
				}
				header.Set("Sec-Fetch-Site", "same-origin")
			}
			if _, err := h.App.Invoices.NumberPending(ctx); err != nil {
				t.Fatal(err)
			}
			before := sr.read(t)
			r := c.Send(tc.method, tc.path, ctype, strings.NewReader(tc.body), header)
			if ch := before.changes(sr.read(t)); len(ch) > 0 && !tc.accepted {
				t.Errorf("%d, and the database changed:%s", r.Status, describe(ch))
			}
			if !slices.Contains(tc.want, r.Status) {
				t.Errorf("%d %s, want %v", r.Status, r.Body, tc.want)
			}
			if !strings.Contains(r.Body, tc.says) {
				t.Errorf("the answer does not say %q:\n%s", tc.says, r.Body)
			}
			if tc.who != agent && !tc.accepted && strings.Contains(r.Body, a.Email) {
				t.Errorf("the answer shows A's details: %s", r.Body)
			}
		})
	}
}
