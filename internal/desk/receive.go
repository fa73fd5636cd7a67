package desk

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"errors"
	netmail "net/mail"
	"regexp"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"comptoir/internal/account"
	"comptoir/internal/audit"
	"comptoir/internal/db"
	"comptoir/internal/inbound"
	"comptoir/internal/locale"
	"comptoir/internal/mail"
)

// InboundMessage is an email received for the desk, as the inbound parser
// read it.
type InboundMessage struct {
	MessageID  string // "<…>"; empty when the message had none
	InReplyTo  string // one or more "<…>"
	References []string
	From       mail.Address
	// Recipients are the To and Cc addresses, where the ticket's reply
	// address (support+<token>@…) is looked for.
	Recipients []string
	// ReplyToken, when the parser already found it, is used as is.
	ReplyToken string
	// SubjectReference, when the parser already found it ("T-…"), is used
	// as is; otherwise the desk looks for "#T-…" in Subject.
	SubjectReference string
	Subject          string
	Text             string
	HTML             string // sanitized
	// Attachments are already in the blob store.
	Attachments []Attachment
	// Lang is the language the mail says it is written in (its
	// Content-Language, "en"), or "": the language of a ticket it opens
	// for a sender the desk knows nothing of.
	Lang string
	// AutoReply marks auto-replies and bounces: stored, never answered, and
	// they do not restart the SLA.
	AutoReply bool
	// MaybeAutomatic marks a message that may be an autoresponder's
	// though nothing says it for sure (inbound.Message.MaybeAutomatic):
	// stored, threaded and answered as a person's, but it confirms no
	// Contact form ticket. AutoReply implies it.
	MaybeAutomatic bool
	// SenderUnverified: the desk trusts a mail server to check senders
	// (--inbound-trusted-authserv-id) and it did not vouch for From. The
	// message is kept but is not taken for its From's: linked to no
	// account, and flagged on a ticket of that address, as a stranger's.
	SenderUnverified bool
	// TooLarge, for a message over the size limit of which only the
	// header came, says so: its text is then a note in the ticket's
	// language.
	TooLarge *TooLarge
	// Unparsed marks a message the parser could not read: kept with Raw for
	// an agent.
	Unparsed bool
	Raw      []byte
}

// TooLarge describes a message refused for its size.
type TooLarge struct {
	Size  int64  // bytes; 0 when unknown (the SMTP listener reads no further)
	Limit int64  // bytes
	Where string // where the full message stays ("INBOX UID 7"); "" when it was refused
}

// tooLargeNote is the text filed for a message refused for its size, in
// lang, its sizes said as people read them ("25 Mo"; raw byte counts read
// "26214400 octets"). Should the message's size and the limit read the
// same once rounded ("25 MB, over the 25 MB limit"), both are said in
// bytes.
func (s *Service) tooLargeNote(lang string, tl TooLarge) string {
	m := s.opts.Messages
	limit := m.Size(lang, tl.Limit)
	if tl.Where == "" {
		return m.T(lang, "ticket.too_large_refused", map[string]any{"Limit": limit})
	}
	size := m.Size(lang, tl.Size)
	if size == limit {
		size = m.TPairs(lang, "size.bytes", "N", locale.Int(int(tl.Size), lang))
		limit = m.TPairs(lang, "size.bytes", "N", locale.Int(int(tl.Limit), lang))
	}
	return m.T(lang, "ticket.too_large_kept", map[string]any{"Size": size, "Limit": limit, "Where": tl.Where})
}

// Outcomes of Receive.
const (
	OutcomeCreated   = "created"   // a new ticket was opened
	OutcomeThreaded  = "threaded"  // added to an existing ticket
	OutcomeDuplicate = "duplicate" // this Message-ID was already stored: nothing done
)

// How a message was threaded.
const (
	ByMessageID  = "message_id"
	ByReplyToken = "reply_token"
	BySubject    = "subject"
)

