package web_test

import (
	"bytes"
	"context"
	"io"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"comptoir/internal/account"
	"comptoir/internal/apptest"
	"comptoir/internal/audit"
	"comptoir/internal/desk"
	"comptoir/internal/mail"
)

func TestContactFormOpensATicketAndPromisesAnAnswerTime(t *testing.T) {
	h := apptest.Start(t)
	c := h.NewClient(t)
	c.Lang = "en"
	mustContain(t, c.Get("/contact"), `id="contact-submit"`, "within 48 hours")
	r := c.PostForm("/contact", url.Values{"name": {"Ana\r\nBcc: x@evil.test"}, "email": {"ana@example.fr"}, "topic": {"order"}, "message": {"Where is my order?"}})
	if r.Status != http.StatusUnprocessableEntity || !strings.Contains(r.Body, `id="name-error"`) {
		t.Fatalf("header injection in the name: %d", r.Status)
	}
	r = followSeeOther(t, c, c.PostForm("/contact", url.Values{"name": {"Ana"}, "email": {"ana@example.fr"}, "topic": {"order"}, "message": {"Where is my order?"}}))
	if r.Status != http.StatusOK || !strings.Contains(r.Body, `id="contact-sent"`) {
		t.Fatalf("contact: %d %s", r.Status, r.Body)
	}
	// 48 hours after the manual clock's start.
	mustContain(t, r, "T-", "10 March 2026 at 10:00 UTC")
	acks, _ := h.App.Outbox.List(context.Background(), mail.Filter{Kind: "ticket_ack"})
	if len(acks) != 1 || acks[0].To != "ana@example.fr" || !strings.Contains(acks[0].ReplyTo, "support+") {
		t.Fatalf("acknowledgements %+v", acks)
	}
}

func TestAgentAnswersFromTheConsoleAndTheCustomerSeesIt(t *testing.T) {
	h := apptest.Start(t)
	_, customer := h.User(t, "customer", "ana@example.fr")
	customer.PostForm("/contact", url.Values{"name": {"Ana"}, "email": {"ana@example.fr"}, "topic": {"order"}, "message": {"Where is my order?"}})
	_, agent := h.User(t, "agent", "agent@shop.test")
	queue := agent.Get("/console/tickets")
	id := regexp.MustCompile(`/console/tickets/(tkt_[0-9A-Z]+)`).FindStringSubmatch(queue.Body)
	if id == nil {
		t.Fatalf("the ticket is not in the queue:\n%s", queue.Body)
	}
	if r := agent.PostForm("/console/tickets/"+id[1], url.Values{"action": {"note"}, "text": {"Customer is a regular."}}); r.Status != http.StatusSeeOther {
		t.Fatalf("note: %d", r.Status)
	}
	if r := agent.PostForm("/console/tickets/"+id[1], url.Values{"action": {"reply"}, "text": {"It ships tomorrow."}}); r.Status != http.StatusSeeOther {
		t.Fatalf("reply: %d", r.Status)
	}
	page := customer.Get("/support/tickets/" + id[1])
	mustContain(t, page, "It ships tomorrow.", "Where is my order?")
	if strings.Contains(page.Body, "Customer is a regular.") {
		t.Fatal("an internal note is shown to the customer")
	}
	replies, _ := h.App.Outbox.List(context.Background(), mail.Filter{Kind: "ticket_reply"})
	if len(replies) != 1 || !strings.Contains(replies[0].Subject, "T-") || !strings.Contains(replies[0].ReplyTo, "support+") {
		t.Fatalf("reply emails %+v", replies)
	}
	// Customers do not reach the console, nor other customers' tickets.
	if r := customer.Get("/console/tickets"); r.Status != http.StatusNotFound {
		t.Fatalf("a customer on the console: %d", r.Status)
	}
	_, other := h.User(t, "customer", "ben@example.fr")
	if r := other.Get("/support/tickets/" + id[1]); r.Status != http.StatusNotFound {
		t.Fatalf("another customer's ticket: %d", r.Status)
	}
}

