package web_test

import (
	"bytes"
	"context"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"comptoir/internal/account"
	"comptoir/internal/apptest"
	"comptoir/internal/audit"
	"comptoir/internal/desk"
	"comptoir/internal/mail"
)

// closeTicketOf opens a ticket as email (a customer's, or a guest's) and
// has agent answer and close it; it returns the survey mails to email.
func closeTicketOf(t *testing.T, h *apptest.Harness, agent account.User, customerID, email, lang string) []mail.Stored {
	t.Helper()
	ctx := context.Background()
	tk, err := h.App.Desk.OpenFromContact(ctx, desk.ContactInput{CustomerID: customerID, Name: "Ana", Email: email, Topic: "question",
		Message: "Bonjour, une question.", Lang: lang})
	if err != nil {
		t.Fatal(err)
	}
	actor := audit.Actor{ID: agent.ID, Role: account.RoleAgent}
	if _, err := h.App.Desk.Reply(ctx, actor, tk.ID, "Voici la réponse."); err != nil {
		t.Fatal(err)
	}
	if _, err := h.App.Desk.Close(ctx, actor, tk.ID); err != nil {
		t.Fatal(err)
	}
	all, err := h.App.Outbox.List(ctx, mail.Filter{Kind: "ticket_survey"})
	if err != nil {
		t.Fatal(err)
	}
	var out []mail.Stored
	for _, m := range all {
		if strings.EqualFold(m.To, email) {
			out = append(out, m)
		}
	}
	return out
}

var stopLink = regexp.MustCompile(`https?://\S+/survey/[A-Za-z0-9_-]+/stop`)