// Result tells what Receive did.
type Result struct {
	Outcome string
	By      string // how it was threaded; empty for a new ticket or a duplicate
	// Flagged: the sender is not the ticket's customer (or the trusted
	// mail server did not vouch for it); the message waits for an agent
	// and is never shown to the customer.
	Flagged   bool
	MessageID string // the stored message ("tms_…"); empty for a duplicate
}

// Customers finds the account of an email's sender, to link tickets opened
// by email.
type Customers interface {
	UserByEmail(ctx context.Context, email string) (account.User, error)
}

var subjectRef = regexp.MustCompile(`(?i)#(T-[0-9A-HJKMNP-TV-Z]{8})(?:[^0-9A-Za-z]|$)`)

// SubjectReference is the ticket reference in a subject ("Re: [#T-…]",
// "#t-…"), upper case, or "".
func SubjectReference(subject string) string {
	m := subjectRef.FindStringSubmatch(subject)
	if m == nil {
		return ""
	}
	return strings.ToUpper(m[1])
}

// cleanName makes a display name from an email safe to put back in a
// header: control characters become spaces, and it is cut to MaxNameLen.
func cleanName(s string) string {
	s = strings.Map(func(r rune) rune {
		if unicode.IsControl(r) || r == utf8.RuneError {
			return ' '
		}
		return r
	}, s)
	s = strings.Join(strings.Fields(s), " ")
	if r := []rune(s); len(r) > MaxNameLen {
		s = string(r[:MaxNameLen])
	}
	return s
}

// normalizeMsgID returns "<id>" for an id with or without its brackets.
func normalizeMsgID(s string) string {
	s = strings.TrimSpace(s)
	if s == "" {
		return ""
	}
	if !strings.HasPrefix(s, "<") {
		s = "<" + s
	}
	if !strings.HasSuffix(s, ">") {
		s += ">"
	}
	return s
}

func msgIDs(ss ...string) []string {
	var out []string
	for _, s := range ss {
		for _, f := range strings.Fields(s) {
			if n := normalizeMsgID(f); n != "<>" {
				out = append(out, n)
			}
		}
	}
	return out
}

// replyToken finds the token of a plus address of the support address
// among the recipients.
func (s *Service) replyToken(in InboundMessage) string {
	if in.ReplyToken != "" {
		return strings.ToLower(in.ReplyToken)
	}
	prefix := strings.ToLower(s.supportLocal) + "+"
	for _, r := range in.Recipients {
		addr := r
		if a, err := netmail.ParseAddress(r); err == nil {
			addr = a.Address
		}
		local, domain, ok := strings.Cut(strings.ToLower(strings.TrimSpace(addr)), "@")
		if !ok || domain != s.supportDomain {
			continue
		}
		if tok, ok := strings.CutPrefix(local, prefix); ok && len(tok) == 32 {
			return tok
		}
	}
	return ""
}

var errDuplicate = errors.New("desk: duplicate Message-ID")