func TestClosingSendsASurveyAnsweredOnce(t *testing.T) {
	h := apptest.Start(t)
	c := h.NewClient(t)
	c.Lang = "en"
	c.PostForm("/contact", url.Values{"name": {"Ana"}, "email": {"ana@example.fr"}, "topic": {"question"}, "message": {"Hello"}})
	_, agent := h.User(t, "agent", "agent@shop.test")
	id := regexp.MustCompile(`/console/tickets/(tkt_[0-9A-Z]+)`).FindStringSubmatch(agent.Get("/console/tickets").Body)[1]
	agent.PostForm("/console/tickets/"+id, url.Values{"action": {"reply"}, "text": {"Hello Ana"}})
	agent.PostForm("/console/tickets/"+id, url.Values{"action": {"close"}})
	surveys, _ := h.App.Outbox.List(context.Background(), mail.Filter{Kind: "ticket_survey"})
	if len(surveys) != 1 {
		t.Fatalf("survey emails: %d", len(surveys))
	}
	path := strings.TrimPrefix(regexp.MustCompile(`https?://[^\s]+/survey/[A-Za-z0-9_-]+`).FindString(surveys[0].Text), h.URL)
	mustContain(t, c.Get(path), `id="survey-submit"`)
	if r := c.PostForm(path, url.Values{"rating": {"9"}}); r.Status != http.StatusUnprocessableEntity {
		t.Fatalf("a rating of 9: %d", r.Status)
	}
	// A NUL in the comment (PostgreSQL refuses it in text: it was a 500
	// there) is the comment's error, in the visitor's language.
	r := c.PostForm(path, url.Values{"rating": {"5"}, "comment": {"Quick\x00 and kind."}})
	if r.Status != http.StatusUnprocessableEntity || !strings.Contains(r.Body, `id="comment-error">The comment may hold up to 2000 characters`) {
		t.Fatalf("a NUL in the comment: %d %s", r.Status, r.Body)
	}
	mustMarkRefused(t, "survey comment", r.Body, map[string]string{"comment": "comment"})
	if r := followSeeOther(t, c, c.PostForm(path, url.Values{"rating": {"5"}, "comment": {"Quick and kind."}})); r.Status != http.StatusOK ||
		!strings.Contains(r.Body, `role="status">Thank you for your answer.`) || strings.Contains(r.Body, `id="survey-submit"`) {
		t.Fatalf("survey: %d", r.Status)
	}
	// A second answer (or the form sent twice) says it was answered,
	// without the form again: it could only be refused once more.
	if r := c.PostForm(path, url.Values{"rating": {"1"}}); r.Status != http.StatusUnprocessableEntity ||
		strings.Contains(r.Body, `id="survey-submit"`) || !strings.Contains(r.Body, `role="status">This survey was already answered. Thank you!`) {
		t.Fatalf("a second answer: %d, the form shown again: %t", r.Status, strings.Contains(r.Body, `id="survey-submit"`))
	}
	if r := c.PostForm("/survey/nothing-here", url.Values{"rating": {"5"}}); r.Status != http.StatusNotFound {
		t.Fatalf("an answer with an unknown token: %d", r.Status)
	}
	// Opened again, the answered link says so at once (before, it showed
	// the form, to refuse the rating once given); an unknown link is a 404.
	if r := c.Get(path); r.Status != http.StatusOK || strings.Contains(r.Body, `id="survey-submit"`) ||
		!strings.Contains(r.Body, `role="status">This survey was already answered. Thank you!`) {
		t.Fatalf("the answered survey's link: %d %s", r.Status, r.Body)
	}
	if r := c.Get("/survey/nothing-here"); r.Status != http.StatusNotFound {
		t.Fatalf("an unknown survey link: %d", r.Status)
	}
}

func TestLateTicketsAreMarkedInTheQueueAndCounted(t *testing.T) {
	h := apptest.Start(t)
	c := h.NewClient(t)
	c.PostForm("/contact", url.Values{"name": {"Ana"}, "email": {"ana@example.fr"}, "topic": {"question"}, "message": {"Hello"}})
	_, agent := h.User(t, "agent", "agent@shop.test")
	agent.PostForm("/lang", url.Values{"lang": {"en"}})
	if strings.Contains(agent.Get("/console/tickets").Body, `class="badge bad"`) {
		t.Fatal("late before the promise")
	}
	h.Clock.Advance(49 * time.Hour)
	if _, err := h.App.Desk.MarkBreaches(context.Background(), h.Clock.Now()); err != nil {
		t.Fatal(err)
	}
	mustContain(t, agent.Get("/console/tickets?filter=breached"), `class="badge bad"`, "late")
	mustContain(t, c.Get("/metrics"), "comptoir_desk_breached_tickets 1")
}