// The satisfaction survey mail had no way out: a customer could not stop
// them. It now ends with a one-click link (also its List-Unsubscribe
// header) to a page that works without JavaScript, in the reader's
// language; a GET changes nothing (mail scanners open links), its button
// or the mail reader's RFC 8058 POST stops the surveys to the address, and
// the customer can ask for them again on their account page. A guest's
// link works the same.
func TestSurveyMailsCanBeStopped(t *testing.T) {
	h := apptest.Start(t)
	ctx := context.Background()
	agent, _ := h.User(t, account.RoleAgent, "agent@shop.test")
	for _, tc := range []struct {
		lang, closing, button, done, state, again string
	}{
		{"fr", "Pour ne plus en recevoir, en un clic\u00a0:\n", "Ne plus m’envoyer de questionnaires", "C’est fait\u00a0: vous ne recevrez plus",
			"Vous avez demandé à ne plus recevoir de questionnaires.", "M’envoyer à nouveau les questionnaires"},
		{"en", "To receive no more of them, in one click:\n", "Send me no more surveys", "Done: you will receive no more",
			"You asked for no more surveys.", "Send me the surveys again"},
	} {
		u, c := h.User(t, account.RoleCustomer, tc.lang+"@example.fr")
		if err := h.App.Accounts.SetLanguage(ctx, u.ID, tc.lang); err != nil {
			t.Fatal(err)
		}
		c.Lang = tc.lang
		mustContain(t, c.Get("/account"), `id="surveys-state"`, `id="surveys-stop"`)
		surveys := closeTicketOf(t, h, agent, u.ID, u.Email, tc.lang)
		if len(surveys) != 1 {
			t.Fatalf("%s: %d surveys, want 1", tc.lang, len(surveys))
		}
		link := stopLink.FindString(surveys[0].Text)
		if link == "" || !strings.Contains(surveys[0].Text, tc.closing+link+"\n") || !strings.HasSuffix(surveys[0].Text, link+"\n") {
			t.Fatalf("%s: the survey mail has no stop link at its end:\n%s", tc.lang, surveys[0].Text)
		}
		// The header a mail reader offers its own "unsubscribe" with (over
		// HTTPS, RFC 8058's one-click POST too: see the mail package).
		full, err := h.App.Outbox.Get(ctx, surveys[0].ID)
		if err != nil {
			t.Fatal(err)
		}
		var raw bytes.Buffer
		if err := mail.WriteMessage(&raw, full); err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(raw.String(), "List-Unsubscribe: <"+link+">\r\n") {
			t.Errorf("%s: no List-Unsubscribe header for %s:\n%s", tc.lang, link, raw.String())
		}
		path := strings.TrimPrefix(link, h.URL)

		// Opened (by the customer, or a scanner): the page asks, nothing
		// is stopped yet; it is a form, no script.
		page := h.NewClient(t)
		page.Lang = tc.lang
		r := page.Get(path)
		mustContain(t, r, `<form method="post" action="`+path+`"`, tc.button)
		if strings.Contains(r.Body, "<script") {
			t.Errorf("%s: the stop page needs a script", tc.lang)
		}
		if n := len(closeTicketOf(t, h, agent, u.ID, u.Email, tc.lang)); n != 2 {
			t.Fatalf("%s: %d surveys after the page was only opened, want 2", tc.lang, n)
		}
		// Its button: done, said on the page it goes back to.
		mustContain(t, followSeeOther(t, page, page.PostForm(path, nil)), `id="survey-stop-done"`, tc.done)
		if n := len(closeTicketOf(t, h, agent, u.ID, u.Email, tc.lang)); n != 2 {
			t.Fatalf("%s: a survey was sent after they were stopped (%d)", tc.lang, n)
		}
		// The account page says so, and asks for them again.
		mustContain(t, c.Get("/account"), tc.state, tc.again)
		if r := c.PostForm("/account/surveys", url.Values{"surveys": {"start"}}); r.Status != http.StatusSeeOther {
			t.Fatalf("%s: asking for the surveys again: %d %s", tc.lang, r.Status, r.Body)
		}
		mustContain(t, c.Get("/account"), `id="surveys-stop"`)
		if n := len(closeTicketOf(t, h, agent, u.ID, u.Email, tc.lang)); n != 3 {
			t.Fatalf("%s: %d surveys after asking for them again, want 3", tc.lang, n)
		}
		// And stops them from there too.
		if r := c.PostForm("/account/surveys", url.Values{"surveys": {"stop"}}); r.Status != http.StatusSeeOther {
			t.Fatalf("%s: stopping from the account page: %d", tc.lang, r.Status)
		}
		if n := len(closeTicketOf(t, h, agent, u.ID, u.Email, tc.lang)); n != 3 {
			t.Fatalf("%s: a survey was sent after they were stopped from the account page", tc.lang)
		}
	}

	// A guest, through the mail reader's one-click POST: no cookie, no
	// Origin, the body RFC 8058 prescribes; answered 200 with the page.
	surveys := closeTicketOf(t, h, agent, "", "guest@example.net", "en")
	if len(surveys) != 1 {
		t.Fatalf("guest: %d surveys", len(surveys))
	}
	path := strings.TrimPrefix(stopLink.FindString(surveys[0].Text), h.URL)
	r := h.NewClient(t).Send(http.MethodPost, path, "application/x-www-form-urlencoded", strings.NewReader("List-Unsubscribe=One-Click"), nil)
	if r.Status != http.StatusOK || !strings.Contains(r.Body, `id="survey-stop-done"`) {
		t.Fatalf("one-click POST: %d %s", r.Status, r.Body)
	}
	if n := len(closeTicketOf(t, h, agent, "", "Guest@Example.net", "en")); n != 1 {
		t.Fatalf("guest: a survey was sent after the one-click stop (%d)", n)
	}
	// An unknown link is not found, and stops nothing.
	if r := h.NewClient(t).Get("/survey/nothing-here/stop"); r.Status != http.StatusNotFound {
		t.Fatalf("an unknown stop link: %d", r.Status)
	}
	if r := h.NewClient(t).PostForm("/survey/nothing-here/stop", nil); r.Status != http.StatusNotFound {
		t.Fatalf("an unknown stop link posted: %d", r.Status)
	}
}
