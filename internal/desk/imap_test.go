package desk_test

import (
	"context"
	"fmt"
	"io"
	"log"
	"log/slog"
	"net"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"
	"github.com/emersion/go-imap/v2/imapserver"
	"github.com/emersion/go-imap/v2/imapserver/imapmemserver"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"

	"comptoir/internal/blob"
	"comptoir/internal/desk"
	"comptoir/internal/inbound"
	"comptoir/internal/jobs"
	"comptoir/internal/testport"
)

// mailbox is a real IMAP server (go-imap's in-memory backend) on loopback,
// which can be stopped and started again on the same address with its mail.
type mailbox struct {
	t    *testing.T
	addr string
	user *imapmemserver.User
	srv  *imapserver.Server
}

func startMailbox(t *testing.T) *mailbox {
	t.Helper()
	user := imapmemserver.NewUser("support", "s3cret")
	if err := user.Create("INBOX", nil); err != nil {
		t.Fatal(err)
	}
	// A test stops the server, expecting connections refused, and starts it
	// again on the same address: a port the kernel never hands to another
	// listener meanwhile (testport).
	mb := &mailbox{t: t, addr: "127.0.0.1:" + strconv.Itoa(testport.Free(t)), user: user}
	mb.start()
	t.Cleanup(mb.stop)
	return mb
}

func (mb *mailbox) start() {
	mb.t.Helper()
	mem := imapmemserver.New()
	mem.AddUser(mb.user)
	mb.srv = imapserver.New(&imapserver.Options{
		NewSession: func(*imapserver.Conn) (imapserver.Session, *imapserver.GreetingData, error) {
			return mem.NewSession(), nil, nil
		},
		Caps:         imap.CapSet{imap.CapIMAP4rev1: {}, imap.CapIMAP4rev2: {}},
		InsecureAuth: true,
		Logger:       log.New(io.Discard, "", 0),
	})
	ln, err := net.Listen("tcp", mb.addr)
	if err != nil {
		mb.t.Fatal(err)
	}
	mb.addr = ln.Addr().String()
	go mb.srv.Serve(ln)
}

func (mb *mailbox) stop() {
	if mb.srv != nil {
		mb.srv.Close()
		mb.srv = nil
	}
}

func (mb *mailbox) client() *imapclient.Client {
	mb.t.Helper()
	c, err := imapclient.DialInsecure(mb.addr, nil)
	if err != nil {
		mb.t.Fatal(err)
	}
	if err := c.Login("support", "s3cret").Wait(); err != nil {
		mb.t.Fatal(err)
	}
	return c
}

// append puts a message in INBOX as a mail server would.
func (mb *mailbox) append(raw string) {
	mb.t.Helper()
	c := mb.client()
	defer c.Close()
	cmd := c.Append("INBOX", int64(len(raw)), nil)
	if _, err := io.WriteString(cmd, raw); err != nil {
		mb.t.Fatal(err)
	}
	if err := cmd.Close(); err != nil {
		mb.t.Fatal(err)
	}
	if _, err := cmd.Wait(); err != nil {
		mb.t.Fatal(err)
	}
}

// flags returns each message's flags, in UID order.
func (mb *mailbox) flags() [][]imap.Flag {
	mb.t.Helper()
	c := mb.client()
	defer c.Close()
	if _, err := c.Select("INBOX", nil).Wait(); err != nil {
		mb.t.Fatal(err)
	}
	msgs, err := c.Fetch(imap.SeqSet{{Start: 1, Stop: 0}}, &imap.FetchOptions{UID: true, Flags: true}).Collect()
	if err != nil {
		mb.t.Fatal(err)
	}
	slices.SortFunc(msgs, func(a, b *imapclient.FetchMessageBuffer) int { return int(a.UID) - int(b.UID) })
	var out [][]imap.Flag
	for _, m := range msgs {
		out = append(out, m.Flags)
	}
	return out
}

// unsee clears \Seen on every message: what a crash between storing a
// message and marking it looks like to the next poll.
func (mb *mailbox) unsee() {
	mb.t.Helper()
	c := mb.client()
	defer c.Close()
	if _, err := c.Select("INBOX", nil).Wait(); err != nil {
		mb.t.Fatal(err)
	}
	if err := c.Store(imap.SeqSet{{Start: 1, Stop: 0}}, &imap.StoreFlags{Op: imap.StoreFlagsDel, Silent: true,
		Flags: []imap.Flag{imap.FlagSeen}}, nil).Close(); err != nil {
		mb.t.Fatal(err)
	}
}

