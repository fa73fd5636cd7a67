package web_test

import (
	"bytes"
	"context"
	"html"
	"io/fs"
	"mime/multipart"
	"net/http"
	"net/url"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"comptoir/internal/account"
	"comptoir/internal/apptest"
	"comptoir/internal/blob"
	"comptoir/internal/desk"
	"comptoir/internal/mail"
	"comptoir/internal/money"
)

// Seeded canned replies (migration 0013).
const (
	cannedLooking = "cnr_00000000000000000000000001"
	cannedDelayed = "cnr_00000000000000000000000002"
)

type upload struct {
	name    string
	content []byte
}

// postContact sends the Contact form as a browser does with files:
// multipart, from the store's own page.
func postContact(c *apptest.Client, h *apptest.Harness, fields url.Values, files ...upload) apptest.Response {
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	for k, vs := range fields {
		for _, v := range vs {
			mw.WriteField(k, v)
		}
	}
	for _, f := range files {
		fw, _ := mw.CreateFormFile("files", f.name)
		fw.Write(f.content)
	}
	mw.Close()
	return c.Send(http.MethodPost, "/contact", mw.FormDataContentType(), &buf,
		http.Header{"Origin": {h.URL}, "Sec-Fetch-Site": {"same-origin"}})
}

func contactFields(name, email, message string) url.Values {
	return url.Values{"name": {name}, "email": {email}, "topic": {"order"}, "message": {message}}
}

// onlyTicket returns the id of the one ticket in the queue.
func onlyTicket(t *testing.T, h *apptest.Harness) desk.Ticket {
	t.Helper()
	ts, err := h.App.Desk.Queue(context.Background(), desk.QueueFilter{})
	if err != nil || len(ts) != 1 {
		t.Fatalf("queue: %d tickets (%v)", len(ts), err)
	}
	return ts[0]
}

// storedBlobs counts the files in the upload directory.
func storedBlobs(t *testing.T, h *apptest.Harness) int {
	t.Helper()
	n := 0
	filepath.WalkDir(h.App.Blobs.(*blob.Dir).Path(), func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			n++
		}
		return nil
	})
	return n
}

// textarea returns the reply box's content as the browser would show it.
func textarea(t *testing.T, page string) string {
	t.Helper()
	m := regexp.MustCompile(`(?s)<textarea id="text" name="text"[^>]*>(.*?)</textarea>`).FindStringSubmatch(page)
	if m == nil {
		t.Fatalf("no reply box:\n%s", page)
	}
	return html.UnescapeString(m[1])
}

func TestCannedReplyIsInsertedInTheCustomersLanguage(t *testing.T) {
	h := apptest.Start(t)
	en := h.NewClient(t)
	en.Lang = "en"
	en.PostForm("/contact", contactFields("Ana", "ana@example.org", "Where is my order?"))
	confirmContact(t, h, "ana@example.org") // named once the guest confirmed it
	tk := onlyTicket(t, h)
	_, agent := h.User(t, account.RoleAgent, "agent@shop.test") // reads the console in French

	page := agent.Get("/console/tickets/" + tk.ID)
	// The picker lists titles in the agent's language.
	mustContain(t, page, `id="canned-pick"`, "Livraison retardée", "Besoin de précisions")
	if got := textarea(t, page.Body); got != "" {
		t.Fatalf("reply box filled before picking: %q", got)
	}
	// Without script: the picker is a GET form that fills the reply box,
	// in the ticket's language, with the name and reference filled in.
	picked := agent.Get("/console/tickets/" + tk.ID + "?canned=" + cannedDelayed).Body
	draft := textarea(t, picked)
	if !regexp.MustCompile(`value="` + cannedDelayed + `"[^>]* selected>`).MatchString(picked) {
		t.Error("the picker does not show the canned reply picked")
	}
	if !strings.HasPrefix(draft, "Hello Ana,") || !strings.Contains(draft, "("+tk.Reference+")") ||
		!strings.Contains(draft, "Your delivery is taking longer") || strings.Contains(draft, "{") {
		t.Fatalf("canned reply for an English ticket:\n%s", draft)
	}
	if r := agent.PostForm("/console/tickets/"+tk.ID, url.Values{"action": {"reply"}, "text": {draft}}); r.Status != http.StatusSeeOther {
		t.Fatalf("reply: %d", r.Status)
	}
	replies, _ := h.App.Outbox.List(context.Background(), mail.Filter{Kind: "ticket_reply"})
	if len(replies) != 1 || !strings.Contains(replies[0].Text, "Your delivery is taking longer") {
		t.Fatalf("reply emails %+v", replies)
	}

	// A French ticket gets the French text; an unknown id fills nothing.
	fr := h.NewClient(t)
	fr.Lang = "fr"
	fr.PostForm("/contact", contactFields("Léa", "lea@example.fr", "Bonjour"))
	confirmContact(t, h, "lea@example.fr")
	ts, _ := h.App.Desk.Queue(context.Background(), desk.QueueFilter{})
	var frTicket desk.Ticket
	for _, x := range ts {
		if x.Lang == "fr" {
			frTicket = x
		}
	}
	draft = textarea(t, agent.Get("/console/tickets/"+frTicket.ID+"?canned="+cannedLooking).Body)
	if !strings.HasPrefix(draft, "Bonjour Léa,") || !strings.Contains(draft, frTicket.Reference) || !strings.Contains(draft, "Nous étudions votre demande") {
		t.Fatalf("canned reply for a French ticket:\n%s", draft)
	}
	if got := textarea(t, agent.Get("/console/tickets/"+frTicket.ID+"?canned=cnr_nothing").Body); got != "" {
		t.Fatalf("an unknown canned reply filled %q", got)
	}
}

