package web_test

import (
	"context"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"comptoir/internal/account"
	"comptoir/internal/apptest"
	"comptoir/internal/desk"
)

var replyKeyField = regexp.MustCompile(`name="reply_key" value="([^"]+)"`)

// TestConsoleClosedTicketOffersWhatItTakes: the desk refuses an agent's
// reply, wait and close on a closed ticket (the customer's next message
// opens it again), but the console's page offered them all (and "Take
// it" to the agent who had), each answered by a redirect saying "This
// ticket is closed": a reply written while a colleague closed the ticket
// was lost with it. The closed ticket's page now says it takes only
// notes and offers only that; a reply refused for a close keeps its words
// in the box with the reason beside it (422), in the agent's language.
func TestConsoleClosedTicketOffersWhatItTakes(t *testing.T) {
	for _, tc := range []struct{ lang, note, refused string }{
		{"en", "This ticket is closed: it takes no answer, only internal notes.", "This ticket was closed before your answer went: it was not sent."},
		{"fr", "Ce ticket est clos\u00a0: il ne prend plus de réponse, seulement des notes internes.", "Ce ticket a été clos avant le départ de votre réponse\u00a0: elle n’a pas été envoyée."},
	} {
		t.Run(tc.lang, func(t *testing.T) {
			h := apptest.Start(t)
			ctx := context.Background()
			_, ac := h.User(t, account.RoleAgent, "agent@shop.test")
			colleague, _ := h.User(t, account.RoleAgent, "colleague@shop.test")
			_, customer := h.User(t, account.RoleCustomer, "ana@example.fr")
			customer.PostForm("/contact", url.Values{"name": {"Ana"}, "email": {"ana@example.fr"}, "topic": {"question"}, "message": {"Hello"}})
			tk := ticketOf(t, h, "ana@example.fr")
			ac.PostForm("/lang", url.Values{"lang": {tc.lang}})
			path := "/console/tickets/" + tk.ID

			// Open and not taken: every move.
			page := ac.Get(path)
			mustContain(t, page, `id="reply-submit"`, `id="assign-me"`, `id="wait-customer"`, `id="close-ticket"`)
			if r := ac.PostForm(path, url.Values{"action": {"assign"}}); r.Status != http.StatusSeeOther {
				t.Fatalf("take it: %d", r.Status)
			}
			page = ac.Get(path)
			if strings.Contains(page.Body, `id="assign-me"`) || strings.Contains(page.Body, `id="console-closed-note"`) {
				t.Fatalf("taken by the reader, the page still offers to take it, or says it is closed:\n%s", page.Body)
			}
			key := replyKeyField.FindStringSubmatch(page.Body)
			if key == nil {
				t.Fatal("no reply key on the page")
			}

			// A colleague closes it while the answer is being written.
			if _, err := h.App.Desk.Close(ctx, colleague.Actor(), tk.ID); err != nil {
				t.Fatal(err)
			}
			words := "Here is how to do it, step by step."
			r := ac.PostForm(path, url.Values{"action": {"reply"}, "reply_key": {key[1]}, "text": {words}})
			if r.Status != http.StatusUnprocessableEntity || !strings.Contains(r.Body, words+"</textarea>") ||
				!strings.Contains(r.Body, `<p class="error" role="alert" id="text-error">`+tc.refused) {
				t.Fatalf("a reply refused for a close: %d %q, want 422 with the words kept and why:\n%s", r.Status, r.Location, r.Body)
			}
			if got, _ := h.App.Desk.Get(ctx, tk.ID); got.Status != desk.StatusClosed {
				t.Fatalf("the refused reply moved the ticket to %s", got.Status)
			}

			// Closed: a note only, and why.
			page = ac.Get(path)
			mustContain(t, page, `id="console-closed-note">`+tc.note, `id="note-submit"`)
			for _, offered := range []string{`id="reply-submit"`, `id="wait-customer"`, `id="close-ticket"`, `id="assign-me"`, `id="canned-pick"`} {
				if strings.Contains(page.Body, offered) {
					t.Errorf("the closed ticket's page offers %s", offered)
				}
			}
			if r := ac.PostForm(path, url.Values{"action": {"note"}, "text": {words}}); r.Status != http.StatusSeeOther {
				t.Fatalf("a note on the closed ticket: %d %s", r.Status, r.Body)
			}
		})
	}
}