// Receive stores an inbound email once per Message-ID and threads it: by
// In-Reply-To and References against every stored message id, then by the
// reply token of the address it was sent to, then by the reference in the
// subject. A message that threads nowhere, only to an erased ticket, or
// from someone else than the customer to a closed ticket, opens a new
// ticket (nothing is dropped), acknowledged unless it is an auto-reply or a
// bounce. A message from someone else than the ticket's customer on a
// ticket still open is flagged for an agent (hidden from the customer). A
// message a person wrote, the customer's or a flagged one, reopens an
// answered, waiting or closed ticket and restarts the SLA; an automatic one
// never does. A person's reply to the mail sent about a Contact form
// ticket awaiting confirmation, from its address and verified, confirms it
// as the guest link's button does (confirmTx).
func (s *Service) Receive(ctx context.Context, in InboundMessage) (Ticket, Result, error) {
	in.MessageID = normalizeMsgID(in.MessageID)
	if strings.ContainsAny(in.MessageID, " \t\r\n") {
		in.MessageID = "" // not an id we could ever match; keep the message
	}
	from := strings.TrimSpace(in.From.Email)
	if from != "" && account.Confusable(from) {
		// An address that reads as another (the Kelvin sign for "k"):
		// whatever the mail server vouched for, the mail is nobody's to
		// take as a customer's, and its ticket joins no account
		// (strings.EqualFold and PostgreSQL's lower() fold the Kelvin
		// sign into "k").
		in.SenderUnverified = true
	}
	var customer account.User
	var known bool
	// Anyone can write a customer's address in From: unless the mail
	// server vouched for it, the message is not the customer's.
	if s.opts.Customers != nil && from != "" && !in.SenderUnverified {
		u, err := s.opts.Customers.UserByEmail(ctx, from)
		if err == nil && u.Role == account.RoleCustomer {
			customer, known = u, true
		} else if err != nil && !errors.Is(err, account.ErrNotFound) {
			return Ticket{}, Result{}, wrapDB("find sender", err)
		}
	}
	var t Ticket
	var res Result
	storedID := in.MessageID // the id the message is stored under
	err := s.db.Tx(ctx, func(tx *sql.Tx) error {
		t, res = Ticket{}, Result{}
		if in.MessageID != "" {
			id, dup, err := storageID(ctx, tx, in.MessageID, from)
			if err != nil {
				return err
			}
			if dup {
				return errDuplicate
			}
			storedID = id
		}
		ticketID, by, mailed, err := s.thread(ctx, tx, in)
		if err != nil {
			return err
		}
		if ticketID != "" {
			// An erased ticket has no customer left to match the sender: a
			// message filed there would be flagged on a closed ticket that
			// no queue shows. So would a stranger's on any closed ticket
			// (an automatic one has nothing to answer and may stay). Both
			// open a new ticket instead.
			var email, status string
			if err := tx.QueryRowContext(ctx, `SELECT customer_email, status FROM tickets WHERE id = $1`, ticketID).Scan(&email, &status); err != nil {
				return wrapDB("read threaded ticket", err)
			}
			stranger := from == "" || !strings.EqualFold(from, email) || in.SenderUnverified
			if email == erasedEmail || status == StatusClosed && stranger && !in.AutoReply {
				ticketID, by, mailed = "", "", false
			}
		}
		now := s.clock.Now()
		m := Message{Direction: DirectionIn, FromEmail: from, MessageID: storedID,
			InReplyTo: strings.Join(msgIDs(in.InReplyTo), " "), References: msgIDs(in.References...),
			Subject: in.Subject, Text: in.Text, HTML: in.HTML, AutoReply: in.AutoReply, Unparsed: in.Unparsed,
			CreatedAt: now, Attachments: in.Attachments, FromUnverified: in.SenderUnverified, Lang: in.Lang}
		if ticketID == "" {
			link := false
			if known {
				// Anyone can sign up with someone else's address: a ticket the
				// address's owner opens by email joins the account, and shows
				// in its portal, only once the account has shown it reads the
				// address, as the tickets written before (LinkGuestTicketsTx
				// then links it). Until then it is a guest's, followed by the
				// link in its emails.
				proven, err := account.AddressProvenTx(ctx, tx, customer.ID)
				if err != nil {
					return err
				}
				link = proven
			}
			// A ticket opened under an address the trusted mail server did
			// not vouch for stays out of that address's account for good:
			// marked, it is never linked when the account later proves
			// the address (LinkGuestTicketsTx).
			t = Ticket{CustomerEmail: from, CustomerName: cleanName(in.From.Name), Lang: s.opts.DefaultLang, Topic: TopicEmail,
				FirstMessage: now, CreatedAt: now, SenderUnverified: in.SenderUnverified}
			if known {
				// The account's language is the best guess of the
				// address's, proven or not: it gives nothing away.
				t.Lang = customer.Language
			} else if t.Lang, err = s.guestLangTx(ctx, tx, from, in.Lang); err != nil {
				return err
			}
			if link {
				t.CustomerID = customer.ID
				if t.CustomerName == "" {
					t.CustomerName = customer.Name
				}
			}
			if t.Lang != "fr" && t.Lang != "en" {
				t.Lang = s.opts.DefaultLang
			}
			if in.TooLarge != nil {
				m.Text, m.Lang = s.tooLargeNote(t.Lang, *in.TooLarge), t.Lang
			}
			if err := insertTicketTx(ctx, tx, &t); err != nil {
				return err
			}
			m.TicketID = t.ID
			if err := insertMessageTx(ctx, tx, &m, in.Raw); err != nil {
				return err
			}
			if !in.AutoReply {
				if err := s.addEventTx(ctx, tx, t.ID, EventCustomer, now); err != nil {
					return err
				}
			}
			if t, err = getTicket(ctx, tx, t.ID); err != nil {
				return err
			}
			answer := s.mayAnswer(in, from)
			if answer {
				if answer, err = s.underAckLimitTx(ctx, tx, t, now); err != nil {
					return err
				}
			}
			if answer {
				// An address the outbox refuses (it validates before writing
				// anything) costs the acknowledgement, never the message.
				if err := s.sendAckTx(ctx, tx, t, in.MessageID, in.TooLarge); err != nil && !errors.Is(err, mail.ErrInvalid) {
					return err
				}
			}
			res = Result{Outcome: OutcomeCreated, MessageID: m.ID}
			return audit.Record(ctx, tx, audit.Entry{At: now, Actor: audit.Actor{ID: t.CustomerID, Role: "customer"},
				SubjectType: "ticket", SubjectID: t.ID, Action: "ticket.opened",
				After: map[string]any{"status": t.Status, "topic": t.Topic, "via": "email", "auto_reply": in.AutoReply}})
		}
		if t, err = lockTicketTx(ctx, tx, ticketID); err != nil {
			return err
		}
		// The time once the ticket is held: read before, it could be
		// earlier than an answer that took the ticket meanwhile, and the
		// message would be filed before that answer, as if answered by it.
		now = s.clock.Now()
		if in.TooLarge != nil {
			m.Text, m.Lang = s.tooLargeNote(t.Lang, *in.TooLarge), t.Lang
		}
		m.TicketID, m.CreatedAt = t.ID, now
		// A message whose From the trusted mail server did not vouch for
		// may be anyone's under the customer's address: flagged as well
		// (Message.SenderUnverified tells the agent why).
		m.Flagged = !strings.EqualFold(from, t.CustomerEmail) || from == "" || in.SenderUnverified
		if err := insertMessageTx(ctx, tx, &m, in.Raw); err != nil {
			return err
		}
		res = Result{Outcome: OutcomeThreaded, By: by, Flagged: m.Flagged, MessageID: m.ID}
		if mailed && !m.Flagged && !in.AutoReply && !in.MaybeAutomatic && t.AwaitsConfirmation() {
			// A reply to the mail the store sent to the Contact form
			// ticket's address (its Message-ID or reply address, which
			// only that mailbox received, not the reference the form's
			// page showed whoever typed the address), from that address
			// and vouched for as mail joining a customer's ticket is:
			// whoever reads the mailbox wrote it, which is what the guest
			// link's button confirms. An automatic answer (an absence
			// notice) is no one's word, nor one that may be: an
			// autoresponder that marks its answers with no header, sent
			// from the null reverse-path (a bounce's, AutoReply) or with a
			// subject such as "Automatic reply: …", would confirm the
			// ticket of whoever typed the address on the form.
			if t, err = s.confirmTx(ctx, tx, t.ID, "email"); err != nil {
				return err
			}
		}
		if in.AutoReply {
			// Nothing to answer: an automatic message never restarts a clock.
			return audit.Record(ctx, tx, audit.Entry{At: now, Actor: audit.System, SubjectType: "ticket", SubjectID: t.ID,
				Action: "ticket.message_received", After: map[string]any{"message": m.ID, "flagged": m.Flagged, "auto_reply": in.AutoReply}})
		}
		// A message a person wrote needs an answer, whoever wrote it: a
		// flagged one (someone else than the customer: a colleague, the
		// customer from another address) is hidden from the customer but
		// reopens the ticket and starts its clock like the customer's own,
		// or it would sit on an answered or waiting ticket with nothing due
		// and no one to read it.
		before := t.Status
		if t, err = s.customerMessageTx(ctx, tx, t, now); err != nil {
			return err
		}
		if m.Flagged {
			return audit.Record(ctx, tx, audit.Entry{At: now, Actor: audit.System, SubjectType: "ticket", SubjectID: t.ID,
				Action: "ticket.message_received", Before: map[string]any{"status": before},
				After: map[string]any{"status": t.Status, "message": m.ID, "flagged": true}})
		}
		return audit.Record(ctx, tx, audit.Entry{At: now, Actor: audit.Actor{ID: t.CustomerID, Role: "customer"},
			SubjectType: "ticket", SubjectID: t.ID, Action: "ticket.message_received",
			Before: map[string]any{"status": before}, After: map[string]any{"status": t.Status, "message": m.ID}})
	})
	if err != nil && !errors.Is(err, errDuplicate) && db.IsUniqueViolation(err) && in.MessageID != "" {
		// Stored meanwhile by another delivery (the same mail by SMTP and
		// IMAP at once): a duplicate if it was this mail. Another
		// sender's under the same id fails this delivery, to be filed
		// under an id of its own when its sender retries.
		if id, dup, qerr := storageID(ctx, s.db.Read, in.MessageID, from); qerr == nil && dup {
			storedID, err = id, errDuplicate
		}
	}
	if errors.Is(err, errDuplicate) {
		var ticketID string
		if qerr := s.db.Read.QueryRowContext(ctx, `SELECT ticket_id FROM ticket_messages WHERE message_id = $1`, storedID).Scan(&ticketID); qerr != nil {
			return Ticket{}, Result{}, err
		}
		t, err := s.Get(ctx, ticketID)
		return t, Result{Outcome: OutcomeDuplicate}, err
	}
	if err != nil {
		return Ticket{}, Result{}, err
	}
	return t, res, nil
}

