package web_test

import (
	"context"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"comptoir/internal/apptest"
	"comptoir/internal/mail"
)

// TestSurveyThanksLeadsOn: the page after a survey's answer was the
// header, a flash and the footer: a dead end. It thanks the customer and
// leads on: to the ticket for its customer signed in, to the shop for
// anyone else, in the visitor's language.
func TestSurveyThanksLeadsOn(t *testing.T) {
	for _, tc := range []struct{ lang, done, ticket, shop string }{
		{"fr", "Merci d’avoir pris le temps de répondre", "Revoir votre demande", "Retour à la boutique"},
		{"en", "Thank you for taking the time to answer", "See your request", "Back to the shop"},
	} {
		t.Run(tc.lang, func(t *testing.T) {
			h := apptest.Start(t)
			_, customer := h.User(t, "customer", "ana@example.fr")
			customer.Lang = tc.lang
			customer.PostForm("/lang", url.Values{"lang": {tc.lang}})
			customer.PostForm("/contact", url.Values{"name": {"Ana"}, "email": {"ana@example.fr"}, "topic": {"question"}, "message": {"Hello"}})
			_, agent := h.User(t, "agent", "agent@shop.test")
			id := regexp.MustCompile(`/console/tickets/(tkt_[0-9A-Z]+)`).FindStringSubmatch(agent.Get("/console/tickets").Body)[1]
			agent.PostForm("/console/tickets/"+id, url.Values{"action": {"reply"}, "text": {"Hello Ana"}})
			agent.PostForm("/console/tickets/"+id, url.Values{"action": {"close"}})
			surveys, _ := h.App.Outbox.List(context.Background(), mail.Filter{Kind: "ticket_survey"})
			if len(surveys) != 1 {
				t.Fatalf("survey emails: %d", len(surveys))
			}
			path := strings.TrimPrefix(regexp.MustCompile(`https?://[^\s]+/survey/[A-Za-z0-9_-]+`).FindString(surveys[0].Text), h.URL)
			r := followSeeOther(t, customer, customer.PostForm(path, url.Values{"rating": {"5"}}))
			if r.Status != http.StatusOK {
				t.Fatalf("answer: %d", r.Status)
			}
			mustContain(t, r, `id="survey-done">`+tc.done, `href="/support/tickets/`+id+`" id="survey-ticket">`+tc.ticket, `href="/shop" id="survey-shop">`+tc.shop)
			// Opened again by someone not signed in: thanks and the shop,
			// never the ticket.
			guest := h.NewClient(t)
			guest.Lang = tc.lang
			g := guest.Get(path)
			mustContain(t, g, `id="survey-done">`+tc.done, `href="/shop" id="survey-shop">`+tc.shop)
			if strings.Contains(g.Body, `id="survey-ticket"`) {
				t.Fatal("the ticket's link is offered to a visitor not signed in")
			}
		})
	}
}