// TestConsoleListsClosedTickets: closed tickets were in no list of the
// console (every filter leaves them out), so an agent could find one
// again, a customer calling about it or a colleague's close to check,
// only by its address. The queue has a "Closed" filter listing them alone.
func TestConsoleListsClosedTickets(t *testing.T) {
	h := apptest.Start(t)
	ctx := context.Background()
	agent, ac := h.User(t, account.RoleAgent, "agent@shop.test")
	guest := h.NewClient(t)
	guest.PostForm("/contact", url.Values{"name": {"Ana"}, "email": {"ana@example.fr"}, "topic": {"question"}, "message": {"Hello"}})
	guest.PostForm("/contact", url.Values{"name": {"Ben"}, "email": {"ben@example.fr"}, "topic": {"question"}, "message": {"Hi"}})
	closed, open := ticketOf(t, h, "ana@example.fr"), ticketOf(t, h, "ben@example.fr")
	if _, err := h.App.Desk.Close(ctx, agent.Actor(), closed.ID); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ lang, label string }{{"en", "Closed"}, {"fr", "Clos"}} {
		ac.PostForm("/lang", url.Values{"lang": {tc.lang}})
		queue := ac.Get("/console/tickets")
		mustContain(t, queue, `<a href="/console/tickets?filter=closed" >`+tc.label+`</a>`, open.Reference)
		if strings.Contains(queue.Body, closed.Reference) {
			t.Fatal("the queue lists a closed ticket")
		}
		list := ac.Get("/console/tickets?filter=closed")
		mustContain(t, list, `<a href="/console/tickets/`+closed.ID+`">`+closed.Reference+`</a>`, `aria-current="page">`+tc.label+`</a>`)
		if strings.Contains(list.Body, open.Reference) {
			t.Fatal("the closed tickets' list holds an open one")
		}
	}
}

// TestConsoleSaysWhoTheTicketWaitsFor: a ticket an agent set to wait for
// the customer read "Waiting for you" ("En attente de votre retour") in
// the console too, the customer's words, which told the agent the ticket
// waited for them. The console says it waits for the customer; the
// customer's page keeps its words.
func TestConsoleSaysWhoTheTicketWaitsFor(t *testing.T) {
	h := apptest.Start(t)
	_, ac := h.User(t, account.RoleAgent, "agent@shop.test")
	_, customer := h.User(t, account.RoleCustomer, "ana@example.fr")
	customer.PostForm("/contact", url.Values{"name": {"Ana"}, "email": {"ana@example.fr"}, "topic": {"question"}, "message": {"Hello"}})
	tk := ticketOf(t, h, "ana@example.fr")
	if r := ac.PostForm("/console/tickets/"+tk.ID, url.Values{"action": {"wait"}}); r.Status != http.StatusSeeOther {
		t.Fatalf("wait for the customer: %d", r.Status)
	}
	for _, tc := range []struct{ lang, staff, customer string }{
		{"en", "Waiting for the customer", "Waiting for you"},
		{"fr", "En attente du client", "En attente de votre retour"},
	} {
		ac.PostForm("/lang", url.Values{"lang": {tc.lang}})
		customer.PostForm("/lang", url.Values{"lang": {tc.lang}})
		for _, page := range []apptest.Response{ac.Get("/console/tickets/" + tk.ID), ac.Get("/console/tickets")} {
			mustContain(t, page, tc.staff)
			if strings.Contains(page.Body, tc.customer) {
				t.Errorf("%s: the console says %q", tc.lang, tc.customer)
			}
		}
		mustContain(t, customer.Get("/support/tickets/"+tk.ID), `id="ticket-status">`+tc.customer+`<`)
	}
}
