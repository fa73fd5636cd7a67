package web_test

import (
	"bytes"
	"context"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"comptoir/internal/apptest"
	"comptoir/internal/browsertest"
	"comptoir/internal/mail"
)

// A guest writes with a file; the agent sees the queue refresh by itself,
// opens the ticket, sees the file, answers with a canned reply inserted in
// place; the guest, who has no account, gets the answer by email (the
// acknowledgement and the answer also carry a link to the ticket's page:
// see TestBrowserGuestFollowsTheTicketThroughTheEmailLink).
func TestBrowserGuestContactWithFileAgentAnswersWithCannedReply(t *testing.T) {
	h := apptest.Start(t)
	h.User(t, "agent", "agent@shop.test")
	dir := t.TempDir()
	shot := filepath.Join(dir, "screenshot.png")
	png := append([]byte("\x89PNG\r\n\x1a\n"), bytes.Repeat([]byte{0}, 64)...)
	if err := os.WriteFile(shot, png, 0o600); err != nil {
		t.Fatal(err)
	}

	// The agent watches the queue before anything arrives.
	agent := browsertest.New(t, 120*time.Second)
	err := chromedp.Do(agent,
		signIn(h, "agent@shop.test"),
		chromedp.Navigate(h.URL+"/console/tickets"),
		chromedp.WaitVisible(css("#queue")),
	)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := chromedp.Run(agent, chromedp.Evaluate[bool](`window.notReloaded = true`)); err != nil {
		t.Fatal(err)
	}

	guest := browsertest.New(t, 60*time.Second) // headless Chromium asks for English
	err = chromedp.Do(guest,
		chromedp.Navigate(h.URL+"/contact"),
		chromedp.WaitVisible(css("#contact-submit")),
		chromedp.SendKeys(css("#name"), "Sam"),
		chromedp.SendKeys(css("#email"), "sam@example.org"),
		chromedp.SetValue(css("#topic"), "non_delivery"),
		chromedp.SendKeys(css("#message"), "My order has not arrived, screenshot attached."),
		chromedp.SetUploadFiles(css("#files"), []string{shot}),
		chromedp.Click(css("#contact-submit")),
		chromedp.WaitVisible(css("#contact-promise")),
	)
	if err != nil {
		t.Fatal(err)
	}

	// Sam confirms it from the link mailed to him: the ticket is his.
	confirmContact(t, h, "sam@example.org")
	// The ticket appears in the agent's queue without a reload (queue.js
	// polls every 15 s).
	if _, err := chromedp.Run(agent, chromedp.Poll[bool](`document.querySelector('#queue tbody').innerText.includes('sam@example.org') && window.notReloaded === true`,
		chromedp.WithPollingTimeout(40*time.Second))); err != nil {
		t.Fatalf("the queue did not refresh in place: %v", err)
	}
	err = chromedp.Do(agent,
		chromedp.Click(css("#queue a")),
		chromedp.WaitVisible(css("#canned-insert")),
		chromedp.WaitVisible(css(`.attachments a[download]`)),
	)
	if err != nil {
		t.Fatal(err)
	}
	if name, _ := chromedp.Run(agent, chromedp.Text(css(".attachments a"))); name != "screenshot.png" {
		t.Fatalf("attachment link %q", name)
	}
	if ctx, _ := chromedp.Run(agent, chromedp.Text(css("#customer-context"))); !strings.Contains(ctx, "guest") && !strings.Contains(ctx, "invité") {
		t.Fatalf("customer context for a guest: %q", ctx)
	}
	// The canned reply goes into the reply box in place, in the guest's
	// language (English), with the name filled in.
	before, _ := chromedp.Run(agent, chromedp.Evaluate[string](`location.href`))
	err = chromedp.Do(agent,
		chromedp.SetValue(css("#canned"), cannedDelayed),
		chromedp.Click(css("#canned-insert")),
	)
	if err != nil {
		t.Fatal(err)
	}
	draft, err := chromedp.Run(agent, chromedp.Poll[string](`document.getElementById('text').value`, chromedp.WithPollingTimeout(5*time.Second)))
	if err != nil || !strings.HasPrefix(draft, "Hello Sam,") || !strings.Contains(draft, "Your delivery is taking longer") {
		t.Fatalf("reply box after picking a canned reply: %q (%v)", draft, err)
	}
	if after, _ := chromedp.Run(agent, chromedp.Evaluate[string](`location.href`)); after != before {
		t.Fatalf("picking a canned reply navigated: %s → %s", before, after)
	}
	err = chromedp.Do(agent,
		chromedp.SendKeys(css("#text"), "\nIt leaves tomorrow."),
		chromedp.Click(css("#reply-submit")),
		chromedp.WaitVisible(css(".flash")),
	)
	if err != nil {
		t.Fatal(err)
	}
	thread, _ := chromedp.Run(agent, chromedp.Text(css(".thread")))
	if !strings.Contains(thread, "Your delivery is taking longer") || !strings.Contains(thread, "It leaves tomorrow.") {
		t.Fatalf("the agent's thread:\n%s", thread)
	}

	// The guest gets the answer by email, threaded on the ticket.
	replies, _ := h.App.Outbox.List(context.Background(), mail.Filter{Kind: "ticket_reply"})
	if len(replies) != 1 || replies[0].To != "sam@example.org" || !strings.Contains(replies[0].Text, "Hello Sam,") ||
		!strings.Contains(replies[0].Text, "Your delivery is taking longer") || !strings.Contains(replies[0].Text, "It leaves tomorrow.") {
		t.Fatalf("answer emailed to the guest: %+v", replies)
	}
	// And the file the guest sent is the one the agent downloads.
	_, agentHTTP := h.User(t, "agent", "agent2@shop.test")
	tk := onlyTicket(t, h)
	thr, _ := h.App.Desk.Thread(context.Background(), tk.ID, true)
	r := agentHTTP.Get("/console/tickets/" + tk.ID + "/attachments/" + thr[0].Attachments[0].ID)
	if r.Body != string(png) || r.Header.Get("Content-Type") != "image/png" {
		t.Fatalf("downloaded attachment: %q %v", r.Body, r.Header)
	}
}

