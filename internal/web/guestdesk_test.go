package web_test

import (
	"bytes"
	"context"
	"database/sql"
	"mime/multipart"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"comptoir/internal/apptest"
	"comptoir/internal/desk"
	"comptoir/internal/mail"
)

var guestLinkRE = regexp.MustCompile(`/support/t/([A-Za-z0-9_-]{43})\b`)

// guestTokens are the guest link tokens in the mails of the kind to the
// address (the outbox's order among mails of one instant is not theirs).
func guestTokens(t *testing.T, h *apptest.Harness, kind, to string) []string {
	t.Helper()
	msgs, err := h.App.Outbox.List(context.Background(), mail.Filter{Kind: kind, Limit: 500})
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, m := range msgs {
		if m.To != to {
			continue
		}
		if g := guestLinkRE.FindStringSubmatch(m.Text); g != nil {
			out = append(out, g[1])
		}
	}
	return out
}

// guestToken is the token of the one mail of the kind to the address.
func guestToken(t *testing.T, h *apptest.Harness, kind, to string) string {
	t.Helper()
	toks := guestTokens(t, h, kind, to)
	if len(toks) != 1 {
		t.Fatalf("%s mails to %s with a guest link: %d", kind, to, len(toks))
	}
	return toks[0]
}

// confirmContact has the guest who wrote from email on the Contact page
// confirm it from the link of its acknowledgement: the ticket is then the
// address's (desk.ConfirmAsGuest).
func confirmContact(t *testing.T, h *apptest.Harness, email string) {
	t.Helper()
	tok := guestToken(t, h, "ticket_ack", email)
	if r := h.NewClient(t).PostForm("/support/t/"+tok+"/confirm", nil); r.Status != http.StatusSeeOther {
		t.Fatalf("confirm: %d %s", r.Status, r.Body)
	}
}

// postReply sends a ticket page's reply form as a browser does: multipart,
// from the store's own page.
func postReply(c *apptest.Client, h *apptest.Harness, path, text string, files ...upload) apptest.Response {
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	mw.WriteField("text", text)
	for _, f := range files {
		fw, _ := mw.CreateFormFile("files", f.name)
		fw.Write(f.content)
	}
	mw.Close()
	return c.Send(http.MethodPost, path, mw.FormDataContentType(), &buf,
		http.Header{"Origin": {h.URL}, "Sec-Fetch-Site": {"same-origin"}})
}

// ticketOf returns the ticket whose customer email is the address.
func ticketOf(t *testing.T, h *apptest.Harness, email string) desk.Ticket {
	t.Helper()
	ts, err := h.App.Desk.Queue(context.Background(), desk.QueueFilter{IncludeClosed: true})
	if err != nil {
		t.Fatal(err)
	}
	for _, tk := range ts {
		if tk.CustomerEmail == email {
			return tk
		}
	}
	t.Fatalf("no ticket of %s", email)
	return desk.Ticket{}
}

var testPNG = append([]byte("\x89PNG\r\n\x1a\n"), bytes.Repeat([]byte{0}, 64)...)