func TestAdminsManageCannedReplies(t *testing.T) {
	h := apptest.Start(t)
	_, admin := h.User(t, account.RoleAdmin, "admin@shop.test")
	admin.Lang = "en"
	mustContain(t, admin.Get("/admin/canned"), "We are looking into it", "Refund issued", `id="canned-form"`)

	// Invalid input: a clear error per field, nothing stored.
	r := admin.PostForm("/admin/canned", url.Values{"title_fr": {"Accès"}, "title_en": {""}, "body_fr": {"Bonjour {name}"}, "body_en": {"Hello {name}"}})
	if r.Status != http.StatusUnprocessableEntity || !strings.Contains(r.Body, `id="title_en-error"`) {
		t.Fatalf("missing English title: %d", r.Status)
	}
	mustMarkRefused(t, "canned", r.Body, map[string]string{"title_en": "title_en"})
	before, _ := h.App.Desk.CannedReplies(context.Background())

	r = admin.PostForm("/admin/canned", url.Values{"title_fr": {"Accès envoyé"}, "title_en": {"Access sent"},
		"body_fr": {"Bonjour {name}, vos accès sont partis."}, "body_en": {"Hello {name}, your access is on its way."}})
	if r.Status != http.StatusSeeOther {
		t.Fatalf("create: %d %s", r.Status, r.Body)
	}
	list, _ := h.App.Desk.CannedReplies(context.Background())
	if len(list) != len(before)+1 {
		t.Fatalf("%d canned replies after adding one to %d", len(list), len(before))
	}
	var id string
	for _, c := range list {
		if c.TitleEN == "Access sent" {
			id = c.ID
		}
	}
	mustContain(t, admin.Get("/admin/canned/"+id), "your access is on its way")
	if r := admin.PostForm("/admin/canned/"+id, url.Values{"title_fr": {"Accès renvoyé"}, "title_en": {"Access sent again"},
		"body_fr": {"Bonjour, c’est reparti."}, "body_en": {"Hello, sent again."}}); r.Status != http.StatusSeeOther {
		t.Fatalf("edit: %d", r.Status)
	}
	if c, err := h.App.Desk.CannedReply(context.Background(), id); err != nil || c.TitleEN != "Access sent again" || c.BodyFR != "Bonjour, c’est reparti." {
		t.Fatalf("after edit: %+v %v", c, err)
	}
	// Agents use canned replies but do not manage them.
	_, agent := h.User(t, account.RoleAgent, "agent@shop.test")
	if r := agent.Get("/admin/canned"); r.Status != http.StatusNotFound {
		t.Fatalf("an agent on the admin page: %d", r.Status)
	}
	if r := agent.PostForm("/admin/canned/"+id+"/delete", nil); r.Status != http.StatusNotFound {
		t.Fatalf("an agent deleting: %d", r.Status)
	}
	if r := admin.PostForm("/admin/canned/"+id+"/delete", nil); r.Status != http.StatusSeeOther {
		t.Fatalf("delete: %d", r.Status)
	}
	if _, err := h.App.Desk.CannedReply(context.Background(), id); err != desk.ErrNotFound {
		t.Fatalf("after delete: %v", err)
	}
	if r := admin.PostForm("/admin/canned/"+id+"/delete", nil); r.Status != http.StatusNotFound {
		t.Fatalf("deleting twice: %d", r.Status)
	}
}