// A message turned into a claim days later is filed at the message's time:
// the agent's delay does not cost the customer their 7-day window.
func TestMessageTurnedIntoAClaimKeepsItsTime(t *testing.T) {
	h := apptest.Start(t)
	u, customer := h.User(t, "customer", "ana@example.fr")
	o := buyAndDeliver(t, h, u, 40)
	h.Clock.Advance(4 * 24 * time.Hour) // late, and inside the window
	customer.PostForm("/contact", url.Values{"name": {"Ana"}, "email": {"ana@example.fr"}, "topic": {"non_delivery"},
		"order_ref": {o.ID}, "message": {"Only 40 posts so far."}})
	h.Clock.Advance(4 * 24 * time.Hour) // 8 days after the order when the agent acts
	_, agent := h.User(t, "agent", "agent@shop.test")
	id := regexp.MustCompile(`/console/tickets/(tkt_[0-9A-Z]+)`).FindStringSubmatch(agent.Get("/console/tickets").Body)[1]
	page := agent.Get("/console/tickets/" + id)
	msgID := regexp.MustCompile(`name="message_id" value="([^"]+)"`).FindStringSubmatch(page.Body)
	if msgID == nil {
		t.Fatalf("no claim form on the message:\n%s", page.Body)
	}
	r := agent.PostForm("/console/tickets/"+id+"/claim", url.Values{"message_id": {msgID[1]}, "kind": {"non_delivery"}, "order_id": {o.ID}})
	if r.Status != http.StatusSeeOther || !strings.HasPrefix(r.Location, "/console/claims/clm_") {
		t.Fatalf("turn into a claim: %d %q", r.Status, r.Location)
	}
	c, err := h.App.Claims.Get(context.Background(), strings.TrimPrefix(r.Location, "/console/claims/"))
	if err != nil {
		t.Fatal(err)
	}
	if c.Decision.Outcome != "refund" || !c.FiledAt.Equal(o.PlacedAt.Add(4*24*time.Hour)) || c.SourceMessageID != msgID[1] {
		t.Fatalf("claim %+v", c)
	}
}

// countingReader counts what the server read of a request body.
type countingReader struct {
	r io.Reader
	n int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}

// The Contact form takes files from anyone (up to maxUploadBytes, spooled
// to temporary files while parsing). A visitor past its limit is refused
// before any of that is read: otherwise the 429 would come only after each
// request had made the server read and write its whole body.
func TestContactPastTheLimitReadsNoUpload(t *testing.T) {
	h := apptest.Start(t)
	send := func(body io.Reader, contentType string) int {
		req := httptest.NewRequest(http.MethodPost, h.URL+"/contact", body)
		req.RemoteAddr = "203.0.113.9:4321"
		req.Header.Set("Content-Type", contentType)
		req.Header.Set("Origin", h.URL)
		req.Header.Set("Sec-Fetch-Site", "same-origin")
		rec := httptest.NewRecorder()
		h.App.Web.Handler().ServeHTTP(rec, req)
		return rec.Code
	}
	for i := range 10 {
		if code := send(strings.NewReader("name=&message="), "application/x-www-form-urlencoded"); code == http.StatusTooManyRequests {
			t.Fatalf("request %d refused before the limit", i+1)
		}
	}
	var mp bytes.Buffer
	mw := multipart.NewWriter(&mp)
	mw.WriteField("message", "hello")
	fw, _ := mw.CreateFormFile("attachments", "big.txt")
	fw.Write(bytes.Repeat([]byte("a"), 4<<20))
	mw.Close()
	body := &countingReader{r: &mp}
	if code := send(body, mw.FormDataContentType()); code != http.StatusTooManyRequests {
		t.Fatalf("past the limit: %d", code)
	}
	if body.n > 0 {
		t.Fatalf("the server read %d bytes of a request it refused for the limit", body.n)
	}
}