func TestGuestLinkOpensItsTicketAndNoOther(t *testing.T) {
	h := apptest.Start(t)
	ctx := context.Background()
	guest := h.NewClient(t)
	guest.Lang = "en"
	if r := postContact(guest, h, contactFields("Gus", "gus@example.org", "Do you ship abroad?"), upload{"map.png", testPNG}); r.Status != http.StatusSeeOther {
		t.Fatalf("contact: %d", r.Status)
	}
	if r := postContact(h.NewClient(t), h, contactFields("Zoé", "zoe@example.net", "Ma licence ne marche pas.")); r.Status != http.StatusSeeOther {
		t.Fatalf("contact: %d", r.Status)
	}
	gus, zoe := ticketOf(t, h, "gus@example.org"), ticketOf(t, h, "zoe@example.net")
	gusTok, zoeTok := guestToken(t, h, "ticket_ack", "gus@example.org"), guestToken(t, h, "ticket_ack", "zoe@example.net")
	// Only a hash is stored: the token itself is nowhere in the database.
	var n int
	if err := h.App.DB.Read.QueryRowContext(ctx, `SELECT COUNT(*) FROM ticket_guest_links WHERE token_hash = $1 OR ticket_id = $2`,
		gusTok, gus.ID).Scan(&n); err != nil || n != 1 {
		t.Fatalf("stored guest links of Gus: %d %v (one, by its hash)", n, err)
	}

	// Anyone with the link (no account, no session) sees that ticket only.
	page := h.NewClient(t).Get("/support/t/" + gusTok)
	mustContain(t, page, "Do you ship abroad?", gus.Reference, `id="customer-reply"`, `enctype="multipart/form-data"`, `id="guest-note"`)
	if strings.Contains(page.Body, "Ma licence") || strings.Contains(page.Body, zoe.Reference) {
		t.Fatal("Gus's link shows Zoé's ticket")
	}
	if page.Header.Get("Referrer-Policy") != "no-referrer" || !strings.Contains(page.Header.Get("Cache-Control"), "no-store") {
		t.Fatalf("guest page headers: %v", page.Header)
	}
	mustContain(t, h.NewClient(t).Get("/support/t/"+zoeTok), "Ma licence ne marche pas.")
	// Wrong tokens: unknown, malformed, or another ticket's id.
	for _, bad := range []string{strings.Repeat("A", 43), gusTok[:42], gusTok + "A", gus.ID, gus.Reference} {
		if r := h.NewClient(t).Get("/support/t/" + bad); r.Status != http.StatusNotFound {
			t.Fatalf("token %q: %d", bad, r.Status)
		}
		if r := postReply(h.NewClient(t), h, "/support/t/"+bad, "Hello?"); r.Status != http.StatusNotFound {
			t.Fatalf("reply with token %q: %d", bad, r.Status)
		}
	}

	// The file is downloadable through the link, and through no other.
	thr, err := h.App.Desk.Thread(ctx, gus.ID, false)
	if err != nil || len(thr) == 0 || len(thr[0].Attachments) != 1 {
		t.Fatalf("Gus's thread %+v %v", thr, err)
	}
	att := thr[0].Attachments[0].ID
	if r := h.NewClient(t).Get("/support/t/" + gusTok + "/attachments/" + att); r.Status != http.StatusOK || r.Body != string(testPNG) {
		t.Fatalf("attachment through the link: %d", r.Status)
	}
	if r := h.NewClient(t).Get("/support/t/" + zoeTok + "/attachments/" + att); r.Status != http.StatusNotFound {
		t.Fatalf("Gus's file through Zoé's link: %d", r.Status)
	}
	if r := h.NewClient(t).Get("/support/tickets/" + gus.ID + "/attachments/" + att); r.Status == http.StatusOK {
		t.Fatal("a guest's file without the link")
	}

	// The agent's note stays internal; the answer is on the page, and its
	// email carries a link of its own that opens the same ticket.
	_, agent := h.User(t, "agent", "agent@shop.test")
	agent.PostForm("/console/tickets/"+gus.ID, url.Values{"action": {"note"}, "text": {"Ships to Canada only."}})
	if r := agent.PostForm("/console/tickets/"+gus.ID, url.Values{"action": {"reply"}, "text": {"Yes, we ship to Canada."}}); r.Status != http.StatusSeeOther {
		t.Fatalf("reply: %d", r.Status)
	}
	replyTok := guestToken(t, h, "ticket_reply", "gus@example.org")
	if replyTok == gusTok {
		t.Fatal("the answer reuses the acknowledgement's token")
	}
	for _, tok := range []string{gusTok, replyTok} {
		page := h.NewClient(t).Get("/support/t/" + tok)
		mustContain(t, page, "Yes, we ship to Canada.", "Do you ship abroad?")
		if strings.Contains(page.Body, "Ships to Canada only.") {
			t.Fatal("an internal note is shown on the guest page")
		}
	}

	// Once Gus confirms his message and proves his address, his tickets
	// join his account: the link keeps working and the next emails point
	// to the portal.
	confirmContact(t, h, "gus@example.org")
	u, portal := h.User(t, "customer", "gus@example.org")
	if err := h.App.DB.Tx(ctx, func(tx *sql.Tx) error {
		_, err := desk.LinkGuestTicketsTx(ctx, tx, u, h.Clock.Now())
		return err
	}); err != nil {
		t.Fatal(err)
	}
	mustContain(t, h.NewClient(t).Get("/support/t/"+gusTok), "Yes, we ship to Canada.")
	mustContain(t, portal.Get("/support/tickets/"+gus.ID), "Yes, we ship to Canada.")
	agent.PostForm("/console/tickets/"+gus.ID, url.Values{"action": {"reply"}, "text": {"Anything else?"}})
	if toks := guestTokens(t, h, "ticket_reply", "gus@example.org"); len(toks) != 1 {
		t.Fatalf("after linking, answers still carry guest links: %d", len(toks))
	}
}

