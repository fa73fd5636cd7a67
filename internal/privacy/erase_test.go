package privacy_test

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"io/fs"
	"mime/multipart"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"comptoir/internal/account"
	"comptoir/internal/apptest"
	"comptoir/internal/audit"
	"comptoir/internal/catalog"
	"comptoir/internal/claims"
	"comptoir/internal/db"
	"comptoir/internal/desk"
	"comptoir/internal/money"
	"comptoir/internal/orders"
	"comptoir/internal/policy"
	"comptoir/internal/testwait"
)

var admin = audit.Actor{ID: "usr_admin", Role: "admin"}

// The customer's distinctive strings. The email, phone, IP, user agent
// and everything they wrote must be gone from every byte of the data
// directory; the name and billing address may stay only in invoices.
const (
	email    = "zorglub.7731@example.org"
	name     = "Quentin Zorglubowski"
	city     = "Vlissingendorp"
	region   = "Zebulonia"
	street   = "17 impasse Zorglubienne"
	postcode = "ZB-77310"
	phone    = "+33671239845"
	ip       = "203.0.113.77"
	ua       = "ZorglubBrowser/9.1"
	claimTxt = "ZorglubClaimSecret"
	evidence = "ZorglubEvidenceFileBytes"
	evText   = "ZorglubEvidenceText"
	mailBody = "ZorglubTicketMailBody"
	attached = "ZorglubAttachmentBytes"
	contact  = "ZorglubContactMessage"
	// An agent's internal note on a decision of their claim: free text
	// about them, which the export leaves out (staff's words) but the
	// erasure must not leave behind.
	agentNote = "ZorglubAgentNote"
)

func count(t *testing.T, d *db.DB, q string, args ...any) int64 {
	t.Helper()
	var n sql.NullInt64
	if err := d.Read.QueryRowContext(context.Background(), q, args...).Scan(&n); err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	return n.Int64
}