// Issue #5: a guest writes from the Contact page; the agent answers from
// the console; the guest opens the link of the answer's email, sees the
// answer on the page without an account, and replies from there; the agent
// sees that reply in the ticket's thread.
func TestBrowserGuestFollowsTheTicketThroughTheEmailLink(t *testing.T) {
	h := apptest.Start(t)
	h.User(t, "agent", "agent@shop.test")

	guest := browsertest.New(t, 90*time.Second)
	err := chromedp.Do(guest,
		chromedp.Navigate(h.URL+"/contact"),
		chromedp.WaitVisible(css("#contact-submit")),
		chromedp.SendKeys(css("#name"), "Sam"),
		chromedp.SendKeys(css("#email"), "sam@example.org"),
		chromedp.SendKeys(css("#message"), "Can I move my licence to a new laptop?"),
		chromedp.Click(css("#contact-submit")),
		chromedp.WaitVisible(css("#contact-promise")),
	)
	if err != nil {
		t.Fatal(err)
	}
	tk := onlyTicket(t, h)

	agent := browsertest.New(t, 90*time.Second)
	err = chromedp.Do(agent,
		signIn(h, "agent@shop.test"),
		chromedp.Navigate(h.URL+"/console/tickets/"+tk.ID),
		chromedp.WaitVisible(css("#reply-submit")),
		chromedp.SendKeys(css("#text"), "Yes: sign out on the old one first."),
		chromedp.Click(css("#reply-submit")),
		chromedp.WaitVisible(css(".flash")),
	)
	if err != nil {
		t.Fatal(err)
	}

	// The link of the answer's email, as the guest reads it.
	replies, _ := h.App.Outbox.List(context.Background(), mail.Filter{Kind: "ticket_reply"})
	if len(replies) != 1 {
		t.Fatalf("answers emailed: %d", len(replies))
	}
	link := regexp.MustCompile(`https?://\S+/support/t/[A-Za-z0-9_-]{43}`).FindString(replies[0].Text)
	if !strings.HasPrefix(link, h.URL+"/support/t/") {
		t.Fatalf("no guest link in the answer:\n%s", replies[0].Text)
	}
	err = chromedp.Do(guest,
		chromedp.Navigate(link),
		chromedp.WaitVisible(css("#customer-reply")),
	)
	if err != nil {
		t.Fatal(err)
	}
	if thread, _ := chromedp.Run(guest, chromedp.Text(css(".thread"))); !strings.Contains(thread, "Yes: sign out on the old one first.") ||
		!strings.Contains(thread, "Can I move my licence") {
		t.Fatalf("the guest's page:\n%s", thread)
	}
	err = chromedp.Do(guest,
		chromedp.SendKeys(css("#text"), "Done, thank you!"),
		chromedp.Click(css("#customer-reply")),
		chromedp.WaitVisible(css(".flash")),
	)
	if err != nil {
		t.Fatal(err)
	}
	if url, _ := chromedp.Run(guest, chromedp.Evaluate[string](`location.href`)); url != link {
		t.Fatalf("after replying the guest is at %s, not back on the ticket", url)
	}
	if thread, _ := chromedp.Run(guest, chromedp.Text(css(".thread"))); !strings.Contains(thread, "Done, thank you!") {
		t.Fatalf("the guest's reply is not on the page:\n%s", thread)
	}

	// The agent sees the reply in the thread, and the ticket is open again.
	err = chromedp.Do(agent,
		chromedp.Navigate(h.URL+"/console/tickets/"+tk.ID),
		chromedp.WaitVisible(css("#reply-submit")),
	)
	if err != nil {
		t.Fatal(err)
	}
	if thread, _ := chromedp.Run(agent, chromedp.Text(css(".thread"))); !strings.Contains(thread, "Done, thank you!") {
		t.Fatalf("the agent's thread:\n%s", thread)
	}
	if st, _ := chromedp.Run(agent, chromedp.Text(css("#ticket-status"))); st != "Waiting for our answer" && st != "En attente de notre réponse" {
		t.Fatalf("status after the guest's reply: %q", st)
	}
}

