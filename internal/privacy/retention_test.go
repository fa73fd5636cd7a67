package privacy_test

import (
	"bytes"
	"context"
	"database/sql"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"comptoir/internal/account"
	"comptoir/internal/apptest"
	"comptoir/internal/catalog"
	"comptoir/internal/config"
	"comptoir/internal/desk"
	"comptoir/internal/mail"
	"comptoir/internal/money"
	"comptoir/internal/orders"
	"comptoir/internal/privacy"
	"comptoir/internal/ratelimit"
	"comptoir/internal/testwait"
)

func mailFrom(from, subject, body string) []byte {
	return []byte("From: " + from + "\r\nTo: support@shop.test\r\nSubject: " + subject + "\r\nMIME-Version: 1.0\r\n" +
		"Content-Type: multipart/mixed; boundary=XX\r\n\r\n--XX\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n" + body + "\r\n" +
		"--XX\r\nContent-Type: application/octet-stream\r\nContent-Disposition: attachment; filename=\"a.bin\"\r\n\r\nattachment of " + subject + "\r\n--XX--\r\n")
}

// The daily retention: sessions and download addresses go after the
// activity period, a closed ticket loses its personal content after its
// own period, an open ticket keeps it.
func TestRetentionForgetsOldActivityAndClosedTickets(t *testing.T) {
	h := apptest.StartWith(t, func(c *config.Config) {
		c.RetainActivity = 30 * 24 * time.Hour
		c.RetainClosedTickets = 365 * 24 * time.Hour
	})
	ctx := context.Background()
	d := h.App.DB
	u, _ := h.User(t, account.RoleCustomer, "ana@example.fr")
	if _, _, err := h.App.Accounts.CreateSession(ctx, u.ID, "198.51.100.9", "OldBrowser/1"); err != nil {
		t.Fatal(err)
	}
	p, err := h.App.Catalog.Create(ctx, admin, catalog.ProductInput{
		Slug: "posts", Kind: catalog.KindService, NameFR: "Publications", NameEN: "Posts",
		DescriptionFR: "Des publications.", DescriptionEN: "Some posts.", UnitPrice: money.MustNew(25, "EUR"),
		MinQuantity: 10, MaxQuantity: 1000, ProcessingTime: 72 * time.Hour,
	})
	if err != nil {
		t.Fatal(err)
	}
	h.App.Ledger.AdminCredit(ctx, admin, u.ID, money.MustNew(10000, "EUR"), "goodwill")
	o, err := h.App.Orders.Place(ctx, orders.PlaceInput{CustomerID: u.ID, Lines: []orders.LineInput{{ProductID: p.ID, Quantity: 100}},
		Payment: orders.PayBalance, ImmediatePerformance: true, WithdrawalWaiver: true, Lang: "en", IP: "198.51.100.9", UserAgent: "OldBrowser/1"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := d.Write.ExecContext(ctx, `INSERT INTO download_events (id, order_id, order_line_id, customer_id, at, ip, user_agent)
		VALUES ('dle_1', $1, $2, $3, $4, '198.51.100.9', 'OldBrowser/1')`, o.ID, o.Lines[0].ID, u.ID, h.Clock.Now().UTC()); err != nil {
		t.Fatal(err)
	}
	intake := desk.MailIntake{Desk: h.App.Desk, Blobs: h.App.Blobs, Support: "support@shop.test"}
	for _, s := range []string{"closed-one", "open-one"} {
		if err := intake.Deliver(ctx, mailFrom("guest@example.net", s, "body of "+s), "guest@example.net", []string{"support@shop.test"}); err != nil {
			t.Fatal(err)
		}
	}
	var closedID, closedKey string
	if err := d.Read.QueryRowContext(ctx, `SELECT t.id, a.blob_key FROM tickets t JOIN ticket_messages m ON m.ticket_id = t.id
		JOIN ticket_attachments a ON a.message_id = m.id WHERE m.subject = 'closed-one'`).Scan(&closedID, &closedKey); err != nil {
		t.Fatal(err)
	}
	if _, err := d.Write.ExecContext(ctx, `UPDATE tickets SET status = 'closed', updated_at = $1 WHERE id = $2`, h.Clock.Now().UTC(), closedID); err != nil {
		t.Fatal(err)
	}

	var openID string
	if err := d.Read.QueryRowContext(ctx, `SELECT ticket_id FROM ticket_messages WHERE subject = 'open-one'`).Scan(&openID); err != nil {
		t.Fatal(err)
	}
	closedLink := guestLink(t, d, closedID, strings.Repeat("C", 42)+"Q")
	openLink := guestLink(t, d, openID, strings.Repeat("O", 42)+"Q")
	visitor := h.NewClient(t)
	for _, l := range []string{closedLink, openLink} {
		if r := visitor.Get(l); r.Status != http.StatusOK {
			t.Fatalf("guest link %s before retention: %d", l, r.Status)
		}
	}

	// Within both periods: nothing goes.
	if r, err := h.App.Privacy.ApplyRetention(ctx); err != nil || r != (privacy.Retained{}) {
		t.Fatalf("retention at once: %+v %v", r, err)
	}

	h.Clock.Advance(31 * 24 * time.Hour)
	r, err := h.App.Privacy.ApplyRetention(ctx)
	if err != nil || r.Sessions < 2 || r.Downloads != 1 || r.Tickets != 0 {
		t.Fatalf("after 31 days: %+v %v", r, err)
	}
	if n := count(t, d, `SELECT COUNT(*) FROM sessions WHERE user_id = $1`, u.ID); n != 0 {
		t.Errorf("%d old sessions kept", n)
	}
	if n := count(t, d, `SELECT COUNT(*) FROM download_events WHERE id = 'dle_1' AND ip = 'erased' AND user_agent = 'erased'`); n != 1 {
		t.Error("the old download kept its address (or was deleted)")
	}
	if n := count(t, d, `SELECT COUNT(*) FROM order_consents WHERE ip = '198.51.100.9'`); n != 1 {
		t.Error("the retention touched the consent of a customer who did not ask for erasure")
	}

	h.Clock.Advance(335 * 24 * time.Hour)
	if r, err = h.App.Privacy.ApplyRetention(ctx); err != nil || r.Tickets != 1 {
		t.Fatalf("after a year: %+v %v", r, err)
	}
	if n := count(t, d, `SELECT COUNT(*) FROM ticket_messages WHERE ticket_id = $1 AND (body_text <> '' OR raw IS NOT NULL OR from_email <> '')`, closedID); n != 0 {
		t.Errorf("%d messages of the old closed ticket kept their content", n)
	}
	if n := count(t, d, `SELECT COUNT(*) FROM tickets WHERE id = $1 AND customer_email = 'erased@invalid' AND status = 'closed'`, closedID); n != 1 {
		t.Error("the old closed ticket kept its customer's address")
	}
	if ok, _ := h.App.Blobs.Exists(ctx, closedKey); ok {
		t.Error("the old closed ticket's attachment is still stored")
	}
	if r := visitor.Get(closedLink); r.Status != http.StatusNotFound {
		t.Errorf("the old closed ticket's guest link answers %d, want 404", r.Status)
	}
	if r := visitor.Get(openLink); r.Status != http.StatusOK {
		t.Errorf("the open ticket's guest link answers %d, want 200", r.Status)
	}
	if n := count(t, d, `SELECT COUNT(*) FROM ticket_messages WHERE subject = 'open-one' AND body_text LIKE 'body of open-one%'`); n != 1 {
		t.Error("the open ticket lost its content")
	}
	if r, err = h.App.Privacy.ApplyRetention(ctx); err != nil || r.Tickets != 0 {
		t.Fatalf("second run: %+v %v", r, err)
	}
}

// The rate-limit windows (their buckets name addresses) and the
// idempotency keys (each keeps an answer to replay) go once they have
// served: a window when no limit can still count in it, a key past its TTL.
func TestRetentionPrunesRateLimitsAndIdempotencyKeys(t *testing.T) {
	h := apptest.Start(t)
	ctx := context.Background()
	d := h.App.DB
	if _, _, err := h.App.Limiter.Allow(ctx, "contact:203.0.113.7", 10, time.Hour); err != nil {
		t.Fatal(err)
	}
	if err := d.Tx(ctx, func(tx *sql.Tx) error {
		_, err := h.App.Idempotency.SaveTx(ctx, tx, "api:orders:usr_1", "key-1", "hash", http.StatusCreated, []byte(`{"id":"ord_1"}`))
		return err
	}); err != nil {
		t.Fatal(err)
	}
	// Half an hour later the window still counts, and the key still
	// answers: both stay.
	h.Clock.Advance(30 * time.Minute)
	if r, err := h.App.Privacy.ApplyRetention(ctx); err != nil || r.RateLimits != 0 || r.IdempotencyKeys != 0 {
		t.Fatalf("retention half an hour later: %+v %v", r, err)
	}
	h.Clock.Advance(ratelimit.MaxWindow)
	r, err := h.App.Privacy.ApplyRetention(ctx)
	if err != nil || r.RateLimits != 1 || r.IdempotencyKeys != 1 {
		t.Fatalf("a day later: %+v %v", r, err)
	}
	if n := count(t, d, `SELECT COUNT(*) FROM rate_limits`) + count(t, d, `SELECT COUNT(*) FROM idempotency_keys`); n != 0 {
		t.Errorf("%d rate-limit windows and idempotency keys kept", n)
	}
	if n := count(t, d, `SELECT COUNT(*) FROM audit_log WHERE subject_type = 'retention'`); n != 1 {
		t.Errorf("%d retention audit lines, want 1", n)
	}
}

// A closed ticket's retention also reaches the mail sent about it: the
// acknowledgement, the agent's answer and the survey went to the customer
// (their address, name and the words of the exchange), and the staff's
// deadline warning quoted their name and address. Erasing the ticket but
// keeping those copies in the outbox (and its spool) kept the very
// correspondence the retention is there to end.
func TestRetentionOfClosedTicketsReachesTheirMail(t *testing.T) {
	h := apptest.StartWith(t, func(c *config.Config) { c.RetainClosedTickets = 365 * 24 * time.Hour })
	ctx := context.Background()
	d := h.App.DB
	agentUser, _ := h.User(t, account.RoleAgent, "agent@shop.test")
	agent := agentUser.Actor()
	const guest, answer = "retained.guest@example.net", "ZorglubRetainedAnswer"
	intake := desk.MailIntake{Desk: h.App.Desk, Blobs: h.App.Blobs, Support: "support@shop.test"}
	for _, s := range []string{"old-matter", "other-matter"} {
		if err := intake.Deliver(ctx, mailFrom("Retained Guest <"+guest+">", s, "body of "+s), guest, []string{"support@shop.test"}); err != nil {
			t.Fatal(err)
		}
	}
	var closedID, otherID string
	var promise time.Time
	if err := d.Read.QueryRowContext(ctx, `SELECT t.id, t.promise_at FROM tickets t JOIN ticket_messages m ON m.ticket_id = t.id
		WHERE m.subject = 'old-matter'`).Scan(&closedID, &promise); err != nil {
		t.Fatal(err)
	}
	if err := d.Read.QueryRowContext(ctx, `SELECT ticket_id FROM ticket_messages WHERE subject = 'other-matter'`).Scan(&otherID); err != nil {
		t.Fatal(err)
	}
	// The staff are warned of both deadlines (the warning names the
	// customer), then the first ticket is answered and closed.
	if n, err := h.App.Desk.WarnDeadlines(ctx, promise.Add(-time.Hour)); err != nil || n == 0 {
		t.Fatalf("warnings: %d %v", n, err)
	}
	if _, err := h.App.Desk.Reply(ctx, agent, closedID, answer+" about your matter"); err != nil {
		t.Fatal(err)
	}
	if _, err := h.App.Desk.Close(ctx, agent, closedID); err != nil {
		t.Fatal(err)
	}
	aboutClosed := `SELECT COUNT(*) FROM outgoing_mail m JOIN outgoing_mail_content c ON c.content_id = m.content_id WHERE id IN (SELECT outgoing_mail_id FROM ticket_messages WHERE ticket_id = $1)`
	if n := count(t, d, aboutClosed, closedID); n < 3 {
		t.Fatalf("%d mails about the closed ticket, want its acknowledgement, answer and survey", n)
	}
	var ref string
	if err := d.Read.QueryRowContext(ctx, `SELECT reference FROM tickets WHERE id = $1`, closedID).Scan(&ref); err != nil {
		t.Fatal(err)
	}
	warnings := `SELECT COUNT(*) FROM outgoing_mail m JOIN outgoing_mail_content c ON c.content_id = m.content_id WHERE kind = 'ticket_sla_warning' AND text_body LIKE $1`
	if n := count(t, d, warnings, "%"+ref+"%"); n == 0 {
		t.Fatal("no deadline warning about the closed ticket")
	}

	spooledAnswer := func() bool {
		found := false
		filepath.WalkDir(mail.SpoolDir(h.App.Config.DataDir), func(p string, de fs.DirEntry, err error) error {
			if err == nil && strings.HasSuffix(p, ".eml") {
				b, _ := os.ReadFile(p)
				found = found || bytes.Contains(b, []byte(answer))
			}
			return nil
		})
		return found
	}
	testwait.Until(t, "the answer spooled", spooledAnswer)

	h.Clock.Advance(366 * 24 * time.Hour)
	if r, err := h.App.Privacy.ApplyRetention(ctx); err != nil || r.Tickets != 1 {
		t.Fatalf("retention: %+v %v", r, err)
	}
	if spooledAnswer() {
		t.Error("the spooled copy of the old answer is still on disk")
	}
	if n := count(t, d, aboutClosed+` AND (to_addr <> 'erased@invalid' OR to_name <> '' OR text_body <> '' OR html_body <> '' OR subject LIKE '%matter%')`, closedID); n != 0 {
		t.Errorf("%d mails about the old closed ticket kept their recipient or content", n)
	}
	if n := count(t, d, `SELECT COUNT(*) FROM outgoing_mail_content WHERE text_body LIKE '%`+answer+`%' OR html_body LIKE '%`+answer+`%'`); n != 0 {
		t.Errorf("%d stored mails still hold the old answer", n)
	}
	if n := count(t, d, warnings, "%"+ref+"%"); n != 0 {
		t.Errorf("%d deadline warnings still name the old ticket's customer", n)
	}
	// The open ticket's mail is not the retention's business.
	if n := count(t, d, `SELECT COUNT(*) FROM outgoing_mail WHERE to_addr = $1 AND id IN
		(SELECT outgoing_mail_id FROM ticket_messages WHERE ticket_id = $2)`, guest, otherID); n == 0 {
		t.Error("the retention erased the mail of a ticket still open")
	}
	if n := count(t, d, `SELECT COUNT(*) FROM outgoing_mail o JOIN outgoing_mail_content c ON c.content_id = o.content_id JOIN tickets t ON t.id = $1
		WHERE o.kind = 'ticket_sla_warning' AND c.text_body LIKE '%' || t.reference || '%'`, otherID); n == 0 {
		t.Error("the retention erased the warning about a ticket still open")
	}
}