// The Contact form and the survey answered a successful POST with the page
// itself (200): a reload asked to send the form again, and the back button
// led to a page of a form already sent. Both redirect now (303) to a page
// that says it worked, in the visitor's language; reloading it sends
// nothing, and the Contact confirmation is only its sender's to see.
func TestContactAndSurveyRedirectToTheirConfirmation(t *testing.T) {
	h := apptest.Start(t)
	ctx := context.Background()
	c := h.NewClient(t)
	c.Lang = "fr"
	form := url.Values{"contact_key": {formKey(t, c.Get("/contact"), "contact_key")}, "name": {"Ana"}, "email": {"ana@example.fr"},
		"topic": {"question"}, "message": {"Bonjour"}}
	r := c.PostForm("/contact", form)
	if r.Status != http.StatusSeeOther || r.Location != "/contact/sent" {
		t.Fatalf("contact sent: %d %q, want 303 /contact/sent", r.Status, r.Location)
	}
	for range 2 { // the page, then a reload of it
		sent := c.Get(r.Location)
		mustContain(t, sent, `id="contact-sent"`, "Votre message est bien reçu sous la référence T-", "10 mars 2026 à ")
	}
	if ts, err := h.App.Desk.Queue(ctx, desk.QueueFilter{}); err != nil || len(ts) != 1 {
		t.Fatalf("tickets: %d %v, want 1", len(ts), err)
	}
	// Another visitor is sent to the form.
	if other := h.NewClient(t).Get("/contact/sent"); other.Status != http.StatusSeeOther || other.Location != "/contact" {
		t.Errorf("the confirmation for another visitor: %d %q, want 303 /contact", other.Status, other.Location)
	}

	_, agent := h.User(t, "agent", "agent@shop.test")
	id := regexp.MustCompile(`/console/tickets/(tkt_[0-9A-Z]+)`).FindStringSubmatch(agent.Get("/console/tickets").Body)[1]
	agent.PostForm("/console/tickets/"+id, url.Values{"action": {"reply"}, "text": {"Bonjour Ana"}})
	agent.PostForm("/console/tickets/"+id, url.Values{"action": {"close"}})
	surveys, _ := h.App.Outbox.List(ctx, mail.Filter{Kind: "ticket_survey"})
	if len(surveys) != 1 {
		t.Fatalf("survey emails: %d", len(surveys))
	}
	path := strings.TrimPrefix(regexp.MustCompile(`https?://[^\s]+/survey/[A-Za-z0-9_-]+`).FindString(surveys[0].Text), h.URL)
	r = c.PostForm(path, url.Values{"rating": {"5"}, "comment": {"Parfait."}})
	if r.Status != http.StatusSeeOther || r.Location != path {
		t.Fatalf("survey answered: %d %q, want 303 %s", r.Status, r.Location, path)
	}
	mustContain(t, c.Get(r.Location), `role="status">Merci pour votre réponse.`)
	// Later, the link says it was answered.
	mustContain(t, c.Get(path), `role="status">Ce questionnaire a déjà reçu une réponse.`)
}

// /contact/sent showed the ticket its cookie named, and the cookie held
// the ticket's id as such: whoever knew a guest ticket's id (it is in no
// secret) set the cookie to it and was shown that ticket's reference, the
// one a mail threads on, and its times. The cookie is now sealed with the
// store's key: a cookie naming another ticket, or a value the store did
// not seal, or its own past its ten minutes, shows the Contact form and
// nothing of the ticket. Its sender still sees their page, without
// script, in French and in English.
func TestContactSentCookieNamesNoOtherTicket(t *testing.T) {
	h := apptest.Start(t)
	send := func(lang, email string) string {
		t.Helper()
		c := h.NewClient(t)
		c.Lang = lang
		r := c.PostForm("/contact", url.Values{"contact_key": {formKey(t, c.Get("/contact"), "contact_key")}, "name": {"Ana"},
			"email": {email}, "topic": {"question"}, "message": {"Bonjour"}})
		if r.Status != http.StatusSeeOther || r.Location != "/contact/sent" {
			t.Fatalf("contact: %d %q", r.Status, r.Location)
		}
		for _, c := range (&http.Response{Header: r.Header}).Cookies() {
			if c.Name == "comptoir_contact_sent" {
				return c.Value
			}
		}
		t.Fatal("no comptoir_contact_sent cookie")
		return ""
	}
	victimCookie := send("fr", "victim@example.fr")
	victim := ticketOf(t, h, "victim@example.fr")
	own := send("en", "visitor@example.org")
	mine := ticketOf(t, h, "visitor@example.org")

	look := func(value string) apptest.Response {
		t.Helper()
		c := h.NewClient(t)
		c.Lang = "en"
		return c.Send(http.MethodGet, "/contact/sent", "", nil, http.Header{"Cookie": {"comptoir_contact_sent=" + value}})
	}
	// Its sender's page, in each language.
	mustContain(t, look(own), `id="contact-sent"`, mine.Reference)
	c := h.NewClient(t)
	c.Lang = "fr"
	mustContain(t, c.Send(http.MethodGet, "/contact/sent", "", nil, http.Header{"Cookie": {"comptoir_contact_sent=" + victimCookie}}),
		`id="contact-sent"`, "Votre message est bien reçu sous la référence "+victim.Reference)

	for what, value := range map[string]string{
		"the victim's ticket id":             victim.ID,
		"a value the store did not seal":     "v1:" + strings.Repeat("A", 60),
		"the visitor's value with the id":    own + victim.ID,
		"the visitor's value cut in the end": own[:len(own)-1],
	} {
		r := look(value)
		if r.Status != http.StatusSeeOther || r.Location != "/contact" || strings.Contains(r.Body, victim.Reference) {
			t.Errorf("/contact/sent with %s: %d %q, want 303 /contact and nothing of the ticket:\n%.300s", what, r.Status, r.Location, r.Body)
		}
	}
	h.Clock.Advance(11 * time.Minute)
	if r := look(own); r.Status != http.StatusSeeOther || strings.Contains(r.Body, mine.Reference) {
		t.Errorf("/contact/sent with its own cookie after ten minutes: %d, still shows the ticket", r.Status)
	}
}

