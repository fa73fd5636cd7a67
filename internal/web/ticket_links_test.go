package web_test

import (
	"context"
	"net/url"
	"strings"
	"testing"

	"comptoir/internal/account"
	"comptoir/internal/apptest"
	"comptoir/internal/desk"
)

// A customer's page of a ticket (My messages → a ticket) led neither to
// the order it is about nor back to My messages, save through the
// navigation. It leads to both, in the customer's language; to the order
// only when it is theirs to open.
func TestCustomerTicketLinksItsOrderAndMyMessages(t *testing.T) {
	h := apptest.Start(t)
	ctx := context.Background()
	u, c := h.User(t, account.RoleCustomer, "ana@example.fr")
	o := buyAndDeliver(t, h, u, 0)
	about, err := h.App.Desk.OpenFromContact(ctx, desk.ContactInput{Name: "Ana", Email: u.Email, CustomerID: u.ID,
		Topic: "question", Message: "Where is my order?", OrderRef: o.ID})
	if err != nil {
		t.Fatal(err)
	}
	plain, err := h.App.Desk.OpenFromContact(ctx, desk.ContactInput{Name: "Ana", Email: u.Email, CustomerID: u.ID,
		Topic: "question", Message: "A question."})
	if err != nil {
		t.Fatal(err)
	}
	// A ticket whose order is someone else's (as the console may file it).
	other, _ := h.User(t, account.RoleCustomer, "other@example.fr")
	theirs := buyAndDeliver(t, h, other, 0)
	foreign, err := h.App.Desk.OpenFromContact(ctx, desk.ContactInput{Name: "Ana", Email: u.Email, CustomerID: u.ID,
		Topic: "question", Message: "About an order."})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := h.App.DB.Write.ExecContext(ctx, `UPDATE tickets SET order_id = $1 WHERE id = $2`, theirs.ID, foreign.ID); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ lang, myMessages, aboutOrder string }{
		{"fr", "Mes messages", "À propos de la commande "},
		{"en", "My messages", "About order "},
	} {
		t.Run(tc.lang, func(t *testing.T) {
			c.PostForm("/lang", url.Values{"lang": {tc.lang}})
			back := `<a href="/support/tickets" id="ticket-back">` + tc.myMessages + `</a>`
			mustContain(t, c.Get("/support/tickets/"+about.ID), back,
				`<a href="/orders/`+o.ID+`" id="ticket-order">`+tc.aboutOrder+o.ID+`</a>`)
			for _, tk := range []desk.Ticket{plain, foreign} {
				r := c.Get("/support/tickets/" + tk.ID)
				mustContain(t, r, back)
				if strings.Contains(r.Body, `id="ticket-order"`) || strings.Contains(r.Body, theirs.ID) {
					t.Fatalf("ticket %s links an order its customer cannot open:\n%s", tk.ID, r.Body)
				}
			}
		})
	}
}
