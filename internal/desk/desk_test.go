package desk_test

import (
	"context"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"comptoir/internal/desk"
)

func TestContactOpensTicketAndAcknowledges(t *testing.T) {
	e := setup(t)
	ctx := context.Background()
	tk, err := e.desk.OpenFromContact(ctx, desk.ContactInput{CustomerID: e.customer.ID, Name: "Zoé", Email: "zoe@example.net",
		Topic: desk.TopicNonDelivery, Message: "Rien reçu.", Lang: "fr",
		Attachments: []desk.Attachment{{FileName: "capture.png", ContentType: "image/png", Size: 12, BlobKey: "blob/1"}}})
	if err != nil {
		t.Fatal(err)
	}
	if !regexp.MustCompile(`^T-[0-9A-HJKMNP-TV-Z]{8}$`).MatchString(tk.Reference) || len(tk.ReplyToken) != 32 {
		t.Fatalf("reference %q, token %q", tk.Reference, tk.ReplyToken)
	}
	if tk.Status != desk.StatusOpen || !tk.TargetAt.Equal(t0.Add(24*time.Hour)) || !tk.PromiseAt.Equal(t0.Add(48*time.Hour)) ||
		!tk.FirstMessage.Equal(t0) || tk.CustomerID != e.customer.ID || !tk.IsClaim() {
		t.Fatalf("ticket %+v", tk)
	}
	msgs := e.thread(t, tk.ID, false)
	if len(msgs) != 2 || msgs[0].Direction != desk.DirectionIn || msgs[0].Text != "Rien reçu." || len(msgs[0].Attachments) != 1 ||
		msgs[0].Attachments[0].FileName != "capture.png" || msgs[1].Direction != desk.DirectionOut {
		t.Fatalf("thread %+v", msgs)
	}
	_, ack := e.lastOut(t, tk.ID)
	if ack.Kind != "ticket_ack" || ack.To != "zoe@example.net" || ack.Lang != "fr" ||
		ack.ReplyTo != "<support+"+tk.ReplyToken+"@shop.test>" || !strings.Contains(ack.Subject, "[#"+tk.Reference+"]") ||
		ack.UserID != e.customer.ID {
		t.Fatalf("ack %+v", ack)
	}
	contains(t, "fr ack", ack.Text, "Bonjour Zoé", tk.Reference, "10 mars 2026 à 10:00", "http://shop.test/support/tickets/"+tk.ID)

	// A guest in English.
	g := e.contact(t, "guest@example.org", "en")
	_, ack = e.lastOut(t, g.ID)
	contains(t, "en ack", ack.Subject+"\n"+ack.Text, "[#"+g.Reference+"]", "10 March 2026 at 10:00 UTC", "Hello,\n")
	if g.CustomerID != "" || strings.Contains(ack.Text, "/support/tickets/") {
		t.Errorf("guest ticket %+v, ack:\n%s", g, ack.Text)
	}
	if _, err := e.desk.GetForCustomer(ctx, e.customer.ID, tk.ID); err != nil {
		t.Error(err)
	}
	_, err = e.desk.GetForCustomer(ctx, e.other.ID, tk.ID)
	wantCode(t, err, "not_found")
	_, err = e.desk.GetForCustomer(ctx, "", g.ID)
	wantCode(t, err, "not_found")
	list, _, err := e.desk.ListForCustomer(ctx, e.customer.ID, "", 0)
	if err != nil || len(list) != 1 || list[0].ID != tk.ID {
		t.Errorf("ListForCustomer = %v, %v", list, err)
	}
}

