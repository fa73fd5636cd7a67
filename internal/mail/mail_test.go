package mail_test

import (
	"bytes"
	"context"
	"crypto/tls"
	"database/sql"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	netmail "net/mail"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"

	"comptoir/internal/clock"
	"comptoir/internal/db"
	"comptoir/internal/db/dbtest"
	"comptoir/internal/jobs"
	"comptoir/internal/mail"
	"comptoir/internal/testwait"
)

var (
	start = time.Date(2026, 3, 8, 10, 0, 0, 0, time.UTC)
	from  = mail.Address{Name: "Comptoir Assistance", Email: "support@shop.example"}
)

type resetData struct {
	Name      string
	StoreName string
	Link      string
	Minutes   int
}

// frenchReset is a reply-threaded French message with every optional field
// set, so that one delivery checks them all.
func frenchReset(t *testing.T) mail.Message {
	t.Helper()
	subject, text, err := mail.Render("fr", "password_reset", resetData{
		Name: "Élodie", StoreName: "Comptoir", Link: "https://shop.example/reset/tok123", Minutes: 30,
	})
	if err != nil {
		t.Fatal(err)
	}
	return mail.Message{
		Kind:       "password_reset",
		To:         "elodie@example.net",
		ToName:     "Élodie Müller-Français",
		Lang:       "fr",
		Subject:    subject,
		Text:       text,
		HTML:       "<p>Bonjour Élodie, voilà votre lien.</p>",
		ReplyTo:    "Assistance <t+abc123@shop.example>",
		InReplyTo:  "<orig.1@client.example>",
		References: []string{"<root.0@client.example>", "orig.1@client.example"},
		UserID:     "usr_1",
	}
}

func plainMessage(to string) mail.Message {
	return mail.Message{Kind: "welcome", To: to, Lang: "en", Subject: "Welcome", Text: "Hello.\n"}
}