// storageID says under which Message-ID an inbound message with id from
// sender from is stored, and whether it already is (dup). A Message-ID is
// meant to name one mail, and most often does: stored from the same
// sender, or sent by the desk itself (its own mail come back), it is this
// mail delivered again. But mail programs that give every mail the same
// id exist (<1@localhost>), and another sender's mail under the id is not
// this one: taken for a duplicate, it was dropped. It is stored under an
// id derived from the id and its sender, the same for each of its own
// deliveries.
func storageID(ctx context.Context, q db.Querier, id, from string) (stored string, dup bool, err error) {
	var direction, storedFrom string
	err = q.QueryRowContext(ctx, `SELECT direction, from_email FROM ticket_messages WHERE message_id = $1`, id).Scan(&direction, &storedFrom)
	if errors.Is(err, sql.ErrNoRows) {
		return id, false, nil
	}
	if err != nil {
		return "", false, wrapDB("find duplicate", err)
	}
	if direction != DirectionIn || strings.EqualFold(storedFrom, from) {
		return id, true, nil
	}
	sum := sha256.Sum256([]byte(id + "\x00" + strings.ToLower(from)))
	other := "<" + hex.EncodeToString(sum[:16]) + "@" + inbound.SyntheticIDDomain + ">"
	var n int
	if err := q.QueryRowContext(ctx, `SELECT COUNT(*) FROM ticket_messages WHERE message_id = $1`, other).Scan(&n); err != nil {
		return "", false, wrapDB("find duplicate", err)
	}
	return other, n > 0, nil
}