func TestContactRefusesBadInputAndStoresNothing(t *testing.T) {
	e := setup(t)
	ctx := context.Background()
	mails := e.count(t, "outgoing_mail")
	ok := desk.ContactInput{Name: "Zoé", Email: "zoe@example.net", Topic: desk.TopicQuestion, Message: "Hi", Lang: "en"}
	for _, tc := range []struct {
		field, code string
		edit        func(*desk.ContactInput)
	}{
		{"name", "line_break", func(in *desk.ContactInput) { in.Name = "Zoé\r\nBcc: victim@example.com" }},
		{"name", "line_break", func(in *desk.ContactInput) { in.Name = "Zoé\nBcc: victim@example.com" }},
		{"email", "line_break", func(in *desk.ContactInput) { in.Email = "zoe@example.net\r\nBcc: victim@example.com" }},
		{"email", "line_break", func(in *desk.ContactInput) { in.Email = "zoe@example.net\rBcc: victim@example.com" }},
		{"order_ref", "line_break", func(in *desk.ContactInput) { in.OrderRef = "ord_1\nBcc: x@y.z" }},
		{"topic", "line_break", func(in *desk.ContactInput) { in.Topic = "question\r\nBcc: x@y.z" }},
		{"name", "required", func(in *desk.ContactInput) { in.Name = " " }},
		{"name", "too_long", func(in *desk.ContactInput) { in.Name = strings.Repeat("a", desk.MaxNameLen+1) }},
		{"email", "invalid", func(in *desk.ContactInput) { in.Email = "not an email" }},
		{"email", "invalid", func(in *desk.ContactInput) { in.Email = "Zoé <zoe@example.net>" }},
		{"email", "invalid", func(in *desk.ContactInput) { in.Email = "zoe@example.net\x00" }},
		{"order_ref", "invalid", func(in *desk.ContactInput) { in.OrderRef = "12345" }},
		{"order_ref", "unknown", func(in *desk.ContactInput) { in.OrderRef = "ord_01HZZZZZZZZZZZZZZZZZZZZZZZ" }},
		{"topic", "invalid", func(in *desk.ContactInput) { in.Topic = "gossip" }},
		{"message", "required", func(in *desk.ContactInput) { in.Message = "\n" }},
		{"message", "too_long", func(in *desk.ContactInput) { in.Message = strings.Repeat("a", desk.MaxMessageLen+1) }},
		{"lang", "invalid", func(in *desk.ContactInput) { in.Lang = "de" }},
		{"attachments", "invalid", func(in *desk.ContactInput) {
			in.Attachments = []desk.Attachment{{FileName: "a.txt\r\nX: y", ContentType: "text/plain", BlobKey: "k"}}
		}},
	} {
		in := ok
		tc.edit(&in)
		_, err := e.desk.OpenFromContact(ctx, in)
		wantCode(t, err, "invalid")
		wantField(t, err, tc.field, tc.code)
	}
	for _, table := range []string{"tickets", "ticket_messages", "ticket_attachments", "ticket_sla_events"} {
		if n := e.count(t, table); n != 0 {
			t.Errorf("%d rows in %s after refused input", n, table)
		}
	}
	if n := e.count(t, "outgoing_mail"); n != mails {
		t.Errorf("%d mails queued after refused input", n-mails)
	}
}

func TestReceiveThreading(t *testing.T) {
	e := setup(t)
	ctx := context.Background()
	tk := e.contact(t, "Zoe@Example.net", "en")
	_, ack := e.lastOut(t, tk.ID)
	from := e.customer.Email // same address, other case

	cases := []struct {
		name string
		in   desk.InboundMessage
		by   string
	}{
		{"in-reply-to", desk.InboundMessage{MessageID: "<c1@example.net>", InReplyTo: ack.MessageID}, desk.ByMessageID},
		{"references only", desk.InboundMessage{MessageID: "c2@example.net", References: []string{"<root@elsewhere>", ack.MessageID}}, desk.ByMessageID},
		{"our customer's earlier message", desk.InboundMessage{MessageID: "<c3@example.net>", InReplyTo: "<c2@example.net>"}, desk.ByMessageID},
		{"reply token", desk.InboundMessage{MessageID: "<c4@example.net>", Subject: "new words",
			Recipients: []string{"Shop <SUPPORT+" + strings.ToUpper(tk.ReplyToken) + "@Shop.Test>"}}, desk.ByReplyToken},
		{"subject reference", desk.InboundMessage{MessageID: "<c5@example.net>", Subject: "Re: hello [#" + strings.ToLower(tk.Reference) + "]"}, desk.BySubject},
	}
	for _, tc := range cases {
		tc.in.From.Email = from
		tc.in.Text = tc.name
		got, res, err := e.desk.Receive(ctx, tc.in)
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		if got.ID != tk.ID || res.Outcome != desk.OutcomeThreaded || res.By != tc.by || res.Flagged {
			t.Errorf("%s: ticket %s, result %+v", tc.name, got.ID, res)
		}
	}
	if msgs := e.thread(t, tk.ID, false); len(msgs) != 2+len(cases) {
		t.Errorf("thread has %d messages, want %d", len(msgs), 2+len(cases))
	}
	if m := e.thread(t, tk.ID, false)[3]; m.MessageID != "<c2@example.net>" || !slices.Equal(m.References, []string{"<root@elsewhere>", ack.MessageID}) {
		t.Errorf("stored %+v", m)
	}

	// Unknown thread, known customer: a new ticket, linked to the account, acknowledged in its language.
	mails := e.count(t, "outgoing_mail")
	nt, res, err := e.desk.Receive(ctx, desk.InboundMessage{MessageID: "<new@example.net>", InReplyTo: "<nothing@nowhere>",
		From: mailAddr("Zoé", "zoe@example.net"), Subject: "Une question", Text: "Bonjour", Raw: []byte("raw bytes")})
	if err != nil {
		t.Fatal(err)
	}
	if res.Outcome != desk.OutcomeCreated || nt.ID == tk.ID || nt.CustomerID != e.customer.ID || nt.Lang != "fr" ||
		nt.Topic != desk.TopicEmail || nt.PromiseAt.IsZero() {
		t.Fatalf("new ticket %+v, %+v", nt, res)
	}
	if n := e.count(t, "outgoing_mail"); n != mails+1 {
		t.Fatalf("%d mails queued, want the acknowledgement", n-mails)
	}
	_, ack2 := e.lastOut(t, nt.ID)
	if ack2.Kind != "ticket_ack" || ack2.InReplyTo != "<new@example.net>" || !strings.Contains(ack2.Subject, nt.Reference) ||
		ack2.ReplyTo != "<support+"+nt.ReplyToken+"@shop.test>" {
		t.Errorf("ack %+v", ack2)
	}
	if raw, err := e.desk.RawMessage(ctx, res.MessageID); err != nil || string(raw) != "raw bytes" {
		t.Errorf("raw = %q, %v", raw, err)
	}
	// An unknown sender: a guest ticket, never dropped.
	gt, res, err := e.desk.Receive(ctx, desk.InboundMessage{From: mailAddr("", "stranger@example.com"), Subject: "hi", Text: "hi"})
	if err != nil || res.Outcome != desk.OutcomeCreated || gt.CustomerID != "" || gt.CustomerEmail != "stranger@example.com" {
		t.Fatalf("stranger: %+v %+v %v", gt, res, err)
	}
	// A name that would inject a header is cleaned; an address we cannot
	// write to still opens a ticket, without an acknowledgement.
	ev, _, err := e.desk.Receive(ctx, desk.InboundMessage{From: mailAddr("Evil\r\nBcc: victim@example.com", "evil@example.com"), Text: "x"})
	if err != nil || strings.ContainsAny(ev.CustomerName, "\r\n") {
		t.Fatalf("evil name: %+v %v", ev, err)
	}
	// The ticket keeps the cleaned name; a guest's acknowledgement names
	// nobody (the sender's words are not mailed back to the address).
	if _, m := e.lastOut(t, ev.ID); ev.CustomerName != "Evil Bcc: victim@example.com" || m.ToName != "" {
		t.Errorf("ticket's name %q, ack to %q", ev.CustomerName, m.ToName)
	}
	mails = e.count(t, "outgoing_mail")
	bad, res, err := e.desk.Receive(ctx, desk.InboundMessage{From: mailAddr("", "not an address"), Text: "x", Unparsed: true})
	if err != nil || res.Outcome != desk.OutcomeCreated || e.count(t, "outgoing_mail") != mails {
		t.Fatalf("bad sender: %+v %+v %v", bad, res, err)
	}
}