func TestTicketReplyFilesAreCheckedInTheVisitorsLanguage(t *testing.T) {
	h := apptest.Start(t)
	ctx := context.Background()
	if r := postContact(h.NewClient(t), h, contactFields("Gus", "gus@example.org", "Do you ship abroad?")); r.Status != http.StatusSeeOther {
		t.Fatalf("contact: %d", r.Status)
	}
	gus := ticketOf(t, h, "gus@example.org")
	tok := guestToken(t, h, "ticket_ack", "gus@example.org")
	exe := append([]byte("MZ\x90\x00\x03\x00\x00\x00"), bytes.Repeat([]byte{0}, 64)...)
	messages := func(id string) int {
		thr, err := h.App.Desk.Thread(ctx, id, true)
		if err != nil {
			t.Fatal(err)
		}
		return len(thr)
	}
	before, blobs := messages(gus.ID), storedBlobs(t, h)

	guest := h.NewClient(t)
	guest.Lang = "fr"
	r := postReply(guest, h, "/support/t/"+tok, "Voici ma facture.", upload{"facture.pdf", exe})
	if r.Status != http.StatusUnprocessableEntity || !strings.Contains(r.Body, `id="attachments-error"`) ||
		!strings.Contains(r.Body, "facture.pdf") || !strings.Contains(r.Body, "pas un type de fichier accepté") {
		t.Fatalf("a forbidden file on the guest page: %d\n%s", r.Status, r.Body)
	}
	mustMarkRefused(t, "guest files", r.Body, map[string]string{"files": "attachments"})
	if textarea(t, r.Body) != "Voici ma facture." {
		t.Fatalf("the reply's text was lost: %q", textarea(t, r.Body))
	}
	// An empty reply with a good file is refused too (the page again,
	// saying so), its file not kept.
	if r := postReply(guest, h, "/support/t/"+tok, "  ", upload{"carte.png", testPNG}); r.Status != http.StatusUnprocessableEntity {
		t.Fatalf("an empty reply: %d", r.Status)
	}
	if messages(gus.ID) != before || storedBlobs(t, h) != blobs {
		t.Fatalf("a refused reply stored something: %d→%d messages, %d→%d files", before, messages(gus.ID), blobs, storedBlobs(t, h))
	}
	if r := postReply(guest, h, "/support/t/"+tok, "Voici ma carte.", upload{"carte.png", testPNG}); r.Status != http.StatusSeeOther ||
		r.Location != "/support/t/"+tok {
		t.Fatalf("a reply with a good file: %d %q", r.Status, r.Location)
	}
	if messages(gus.ID) != before+1 || storedBlobs(t, h) != blobs+1 {
		t.Fatal("the guest's reply or its file was not stored")
	}

	// A signed-in customer's portal reply takes files the same way.
	_, ana := h.User(t, "customer", "ana@example.fr") // her account speaks French
	if r := postContact(ana, h, contactFields("Ana", "ana@example.fr", "Where is my order?")); r.Status != http.StatusSeeOther {
		t.Fatalf("contact: %d", r.Status)
	}
	tk := ticketOf(t, h, "ana@example.fr")
	before, blobs = messages(tk.ID), storedBlobs(t, h)
	r = postReply(ana, h, "/support/tickets/"+tk.ID, "My invoice.", upload{"invoice.pdf", exe})
	if r.Status != http.StatusUnprocessableEntity || !strings.Contains(r.Body, "invoice.pdf") || !strings.Contains(r.Body, "pas un type de fichier accepté") {
		t.Fatalf("a forbidden file on the portal: %d\n%s", r.Status, r.Body)
	}
	if messages(tk.ID) != before || storedBlobs(t, h) != blobs {
		t.Fatal("a refused portal reply stored something")
	}
	if r := postReply(ana, h, "/support/tickets/"+tk.ID, "My screenshot.", upload{"shot.png", testPNG}); r.Status != http.StatusSeeOther {
		t.Fatalf("a portal reply with a file: %d", r.Status)
	}
	thr, _ := h.App.Desk.Thread(ctx, tk.ID, false)
	last := thr[len(thr)-1]
	if last.Text != "My screenshot." || len(last.Attachments) != 1 {
		t.Fatalf("the portal reply: %+v", last)
	}
	if r := ana.Get("/support/tickets/" + tk.ID + "/attachments/" + last.Attachments[0].ID); r.Status != http.StatusOK || r.Body != string(testPNG) {
		t.Fatalf("the portal reply's file: %d", r.Status)
	}
	// Someone else's ticket is refused before any file is stored.
	_, ben := h.User(t, "customer", "ben@example.fr")
	blobs = storedBlobs(t, h)
	if r := postReply(ben, h, "/support/tickets/"+tk.ID, "Hi", upload{"shot.png", testPNG}); r.Status != http.StatusNotFound || storedBlobs(t, h) != blobs {
		t.Fatalf("a reply on another's ticket: %d, files %d→%d", r.Status, blobs, storedBlobs(t, h))
	}
}