// mayAnswer reports whether an acknowledgement may go back to the sender:
// never to an auto-reply or a bounce, nor to an address we could not parse,
// nor to ourselves (a mail loop).
func (s *Service) mayAnswer(in InboundMessage, from string) bool {
	if in.AutoReply || from == "" {
		return false
	}
	a, err := netmail.ParseAddress(from)
	if err != nil || a.Address != from || strings.ContainsAny(from, "\r\n") {
		return false
	}
	_, domain, _ := strings.Cut(strings.ToLower(from), "@")
	return domain != s.supportDomain
}

// guestLangTx is the language of a ticket opened by email from an address
// without an account: the one its last ticket was in (chosen on the
// Contact page, or learnt so), else the one the mail says it is written
// in (mailLang), else the store's default.
func (s *Service) guestLangTx(ctx context.Context, tx *sql.Tx, email, mailLang string) (string, error) {
	if email != "" {
		sameEmail, args := db.LowerIn("customer_email", 1, email)
		var lang string
		err := tx.QueryRowContext(ctx, `SELECT lang FROM tickets WHERE customer_id IS NULL AND `+sameEmail+`
			ORDER BY created_at DESC, id DESC LIMIT 1`, args...).Scan(&lang)
		if err == nil {
			return lang, nil
		}
		if !errors.Is(err, sql.ErrNoRows) {
			return "", wrapDB("read guest's language", err)
		}
	}
	if mailLang == "fr" || mailLang == "en" {
		return mailLang, nil
	}
	return s.opts.DefaultLang, nil
}