// An agent going through the queue with the keyboard keeps their place
// when it refreshes: before, the rows were swapped under the focused link
// every 15 s and focus fell back to the top of the page.
func TestBrowserQueueRefreshKeepsKeyboardFocus(t *testing.T) {
	h := apptest.Start(t)
	h.User(t, "agent", "agent@shop.test")
	c := h.NewClient(t)
	c.PostForm("/contact", url.Values{"name": {"Ana"}, "email": {"ana@example.fr"}, "topic": {"question"}, "message": {"Bonjour"}})
	ctx := browsertest.New(t, 60*time.Second)
	err := chromedp.Do(ctx, signIn(h, "agent@shop.test"), chromedp.Navigate(h.URL+"/console/tickets"), chromedp.WaitVisible(css("#queue tbody a")),
		chromedp.Focus(css("#queue tbody a")))
	if err != nil {
		t.Fatal(err)
	}
	// Wait for a refresh to have come back (queue.js polls every 15 s).
	if _, err := chromedp.Run(ctx, chromedp.Poll[bool](`!!(document.getElementById('queue').dataset.checked || document.getElementById('queue').dataset.refreshed)`,
		chromedp.WithPollingTimeout(40*time.Second))); err != nil {
		t.Fatalf("no refresh of the queue: %v", err)
	}
	if kept, _ := chromedp.Run(ctx, chromedp.Evaluate[bool](`document.activeElement.matches('#queue tbody a')`)); !kept {
		tag, _ := chromedp.Run(ctx, chromedp.Evaluate[string](`document.activeElement.tagName`))
		t.Fatalf("after the refresh, focus is on %s, not the ticket link", tag)
	}
}