func TestGuestRepliesByPageAndByEmailShareTheThread(t *testing.T) {
	h := apptest.Start(t)
	ctx := context.Background()
	if r := postContact(h.NewClient(t), h, contactFields("Gus", "gus@example.org", "Do you ship abroad?")); r.Status != http.StatusSeeOther {
		t.Fatalf("contact: %d", r.Status)
	}
	gus := ticketOf(t, h, "gus@example.org")
	_, agent := h.User(t, "agent", "agent@shop.test")
	agent.PostForm("/console/tickets/"+gus.ID, url.Values{"action": {"reply"}, "text": {"Where to?"}})
	if tk, _ := h.App.Desk.Get(ctx, gus.ID); tk.Status != desk.StatusAnswered || !tk.PromiseAt.IsZero() {
		t.Fatalf("after the answer: %s, due %v", tk.Status, tk.PromiseAt)
	}
	tok := guestToken(t, h, "ticket_reply", "gus@example.org")

	// A day later the guest answers from the page: the ticket is open again
	// with a reply due, counted from now.
	h.Clock.Advance(24 * time.Hour)
	if r := postReply(h.NewClient(t), h, "/support/t/"+tok, "To Canada."); r.Status != http.StatusSeeOther {
		t.Fatalf("guest reply: %d", r.Status)
	}
	tk, _ := h.App.Desk.Get(ctx, gus.ID)
	if tk.Status != desk.StatusOpen || !tk.PromiseAt.After(gus.PromiseAt) {
		t.Fatalf("after the guest's reply: %s, due %v (first due %v)", tk.Status, tk.PromiseAt, gus.PromiseAt)
	}
	agent.PostForm("/console/tickets/"+gus.ID, url.Values{"action": {"reply"}, "text": {"Then yes."}})

	// Then by email, answering the last mail: the same ticket.
	replies, _ := h.App.Outbox.List(ctx, mail.Filter{Kind: "ticket_reply"})
	var last mail.Stored
	for _, m := range replies {
		if strings.Contains(m.Text, "Then yes.") {
			last = m
		}
	}
	raw := "From: Gus <gus@example.org>\r\nTo: " + last.ReplyTo + "\r\nSubject: Re: " + last.Subject +
		"\r\nMessage-ID: <gus-1@example.org>\r\nIn-Reply-To: " + last.MessageID + "\r\nReferences: " + last.MessageID +
		"\r\nDate: Tue, 10 Mar 2026 10:00:00 +0000\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nGreat, thanks.\r\n"
	intake := desk.MailIntake{Desk: h.App.Desk, Blobs: h.App.Blobs, Support: h.App.Config.SupportAddress}
	if err := intake.Deliver(ctx, []byte(raw), "gus@example.org", []string{last.ReplyTo}); err != nil {
		t.Fatal(err)
	}
	all, _ := h.App.Desk.Queue(ctx, desk.QueueFilter{IncludeClosed: true})
	if len(all) != 1 {
		t.Fatalf("%d tickets, want the one", len(all))
	}
	thr, _ := h.App.Desk.Thread(ctx, gus.ID, false)
	var texts []string
	for _, m := range thr {
		if m.Direction == desk.DirectionIn {
			texts = append(texts, strings.TrimSpace(m.Text))
		}
	}
	if strings.Join(texts, "|") != "Do you ship abroad?|To Canada.|Great, thanks." {
		t.Fatalf("the guest's messages on the ticket: %q", texts)
	}
	page := h.NewClient(t).Get("/support/t/" + tok)
	mustContain(t, page, "To Canada.", "Then yes.", "Great, thanks.")
	mustContain(t, agent.Get("/console/tickets/"+gus.ID), "To Canada.", "Great, thanks.")
}

