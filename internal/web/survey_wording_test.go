package web_test

import (
	"context"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"comptoir/internal/apptest"
)

// TestFrenchWordingAddressesAnyCustomer: the survey asked "Êtes-vous
// satisfait …", masculine only, and the seeded "Livraison retardée"
// canned reply said "informé·e". The question asks for a mark for the
// answer, agreeing with no one's gender, and the reply says it without a
// middle dot; the English is as it was.
func TestFrenchWordingAddressesAnyCustomer(t *testing.T) {
	h := apptest.Start(t)
	token := closedTicketSurvey(t, h)
	for lang, want := range map[string]string{
		"fr": "Quelle note donnez-vous à notre réponse",
		"en": "How satisfied are you with our answer?",
	} {
		c := h.NewClient(t)
		c.Lang = lang
		r := c.Get("/survey/" + token)
		mustContain(t, r, want)
		if strings.Contains(r.Body, "satisfait de") {
			t.Fatalf("%s: the survey still asks in the masculine:\n%s", lang, r.Body)
		}
	}
	canned, err := h.App.Desk.CannedReplies(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range canned {
		if fr := c.Body("fr"); strings.ContainsRune(fr, '·') {
			t.Fatalf("canned reply %s: %q", c.ID, fr)
		}
		if c.ID == "cnr_00000000000000000000000002" && !strings.Contains(c.Body("fr"), "vous donnons des nouvelles sous ce ticket") {
			t.Fatalf("the delayed-delivery reply: %q", c.Body("fr"))
		}
	}
}

// closedTicketSurvey closes a guest's ticket and returns its survey link's token.
func closedTicketSurvey(t *testing.T, h *apptest.Harness) string {
	t.Helper()
	h.NewClient(t).PostForm("/contact", url.Values{"name": {"Ana"}, "email": {"ana@example.fr"}, "topic": {"question"}, "message": {"Hello"}})
	_, agent := h.User(t, "agent", "agent@shop.test")
	m := regexp.MustCompile(`/console/tickets/(tkt_[0-9A-Z]+)`).FindStringSubmatch(agent.Get("/console/tickets").Body)
	if m == nil {
		t.Fatal("no ticket in the queue")
	}
	agent.PostForm("/console/tickets/"+m[1], url.Values{"action": {"reply"}, "text": {"Hello Ana"}})
	agent.PostForm("/console/tickets/"+m[1], url.Values{"action": {"close"}})
	return linkToken(t, h, "ticket_survey", "/survey/")
}