// MaxAcksPerHour is how many tickets opened by email from one address in
// an hour are acknowledged; later ones are filed unanswered.
const MaxAcksPerHour = 3

// underAckLimitTx reports whether the ticket t just opened by email may be
// acknowledged: not when its address opened MaxAcksPerHour tickets by
// email in the hour before. An autoresponder that marks its answers as
// nothing automatic and threads them nowhere (a fresh subject, no
// In-Reply-To) would otherwise answer each acknowledgement with a new
// ticket, and be answered, without end; and mail sent in bulk under
// someone else's address would have the store write to that person as
// many times. RFC 3834 asks an automatic responder to answer one sender
// once in a while; the tickets are all kept.
func (s *Service) underAckLimitTx(ctx context.Context, tx *sql.Tx, t Ticket, now time.Time) (bool, error) {
	q, args := `SELECT COUNT(*) FROM tickets WHERE customer_id = $1 AND topic = $2 AND created_at > $3`,
		[]any{t.CustomerID, TopicEmail, now.Add(-time.Hour).UTC()}
	if t.CustomerID == "" {
		sameEmail, emails := db.LowerIn("customer_email", 3, t.CustomerEmail)
		q = `SELECT COUNT(*) FROM tickets WHERE customer_id IS NULL AND ` + sameEmail + ` AND topic = $1 AND created_at > $2`
		args = append([]any{TopicEmail, now.Add(-time.Hour).UTC()}, emails...)
	}
	var n int
	if err := tx.QueryRowContext(ctx, q, args...).Scan(&n); err != nil {
		return false, wrapDB("count recent tickets", err)
	}
	return n <= MaxAcksPerHour, nil // n counts t itself
}

// thread finds the ticket an inbound message belongs to. mailed says it
// answers a mail the desk sent about the ticket: threaded by that mail's
// Message-ID or by the ticket's reply address, which only the mail's
// recipient was given (a subject's reference is shown to others).
func (s *Service) thread(ctx context.Context, tx *sql.Tx, in InboundMessage) (ticketID, by string, mailed bool, err error) {
	ids := msgIDs(in.InReplyTo)
	refs := msgIDs(in.References...)
	for i := len(refs) - 1; i >= 0 && len(ids) < 100; i-- {
		ids = append(ids, refs[i])
	}
	for _, mid := range ids {
		var direction string
		err := tx.QueryRowContext(ctx, `SELECT ticket_id, direction FROM ticket_messages WHERE message_id = $1 AND direction IN ('in', 'out')`,
			mid).Scan(&ticketID, &direction)
		if err == nil {
			return ticketID, ByMessageID, direction == DirectionOut, nil
		}
		if !errors.Is(err, sql.ErrNoRows) {
			return "", "", false, wrapDB("thread by Message-ID", err)
		}
	}
	if tok := s.replyToken(in); tok != "" {
		err := tx.QueryRowContext(ctx, `SELECT id FROM tickets WHERE reply_token = $1`, tok).Scan(&ticketID)
		if err == nil {
			return ticketID, ByReplyToken, true, nil
		}
		if !errors.Is(err, sql.ErrNoRows) {
			return "", "", false, wrapDB("thread by reply token", err)
		}
	}
	ref := strings.ToUpper(strings.TrimSpace(in.SubjectReference))
	if ref == "" {
		ref = SubjectReference(in.Subject)
	}
	if ref != "" {
		err := tx.QueryRowContext(ctx, `SELECT id FROM tickets WHERE reference = $1`, ref).Scan(&ticketID)
		if err == nil {
			return ticketID, BySubject, false, nil
		}
		if !errors.Is(err, sql.ErrNoRows) {
			return "", "", false, wrapDB("thread by subject", err)
		}
	}
	return "", "", false, nil
}