func TestDuplicateMessageIDStoredOnce(t *testing.T) {
	e := setup(t)
	ctx := context.Background()
	in := desk.InboundMessage{MessageID: "<dup@example.com>", From: mailAddr("", "dup@example.com"), Subject: "hello", Text: "once"}
	first, res, err := e.desk.Receive(ctx, in)
	if err != nil || res.Outcome != desk.OutcomeCreated {
		t.Fatal(res, err)
	}
	tickets, msgs, mails := e.count(t, "tickets"), e.count(t, "ticket_messages"), e.count(t, "outgoing_mail")
	for range 2 {
		again, res, err := e.desk.Receive(ctx, in)
		if err != nil || res.Outcome != desk.OutcomeDuplicate || again.ID != first.ID || res.MessageID != "" {
			t.Fatalf("again: %+v %+v %v", again, res, err)
		}
	}
	// The same id on a reply to the ticket too.
	in.InReplyTo = "<dup@example.com>"
	if _, res, err := e.desk.Receive(ctx, in); err != nil || res.Outcome != desk.OutcomeDuplicate {
		t.Fatal(res, err)
	}
	if e.count(t, "tickets") != tickets || e.count(t, "ticket_messages") != msgs || e.count(t, "outgoing_mail") != mails {
		t.Error("a duplicate changed something")
	}
}