func TestExportThenEraseLeavesNothingButWhatTheLawKeeps(t *testing.T) {
	h := apptest.Start(t)
	ctx := context.Background()
	d := h.App.DB

	// Staff, so that staff alerts (which may quote the customer) are sent.
	_, adminClient := h.User(t, account.RoleAdmin, "admin@shop.test")
	agent, _ := h.User(t, account.RoleAgent, "agent@shop.test")
	u, err := h.App.Accounts.SignUp(ctx, account.SignUpInput{Email: email, Password: apptest.Password, Name: name,
		Language: "en", Country: "FR", Region: region, City: city, Street: street, Postcode: postcode})
	if err != nil {
		t.Fatal(err)
	}
	// The customer proves the address (a reset link): what they write from
	// it as a guest is theirs to export.
	proveAddress(t, h, email)
	if _, _, err := h.App.Accounts.CreateSession(ctx, u.ID, ip, ua); err != nil {
		t.Fatal(err)
	}
	auth := h.Bearer(t, u.ID)
	c := h.NewClient(t)
	c.UserAgent = ua

	// Orders paid from the balance, delivered.
	p, err := h.App.Catalog.Create(ctx, admin, catalog.ProductInput{
		Slug: "posts", Kind: catalog.KindService, NameFR: "Publications", NameEN: "Posts",
		DescriptionFR: "Des publications.", DescriptionEN: "Some posts.", UnitPrice: money.MustNew(25, "EUR"),
		MinQuantity: 10, MaxQuantity: 1000, ProcessingTime: 72 * time.Hour,
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := h.App.Ledger.AdminCredit(ctx, admin, u.ID, money.MustNew(10000, "EUR"), "goodwill"); err != nil {
		t.Fatal(err)
	}
	var order orders.Order
	for i := 0; i < 2; i++ {
		o, err := h.App.Orders.Place(ctx, orders.PlaceInput{
			CustomerID: u.ID, Lines: []orders.LineInput{{ProductID: p.ID, Quantity: 100}}, Payment: orders.PayBalance,
			ImmediatePerformance: true, WithdrawalWaiver: true, Lang: "en", IP: ip, UserAgent: ua,
		}, nil)
		if err != nil {
			t.Fatal(err)
		}
		if o, err = h.App.Orders.RecordDelivery(ctx, orders.DeliveryInput{OrderID: o.ID, LineID: o.Lines[0].ID, Delivered: 100,
			Source: orders.SourceAgent, Actor: admin}); err != nil {
			t.Fatal(err)
		}
		order = o
	}

	// A file bought and downloaded from a signed-in browser.
	var pb bytes.Buffer
	pw := multipart.NewWriter(&pb)
	for k, v := range map[string]string{"kind": "digital", "slug": "guide", "name_fr": "Guide", "name_en": "Guide",
		"description_fr": "Un guide.", "description_en": "A guide.", "unit_price": "9,00", "currency": "EUR",
		"min_quantity": "1", "max_quantity": "1", "download_hours": "48"} {
		pw.WriteField(k, v)
	}
	ff, _ := pw.CreateFormFile("file", "guide.pdf")
	ff.Write([]byte("%PDF-1.4\n% the guide\n"))
	pw.Close()
	if r := adminClient.Send(http.MethodPost, "/admin/products", pw.FormDataContentType(), &pb, http.Header{"Sec-Fetch-Site": {"same-origin"}}); r.Status != http.StatusSeeOther {
		t.Fatalf("file product: %d %s", r.Status, r.Body)
	}
	guide, err := h.App.Catalog.GetBySlug(ctx, "guide")
	if err != nil {
		t.Fatal(err)
	}
	fileOrder, err := h.App.Orders.Place(ctx, orders.PlaceInput{CustomerID: u.ID, Lines: []orders.LineInput{{ProductID: guide.ID, Quantity: 1}},
		Payment: orders.PayBalance, ImmediatePerformance: true, WithdrawalWaiver: true, Lang: "en", IP: ip, UserAgent: ua}, nil)
	if err != nil {
		t.Fatal(err)
	}
	// A mistyped password first: the lock-out counts it under the email.
	if r := c.PostForm("/signin", url.Values{"email": {email}, "password": {"not-" + apptest.Password}}); r.Status != http.StatusUnauthorized {
		t.Fatalf("wrong password: %d", r.Status)
	}
	if n := count(t, d, `SELECT COUNT(*) FROM rate_limits WHERE bucket LIKE '%' || $1 || '%'`, strings.ToLower(email)); n == 0 {
		t.Fatal("no lock-out window names the email: the erasure check would prove nothing")
	}
	if r := c.PostForm("/signin", url.Values{"email": {email}, "password": {apptest.Password}}); r.Status != http.StatusSeeOther {
		t.Fatalf("sign in: %d", r.Status)
	}
	if r := c.Get("/orders/" + fileOrder.ID + "/lines/" + fileOrder.Lines[0].ID + "/download"); r.Status != http.StatusOK {
		t.Fatalf("download: %d", r.Status)
	}
	if n := count(t, d, `SELECT COUNT(*) FROM download_events WHERE user_agent = $1`, ua); n != 1 {
		t.Fatalf("download not logged with the browser: %d", n)
	}

	// A claim with a written message, a text evidence and a file.
	r := c.Send(http.MethodPost, "/api/v1/claims", "application/json", strings.NewReader(
		`{"kind":"not_as_described","order_id":"`+order.ID+`","message":"`+claimTxt+` call me `+phone+`"}`), auth)
	var cl struct{ ID string }
	if r.Status != http.StatusCreated || json.Unmarshal([]byte(r.Body), &cl) != nil {
		t.Fatalf("claim: %d %s", r.Status, r.Body)
	}
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	mw.WriteField("text", evText)
	fw, _ := mw.CreateFormFile("files", "proof.txt")
	fw.Write([]byte(evidence + " " + phone))
	mw.Close()
	if r := c.Send(http.MethodPost, "/api/v1/claims/"+cl.ID+"/evidence", mw.FormDataContentType(), &buf, auth); r.Status != http.StatusOK {
		t.Fatalf("evidence: %d %s", r.Status, r.Body)
	}
	// The agents are warned before its answer deadline: the warning's row
	// and email are scanned below with the rest.
	waiting, err := h.App.Claims.Get(ctx, cl.ID)
	if err != nil {
		t.Fatal(err)
	}
	if n, err := h.App.Claims.WarnDeadlines(ctx, waiting.AnswerPromiseAt.Add(-time.Hour)); err != nil || n != 1 {
		t.Fatalf("answer warning: %d claims warned, %v", n, err)
	}
	// An agent refuses it, noting what they learnt about the customer.
	if _, err := h.App.Claims.Decide(ctx, claims.AgentDecision{ClaimID: cl.ID, Outcome: policy.OutcomeRefused, ReasonCode: "expectation_only",
		Note: agentNote + ": called " + phone + ", lives in " + city, Actor: agent.Actor()}); err != nil {
		t.Fatal(err)
	}
	if n := count(t, d, `SELECT COUNT(*) FROM claim_decisions WHERE note LIKE '%' || $1 || '%'`, agentNote); n != 1 {
		t.Fatalf("%d decisions hold the agent's note: the erasure check would prove nothing", n)
	}

	// A ticket by email with an attachment, and one from the contact form
	// as a guest.
	raw := "From: " + name + " <" + email + ">\r\nTo: support@shop.test\r\nSubject: Help " + phone + "\r\n" +
		"Message-ID: <zorglub-1@example.org>\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=XX\r\n\r\n" +
		"--XX\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n" + mailBody + " " + phone + "\r\n" +
		"--XX\r\nContent-Type: application/octet-stream\r\nContent-Disposition: attachment; filename=\"note.bin\"\r\n\r\n" + attached + "\r\n--XX--\r\n"
	intake := desk.MailIntake{Desk: h.App.Desk, Blobs: h.App.Blobs, Support: "support@shop.test"}
	if err := intake.Deliver(ctx, []byte(raw), email, []string{"support@shop.test"}); err != nil {
		t.Fatal(err)
	}
	guest := h.NewClient(t)
	if r := guest.PostForm("/contact", url.Values{"name": {name}, "email": {email}, "topic": {"question"},
		"message": {contact + " " + phone}}); r.Status != http.StatusSeeOther {
		t.Fatalf("contact: %d %s", r.Status, r.Body)
	}
	confirmGuest(t, h, email)
	if n := count(t, d, `SELECT COUNT(*) FROM ticket_attachments`); n != 1 {
		t.Fatalf("attachments stored: %d", n)
	}

	// Every mail sent (spooled) before going on.
	testwait.Until(t, "mail sent", func() bool {
		return count(t, d, `SELECT COUNT(*) FROM outgoing_mail WHERE status <> 'sent'`) == 0 &&
			count(t, d, `SELECT COUNT(*) FROM river_job WHERE kind IN ('mail.send', 'mail.send_batch') AND state <> 'completed'`) == 0
	})
	spooled := false
	filepath.WalkDir(h.App.Config.DataDir, func(p string, de fs.DirEntry, err error) error {
		if err == nil && strings.HasSuffix(p, ".eml") {
			b, _ := os.ReadFile(p)
			spooled = spooled || bytes.Contains(b, []byte(email))
		}
		return nil
	})
	if !spooled {
		t.Fatal("no spooled mail to the customer: the test would prove nothing")
	}

	// The export holds it all.
	r = c.Send(http.MethodGet, "/api/v1/me/export", "", nil, auth)
	if r.Status != http.StatusOK {
		t.Fatalf("export: %d %s", r.Status, r.Body)
	}
	var exp map[string]any
	if err := json.Unmarshal([]byte(r.Body), &exp); err != nil || exp["format"] != "comptoir.personal-data" || exp["version"] != float64(1) {
		t.Fatalf("export document: %v %.300s", err, r.Body)
	}
	for _, want := range []string{email, name, city, region, street, postcode, ip, ua, claimTxt, evText, mailBody, contact, order.ID} {
		if !strings.Contains(r.Body, want) {
			t.Errorf("export lacks %q", want)
		}
	}
	for _, sec := range []string{"orders", "downloads", "consents", "claims", "claim_evidence", "tickets", "ticket_messages", "ticket_attachments", "mail", "sessions", "invoices", "balance_entries", "activity"} {
		if l, _ := exp[sec].([]any); len(l) == 0 {
			t.Errorf("export section %s is empty", sec)
		}
	}
	if strings.Contains(r.Body, "password_hash") || strings.Contains(r.Body, "token_hash") {
		t.Error("export holds secrets")
	}

	totals := func() string {
		return fmt.Sprint(
			count(t, d, `SELECT SUM(amount) FROM balance_entries`),
			count(t, d, `SELECT SUM(total) FROM invoices`), count(t, d, `SELECT SUM(vat) FROM invoices`),
			count(t, d, `SELECT COUNT(*) FROM invoices`),
			count(t, d, `SELECT SUM(total) FROM orders`), count(t, d, `SELECT SUM(paid) FROM orders`),
			count(t, d, `SELECT SUM(refunded) FROM orders`), count(t, d, `SELECT COUNT(*) FROM order_consents`))
	}
	before := totals()
	mailJobs := count(t, d, `SELECT COUNT(*) FROM river_job WHERE kind IN ('mail.send', 'mail.send_batch')`)
	if mailJobs == 0 {
		t.Fatal("no mail job: the job check would prove nothing")
	}
	invoices := count(t, d, `SELECT COUNT(*) FROM invoices WHERE customer_id = $1`, u.ID)
	if invoices == 0 {
		t.Fatal("no invoice: the law's exception would not be tested")
	}

	// Erase.
	r = c.Send(http.MethodDelete, "/api/v1/me", "", nil, auth)
	if r.Status != http.StatusOK || !strings.Contains(r.Body, `"erased":true`) {
		t.Fatalf("erase: %d %s", r.Status, r.Body)
	}
	if r := c.Send(http.MethodGet, "/api/v1/me", "", nil, auth); r.Status != http.StatusUnauthorized {
		t.Errorf("the token still works after erasure: %d", r.Status)
	}
	if _, err := h.App.Accounts.Authenticate(ctx, email, apptest.Password); err == nil {
		t.Error("the erased account still signs in")
	}
	// No sending job keeps anything of theirs: not the id of one of their
	// messages (the per-message jobs of earlier versions named them; batch
	// jobs name their batch), nor their address in an attempt's error.
	for _, clue := range []struct{ expr, arg string }{
		{`(SELECT id FROM outgoing_mail WHERE user_id = $1 LIMIT 1)`, u.ID},
		{`CAST($1 AS TEXT)`, email},
	} {
		if n := count(t, d, `SELECT COUNT(*) FROM river_job WHERE kind IN ('mail.send', 'mail.send_batch')
			AND (CAST(args AS TEXT) LIKE '%' || `+clue.expr+` || '%' OR CAST(errors AS TEXT) LIKE '%' || `+clue.expr+` || '%')`, clue.arg); n != 0 {
			t.Errorf("%d mail jobs keep %s of the erased customer", n, clue.expr)
		}
	}
	// The records the law keeps stay append-only: the erasure's narrow
	// exception lets nothing else through.
	for _, q := range []string{`UPDATE order_consents SET ip = '192.0.2.1'`, `UPDATE order_consents SET wording_version = 'x'`,
		`DELETE FROM order_consents`, `UPDATE invoices SET buyer_name = 'x'`, `UPDATE audit_log SET action = 'x'`,
		`UPDATE claim_decisions SET note = 'x'`, `UPDATE claim_decisions SET note = '', rule = 'x'`, `DELETE FROM claim_decisions`} {
		if _, err := d.Write.ExecContext(ctx, q); err == nil {
			t.Errorf("%s: allowed", q)
		}
	}
	if got := totals(); got != before {
		t.Errorf("accounting totals changed by the erasure: %s → %s", before, got)
	}
	var reason string
	if err := d.Read.QueryRowContext(ctx, `SELECT after_state FROM audit_log WHERE subject_id = $1 AND action = 'erased' AND actor_id = $1`, u.ID).Scan(&reason); err != nil || !strings.Contains(reason, "customer_request") {
		t.Errorf("erasure not audited with its reason: %q %v", reason, err)
	}
	// Let the scrub job and anything else queued finish, then look.
	testwait.Until(t, "jobs done", func() bool {
		return count(t, d, `SELECT COUNT(*) FROM river_job WHERE state IN ('available', 'running', 'retryable') AND kind <> 'privacy.retention'`) == 0
	})
	if err := d.Checkpoint(ctx); err != nil {
		t.Fatal(err)
	}

	// The Message-ID of their mail too: the store's answers name it
	// (In-Reply-To, References), and it carries their domain.
	gone := []string{email, strings.ToLower(email), "zorglub-1@example.org", phone, ip, ua, claimTxt, evidence, evText, mailBody, attached, contact, agentNote}
	kept := []string{name, city, region, street, postcode} // on invoices only
	// 1. Through SQL, every table on either engine.
	for _, hit := range scanTables(t, d, append(gone, kept...)) {
		if hit.table == "invoices" && slices.Contains(kept, hit.needle) {
			continue
		}
		t.Errorf("%q still in %s.%s", hit.needle, hit.table, hit.column)
	}
	if n := count(t, d, `SELECT COUNT(*) FROM invoices WHERE customer_id = $1 AND buyer_name = $2`, u.ID, name); n != invoices {
		t.Errorf("invoices lost the buyer's name the law makes them carry: %d of %d", n, invoices)
	}
	address := street + "\n" + postcode + " " + city + ", " + region + ", FR"
	if n := count(t, d, `SELECT COUNT(*) FROM invoices WHERE customer_id = $1 AND buyer_address = $2`, u.ID, address); n != invoices {
		t.Errorf("invoices lost the buyer's address the law makes them carry: %d of %d", n, invoices)
	}
	// 2. Every byte on disk: the data directory (uploads, spooled mail)
	// and, on SQLite, the database file, its WAL and shared memory.
	files := []string{}
	filepath.WalkDir(h.App.Config.DataDir, func(p string, de fs.DirEntry, err error) error {
		if err == nil && !de.IsDir() {
			files = append(files, p)
		}
		return nil
	})
	if d.Path != "" {
		files = append(files, d.Path, d.Path+"-wal", d.Path+"-shm")
	}
	scanned := 0
	for _, f := range files {
		b, err := os.ReadFile(f)
		if os.IsNotExist(err) {
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		scanned++
		for _, s := range gone {
			if bytes.Contains(b, []byte(s)) {
				t.Errorf("%q still on disk in %s", s, f)
			}
		}
		for _, s := range kept {
			n := int64(bytes.Count(b, []byte(s)))
			if f == d.Path && n <= invoices {
				continue // the invoices' own copies, checked above through SQL
			}
			if n > 0 {
				t.Errorf("%q found %d times on disk in %s", s, n, f)
			}
		}
	}
	if d.Path != "" && scanned < 2 {
		t.Fatalf("scanned %d files only", scanned)
	}
}

type hit struct{ needle, table, column string }

// scanTables reads every text-like value of every table and reports where
// a needle occurs.
func scanTables(t *testing.T, d *db.DB, needles []string) []hit {
	t.Helper()
	ctx := context.Background()
	q := `SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'`
	if d.Engine == db.Postgres {
		q = `SELECT table_name FROM information_schema.tables WHERE table_schema = current_schema() AND table_type = 'BASE TABLE'`
	}
	rows, err := d.Read.QueryContext(ctx, q)
	if err != nil {
		t.Fatal(err)
	}
	var tables []string
	for rows.Next() {
		var n string
		rows.Scan(&n)
		tables = append(tables, n)
	}
	rows.Close()
	if len(tables) < 20 {
		t.Fatalf("only %d tables found", len(tables))
	}
	var hits []hit
	for _, table := range tables {
		rows, err := d.Read.QueryContext(ctx, `SELECT * FROM `+table)
		if err != nil {
			t.Fatalf("%s: %v", table, err)
		}
		cols, _ := rows.Columns()
		for rows.Next() {
			vals, err := db.Values(rows, len(cols))
			if err != nil {
				t.Fatalf("%s: %v", table, err)
			}
			for i, v := range vals {
				var s string
				switch x := v.(type) {
				case string:
					s = x
				case []byte:
					s = string(x)
				default:
					s = fmt.Sprint(x)
				}
				for _, n := range needles {
					if strings.Contains(s, n) {
						hits = append(hits, hit{n, table, cols[i]})
					}
				}
			}
		}
		rows.Close()
	}
	return hits
}