func TestTicketShowsTheCustomersContextAndNoOneElses(t *testing.T) {
	h := apptest.Start(t)
	ana, anaClient := h.User(t, account.RoleCustomer, "ana@example.fr")
	ben, _ := h.User(t, account.RoleCustomer, "ben@example.fr")
	anaOrder := buyAndDeliver(t, h, ana, 40)
	benOrder := buyAndDeliver(t, h, ben, 0)
	credit(t, h, ben, 123456)
	anaClient.PostForm("/contact", contactFields("Ana", "ana@example.fr", "Où en est ma commande ?"))
	tk := onlyTicket(t, h)
	_, agent := h.User(t, account.RoleAgent, "agent@shop.test")
	agent.Lang = "en"
	agent.PostForm("/lang", url.Values{"lang": {"en"}})

	balance, _ := h.App.Ledger.Balance(context.Background(), ana.ID, "EUR")
	page := agent.Get("/console/tickets/" + tk.ID)
	mustContain(t, page, `id="customer-context"`, `href="/console/orders/`+anaOrder.ID+`"`, "Balance: "+money.Format(balance, "en"))
	benBalance, _ := h.App.Ledger.Balance(context.Background(), ben.ID, "EUR")
	if strings.Contains(page.Body, benOrder.ID) || strings.Contains(page.Body, money.Format(benBalance, "en")) || strings.Contains(page.Body, `id="context-none"`) {
		t.Fatalf("Ben's records on Ana's ticket:\n%s", page.Body)
	}

	// A guest: no account. A guest writing from an account's address: that
	// account's context, marked as matched by email.
	guest := h.NewClient(t)
	guest.PostForm("/contact", contactFields("Zoé", "zoe@example.fr", "Bonjour"))
	guest.PostForm("/contact", contactFields("Ben", "BEN@example.fr", "Bonjour"))
	ts, _ := h.App.Desk.Queue(context.Background(), desk.QueueFilter{})
	for _, x := range ts {
		switch x.CustomerEmail {
		case "zoe@example.fr":
			p := agent.Get("/console/tickets/" + x.ID)
			mustContain(t, p, `id="context-none"`, "No account")
			if strings.Contains(p.Body, anaOrder.ID) || strings.Contains(p.Body, benOrder.ID) {
				t.Fatal("orders on a guest's ticket")
			}
		case "BEN@example.fr":
			// Until confirmed from the mailbox, anyone may have typed
			// Ben's address: his account is not shown.
			p := agent.Get("/console/tickets/" + x.ID)
			mustContain(t, p, `id="context-unverified"`)
			if strings.Contains(p.Body, benOrder.ID) {
				t.Fatal("Ben's orders on a ticket anyone may have written under his address")
			}
			confirmContact(t, h, "BEN@example.fr")
			p = agent.Get("/console/tickets/" + x.ID)
			mustContain(t, p, benOrder.ID, "account with this email", money.Format(benBalance, "en"))
			if strings.Contains(p.Body, anaOrder.ID) {
				t.Fatal("Ana's order on Ben's ticket")
			}
		}
	}
	// The customer's own view has no context.
	if strings.Contains(anaClient.Get("/support/tickets/"+tk.ID).Body, `id="customer-context"`) {
		t.Fatal("the customer sees the agents' context panel")
	}
}