// The cookie of a sent Contact form names its ticket for ten minutes, and
// /contact/sent showed the ticket's reference all that time, even once an
// admin had erased the guest's data: the reference, all an erasure
// leaves, was shown again as that visitor's ticket. An erased ticket now
// gets the Contact form, as a ticket no longer found does.
func TestContactSentShowsNothingOfAnErasedTicket(t *testing.T) {
	h := apptest.Start(t)
	ctx := context.Background()
	c := h.NewClient(t)
	c.Lang = "fr"
	r := c.PostForm("/contact", url.Values{"contact_key": {formKey(t, c.Get("/contact"), "contact_key")}, "name": {"Ana"},
		"email": {"erase-me@example.fr"}, "topic": {"question"}, "message": {"Bonjour"}})
	if r.Status != http.StatusSeeOther || r.Location != "/contact/sent" {
		t.Fatalf("contact: %d %q", r.Status, r.Location)
	}
	tk := ticketOf(t, h, "erase-me@example.fr")
	mustContain(t, c.Get("/contact/sent"), `id="contact-sent"`, tk.Reference)
	if _, err := h.App.Privacy.EraseGuest(ctx, "erase-me@example.fr", audit.System); err != nil {
		t.Fatal(err)
	}
	if got, err := h.App.Desk.Get(ctx, tk.ID); err != nil || !got.Erased() {
		t.Fatalf("after the erasure: %+v %v, want the ticket erased", got, err)
	}
	sent := c.Get("/contact/sent")
	if sent.Status != http.StatusSeeOther || sent.Location != "/contact" || strings.Contains(sent.Body, tk.Reference) {
		t.Fatalf("/contact/sent of an erased ticket: %d %q, want 303 /contact and nothing of it:\n%.300s", sent.Status, sent.Location, sent.Body)
	}
}

// A signed-in customer's sent Contact form leads on to the ticket, where
// the answers will come: before, the page stopped at the reference. A
// guest's does not (their ticket is reached by the link mailed to them).
func TestContactSentLeadsACustomerToTheTicket(t *testing.T) {
	h := apptest.Start(t)
	_, c := h.User(t, account.RoleCustomer, "ana@example.fr")
	for lang, want := range map[string]string{"fr": "Suivre ce message et nos réponses", "en": "Follow this message and our answers"} {
		c.PostForm("/lang", url.Values{"lang": {lang}})
		r := followSeeOther(t, c, c.PostForm("/contact", contactFields("Ana", "ana@example.fr", "Où en est ma commande ? "+lang)))
		ts, err := h.App.Desk.Queue(context.Background(), desk.QueueFilter{})
		if err != nil {
			t.Fatal(err)
		}
		id := ""
		for _, tk := range ts {
			if tk.CustomerEmail == "ana@example.fr" && strings.Contains(r.Body, tk.Reference) {
				id = tk.ID
			}
		}
		link := `<a href="/support/tickets/` + id + `" id="contact-ticket-link">` + want
		if id == "" || !strings.Contains(r.Body, link) {
			t.Fatalf("%s: the sent page lacks %q:\n%s", lang, link, r.Body)
		}
		if page := c.Get("/support/tickets/" + id); page.Status != http.StatusOK {
			t.Fatalf("%s: the linked ticket: %d", lang, page.Status)
		}
	}
	guest := h.NewClient(t)
	if r := followSeeOther(t, guest, guest.PostForm("/contact", contactFields("Zoé", "zoe@example.fr", "Bonjour"))); !strings.Contains(r.Body, `id="contact-sent"`) || strings.Contains(r.Body, `id="contact-ticket-link"`) {
		t.Fatalf("a guest's sent page: %d %s", r.Status, r.Body)
	}
}