// A signed-out visitor can type anyone's address on the Contact page. Their
// ticket is marked "sender not verified" and joins no account, not even
// when the address's owner proves it again, until someone who reads the
// address confirms it on the page the acknowledgement links to (a form, in
// their language, without script): then it is the address's, joins its
// account and its message can become a claim. The Contact page says so as
// soon as the form is sent. Before, the owner's next proof linked the
// stranger's ticket and an agent could turn their words into the owner's
// claim.
func TestGuestContactTicketCountsOnlyOnceConfirmedFromTheMailbox(t *testing.T) {
	h := apptest.Start(t)
	ctx := context.Background()
	ana, _ := h.User(t, "customer", "ana@example.fr")
	proofs := 0
	prove := func() {
		t.Helper()
		if err := h.App.Accounts.RequestPasswordReset(ctx, ana.Email, "fr"); err != nil {
			t.Fatal(err)
		}
		proofs++
		m := regexp.MustCompile(`/reset/([A-Za-z0-9_-]+)`).FindStringSubmatch(h.Mails(t, "password_reset", proofs)[0].Text) // newest first
		if m == nil {
			t.Fatal("no reset link")
		}
		if r := h.NewClient(t).PostForm("/reset/"+m[1], url.Values{"password": {"a brand new passphrase"},
			"password_confirm": {"a brand new passphrase"}}); r.Status != http.StatusSeeOther {
			t.Fatalf("use the reset link: %d", r.Status)
		}
	}
	prove()

	stranger := h.NewClient(t)
	stranger.PostForm("/lang", url.Values{"lang": {"en"}})
	if r := stranger.PostForm("/contact", url.Values{"name": {"Ana"}, "email": {"ana@example.fr"}, "topic": {"subscription_cancel"},
		"message": {"Stop my subscription now"}}); r.Status != http.StatusSeeOther {
		t.Fatalf("contact: %d %s", r.Status, r.Body)
	}
	mustContain(t, stranger.Get("/contact/sent"), `id="contact-confirm"`, "confirm there that you wrote this message")
	tk := ticketOf(t, h, "ana@example.fr")
	if !tk.SenderUnverified || tk.CustomerID != "" {
		t.Errorf("the stranger's ticket: unverified=%v, customer %q", tk.SenderUnverified, tk.CustomerID)
	}
	prove() // the owner proves the address again: the ticket is not theirs yet
	if got, err := h.App.Desk.Get(ctx, tk.ID); err != nil || got.CustomerID != "" {
		t.Fatalf("an unconfirmed guest ticket joined the account of the address typed: customer %q (%v)", got.CustomerID, err)
	}
	_, agent := h.User(t, "agent", "agent@shop.test")
	agent.PostForm("/lang", url.Values{"lang": {"en"}})
	page := agent.Get("/console/tickets/" + tk.ID)
	mustContain(t, page, `id="sender-unverified-note"`, "Written on the Contact page by a signed-out visitor")
	if strings.Contains(page.Body, `class="row claim-from-message"`) {
		t.Error("the console offers to turn the unconfirmed guest's message into a claim")
	}

	token := guestToken(t, h, "ticket_ack", "ana@example.fr")
	if acks, err := h.App.Outbox.List(ctx, mail.Filter{Kind: "ticket_ack"}); err != nil || len(acks) != 1 ||
		!strings.Contains(acks[0].Text, "If you wrote it, confirm it on that page") {
		t.Errorf("the acknowledgement does not ask for the confirmation (%v): %+v", err, acks)
	}
	owner := h.NewClient(t)
	for lang, button := range map[string]string{"en": "I wrote this message", "fr": "C’est moi qui ai écrit ce message"} {
		owner.PostForm("/lang", url.Values{"lang": {lang}})
		mustContain(t, owner.Get("/support/t/"+token), `id="guest-confirm"`, `action="/support/t/`+token+`/confirm"`, button)
	}
	owner.PostForm("/lang", url.Values{"lang": {"fr"}})
	if r := owner.PostForm("/support/t/"+token+"/confirm", nil); r.Status != http.StatusSeeOther || r.Location != "/support/t/"+token {
		t.Fatalf("confirm: %d %q", r.Status, r.Location)
	}
	after := owner.Get("/support/t/" + token)
	mustContain(t, after, "votre message est confirmé")
	if strings.Contains(after.Body, `id="guest-confirm"`) {
		t.Error("the page still asks for the confirmation")
	}
	got, err := h.App.Desk.Get(ctx, tk.ID)
	if err != nil || got.SenderUnverified || got.CustomerID != ana.ID {
		t.Fatalf("confirmed: unverified=%v, customer %q (%v), want the proven account %s", got.SenderUnverified, got.CustomerID, err, ana.ID)
	}
	if n := strings.Count(agent.Get("/console/tickets/"+tk.ID).Body, `class="row claim-from-message"`); n != 2 {
		t.Errorf("confirmed: %d claim forms, want the message's 2", n)
	}
}