func (e *env) poller(t *testing.T, mb *mailbox, maxBytes int64) *inbound.Poller {
	t.Helper()
	blobs, err := blob.NewDir(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := inbound.ParseIMAPURL("imap+insecure://support@"+mb.addr+"/INBOX", "s3cret")
	if err != nil {
		t.Fatal(err)
	}
	cfg.MaxMessageBytes = maxBytes
	cfg.Logger = slog.New(slog.DiscardHandler)
	p, err := inbound.NewPoller(cfg, desk.MailIntake{Desk: e.desk, Blobs: blobs, Support: "support@shop.test"})
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func rawMail(from, msgID, inReplyTo, subject, body string) string {
	h := "Return-Path: <" + from + ">\r\nFrom: " + from + "\r\nTo: support@shop.test\r\nSubject: " + subject +
		"\r\nMessage-ID: " + msgID + "\r\nDate: Sun, 08 Mar 2026 10:00:00 +0000\r\n"
	if inReplyTo != "" {
		h += "In-Reply-To: " + inReplyTo + "\r\nReferences: " + inReplyTo + "\r\n"
	}
	return h + "Content-Type: text/plain; charset=utf-8\r\n\r\n" + body + "\r\n"
}

func hasFlag(fs []imap.Flag, f imap.Flag) bool { return slices.Contains(fs, f) }

func TestIMAPPollFilesMailOnce(t *testing.T) {
	e := setup(t)
	ctx := context.Background()
	mb := startMailbox(t)
	p := e.poller(t, mb, 0)

	guest := e.contact(t, "guest@example.com", "en")
	_, ack := e.lastOut(t, guest.ID)
	mb.append(rawMail("zoe@example.net", "<new-1@example.net>", "", "My licence", "It does not activate."))
	mb.append(rawMail("guest@example.com", "<reply-1@example.com>", ack.MessageID, "Re: "+ack.Subject, "Any news?"))
	tickets, messages := e.count(t, "tickets"), e.count(t, "ticket_messages")

	res, err := p.Poll(ctx)
	if err != nil || res.Delivered != 2 || res.Failed != 0 {
		t.Fatalf("poll = %+v, %v", res, err)
	}
	if got := e.count(t, "tickets"); got != tickets+1 {
		t.Fatalf("%d tickets, want %d", got, tickets+1)
	}
	var newID string
	if err := e.db.Read.QueryRow(`SELECT ticket_id FROM ticket_messages WHERE message_id = '<new-1@example.net>'`).Scan(&newID); err != nil {
		t.Fatal(err)
	}
	nt := e.get(t, newID)
	if nt.CustomerID != e.customer.ID || nt.Topic != desk.TopicEmail || nt.PromiseAt.IsZero() {
		t.Errorf("new ticket %+v", nt)
	}
	th := e.thread(t, guest.ID, true)
	if last := th[len(th)-1]; last.MessageID != "<reply-1@example.com>" || last.Flagged || !strings.Contains(last.Text, "Any news?") {
		t.Errorf("reply not threaded onto the guest's ticket: %+v", last)
	}
	for i, fs := range mb.flags() {
		if !hasFlag(fs, imap.FlagSeen) {
			t.Errorf("message %d not marked seen after storing: %v", i, fs)
		}
	}
	// Acknowledgement for the new ticket, none for the reply.
	afterFirst := e.count(t, "outgoing_mail")

	// A second poll finds nothing new.
	if res, err := p.Poll(ctx); err != nil || res != (inbound.PollResult{}) {
		t.Fatalf("second poll = %+v, %v", res, err)
	}
	// A crash after storing but before \Seen: the re-fetch stores nothing
	// twice, sends nothing twice, and marks the mail seen.
	mb.unsee()
	if res, err := p.Poll(ctx); err != nil || res.Delivered != 2 {
		t.Fatalf("re-fetch poll = %+v, %v", res, err)
	}
	if e.count(t, "ticket_messages") != messages+3 || e.count(t, "tickets") != tickets+1 || e.count(t, "outgoing_mail") != afterFirst {
		t.Fatalf("re-fetch stored or sent again: %d messages (want %d), %d mails (want %d)",
			e.count(t, "ticket_messages"), messages+3, e.count(t, "outgoing_mail"), afterFirst)
	}
	for i, fs := range mb.flags() {
		if !hasFlag(fs, imap.FlagSeen) {
			t.Errorf("message %d not seen after the re-fetch: %v", i, fs)
		}
	}
}

func TestIMAPPollTooLarge(t *testing.T) {
	e := setup(t)
	ctx := context.Background()
	mb := startMailbox(t)
	p := e.poller(t, mb, 4096)
	mb.append(rawMail("zoe@example.net", "<huge@example.net>", "", "Screenshots", strings.Repeat("A", 10000)))
	mb.append(rawMail("zoe@example.net", "<small@example.net>", "", "Hello", "Short one."))

	res, err := p.Poll(ctx)
	if err != nil || res.TooLarge != 1 || res.Delivered != 1 {
		t.Fatalf("poll = %+v, %v", res, err)
	}
	var ticketID, text string
	var unparsed bool
	var raw []byte
	if err := e.db.Read.QueryRow(`SELECT ticket_id, body_text, unparsed, raw FROM ticket_messages WHERE message_id = '<huge@example.net>'`).
		Scan(&ticketID, &text, &unparsed, &raw); err != nil {
		t.Fatalf("the oversized message left no trace on a ticket: %v", err)
	}
	if !unparsed || !strings.Contains(text, "Ce message fait 10\u00a0Ko, au-delà de la limite de 4\u00a0Ko\u00a0:") || !strings.Contains(text, "INBOX UID 1") ||
		!strings.Contains(string(raw), "Subject: Screenshots") || strings.Contains(string(raw), "AAAA") {
		t.Errorf("oversized message recorded as unparsed=%v text=%q raw=%q", unparsed, text, raw)
	}
	if tk := e.get(t, ticketID); tk.CustomerEmail != "zoe@example.net" {
		t.Errorf("ticket %+v", tk)
	}
	fl := mb.flags()
	if !hasFlag(fl[0], imap.FlagSeen) || !hasFlag(fl[0], imap.FlagFlagged) || !hasFlag(fl[1], imap.FlagSeen) || hasFlag(fl[1], imap.FlagFlagged) {
		t.Errorf("flags %v: want the oversized one seen and flagged for a person, the other seen", fl)
	}
	if res, err := p.Poll(ctx); err != nil || res != (inbound.PollResult{}) {
		t.Fatalf("second poll = %+v, %v", res, err)
	}
}

// The poll as River runs it: a poll while the server is down fails the job
// (one attempt, discarded with its error, nothing stored or marked) and
// the next poll takes the mail.
func TestIMAPPollJob(t *testing.T) {
	e := setup(t)
	ctx := context.Background()
	mb := startMailbox(t)
	p := e.poller(t, mb, 0)
	mb.append(rawMail("zoe@example.net", "<job-1@example.net>", "", "Hello", "From the job."))

	// Unique while waiting: a second insert is skipped.
	ins, err := jobs.New(e.db, jobs.Config{})
	if err != nil {
		t.Fatal(err)
	}
	first, err := ins.Insert(ctx, desk.IMAPPollArgs{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	second, err := ins.Insert(ctx, desk.IMAPPollArgs{}, nil)
	if err != nil || !second.UniqueSkippedAsDuplicate || second.Job.ID != first.Job.ID {
		t.Fatalf("second insert %+v, %v: want skipped as a duplicate", second, err)
	}

	mb.stop()
	workers := river.NewWorkers()
	desk.AddIMAPWorker(workers, p)
	client, err := jobs.New(e.db, jobs.Config{Workers: workers, FetchPollInterval: 100 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	if err := client.Start(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		stopCtx, cancel := context.WithTimeout(ctx, 10*time.Second)
		defer cancel()
		client.Stop(stopCtx)
	})
	waitState := func(id int64, want rivertype.JobState) *rivertype.JobRow {
		t.Helper()
		deadline := time.Now().Add(20 * time.Second)
		for {
			j, err := client.JobGet(ctx, id)
			if err != nil {
				t.Fatal(err)
			}
			if j.State == want {
				return j
			}
			if time.Now().After(deadline) {
				t.Fatalf("job %d is %s, want %s (errors %v)", id, j.State, want, j.Errors)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	j := waitState(first.Job.ID, rivertype.JobStateDiscarded)
	if len(j.Errors) != 1 || !strings.Contains(j.Errors[0].Error, "IMAP connect") {
		t.Errorf("failed poll errors %+v", j.Errors)
	}
	if n := e.count(t, "tickets"); n != 0 {
		t.Fatalf("%d tickets while the server was down", n)
	}

	mb.start() // same address, same mail
	next, err := client.Insert(ctx, desk.IMAPPollArgs{}, nil)
	if err != nil || next.UniqueSkippedAsDuplicate {
		t.Fatalf("next poll %+v, %v", next, err)
	}
	waitState(next.Job.ID, rivertype.JobStateCompleted)
	if n := e.count(t, "tickets"); n != 1 {
		t.Fatalf("%d tickets after the next poll, want 1", n)
	}
	if fl := mb.flags(); len(fl) != 1 || !hasFlag(fl[0], imap.FlagSeen) {
		t.Errorf("flags %v", fl)
	}
}

// In a mailbox, the address a message was delivered to is in the header
// the delivering MTA adds (Delivered-To, X-Original-To), not in To when the
// ticket's reply address was in Bcc: the reply token is found there, as the
// SMTP listener finds it in the envelope.
func TestIMAPDeliveredToThreadsByReplyToken(t *testing.T) {
	e := setup(t)
	ctx := context.Background()
	mb := startMailbox(t)
	p := e.poller(t, mb, 0)
	tk := e.contact(t, "gus@example.org", "en")
	for i, h := range []string{"Delivered-To", "X-Original-To"} {
		mb.append(h + ": support+" + tk.ReplyToken + "@shop.test\r\n" +
			rawMail("gus@example.org", fmt.Sprintf("<bcc-%d@example.org>", i), "", "one more thing", "And the invoice."))
	}
	if res, err := p.Poll(ctx); err != nil || res.Delivered != 2 {
		t.Fatalf("poll = %+v, %v", res, err)
	}
	if n := e.count(t, "tickets"); n != 1 {
		t.Fatalf("%d tickets, want the mail on %s", n, tk.Reference)
	}
	if n := len(e.thread(t, tk.ID, false)); n != 4 { // the message, its ack and the two mails
		t.Fatalf("%d messages on the ticket, want 4", n)
	}
}