// customerMessageTx reopens the ticket on a message from its customer and
// restarts the SLA.
func (s *Service) customerMessageTx(ctx context.Context, tx *sql.Tx, t Ticket, now time.Time) (Ticket, error) {
	if err := setStatusTx(ctx, tx, t.ID, StatusOpen, now); err != nil {
		return Ticket{}, err
	}
	if err := s.addEventTx(ctx, tx, t.ID, EventCustomer, now); err != nil {
		return Ticket{}, err
	}
	return getTicket(ctx, tx, t.ID)
}

// ReplyAsCustomer adds a message written on the customer portal to one of
// the customer's tickets: the same thread as a reply by email.
func (s *Service) ReplyAsCustomer(ctx context.Context, customerID, ticketID, text string, attachments []Attachment) (Ticket, error) {
	return s.ReplyAsCustomerThen(ctx, customerID, ticketID, text, attachments, nil)
}

// ReplyAsCustomerThen is ReplyAsCustomer with after, when set, run in the
// reply's transaction (the portal's form key: the form sent twice is one
// message). An error rolls the reply back.
func (s *Service) ReplyAsCustomerThen(ctx context.Context, customerID, ticketID, text string, attachments []Attachment,
	after func(ctx context.Context, tx *sql.Tx, t Ticket) error) (Ticket, error) {
	if err := checkReply(text, attachments); err != nil {
		return Ticket{}, err
	}
	var t Ticket
	err := s.db.Tx(ctx, func(tx *sql.Tx) error {
		var err error
		if t, err = s.pageReplyTx(ctx, tx, ticketID, audit.Actor{ID: customerID, Role: "customer"}, text, attachments, "portal"); err != nil || after == nil {
			return err
		}
		return after(ctx, tx, t)
	})
	return t, err
}

func checkReply(text string, attachments []Attachment) error {
	fields := map[string]string{}
	checkText(fields, "message", text)
	checkAttachments(fields, attachments)
	if len(fields) > 0 {
		return &ValidationError{Fields: fields}
	}
	return nil
}

// pageReplyTx records a customer's message written on a page (the portal,
// or a guest link when actor has no ID): from the ticket's address, then
// the ticket reopens and its SLA restarts, as for a reply by email. A
// customer reaches only their own tickets; a guest link was checked by the
// caller.
func (s *Service) pageReplyTx(ctx context.Context, tx *sql.Tx, ticketID string, actor audit.Actor, text string, attachments []Attachment, via string) (Ticket, error) {
	t, err := lockTicketTx(ctx, tx, ticketID)
	if err != nil {
		return Ticket{}, err
	}
	if actor.ID != "" && t.CustomerID != actor.ID || actor.ID == "" && via != "guest_link" {
		return Ticket{}, ErrNotFound
	}
	actor.ID = t.CustomerID // a guest link of a ticket since linked to its account
	now := s.clock.Now()
	m := Message{TicketID: t.ID, Direction: DirectionIn, FromEmail: t.CustomerEmail, Text: text, CreatedAt: now, Attachments: attachments,
		Lang: t.Lang}
	if err := insertMessageTx(ctx, tx, &m, nil); err != nil {
		return Ticket{}, err
	}
	before := t.Status
	if t, err = s.customerMessageTx(ctx, tx, t, now); err != nil {
		return Ticket{}, err
	}
	return t, audit.Record(ctx, tx, audit.Entry{At: now, Actor: actor,
		SubjectType: "ticket", SubjectID: t.ID, Action: "ticket.message_received",
		Before: map[string]any{"status": before}, After: map[string]any{"status": t.Status, "message": m.ID, "via": via}})
}