// insertOnly is a River client that queues jobs but never works them, for
// tests that call the worker by hand.
func insertOnly(t *testing.T, d *db.DB) *jobs.Client {
	t.Helper()
	c, err := jobs.New(d, jobs.Config{})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func newOutbox(t *testing.T, d *db.DB, ins mail.BatchInserter, clk clock.Clock) *mail.Outbox {
	t.Helper()
	o, err := mail.NewOutbox(d, ins, clk, from)
	if err != nil {
		t.Fatal(err)
	}
	return o
}

func enqueue(t *testing.T, d *db.DB, o *mail.Outbox, m mail.Message) string {
	t.Helper()
	var msgID string
	err := d.Tx(context.Background(), func(tx *sql.Tx) error {
		var err error
		msgID, err = o.EnqueueTx(context.Background(), tx, m)
		return err
	})
	if err != nil {
		t.Fatalf("enqueue: %v", err)
	}
	return msgID
}

func smtpSender(t *testing.T, r *relay) *mail.SMTPSender {
	t.Helper()
	s, err := mail.NewSMTPSender(mail.SMTPConfig{Host: "127.0.0.1", Port: r.port, TLS: mail.TLSNone, Timeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// job is what River would hand the worker on the given attempt.
func job(msgID string, attempt, maxAttempts int) *river.Job[mail.SendArgs] {
	return &river.Job[mail.SendArgs]{
		JobRow: &rivertype.JobRow{ID: 1, Kind: "mail.send", Attempt: attempt, MaxAttempts: maxAttempts},
		Args:   mail.SendArgs{MessageID: msgID},
	}
}

func get(t *testing.T, o *mail.Outbox, msgID string) mail.Stored {
	t.Helper()
	s, err := o.Get(context.Background(), msgID)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func countJobs(t *testing.T, d *db.DB) int {
	t.Helper()
	var n int
	if err := d.Read.QueryRowContext(context.Background(), `SELECT COUNT(*) FROM river_job WHERE kind IN ('mail.send', 'mail.send_batch')`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

func countMail(t *testing.T, d *db.DB) int {
	t.Helper()
	var n int
	if err := d.Read.QueryRowContext(context.Background(), `SELECT COUNT(*) FROM outgoing_mail`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// startRiver runs a River client with the mail worker until the test ends.
func startRiver(t *testing.T, d *db.DB, w *mail.Worker) *jobs.Client {
	t.Helper()
	workers := river.NewWorkers()
	river.AddWorker(workers, w)
	river.AddWorker(workers, w.Batches())
	// 100ms, not 50: River refuses a poll interval shorter than its fetch
	// cooldown (100ms), which jobs.Config does not expose.
	c, err := jobs.New(d, jobs.Config{Workers: workers, FetchPollInterval: 100 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if err := c.Start(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		stopCtx, cancel := context.WithTimeout(ctx, 10*time.Second)
		defer cancel()
		c.Stop(stopCtx)
	})
	return c
}

// dispatching runs o's dispatcher until the test ends, as comptoir serve
// does.
func dispatching(t *testing.T, o *mail.Outbox) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		o.Dispatch(ctx, time.Minute, nil)
	}()
	t.Cleanup(func() { cancel(); <-done })
}

// parsed is a received message taken apart the way a mail program would.
type parsed struct {
	header netmail.Header
	text   string
	html   string
}

func parse(t *testing.T, raw []byte) parsed {
	t.Helper()
	msg, err := netmail.ReadMessage(bytes.NewReader(raw))
	if err != nil {
		t.Fatalf("received bytes are not a mail message: %v\n%s", err, raw)
	}
	p := parsed{header: msg.Header}
	mediaType, params, err := mime.ParseMediaType(msg.Header.Get("Content-Type"))
	if err != nil {
		t.Fatalf("Content-Type %q: %v", msg.Header.Get("Content-Type"), err)
	}
	if !strings.HasPrefix(mediaType, "multipart/") {
		p.text = decodeBody(t, msg.Header.Get("Content-Transfer-Encoding"), msg.Body)
		return p
	}
	if mediaType != "multipart/alternative" {
		t.Fatalf("Content-Type %s, want multipart/alternative", mediaType)
	}
	mr := multipart.NewReader(msg.Body, params["boundary"])
	for {
		part, err := mr.NextPart()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		ct, cparams, _ := mime.ParseMediaType(part.Header.Get("Content-Type"))
		if !strings.EqualFold(cparams["charset"], "utf-8") {
			t.Errorf("part %s has charset %q, want UTF-8", ct, cparams["charset"])
		}
		// multipart.Reader decodes quoted-printable parts itself.
		b, err := io.ReadAll(part)
		if err != nil {
			t.Fatal(err)
		}
		switch ct {
		case "text/plain":
			p.text = crlf(string(b))
		case "text/html":
			p.html = crlf(string(b))
		default:
			t.Errorf("unexpected part %s", ct)
		}
	}
	return p
}

func decodeBody(t *testing.T, cte string, r io.Reader) string {
	t.Helper()
	if !strings.EqualFold(cte, "quoted-printable") {
		t.Fatalf("Content-Transfer-Encoding %q, want quoted-printable", cte)
	}
	b, err := io.ReadAll(quotedprintable.NewReader(r))
	if err != nil {
		t.Fatal(err)
	}
	return crlf(string(b))
}

func crlf(s string) string { return strings.ReplaceAll(s, "\r\n", "\n") }

func decodeHeader(t *testing.T, v string) string {
	t.Helper()
	s, err := new(mime.WordDecoder).DecodeHeader(v)
	if err != nil {
		t.Fatalf("decode %q: %v", v, err)
	}
	return s
}

// TestSendsOverSMTPThroughRiver is the whole path: a message queued in a
// transaction is picked up by River, sent over a real SMTP conversation on
// loopback, and arrives intact.
func TestSendsOverSMTPThroughRiver(t *testing.T) {
	ctx := context.Background()
	d := dbtest.Open(t)
	clk := clock.NewManual(start)
	r := startRelay(t, "127.0.0.1:0")
	client := startRiver(t, d, mail.NewWorker(d, smtpSender(t, r), clk, nil))
	o := newOutbox(t, d, client, clk)
	dispatching(t, o)

	m := frenchReset(t)
	msgID := enqueue(t, d, o, m)
	got := r.waitReceived(t, 1)
	testwait.Until(t, "the row to be marked sent", func() bool { return get(t, o, msgID).Status == mail.Sent })

	stored := get(t, o, msgID)
	if stored.Attempts != 1 || !stored.SentAt.Equal(start) || stored.LastError != "" {
		t.Errorf("stored after sending: attempts %d, sent_at %v, last_error %q", stored.Attempts, stored.SentAt, stored.LastError)
	}
	if want := "<" + msgID + "@shop.example>"; stored.MessageID != want {
		t.Errorf("stored Message-ID %q, want %q", stored.MessageID, want)
	}

	env := got[0]
	if env.From != "support@shop.example" || len(env.To) != 1 || env.To[0] != "elodie@example.net" {
		t.Errorf("envelope MAIL FROM %q RCPT TO %q", env.From, env.To)
	}
	p := parse(t, env.Data)
	h := p.header
	if h.Get("Message-ID") != stored.MessageID {
		t.Errorf("Message-ID %q, stored %q", h.Get("Message-ID"), stored.MessageID)
	}
	if s := decodeHeader(t, h.Get("Subject")); s != m.Subject || s != "Réinitialisation de votre mot de passe Comptoir" {
		t.Errorf("Subject %q, want %q", s, m.Subject)
	}
	if h.Get("Subject") == m.Subject {
		t.Errorf("Subject sent unencoded: %q", h.Get("Subject"))
	}
	if f, err := h.AddressList("From"); err != nil || len(f) != 1 || f[0].Name != from.Name || f[0].Address != from.Email {
		t.Errorf("From %v, %v", f, err)
	}
	if to, err := h.AddressList("To"); err != nil || len(to) != 1 || to[0].Name != m.ToName || to[0].Address != m.To {
		t.Errorf("To %v, %v", to, err)
	}
	if rt, err := h.AddressList("Reply-To"); err != nil || len(rt) != 1 || rt[0].Address != "t+abc123@shop.example" || rt[0].Name != "Assistance" {
		t.Errorf("Reply-To %v, %v", rt, err)
	}
	if v := h.Get("In-Reply-To"); v != "<orig.1@client.example>" {
		t.Errorf("In-Reply-To %q", v)
	}
	if v := h.Get("References"); v != "<root.0@client.example> <orig.1@client.example>" {
		t.Errorf("References %q", v)
	}
	if date, err := h.Date(); err != nil || !date.Equal(start) {
		t.Errorf("Date %v, %v; want the time it was queued, %v", date, err, start)
	}
	if v := h.Get("Content-Language"); v != "fr" {
		t.Errorf("Content-Language %q", v)
	}
	if v := h.Get("MIME-Version"); v != "1.0" {
		t.Errorf("MIME-Version %q", v)
	}
	if h.Get("User-Agent") != "" || h.Get("X-Mailer") != "" {
		t.Errorf("library banner sent: %q %q", h.Get("User-Agent"), h.Get("X-Mailer"))
	}
	if p.text != m.Text {
		t.Errorf("text body:\n%s\nwant:\n%s", p.text, m.Text)
	}
	for _, want := range []string{"Bonjour,\n", "Vous avez demandé", "n’êtes pas à l’origine", "expire dans 30 minutes", "https://shop.example/reset/tok123"} {
		if !strings.Contains(p.text, want) {
			t.Errorf("text body lacks %q", want)
		}
	}
	if p.html != m.HTML {
		t.Errorf("html body %q, want %q", p.html, m.HTML)
	}

	// The spool writes the very same bytes: one composer for both paths.
	spool, err := mail.NewSpoolSender(t.TempDir(), nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := spool.Send(ctx, stored); err != nil {
		t.Fatal(err)
	}
	file, err := os.ReadFile(spool.Path(msgID))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(bytes.TrimRight(file, "\r\n"), bytes.TrimRight(env.Data, "\r\n")) {
		t.Errorf("spooled and relayed bytes differ:\n--- spool\n%s\n--- relay\n%s", file, env.Data)
	}
	var raw bytes.Buffer
	if err := mail.WriteMessage(&raw, stored); err != nil || !bytes.Equal(raw.Bytes(), file) {
		t.Errorf("WriteMessage differs from the spooled file (err %v)", err)
	}
}

func TestRolledBackMessageIsNeitherStoredNorSent(t *testing.T) {
	ctx := context.Background()
	d := dbtest.Open(t)
	clk := clock.NewManual(start)
	r := startRelay(t, "127.0.0.1:0")
	client := startRiver(t, d, mail.NewWorker(d, smtpSender(t, r), clk, nil))
	o := newOutbox(t, d, client, clk)
	dispatching(t, o)

	boom := errors.New("the order failed")
	err := d.Tx(ctx, func(tx *sql.Tx) error {
		if _, err := o.EnqueueTx(ctx, tx, plainMessage("rolled-back@example.net")); err != nil {
			return err
		}
		return boom
	})
	if !errors.Is(err, boom) {
		t.Fatalf("Tx = %v", err)
	}
	if n := countMail(t, d); n != 0 {
		t.Fatalf("%d messages stored after rollback", n)
	}
	if n := countJobs(t, d); n != 0 {
		t.Fatalf("%d send jobs survived the rollback", n)
	}
	// A message committed afterwards goes through the same running worker;
	// once it has arrived, the rolled-back one had every chance to.
	enqueue(t, d, o, plainMessage("committed@example.net"))
	got := r.waitReceived(t, 1)
	if len(got) != 1 || got[0].To[0] != "committed@example.net" {
		t.Fatalf("relay received %+v", got)
	}
}

func TestRelayDownKeepsMessageQueuedAndRetrySendsOnce(t *testing.T) {
	ctx := context.Background()
	d := dbtest.Open(t)
	clk := clock.NewManual(start)
	o := newOutbox(t, d, insertOnly(t, d), clk)
	r := startRelay(t, stoppableAddr(t))
	port := r.port
	r.Close()
	w := mail.NewWorker(d, smtpSender(t, r), clk, nil)
	msgID := enqueue(t, d, o, frenchReset(t))

	err := w.Work(ctx, job(msgID, 1, 25))
	if err == nil {
		t.Fatal("Work succeeded with the relay down")
	}
	var cancel *rivertype.JobCancelError
	if errors.As(err, &cancel) {
		t.Fatalf("a relay that is down must be retried, not cancelled: %v", err)
	}
	s := get(t, o, msgID)
	if s.Status != mail.Queued || s.Attempts != 1 || s.LastError == "" || !s.SentAt.IsZero() {
		t.Fatalf("after a failed attempt: status %s, attempts %d, last_error %q", s.Status, s.Attempts, s.LastError)
	}
	if !strings.Contains(s.LastError, strconv.Itoa(port)) {
		t.Errorf("last_error %q does not say which relay failed", s.LastError)
	}

	// The relay comes back on the same address; River's retry sends it.
	back := startRelay(t, "127.0.0.1:"+strconv.Itoa(port))
	clk.Advance(time.Minute)
	if err := w.Work(ctx, job(msgID, 2, 25)); err != nil {
		t.Fatalf("retry: %v", err)
	}
	// A duplicate run of the job (at-least-once) changes nothing.
	if err := w.Work(ctx, job(msgID, 3, 25)); err != nil {
		t.Fatalf("third run: %v", err)
	}
	if got := back.received(); len(got) != 1 {
		t.Fatalf("relay received %d messages, want exactly 1", len(got))
	}
	s = get(t, o, msgID)
	if s.Status != mail.Sent || s.Attempts != 2 || !s.SentAt.Equal(start.Add(time.Minute)) {
		t.Fatalf("after the retry: status %s, attempts %d, sent_at %v", s.Status, s.Attempts, s.SentAt)
	}
	if h := parse(t, back.received()[0].Data).header; h.Get("Message-ID") != s.MessageID {
		t.Errorf("retry sent Message-ID %q, stored %q", h.Get("Message-ID"), s.MessageID)
	}
}

func TestWorkerRunTwiceSendsOnce(t *testing.T) {
	ctx := context.Background()
	d := dbtest.Open(t)
	clk := clock.NewManual(start)
	o := newOutbox(t, d, insertOnly(t, d), clk)
	r := startRelay(t, "127.0.0.1:0")
	w := mail.NewWorker(d, smtpSender(t, r), clk, nil)
	msgID := enqueue(t, d, o, plainMessage("once@example.net"))

	for attempt := 1; attempt <= 2; attempt++ {
		if err := w.Work(ctx, job(msgID, attempt, 25)); err != nil {
			t.Fatalf("run %d: %v", attempt, err)
		}
	}
	if got := r.received(); len(got) != 1 {
		t.Fatalf("relay received %d messages, want 1", len(got))
	}
	if s := get(t, o, msgID); s.Status != mail.Sent || s.Attempts != 1 {
		t.Fatalf("status %s, attempts %d", s.Status, s.Attempts)
	}
}

func TestLastAttemptMarksFailed(t *testing.T) {
	ctx := context.Background()
	d := dbtest.Open(t)
	clk := clock.NewManual(start)
	o := newOutbox(t, d, insertOnly(t, d), clk)
	r := startRelay(t, stoppableAddr(t))
	r.Close()
	w := mail.NewWorker(d, smtpSender(t, r), clk, nil)
	msgID := enqueue(t, d, o, plainMessage("gone@example.net"))

	if err := w.Work(ctx, job(msgID, 2, 3)); err == nil {
		t.Fatal("Work succeeded with the relay down")
	}
	if s := get(t, o, msgID); s.Status != mail.Queued {
		t.Fatalf("status %s before the last attempt", s.Status)
	}
	if err := w.Work(ctx, job(msgID, 3, 3)); err == nil {
		t.Fatal("Work succeeded with the relay down")
	}
	if s := get(t, o, msgID); s.Status != mail.Failed || s.Attempts != 2 || s.LastError == "" {
		t.Fatalf("after the last attempt: status %s, attempts %d, last_error %q", s.Status, s.Attempts, s.LastError)
	}
	if failed, err := o.List(ctx, mail.Filter{Status: mail.Failed}); err != nil || len(failed) != 1 || failed[0].ID != msgID {
		t.Fatalf("List(failed) = %v, %v", failed, err)
	}
}

func TestRefusedRecipientFailsAtOnce(t *testing.T) {
	ctx := context.Background()
	d := dbtest.Open(t)
	clk := clock.NewManual(start)
	o := newOutbox(t, d, insertOnly(t, d), clk)
	r := startRelay(t, "127.0.0.1:0", rejectingRecipients())
	w := mail.NewWorker(d, smtpSender(t, r), clk, nil)
	msgID := enqueue(t, d, o, plainMessage("nobody@example.net"))

	err := w.Work(ctx, job(msgID, 1, 25))
	var cancel *rivertype.JobCancelError
	if !errors.As(err, &cancel) {
		t.Fatalf("Work = %v, want a cancelled job (a 550 will not change on retry)", err)
	}
	if s := get(t, o, msgID); s.Status != mail.Failed || !strings.Contains(s.LastError, "550") {
		t.Fatalf("status %s, last_error %q", s.Status, s.LastError)
	}
}

func TestSpoolWritesEMLWithoutRelay(t *testing.T) {
	ctx := context.Background()
	d := dbtest.Open(t)
	clk := clock.NewManual(start)
	o := newOutbox(t, d, insertOnly(t, d), clk)
	dataDir := t.TempDir()
	var logs bytes.Buffer
	spool, err := mail.NewSpoolSender(dataDir, slog.New(slog.NewTextHandler(&logs, nil)))
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(dataDir, "mail", "outgoing")
	if spool.Dir() != dir || !strings.Contains(logs.String(), dir) {
		t.Fatalf("spool dir %q, log %q; want it to say %q", spool.Dir(), logs.String(), dir)
	}
	w := mail.NewWorker(d, spool, clk, nil)
	m := frenchReset(t)
	msgID := enqueue(t, d, o, m)
	for attempt := 1; attempt <= 2; attempt++ {
		if err := w.Work(ctx, job(msgID, attempt, 25)); err != nil {
			t.Fatal(err)
		}
	}

	raw, err := os.ReadFile(filepath.Join(dir, msgID+".eml"))
	if err != nil {
		t.Fatal(err)
	}
	s := get(t, o, msgID)
	p := parse(t, raw)
	if p.header.Get("Message-ID") != s.MessageID || decodeHeader(t, p.header.Get("Subject")) != m.Subject || p.header.Get("In-Reply-To") != m.InReplyTo {
		t.Errorf("spooled headers: %v", p.header)
	}
	if to, err := p.header.AddressList("To"); err != nil || to[0].Address != m.To || to[0].Name != m.ToName {
		t.Errorf("spooled To %v, %v", to, err)
	}
	if p.text != m.Text {
		t.Errorf("spooled text %q", p.text)
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 || entries[0].Name() != msgID+".eml" {
		t.Errorf("spool holds %v, want only %s.eml (no temporary files)", entries, msgID)
	}
	if info, err := os.Stat(filepath.Join(dir, msgID+".eml")); err != nil || info.Mode().Perm()&0o077 != 0 {
		t.Errorf("spooled file mode %v, %v: reset links must not be world-readable", info.Mode(), err)
	}
	if s.Status != mail.Sent {
		t.Errorf("status %s", s.Status)
	}
}

func TestHeaderInjectionIsRefusedAndNothingStored(t *testing.T) {
	ctx := context.Background()
	d := dbtest.Open(t)
	o := newOutbox(t, d, insertOnly(t, d), clock.NewManual(start))
	ok := plainMessage("a@b.example")
	for name, mutate := range map[string]func(*mail.Message){
		"To with CRLF":         func(m *mail.Message) { m.To = "a@b.c\r\nBcc: x@y.z" },
		"To with LF":           func(m *mail.Message) { m.To = "a@b.c\nBcc: x@y.z" },
		"To with two":          func(m *mail.Message) { m.To = "a@b.c, x@y.z" },
		"To with a name":       func(m *mail.Message) { m.To = "Eve <a@b.c>" },
		"To not an address":    func(m *mail.Message) { m.To = "not an address" },
		"Subject with CRLF":    func(m *mail.Message) { m.Subject = "Hello\r\nBcc: x@y.z" },
		"Subject with CR":      func(m *mail.Message) { m.Subject = "Hello\rBcc: x@y.z" },
		"Subject with NUL":     func(m *mail.Message) { m.Subject = "Hello\x00" },
		"Subject with U+2028":  func(m *mail.Message) { m.Subject = "Hello\u2028Bcc: x@y.z" },
		"ToName with CRLF":     func(m *mail.Message) { m.ToName = "Eve\r\nBcc: x@y.z" },
		"ReplyTo with CRLF":    func(m *mail.Message) { m.ReplyTo = "r@b.c\r\nBcc: x@y.z" },
		"InReplyTo with CRLF":  func(m *mail.Message) { m.InReplyTo = "<a@b>\r\nBcc: x@y.z" },
		"InReplyTo with space": func(m *mail.Message) { m.InReplyTo = "<a@b> Bcc: x@y.z" },
		"References with LF":   func(m *mail.Message) { m.References = []string{"<a@b>\nBcc: x@y.z"} },
		"Lang with CRLF":       func(m *mail.Message) { m.Lang = "fr\r\nBcc: x@y.z" },
		"Kind with CRLF":       func(m *mail.Message) { m.Kind = "welcome\r\nBcc: x@y.z" },
		"empty Subject":        func(m *mail.Message) { m.Subject = " " },
		"empty Text":           func(m *mail.Message) { m.Text = "" },
		"invalid UTF-8":        func(m *mail.Message) { m.Text = "caf\xe9" },
		"attachment name with CRLF": func(m *mail.Message) {
			m.Attachments = []mail.Attachment{{Filename: "a.pdf\r\nBcc: x@y.z", ContentType: "application/pdf", Data: []byte("x")}}
		},
		"attachment type with a parameter": func(m *mail.Message) {
			m.Attachments = []mail.Attachment{{Filename: "a.pdf", ContentType: "application/pdf; name=x", Data: []byte("x")}}
		},
		"attachment beside HTML": func(m *mail.Message) {
			m.HTML = "<p>Hi</p>"
			m.Attachments = []mail.Attachment{{Filename: "a.pdf", ContentType: "application/pdf", Data: []byte("x")}}
		},
	} {
		m := ok
		mutate(&m)
		// Commit whatever the transaction did: validation must happen before
		// anything is written, not rely on the caller rolling back.
		var enqErr error
		if err := d.Tx(ctx, func(tx *sql.Tx) error {
			_, enqErr = o.EnqueueTx(ctx, tx, m)
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		if !errors.Is(enqErr, mail.ErrInvalid) {
			t.Errorf("%s: EnqueueTx = %v, want ErrInvalid", name, enqErr)
		}
	}
	if n := countMail(t, d); n != 0 {
		t.Fatalf("%d refused messages were stored", n)
	}
	if n := countJobs(t, d); n != 0 {
		t.Fatalf("%d jobs were queued for refused messages", n)
	}
}

func TestGetAndListNewestFirst(t *testing.T) {
	ctx := context.Background()
	d := dbtest.Open(t)
	clk := clock.NewManual(start)
	o := newOutbox(t, d, insertOnly(t, d), clk)
	var ids []string
	for i, m := range []mail.Message{
		{Kind: "welcome", To: "u1@example.net", Subject: "1", Text: "x", UserID: "usr_1"},
		{Kind: "password_reset", To: "u1@example.net", Subject: "2", Text: "x", UserID: "usr_1"},
		{Kind: "welcome", To: "u2@example.net", Subject: "3", Text: "x", UserID: "usr_2"},
		{Kind: "welcome", To: "guest@example.net", Subject: "4", Text: "x"},
	} {
		clk.Set(start.Add(time.Duration(i) * time.Minute))
		ids = append(ids, enqueue(t, d, o, m))
	}
	list := func(f mail.Filter) []string {
		t.Helper()
		got, err := o.List(ctx, f)
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, s := range got {
			out = append(out, s.ID)
		}
		return out
	}
	for _, tc := range []struct {
		f    mail.Filter
		want []string
	}{
		{mail.Filter{}, []string{ids[3], ids[2], ids[1], ids[0]}},
		{mail.Filter{UserID: "usr_1"}, []string{ids[1], ids[0]}},
		{mail.Filter{Kind: "welcome"}, []string{ids[3], ids[2], ids[0]}},
		{mail.Filter{UserID: "usr_1", Kind: "welcome"}, []string{ids[0]}},
		{mail.Filter{Status: mail.Queued, Limit: 2}, []string{ids[3], ids[2]}},
		{mail.Filter{Status: mail.Sent}, nil},
	} {
		if got := list(tc.f); strings.Join(got, ",") != strings.Join(tc.want, ",") {
			t.Errorf("List(%+v) = %v, want %v", tc.f, got, tc.want)
		}
	}

	s := get(t, o, ids[3])
	if s.UserID != "" || s.Kind != "welcome" || s.From != from || s.Status != mail.Queued || !s.CreatedAt.Equal(start.Add(3*time.Minute)) {
		t.Errorf("Get = %+v", s)
	}
	if byHeader, err := o.GetByMessageID(ctx, s.MessageID); err != nil || byHeader.ID != s.ID {
		t.Errorf("GetByMessageID = %v, %v", byHeader.ID, err)
	}
	if _, err := o.Get(ctx, "msg_nope"); !errors.Is(err, mail.ErrNotFound) {
		t.Errorf("Get(unknown) = %v, want ErrNotFound", err)
	}
}

func TestStartTLSWithAuthentication(t *testing.T) {
	ctx := context.Background()
	d := dbtest.Open(t)
	clk := clock.NewManual(start)
	o := newOutbox(t, d, insertOnly(t, d), clk)
	cert, pool := selfSigned(t)
	r := startRelay(t, "127.0.0.1:0", withTLS(&tls.Config{Certificates: []tls.Certificate{cert}}), withAuth("shop", "s3cret"))
	msgID := enqueue(t, d, o, plainMessage("tls@example.net"))
	stored := get(t, o, msgID)

	s, err := mail.NewSMTPSender(mail.SMTPConfig{
		Host: "127.0.0.1", Port: r.port, TLS: mail.TLSStartTLS, Username: "shop", Password: "s3cret",
		Timeout: 5 * time.Second, TLSConfig: &tls.Config{RootCAs: pool},
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Send(ctx, stored); err != nil {
		t.Fatal(err)
	}
	if got := r.received(); len(got) != 1 || got[0].User != "shop" {
		t.Fatalf("relay received %+v", got)
	}
	// A batch's session: secured and authenticated once, two messages.
	// (The relay counts a session again after STARTTLS, so one connection
	// counts what the single Send above counted.)
	perConn := r.connections.Load()
	sess, err := s.Session(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for range 2 {
		if err := sess.Send(ctx, stored); err != nil {
			t.Fatal(err)
		}
	}
	sess.Close()
	if got := r.received(); len(got) != 3 || got[1].User != "shop" || got[2].User != "shop" || r.connections.Load() != 2*perConn {
		t.Fatalf("relay received %d messages, %d sessions (%d per connection)", len(got), r.connections.Load(), perConn)
	}

	// A relay that does not offer STARTTLS gets nothing, not even the
	// password: STARTTLS is mandatory, never opportunistic.
	plain := startRelay(t, "127.0.0.1:0", withAuth("shop", "s3cret"))
	s, err = mail.NewSMTPSender(mail.SMTPConfig{Host: "127.0.0.1", Port: plain.port, TLS: mail.TLSStartTLS,
		Username: "shop", Password: "s3cret", Timeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Send(ctx, stored); err == nil || !strings.Contains(err.Error(), "STARTTLS") {
		t.Fatalf("Send to a relay without STARTTLS = %v", err)
	}
	if got := plain.received(); len(got) != 0 {
		t.Fatalf("relay without STARTTLS received %d messages", len(got))
	}
	if _, err := s.Session(ctx); err == nil || !strings.Contains(err.Error(), "STARTTLS") {
		t.Fatalf("Session with a relay without STARTTLS = %v", err)
	}
}

func TestNewOutboxRefusesAFromWithoutDomain(t *testing.T) {
	for _, a := range []mail.Address{{Email: "nobody"}, {Email: "x@y.z\r\nBcc: a@b.c"}, {Name: "A\nB", Email: "a@b.c"}, {Email: "A <a@b.c>"}} {
		if _, err := mail.NewOutbox(nil, nil, clock.NewManual(start), a); !errors.Is(err, mail.ErrInvalid) {
			t.Errorf("NewOutbox(%+v) = %v, want ErrInvalid", a, err)
		}
	}
}

func TestAttachmentIsStoredAndSentAsIs(t *testing.T) {
	d := dbtest.Open(t)
	o := newOutbox(t, d, insertOnly(t, d), clock.NewManual(start))
	m := plainMessage("a@b.example")
	pdf := []byte("%PDF-1.3 café\x00\xff binary")
	m.Attachments = []mail.Attachment{{Filename: "F-2026-000001.pdf", ContentType: "application/pdf", Data: pdf}}
	s := get(t, o, enqueue(t, d, o, m))
	if len(s.Attachments) != 1 || !bytes.Equal(s.Attachments[0].Data, pdf) {
		t.Fatalf("stored attachments %+v", s.Attachments)
	}
	var a, b bytes.Buffer
	if err := mail.WriteMessage(&a, s); err != nil {
		t.Fatal(err)
	}
	mail.WriteMessage(&b, s)
	if !bytes.Equal(a.Bytes(), b.Bytes()) {
		t.Fatal("two renderings of the same message differ")
	}
	raw := a.String()
	if !strings.Contains(raw, "multipart/mixed") || !strings.Contains(raw, "application/pdf") || !strings.Contains(raw, `filename="F-2026-000001.pdf"`) {
		t.Fatalf("attachment missing from the message:\n%s", raw)
	}
}

// Mail to an erased customer's placeholder address is stored as failed and
// never scheduled: there is nobody to send it to.
func TestMailToAnErasedAddressIsNeverSent(t *testing.T) {
	ctx := context.Background()
	d := dbtest.Open(t)
	clk := clock.NewManual(start)
	o := newOutbox(t, d, insertOnly(t, d), clk)
	id := enqueue(t, d, o, plainMessage(mail.ErasedAddress))
	m, err := o.Get(ctx, id)
	if err != nil || m.Status != mail.Failed {
		t.Fatalf("mail to the erased address: %+v %v", m, err)
	}
	if n := countJobs(t, d); n != 0 {
		t.Fatalf("%d send jobs for the erased address", n)
	}
	enqueue(t, d, o, plainMessage("someone@example.net"))
	if n := countJobs(t, d); n != 0 {
		t.Fatalf("%d send jobs inserted in the queuing transaction", n)
	}
	if n, err := o.DispatchPending(ctx); err != nil || n != 1 {
		t.Fatalf("DispatchPending = %d, %v; want the real address's message only", n, err)
	}
	if n := countJobs(t, d); n != 1 {
		t.Fatalf("%d send jobs for a real address", n)
	}
}

// Two dispatchers (two nodes) running while messages are queued put every
// message in exactly one batch with one sending job, batches of at most 25
// messages, and a message queued by an outbox whose dispatcher never ran (a
// process that stopped) is found by another's pass.
func TestDispatchGivesEveryMessageOneJob(t *testing.T) {
	ctx := context.Background()
	d := dbtest.Open(t)
	clk := clock.NewManual(start)
	ins := insertOnly(t, d)
	a, b, silent := newOutbox(t, d, ins, clk), newOutbox(t, d, ins, clk), newOutbox(t, d, ins, clk)
	dispatching(t, a)
	dispatching(t, b)

	const n = 120
	var wg sync.WaitGroup
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			o := []*mail.Outbox{a, b, silent}[i%3]
			enqueue(t, d, o, plainMessage(fmt.Sprintf("buyer%d@example.net", i)))
		}()
	}
	wg.Wait()
	// The silent outbox's messages woke nobody: another dispatcher's pass
	// (its sweep, or this explicit one) takes them.
	if _, err := a.DispatchPending(ctx); err != nil {
		t.Fatal(err)
	}
	undispatched := func() int {
		var c int
		if err := d.Read.QueryRowContext(ctx, `SELECT COUNT(*) FROM outgoing_mail_queue WHERE batch IS NULL`).Scan(&c); err != nil {
			t.Fatal(err)
		}
		return c
	}
	testwait.Until(t, "every message to be in a batch", func() bool { return undispatched() == 0 })
	var queued int
	if err := d.Read.QueryRowContext(ctx, `SELECT COUNT(*) FROM outgoing_mail_queue`).Scan(&queued); err != nil || queued != n {
		t.Fatalf("%d messages in the queue (%v), want %d", queued, err, n)
	}
	batches, err := db.Strings(ctx, d.Read, `SELECT DISTINCT batch FROM outgoing_mail_queue`)
	if err != nil {
		t.Fatal(err)
	}
	jobBatches := map[string]int{}
	argsText := `CAST(args AS TEXT)`
	if d.Engine == db.SQLite {
		argsText = `json(args)` // River stores binary JSON there
	}
	rows, err := d.Read.QueryContext(ctx, `SELECT kind, `+argsText+` FROM river_job`)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var kind string
		var args []byte
		if err := rows.Scan(&kind, &args); err != nil {
			t.Fatal(err)
		}
		var a mail.SendBatchArgs
		if err := json.Unmarshal(args, &a); kind != "mail.send_batch" || err != nil || a.Batch == "" {
			t.Fatalf("unexpected job %s %s (%v)", kind, args, err)
		}
		jobBatches[a.Batch]++
	}
	rows.Close()
	if len(jobBatches) != len(batches) {
		t.Fatalf("%d batches, %d with a job", len(batches), len(jobBatches))
	}
	for _, batch := range batches {
		var size int
		if err := d.Read.QueryRowContext(ctx, `SELECT COUNT(*) FROM outgoing_mail_queue WHERE batch = $1`, batch).Scan(&size); err != nil {
			t.Fatal(err)
		}
		if jobBatches[batch] != 1 || size < 1 || size > 25 {
			t.Errorf("batch %s: %d messages, %d jobs", batch, size, jobBatches[batch])
		}
	}
	if len(batches) < n/25 {
		t.Errorf("%d batches for %d messages", len(batches), n)
	}
}

// An attachment named by Source is drawn by the worker when it sends, not
// stored: the queued row holds no bytes, the relay gets the rendered ones.
func TestAttachmentDrawnWhenSent(t *testing.T) {
	ctx := context.Background()
	d, clk, o := outboxOnly(t)
	r := startRelay(t, "127.0.0.1:0")
	m := plainMessage("buyer@example.net")
	m.Attachments = []mail.Attachment{{Filename: "inv_7.pdf", ContentType: "application/pdf", Source: "invoice:inv_7"}}
	msgID := enqueue(t, d, o, m)
	var stored int
	if err := d.Read.QueryRowContext(ctx, `SELECT LENGTH(content) FROM outgoing_mail_attachments WHERE mail_id = $1`, msgID).Scan(&stored); err != nil || stored != 0 {
		t.Fatalf("stored attachment: %d bytes, %v", stored, err)
	}

	w := mail.NewWorker(d, smtpSender(t, r), clk, nil)
	if err := w.Work(ctx, job(msgID, 1, 5)); err == nil || !strings.Contains(err.Error(), "no renderer") {
		t.Fatalf("without a renderer: %v", err)
	}
	w.RenderAttachments("invoice", func(_ context.Context, ref string) (mail.Drawn, error) {
		// The drawing names the file: the number was not known when
		// the message was queued.
		return mail.Drawn{Data: []byte("%PDF-drawn-for-" + ref), Filename: "F-2026-000007.pdf"}, nil
	})
	if err := w.Work(ctx, job(msgID, 2, 5)); err != nil {
		t.Fatal(err)
	}
	got := r.waitReceived(t, 1)
	if !strings.Contains(string(got[0].Data), base64.StdEncoding.EncodeToString([]byte("%PDF-drawn-for-inv_7"))) {
		t.Fatalf("the relay did not get the drawn attachment:\n%s", got[0].Data)
	}
	if !strings.Contains(string(got[0].Data), `filename="F-2026-000007.pdf"`) || strings.Contains(string(got[0].Data), "inv_7.pdf") {
		t.Fatalf("the attachment does not go out under the name its drawing gave:\n%s", got[0].Data)
	}

	// Bytes and a source together, or a malformed source, are refused.
	for _, a := range []mail.Attachment{
		{Filename: "a.pdf", ContentType: "application/pdf", Source: "invoice:inv_1", Data: []byte("x")},
		{Filename: "a.pdf", ContentType: "application/pdf", Source: "../etc/passwd"},
	} {
		bad := plainMessage("buyer@example.net")
		bad.Attachments = []mail.Attachment{a}
		err := d.Tx(ctx, func(tx *sql.Tx) error { _, err := o.EnqueueTx(ctx, tx, bad); return err })
		if !errors.Is(err, mail.ErrInvalid) {
			t.Errorf("attachment %+v: %v, want ErrInvalid", a, err)
		}
	}
}

// A document that cannot be drawn holds its email back for a later
// attempt; on the last one the email goes without it (its text links the
// document) rather than not at all, its other attachments kept.
func TestUndrawableAttachmentOnLastAttempt(t *testing.T) {
	ctx := context.Background()
	d, clk, o := outboxOnly(t)
	r := startRelay(t, "127.0.0.1:0")
	m := plainMessage("buyer@example.net")
	m.Attachments = []mail.Attachment{{Filename: "inv_7.pdf", ContentType: "application/pdf", Source: "invoice:inv_7"},
		{Filename: "terms.txt", ContentType: "text/plain", Data: []byte("the terms")}}
	msgID := enqueue(t, d, o, m)
	w := mail.NewWorker(d, smtpSender(t, r), clk, nil)
	w.RenderAttachments("invoice", func(context.Context, string) (mail.Drawn, error) {
		return mail.Drawn{}, errors.New("no such invoice")
	})
	if err := w.Work(ctx, job(msgID, 1, 3)); err == nil || !strings.Contains(err.Error(), "no such invoice") {
		t.Fatalf("first attempt: %v", err)
	}
	if got := get(t, o, msgID); got.Status != mail.Queued || got.Attempts != 1 {
		t.Fatalf("after the first attempt: %s, %d attempts", got.Status, got.Attempts)
	}
	if err := w.Work(ctx, job(msgID, 3, 3)); err != nil {
		t.Fatalf("last attempt: %v", err)
	}
	got := r.waitReceived(t, 1)
	if body := string(got[0].Data); strings.Contains(body, "inv_7.pdf") || !strings.Contains(body, `filename="terms.txt"`) {
		t.Fatalf("sent on the last attempt:\n%s", body)
	}
	if st := get(t, o, msgID); st.Status != mail.Sent {
		t.Fatalf("after the last attempt: %s", st.Status)
	}
}

// RFC 3834: what the store sends by itself carries Auto-Submitted, so that
// vacation responders leave it unanswered; an agent's answer does not.
func TestAutoSubmittedByKind(t *testing.T) {
	ctx := context.Background()
	d := dbtest.Open(t)
	clk := clock.NewManual(start)
	o := newOutbox(t, d, insertOnly(t, d), clk)
	dataDir := t.TempDir()
	spool, err := mail.NewSpoolSender(dataDir, nil)
	if err != nil {
		t.Fatal(err)
	}
	w := mail.NewWorker(d, spool, clk, nil)
	for kind, want := range map[string]string{"password_reset": "auto-generated", "ticket_ack": "auto-replied", "ticket_reply": ""} {
		m := frenchReset(t)
		m.Kind = kind
		msgID := enqueue(t, d, o, m)
		if err := w.Work(ctx, job(msgID, 1, 25)); err != nil {
			t.Fatal(err)
		}
		raw, err := os.ReadFile(filepath.Join(dataDir, "mail", "outgoing", msgID+".eml"))
		if err != nil {
			t.Fatal(err)
		}
		if got := parse(t, raw).header.Get("Auto-Submitted"); got != want {
			t.Errorf("%s: Auto-Submitted %q, want %q", kind, got, want)
		}
	}
}