func TestOtherSenderFlaggedAndHidden(t *testing.T) {
	e := setup(t)
	ctx := context.Background()
	tk, err := e.desk.OpenFromContact(ctx, desk.ContactInput{CustomerID: e.customer.ID, Name: "Zoé", Email: "zoe@example.net",
		Topic: desk.TopicOrder, Message: "Bonjour", Lang: "fr"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.desk.Reply(ctx, e.agent, tk.ID, "Voici."); err != nil {
		t.Fatal(err)
	}
	out, _ := e.lastOut(t, tk.ID)
	mails := e.count(t, "outgoing_mail")
	got, res, err := e.desk.Receive(ctx, desk.InboundMessage{MessageID: "<m@evil.test>", InReplyTo: out.MessageID,
		From: mailAddr("Mallory", "mallory@evil.test"), Subject: "Re: [#" + tk.Reference + "]", Text: "send the key to me"})
	if err != nil || got.ID != tk.ID || !res.Flagged || res.Outcome != desk.OutcomeThreaded {
		t.Fatalf("%+v %+v %v", got, res, err)
	}
	// Not answered by mail and hidden from the customer, but an agent must
	// read it: the ticket is due again (TestFlaggedMessageMakesTheTicketDue).
	if got.Status != desk.StatusOpen || got.PromiseAt.IsZero() || e.count(t, "outgoing_mail") != mails {
		t.Errorf("a stranger's message: %+v, %d mails (was %d)", got, e.count(t, "outgoing_mail"), mails)
	}
	for _, m := range e.thread(t, tk.ID, false) {
		if m.Flagged || strings.Contains(m.Text, "send the key") {
			t.Errorf("customer sees flagged message %+v", m)
		}
	}
	var seen bool
	for _, m := range e.thread(t, tk.ID, true) {
		seen = seen || m.Flagged && m.FromEmail == "mallory@evil.test"
	}
	if !seen {
		t.Error("agent does not see the flagged message")
	}
	// The next reply still threads onto the customer's messages, not Mallory's.
	if _, err := e.desk.Reply(ctx, e.agent, tk.ID, "Encore."); err != nil {
		t.Fatal(err)
	}
	if _, m := e.lastOut(t, tk.ID); m.InReplyTo == "<m@evil.test>" || slices.Contains(m.References, "<m@evil.test>") {
		t.Errorf("reply threads onto the stranger's message: %+v", m)
	}
}

func TestAutoReplyStoredNeverAnswered(t *testing.T) {
	e := setup(t)
	ctx := context.Background()
	mails := e.count(t, "outgoing_mail")
	nt, res, err := e.desk.Receive(ctx, desk.InboundMessage{MessageID: "<ooo@example.com>", From: mailAddr("", "ooo@example.com"),
		Subject: "Out of office", Text: "Back Monday", AutoReply: true})
	if err != nil || res.Outcome != desk.OutcomeCreated || !nt.PromiseAt.IsZero() {
		t.Fatalf("%+v %+v %v", nt, res, err)
	}
	if e.count(t, "outgoing_mail") != mails {
		t.Error("an auto-reply was acknowledged")
	}
	// On an answered ticket: stored, SLA not restarted, status unchanged.
	tk := e.contact(t, "zoe@example.net", "en")
	if _, err := e.desk.Reply(ctx, e.agent, tk.ID, "Done."); err != nil {
		t.Fatal(err)
	}
	_, reply := e.lastOut(t, tk.ID)
	mails = e.count(t, "outgoing_mail")
	e.clock.Advance(time.Hour)
	got, res, err := e.desk.Receive(ctx, desk.InboundMessage{MessageID: "<ooo2@example.net>", InReplyTo: reply.MessageID,
		From: mailAddr("", "zoe@example.net"), Subject: "Auto: away", Text: "away", AutoReply: true})
	if err != nil || res.Outcome != desk.OutcomeThreaded || got.Status != desk.StatusAnswered || !got.PromiseAt.IsZero() {
		t.Fatalf("%+v %+v %v", got, res, err)
	}
	if e.count(t, "outgoing_mail") != mails {
		t.Error("an auto-reply triggered mail")
	}
	msgs := e.thread(t, tk.ID, false)
	if last := msgs[len(msgs)-1]; !last.AutoReply || last.Text != "away" {
		t.Errorf("auto-reply not stored: %+v", last)
	}
}

func TestReplyThreadsAndAnswers(t *testing.T) {
	e := setup(t)
	ctx := context.Background()
	tk := e.contact(t, "zoe@example.net", "en")
	_, ack := e.lastOut(t, tk.ID)
	e.clock.Advance(time.Hour)
	if _, _, err := e.desk.Receive(ctx, desk.InboundMessage{MessageID: "<c1@example.net>", InReplyTo: ack.MessageID,
		References: []string{ack.MessageID}, From: mailAddr("", "zoe@example.net"), Subject: "Re", Text: "more"}); err != nil {
		t.Fatal(err)
	}
	// The first message's deadline still holds: the earliest unanswered message counts.
	if got := e.get(t, tk.ID); !got.PromiseAt.Equal(t0.Add(48 * time.Hour)) {
		t.Errorf("promise %v after a second customer message", got.PromiseAt)
	}
	_, err := e.desk.Reply(ctx, e.customerActor(), tk.ID, "I am no agent")
	wantCode(t, err, "forbidden")
	_, err = e.desk.Reply(ctx, e.agent, tk.ID, " ")
	wantCode(t, err, "invalid")

	e.clock.Advance(time.Hour)
	out, err := e.desk.Reply(ctx, e.agent, tk.ID, "Your key is ABC-123.")
	if err != nil {
		t.Fatal(err)
	}
	m, err := e.outbox.Get(ctx, out.OutgoingMailID)
	if err != nil {
		t.Fatal(err)
	}
	if m.Kind != "ticket_reply" || m.InReplyTo != "<c1@example.net>" || !slices.Equal(m.References, []string{ack.MessageID, "<c1@example.net>"}) ||
		m.ReplyTo != "<support+"+tk.ReplyToken+"@shop.test>" || !strings.Contains(m.Subject, "[#"+tk.Reference+"]") ||
		m.MessageID != out.MessageID || out.AuthorID != e.agent.ID || out.Text != "Your key is ABC-123." {
		t.Fatalf("reply mail %+v, message %+v", m, out)
	}
	contains(t, "reply", m.Text, "Your key is ABC-123.")
	got := e.get(t, tk.ID)
	if got.Status != desk.StatusAnswered || !got.PromiseAt.IsZero() || !got.TargetAt.IsZero() {
		t.Fatalf("after reply %+v", got)
	}
	// The customer answers the reply: reopened, a new response is due.
	now := e.clock.Advance(time.Hour)
	got, res, err := e.desk.Receive(ctx, desk.InboundMessage{MessageID: "<c2@example.net>", InReplyTo: out.MessageID,
		From: mailAddr("", "zoe@example.net"), Subject: "Re", Text: "thanks, but"})
	if err != nil || res.By != desk.ByMessageID || got.Status != desk.StatusOpen || !got.PromiseAt.Equal(now.Add(48*time.Hour)) ||
		!got.TargetAt.Equal(now.Add(24*time.Hour)) {
		t.Fatalf("%+v %+v %v", got, res, err)
	}
	// Notes stay internal.
	if _, err := e.desk.Note(ctx, e.agent, tk.ID, "customer seems confused"); err != nil {
		t.Fatal(err)
	}
	for _, m := range e.thread(t, tk.ID, false) {
		if m.Direction == desk.DirectionNote {
			t.Error("customer sees a note")
		}
	}
	if msgs := e.thread(t, tk.ID, true); msgs[len(msgs)-1].Direction != desk.DirectionNote {
		t.Error("agent does not see the note")
	}
}

func TestCustomerReplyFromPortal(t *testing.T) {
	e := setup(t)
	ctx := context.Background()
	tk, err := e.desk.OpenFromContact(ctx, desk.ContactInput{CustomerID: e.customer.ID, Name: "Zoé", Email: "zoe@example.net",
		Topic: desk.TopicBilling, Message: "Bonjour", Lang: "fr"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.desk.Reply(ctx, e.agent, tk.ID, "Réponse"); err != nil {
		t.Fatal(err)
	}
	_, err = e.desk.ReplyAsCustomer(ctx, e.other.ID, tk.ID, "not mine", nil)
	wantCode(t, err, "not_found")
	now := e.clock.Advance(time.Hour)
	got, err := e.desk.ReplyAsCustomer(ctx, e.customer.ID, tk.ID, "Merci, mais…", nil)
	if err != nil || got.Status != desk.StatusOpen || !got.PromiseAt.Equal(now.Add(48*time.Hour)) {
		t.Fatalf("%+v %v", got, err)
	}
	msgs := e.thread(t, tk.ID, false)
	if last := msgs[len(msgs)-1]; last.Direction != desk.DirectionIn || last.Text != "Merci, mais…" {
		t.Errorf("last %+v", last)
	}
}

func TestWaitingPausesTheClock(t *testing.T) {
	e := setup(t)
	ctx := context.Background()
	tk := e.contact(t, "zoe@example.net", "en")
	got, err := e.desk.WaitOnCustomer(ctx, e.agent, tk.ID)
	if err != nil || got.Status != desk.StatusWaitingCustomer || !got.PromiseAt.IsZero() {
		t.Fatalf("%+v %v", got, err)
	}
	now := e.clock.Advance(100 * time.Hour)
	if n, err := e.desk.MarkBreaches(ctx, now); err != nil || n != 0 {
		t.Fatalf("MarkBreaches while waiting = %d, %v", n, err)
	}
	got, _, err = e.desk.Receive(ctx, desk.InboundMessage{MessageID: "<w@example.net>", From: mailAddr("", "zoe@example.net"),
		Subject: "[#" + tk.Reference + "] here it is", Text: "the screenshot"})
	if err != nil || got.Status != desk.StatusOpen || !got.PromiseAt.Equal(now.Add(48*time.Hour)) || got.Breached {
		t.Fatalf("%+v %v", got, err)
	}
}

func TestBreachesAndQueue(t *testing.T) {
	e := setup(t)
	ctx := context.Background()
	a := e.contact(t, "a@example.net", "en") // promise t0+48h
	e.clock.Advance(time.Hour)
	b, err := e.desk.OpenFromContact(ctx, desk.ContactInput{Name: "B", Email: "b@example.net", Topic: desk.TopicWithdrawal, Message: "x", Lang: "en"})
	if err != nil {
		t.Fatal(err)
	}
	e.clock.Advance(time.Hour)
	c := e.contact(t, "c@example.net", "en") // promise t0+50h
	e.clock.Advance(time.Hour)
	w := e.contact(t, "w@example.net", "en")
	if _, err := e.desk.WaitOnCustomer(ctx, e.agent, w.ID); err != nil { // nothing due: last
		t.Fatal(err)
	}
	closed := e.contact(t, "closed@example.net", "en")
	if _, err := e.desk.Close(ctx, e.agent, closed.ID); err != nil {
		t.Fatal(err)
	}
	ids := func(ts []desk.Ticket, err error) []string {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, tk := range ts {
			out = append(out, tk.ID)
		}
		return out
	}
	if got, want := ids(e.desk.Queue(ctx, desk.QueueFilter{})), []string{a.ID, b.ID, c.ID, w.ID}; !slices.Equal(got, want) {
		t.Errorf("queue %v, want %v", got, want)
	}
	if got := ids(e.desk.Queue(ctx, desk.QueueFilter{IncludeClosed: true})); len(got) != 5 || got[4] == a.ID {
		t.Errorf("queue with closed %v", got)
	}
	page1 := ids(e.desk.Queue(ctx, desk.QueueFilter{Limit: 2}))
	page2 := ids(e.desk.Queue(ctx, desk.QueueFilter{Limit: 2, After: page1[1]}))
	page3 := ids(e.desk.Queue(ctx, desk.QueueFilter{Limit: 2, After: page2[1]}))
	if !slices.Equal(append(page1, page2...), []string{a.ID, b.ID, c.ID, w.ID}) || len(page3) != 0 {
		t.Errorf("pages %v %v %v", page1, page2, page3)
	}
	if _, err := e.desk.Assign(ctx, e.agent, c.ID, e.agent2.ID); err != nil {
		t.Fatal(err)
	}
	_, err = e.desk.Assign(ctx, e.agent, c.ID, e.customer.ID)
	wantField(t, err, "assignee", "not_staff")
	if got := ids(e.desk.Queue(ctx, desk.QueueFilter{AssigneeID: e.agent2.ID})); !slices.Equal(got, []string{c.ID}) {
		t.Errorf("mine %v", got)
	}
	if got := ids(e.desk.Queue(ctx, desk.QueueFilter{Unassigned: true})); !slices.Equal(got, []string{a.ID, b.ID, w.ID}) {
		t.Errorf("unassigned %v", got)
	}
	if got := ids(e.desk.Queue(ctx, desk.QueueFilter{ClaimsOnly: true})); !slices.Equal(got, []string{b.ID}) {
		t.Errorf("claims %v", got)
	}

	// Breaches: a's promise (t0+48h) and b's (t0+49h) pass, c's (t0+50h) not yet.
	now := t0.Add(49*time.Hour + time.Minute)
	e.clock.Set(now)
	n, err := e.desk.MarkBreaches(ctx, now)
	if err != nil || n != 2 {
		t.Fatalf("MarkBreaches = %d, %v", n, err)
	}
	if n, err := e.desk.MarkBreaches(ctx, now); err != nil || n != 0 {
		t.Fatalf("MarkBreaches again = %d, %v", n, err)
	}
	if n, err := e.desk.CountBreaches(ctx); err != nil || n != 2 {
		t.Fatalf("CountBreaches = %d, %v", n, err)
	}
	if got := ids(e.desk.Queue(ctx, desk.QueueFilter{BreachedOnly: true})); !slices.Equal(got, []string{a.ID, b.ID}) {
		t.Errorf("breached %v", got)
	}
	if !e.get(t, a.ID).Breached || e.get(t, c.ID).Breached {
		t.Error("breach flags wrong")
	}
	// Answering clears the breach of the reply that was due.
	if _, err := e.desk.Reply(ctx, e.agent, a.ID, "Sorry for the wait."); err != nil {
		t.Fatal(err)
	}
	if n, _ := e.desk.CountBreaches(ctx); n != 1 {
		t.Errorf("CountBreaches after answering = %d", n)
	}
}

func TestSurveyByTokenOnce(t *testing.T) {
	e := setup(t)
	ctx := context.Background()
	tk := e.contact(t, "zoe@example.net", "fr")
	if _, err := e.desk.Reply(ctx, e.agent, tk.ID, "Voilà."); err != nil {
		t.Fatal(err)
	}
	_, err := e.desk.Close(ctx, e.customerActor(), tk.ID)
	wantCode(t, err, "forbidden")
	got, err := e.desk.Close(ctx, e.agent, tk.ID)
	if err != nil || got.Status != desk.StatusClosed || !got.PromiseAt.IsZero() {
		t.Fatalf("%+v %v", got, err)
	}
	_, m := e.lastOut(t, tk.ID)
	link := regexp.MustCompile(`http://shop\.test/survey/([0-9A-Z]{32})`).FindStringSubmatch(m.Text)
	if m.Kind != "ticket_survey" || link == nil || !strings.Contains(m.Subject, tk.Reference) || m.ReplyTo != "<support+"+tk.ReplyToken+"@shop.test>" {
		t.Fatalf("survey mail %+v", m)
	}
	token := link[1]
	_, err = e.desk.Close(ctx, e.agent, tk.ID)
	wantCode(t, err, "ticket_closed")
	for _, r := range []int{0, 6, -1} {
		err := e.desk.AnswerSurvey(ctx, token, r, "")
		wantField(t, err, "rating", "out_of_range")
	}
	wantCode(t, e.desk.AnswerSurvey(ctx, "nope", 3, ""), "not_found")
	// A control character (a NUL, which PostgreSQL refuses in text) is
	// a field error, and the survey stays unanswered.
	wantField(t, e.desk.AnswerSurvey(ctx, token, 4, "Rapide\x00."), "comment", "invalid")
	wantField(t, e.desk.AnswerSurvey(ctx, token, 4, "Rapide\x1b[2J."), "comment", "invalid")
	wantField(t, e.desk.AnswerSurvey(ctx, token, 4, strings.Repeat("é", desk.MaxCommentLen+1)), "comment", "too_long")
	if err := e.desk.AnswerSurvey(ctx, token, 4, "Rapide."); err != nil {
		t.Fatal(err)
	}
	wantCode(t, e.desk.AnswerSurvey(ctx, token, 1, "changed my mind"), "survey_answered")
	sv, err := e.desk.SurveyFor(ctx, tk.ID)
	if err != nil || sv.Rating != 4 || sv.Comment != "Rapide." || sv.AnsweredAt.IsZero() {
		t.Fatalf("%+v %v", sv, err)
	}
	// A customer message reopens the closed ticket; closing again sends no second survey.
	got, _, err = e.desk.Receive(ctx, desk.InboundMessage{MessageID: "<after@example.net>", InReplyTo: m.MessageID,
		From: mailAddr("", "ZOE@example.net"), Subject: "Re", Text: "one more thing"})
	if err != nil || got.Status != desk.StatusOpen || got.PromiseAt.IsZero() {
		t.Fatalf("%+v %v", got, err)
	}
	mails := e.count(t, "outgoing_mail")
	if _, err := e.desk.Close(ctx, e.agent, tk.ID); err != nil {
		t.Fatal(err)
	}
	if e.count(t, "outgoing_mail") != mails {
		t.Error("a second survey was sent")
	}
}

func TestConcurrentDuplicatesStoredOnce(t *testing.T) {
	e := setup(t)
	ctx := context.Background()
	tk := e.contact(t, "zoe@example.net", "en")
	_, ack := e.lastOut(t, tk.ID)
	const n = 8
	results := make(chan string, n)
	var wg sync.WaitGroup
	for range n {
		wg.Go(func() {
			_, res, err := e.desk.Receive(ctx, desk.InboundMessage{MessageID: "<race@example.net>", InReplyTo: ack.MessageID,
				From: mailAddr("", "zoe@example.net"), Text: "same"})
			if err != nil {
				t.Error(err)
			}
			results <- res.Outcome
		})
	}
	wg.Wait()
	close(results)
	counts := map[string]int{}
	for r := range results {
		counts[r]++
	}
	if counts[desk.OutcomeThreaded] != 1 || counts[desk.OutcomeDuplicate] != n-1 {
		t.Errorf("outcomes %v", counts)
	}
	if msgs := e.thread(t, tk.ID, true); len(msgs) != 3 {
		t.Errorf("%d messages, want 3", len(msgs))
	}
}

// The queue reads the tickets with a promise and those without separately
// (each in index order) and puts them end to end: the result and its pages
// must be exactly the order "promise first, nearest first, then by id",
// with ties on promise_at, promises out of creation order and several
// tickets without a promise.
func TestQueueOrderWithMixedPromises(t *testing.T) {
	e := setup(t)
	ctx := context.Background()
	var all []desk.Ticket
	open := func(email string, wait bool) desk.Ticket {
		t.Helper()
		tk := e.contact(t, email, "en")
		if wait {
			var err error
			if tk, err = e.desk.WaitOnCustomer(ctx, e.agent, tk.ID); err != nil {
				t.Fatal(err)
			}
		}
		all = append(all, tk)
		return tk
	}
	e.clock.Set(t0.Add(5 * time.Hour))
	open("late@example.net", false) // promise t0+5h+48h, created first
	open("wait1@example.net", true)
	e.clock.Set(t0)
	tie1 := open("tie1@example.net", false) // promise t0+48h, twice
	open("tie2@example.net", false)
	open("wait2@example.net", true)
	e.clock.Set(t0.Add(2 * time.Hour))
	mid := open("mid@example.net", false)
	open("wait3@example.net", true)
	closed := e.contact(t, "closed@example.net", "en")
	if _, err := e.desk.Close(ctx, e.agent, closed.ID); err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{tie1.ID, mid.ID, all[1].ID} {
		if _, err := e.desk.Assign(ctx, e.agent, id, e.agent2.ID); err != nil {
			t.Fatal(err)
		}
	}
	all = append(all, closed)
	for i := range all {
		all[i] = e.get(t, all[i].ID)
	}
	if !all[2].PromiseAt.Equal(all[3].PromiseAt) || !all[0].PromiseAt.After(all[2].PromiseAt) {
		t.Fatalf("setup: promises %v", all)
	}
	want := func(keep func(desk.Ticket) bool) []string {
		var ts []desk.Ticket
		for _, tk := range all {
			if keep(tk) {
				ts = append(ts, tk)
			}
		}
		slices.SortFunc(ts, func(a, b desk.Ticket) int {
			switch {
			case a.PromiseAt.IsZero() != b.PromiseAt.IsZero():
				if a.PromiseAt.IsZero() {
					return 1
				}
				return -1
			case !a.PromiseAt.Equal(b.PromiseAt):
				return a.PromiseAt.Compare(b.PromiseAt)
			}
			return strings.Compare(a.ID, b.ID)
		})
		var out []string
		for _, tk := range ts {
			out = append(out, tk.ID)
		}
		return out
	}
	ids := func(ts []desk.Ticket, err error) []string {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, tk := range ts {
			out = append(out, tk.ID)
		}
		return out
	}
	everything := func(tk desk.Ticket) bool { return tk.Status != desk.StatusClosed }
	if got, want := ids(e.desk.Queue(ctx, desk.QueueFilter{})), want(everything); !slices.Equal(got, want) || len(got) != 7 {
		t.Errorf("queue\n%v, want\n%v", got, want)
	}
	for _, limit := range []int{1, 2, 3, 4} {
		var got []string
		after := ""
		for range 10 {
			page := ids(e.desk.Queue(ctx, desk.QueueFilter{Limit: limit, After: after}))
			if len(page) > limit {
				t.Fatalf("limit %d: page of %d", limit, len(page))
			}
			if len(page) == 0 {
				break
			}
			got = append(got, page...)
			after = page[len(page)-1]
		}
		if want := want(everything); !slices.Equal(got, want) {
			t.Errorf("pages of %d\n%v, want\n%v", limit, got, want)
		}
	}
	mine := func(tk desk.Ticket) bool { return tk.AssigneeID == e.agent2.ID && everything(tk) }
	if got, want := ids(e.desk.Queue(ctx, desk.QueueFilter{AssigneeID: e.agent2.ID})), want(mine); !slices.Equal(got, want) || len(got) != 3 {
		t.Errorf("mine %v, want %v", got, want)
	}
	if got, want := ids(e.desk.Queue(ctx, desk.QueueFilter{Unassigned: true})), want(func(tk desk.Ticket) bool { return tk.AssigneeID == "" && everything(tk) }); !slices.Equal(got, want) {
		t.Errorf("unassigned %v, want %v", got, want)
	}
	if got, want := ids(e.desk.Queue(ctx, desk.QueueFilter{IncludeClosed: true})), want(func(desk.Ticket) bool { return true }); !slices.Equal(got, want) || len(got) != 8 {
		t.Errorf("with closed %v, want %v", got, want)
	}
}

// An agent's reply that greets and signs itself, as the canned replies do
// ("Bonjour {name}," … "L’équipe {store}"), is mailed without a second
// greeting and signature; one that does neither gets the mail's. Before,
// a canned reply read "Bonjour Zoé,\n\nBonjour Zoé," and ended with the
// team's name twice.
func TestReplyMailGreetsAndSignsOnce(t *testing.T) {
	e := setup(t)
	ctx := context.Background()
	for _, c := range []struct {
		lang, text, greeting, signature string
	}{
		{"fr", "Bonjour Guest,\n\nVotre licence a été renvoyée.\n\nL’équipe Shop", "Bonjour", "L’équipe Shop"},
		{"en", "Hello Guest,\n\nYour licence was sent again.\n\nThe Shop team\n", "Hello", "The Shop team"},
		{"fr", "Votre licence a été renvoyée.", "Bonjour", "L’équipe Shop"},
		{"en", "Hi,\nYour licence was sent again.", "Hi", "The Shop team"},
	} {
		tk := e.contact(t, "guest-"+c.lang+"@example.net", c.lang)
		out, err := e.desk.Reply(ctx, e.agent, tk.ID, c.text)
		if err != nil {
			t.Fatal(err)
		}
		m, err := e.outbox.Get(ctx, out.OutgoingMailID)
		if err != nil {
			t.Fatal(err)
		}
		// Greetings and signatures are counted as lines: the mail's
		// ticket link is random and may hold "Hi" anywhere.
		if n := linesStartingWith(m.Text, c.greeting); n != 1 {
			t.Errorf("%q: %d greetings in the mail:\n%s", c.text, n, m.Text)
		}
		if n := linesStartingWith(m.Text, c.signature); n != 1 {
			t.Errorf("%q: %d signatures in the mail:\n%s", c.text, n, m.Text)
		}
		contains(t, "reply", m.Text, strings.TrimSpace(c.text))
	}
}

func linesStartingWith(text, prefix string) int {
	n := 0
	for _, line := range strings.Split(text, "\n") {
		if strings.HasPrefix(line, prefix) {
			n++
		}
	}
	return n
}