func TestContactAttachmentsAreCheckedStoredSafelyAndPrivate(t *testing.T) {
	h := apptest.Start(t)
	ana, anaClient := h.User(t, account.RoleCustomer, "ana@example.fr")
	anaClient.Lang = "en"
	anaClient.PostForm("/lang", url.Values{"lang": {"en"}})
	_ = ana

	// A forbidden type (HTML whatever its name) is refused in the visitor's
	// language: no ticket, no mail, no file.
	html := []byte("<!DOCTYPE html><html><script>alert(1)</script></html>")
	note := []byte("Order ord_123: only 40 of 100 posts.\n")
	r := postContact(anaClient, h, contactFields("Ana", "ana@example.fr", "See the files."), upload{"notes.txt", note}, upload{"invoice.pdf", html})
	if r.Status != http.StatusUnprocessableEntity || !strings.Contains(r.Body, `id="attachments-error"`) ||
		!strings.Contains(r.Body, "“invoice.pdf” is not a file type we accept") {
		t.Fatalf("forbidden type: %d %s", r.Status, r.Body)
	}
	fr := h.NewClient(t)
	fr.Lang = "fr"
	r = postContact(fr, h, contactFields("Léa", "lea@example.fr", "Voir le fichier."), upload{"page.html", html})
	if r.Status != http.StatusUnprocessableEntity || !strings.Contains(r.Body, "n’est pas un type de fichier accepté") {
		t.Fatalf("forbidden type in French: %d", r.Status)
	}
	if ts, _ := h.App.Desk.Queue(context.Background(), desk.QueueFilter{IncludeClosed: true}); len(ts) != 0 {
		t.Fatalf("%d tickets opened by refused forms", len(ts))
	}
	if acks, _ := h.App.Outbox.List(context.Background(), mail.Filter{Kind: "ticket_ack"}); len(acks) != 0 {
		t.Fatal("an acknowledgement for a refused form")
	}
	if n := storedBlobs(t, h); n != 0 {
		t.Fatalf("%d files kept from refused forms", n)
	}
	// Too many files.
	var many []upload
	for range desk.MaxContactFiles + 1 {
		many = append(many, upload{"n.txt", note})
	}
	if r := postContact(anaClient, h, contactFields("Ana", "ana@example.fr", "Files"), many...); r.Status != http.StatusUnprocessableEntity || !strings.Contains(r.Body, "at most") {
		t.Fatalf("too many files: %d", r.Status)
	}
	// An invalid field after good files: nothing kept either.
	// (A bad name: a signed-in customer's address is the account's,
	// whatever the form says.)
	if r := postContact(anaClient, h, contactFields("Ana\r\nBcc: x@evil.test", "ana@example.fr", "Files"), upload{"notes.txt", note}); r.Status != http.StatusUnprocessableEntity {
		t.Fatalf("bad name: %d", r.Status)
	}
	if n := storedBlobs(t, h); n != 0 {
		t.Fatalf("%d files kept from refused forms", n)
	}

	// A name with a path in it is kept as its last element only.
	r = followSeeOther(t, anaClient, postContact(anaClient, h, contactFields("Ana", "ana@example.fr", "See the file."), upload{`../../etc/..\evil/notes.txt`, note}))
	if r.Status != http.StatusOK || !strings.Contains(r.Body, `id="contact-sent"`) {
		t.Fatalf("contact with a file: %d %s", r.Status, r.Body)
	}
	tk := onlyTicket(t, h)
	thread, _ := h.App.Desk.Thread(context.Background(), tk.ID, true)
	if len(thread) == 0 || len(thread[0].Attachments) != 1 {
		t.Fatalf("thread %+v", thread)
	}
	a := thread[0].Attachments[0]
	if a.FileName != "notes.txt" || a.ContentType != "text/plain; charset=utf-8" || a.Size != int64(len(note)) || strings.ContainsAny(a.BlobKey, `./\`) {
		t.Fatalf("stored attachment %+v", a)
	}

	// The link is in the thread for the agent and for the customer, and
	// only they can fetch the file.
	_, agent := h.User(t, account.RoleAgent, "agent@shop.test")
	consoleLink := "/console/tickets/" + tk.ID + "/attachments/" + a.ID
	portalLink := "/support/tickets/" + tk.ID + "/attachments/" + a.ID
	mustContain(t, agent.Get("/console/tickets/"+tk.ID), `href="`+consoleLink+`"`, ">notes.txt</a>")
	mustContain(t, anaClient.Get("/support/tickets/"+tk.ID), `href="`+portalLink+`"`)
	for who, r := range map[string]apptest.Response{"agent": agent.Get(consoleLink), "customer": anaClient.Get(portalLink)} {
		if r.Status != http.StatusOK || r.Body != string(note) || !strings.HasPrefix(r.Header.Get("Content-Disposition"), "attachment") ||
			!strings.Contains(r.Header.Get("Content-Disposition"), "notes.txt") {
			t.Fatalf("%s download: %d %q %v", who, r.Status, r.Body, r.Header)
		}
	}
	_, ben := h.User(t, account.RoleCustomer, "ben@example.fr")
	for _, path := range []string{portalLink, consoleLink, "/support/tickets/" + tk.ID + "/attachments/tat_00000000000000000000000000"} {
		if r := ben.Get(path); r.Status != http.StatusNotFound || strings.Contains(r.Body, string(note)) {
			t.Fatalf("a third party on %s: %d", path, r.Status)
		}
	}
	if r := h.NewClient(t).Get(portalLink); r.Status == http.StatusOK {
		t.Fatal("a visitor without a session downloads the file")
	}
	// An attachment of another ticket is not reachable through this one.
	if r := agent.Get("/console/tickets/tkt_00000000000000000000000000/attachments/" + a.ID); r.Status != http.StatusNotFound {
		t.Fatalf("attachment through another ticket: %d", r.Status)
	}
}

func TestQueueFiltersAndRefreshFragment(t *testing.T) {
	h := apptest.Start(t)
	guest := h.NewClient(t)
	guest.PostForm("/contact", url.Values{"name": {"Ana"}, "email": {"ana@example.fr"}, "topic": {"question"}, "message": {"Hello"}})
	guest.PostForm("/contact", url.Values{"name": {"Ben"}, "email": {"ben@example.fr"}, "topic": {"non_delivery"}, "message": {"Nothing came"}})
	agentUser, agent := h.User(t, account.RoleAgent, "agent@shop.test")
	ts, _ := h.App.Desk.Queue(context.Background(), desk.QueueFilter{})
	var question, claim desk.Ticket
	for _, x := range ts {
		if x.Topic == "question" {
			question = x
		} else {
			claim = x
		}
	}
	if _, err := h.App.Desk.Assign(context.Background(), agentUser.Actor(), question.ID, agentUser.ID); err != nil {
		t.Fatal(err)
	}
	cases := map[string]struct{ in, out desk.Ticket }{
		"mine":       {question, claim},
		"unassigned": {claim, question},
		"claims":     {claim, question},
	}
	for filter, c := range cases {
		page := agent.Get("/console/tickets?filter=" + filter)
		mustContain(t, page, c.in.Reference, `data-fragment="/console/tickets?filter=`+filter+`&amp;fragment=1"`)
		if strings.Contains(page.Body, c.out.Reference) {
			t.Errorf("filter %s shows %s", filter, c.out.Reference)
		}
		// The fragment is the table's rows alone, with the same filter.
		frag := agent.Get("/console/tickets?filter=" + filter + "&fragment=1")
		if frag.Status != http.StatusOK || frag.Header.Get("X-Fragment") != "queue_rows" || strings.Contains(frag.Body, "<html") ||
			!strings.Contains(frag.Body, c.in.Reference) || strings.Contains(frag.Body, c.out.Reference) {
			t.Errorf("fragment %s: %d %v\n%s", filter, frag.Status, frag.Header, frag.Body)
		}
	}
	if strings.Contains(agent.Get("/console/tickets?filter=breached&fragment=1").Body, "T-") {
		t.Error("a ticket is late before its promise")
	}
	// A new ticket shows up in the next fragment, without reloading the page.
	guest.PostForm("/contact", url.Values{"name": {"Zoé"}, "email": {"zoe@example.fr"}, "topic": {"question"}, "message": {"Bonjour"}})
	mustContain(t, agent.Get("/console/tickets?fragment=1"), "zoe@example.fr")
	// Customers do not get the fragment either.
	_, customer := h.User(t, account.RoleCustomer, "cus@example.fr")
	if r := customer.Get("/console/tickets?fragment=1"); r.Status != http.StatusNotFound {
		t.Fatalf("a customer on the fragment: %d", r.Status)
	}
}

// A Contact form with a refused file names the other wrong fields with it,
// and keeps what was typed. Before, it named the file alone: once the file
// was fixed, the visitor learnt of the missing name and the bad address,
// and attached the file again.
func TestContactNamesEveryWrongFieldWithARefusedFile(t *testing.T) {
	h := apptest.Start(t)
	html := []byte("<!DOCTYPE html><html><script>alert(1)</script></html>")
	for lang, want := range map[string]string{"en": "is not a file type we accept", "fr": "n’est pas un type de fichier accepté"} {
		c := h.NewClient(t)
		c.Lang = lang
		fields := contactFields("", "ana@", "See the file.")
		fields.Set("order_ref", "123")
		r := postContact(c, h, fields, upload{"page.html", html})
		if r.Status != http.StatusUnprocessableEntity {
			t.Fatalf("%s: %d", lang, r.Status)
		}
		mustContain(t, r, `id="attachments-error"`, want, `id="name-error"`, `id="email-error"`, `id="order_ref-error"`,
			`value="ana@"`, "See the file.")
		if strings.Contains(r.Body, `id="message-error"`) {
			t.Errorf("%s: a message given is called missing", lang)
		}
	}
	if ts, _ := h.App.Desk.Queue(context.Background(), desk.QueueFilter{IncludeClosed: true}); len(ts) != 0 {
		t.Fatalf("%d tickets opened", len(ts))
	}
}

// A customer with no orders, subscriptions or claims: the console's panel
// said "Aucun." under each heading, masculine for "Commandes" and
// "Réclamations" alike. Each now says what there is none of, in agreement.
func TestTicketContextSaysWhatThereIsNoneOf(t *testing.T) {
	h := apptest.Start(t)
	_, anaClient := h.User(t, account.RoleCustomer, "ana@example.fr")
	anaClient.PostForm("/contact", contactFields("Ana", "ana@example.fr", "Bonjour"))
	tk := onlyTicket(t, h)
	_, agent := h.User(t, account.RoleAgent, "agent@shop.test")

	agent.PostForm("/lang", url.Values{"lang": {"fr"}})
	page := agent.Get("/console/tickets/" + tk.ID)
	mustContain(t, page, `<p id="context-no-orders">Aucune commande.</p>`,
		`<p id="context-no-subscriptions">Aucun abonnement.</p>`, `<p id="context-no-claims">Aucune réclamation.</p>`)
	if strings.Contains(page.Body, "<p>Aucun.</p>") {
		t.Fatalf("the panel says Aucun. of orders or claims:\n%s", page.Body)
	}
	agent.PostForm("/lang", url.Values{"lang": {"en"}})
	mustContain(t, agent.Get("/console/tickets/"+tk.ID), `<p id="context-no-orders">No orders.</p>`,
		`<p id="context-no-subscriptions">No subscriptions.</p>`, `<p id="context-no-claims">No claims.</p>`)
}

// A subscription cancelled for the end of its period, then stopped at
// once, was listed beside the customer's tickets as "Ended · … · ends at
// the end of the period": it had ended already. Only a subscription
// still running says when it ends.
func TestTicketContextSaysNoEndOfAnEndedSubscription(t *testing.T) {
	h := apptest.Start(t)
	plan := newPlan(t, h, "pro", 990, 0)
	ana, anaClient := h.User(t, account.RoleCustomer, "ana@example.fr")
	credit(t, h, ana, 5000)
	subID := subscribeWithBalance(t, anaClient, h.Bearer(t, ana.ID), plan.ID)
	if r := anaClient.PostForm("/subscriptions/"+subID+"/cancel", url.Values{"mode": {"period_end"}, "cancel_key": {"cnk-1"}}); r.Status != http.StatusSeeOther {
		t.Fatalf("cancel at the period's end: %d", r.Status)
	}
	anaClient.PostForm("/contact", contactFields("Ana", "ana@example.fr", "Bonjour"))
	tk := onlyTicket(t, h)
	_, agent := h.User(t, account.RoleAgent, "agent@shop.test")
	agent.PostForm("/lang", url.Values{"lang": {"en"}})
	mustContain(t, agent.Get("/console/tickets/"+tk.ID), `Plan pro · Active · €9.90 per month · ends at the end of the period</li>`)

	if r := anaClient.PostForm("/subscriptions/"+subID+"/cancel", url.Values{"mode": {"now"}, "cancel_key": {"cnk-2"}}); r.Status != http.StatusSeeOther {
		t.Fatalf("cancel now: %d", r.Status)
	}
	page := agent.Get("/console/tickets/" + tk.ID)
	mustContain(t, page, `Plan pro · Ended · €9.90 per month</li>`)
	if strings.Contains(page.Body, "ends at the end of the period") {
		t.Fatalf("an ended subscription is said to end at the end of its period:\n%s", page.Body)
	}
}
