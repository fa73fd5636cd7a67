package desk

import (
	"context"
	"database/sql"
	"errors"
	netmail "net/mail"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"

	"comptoir/internal/account"
	"comptoir/internal/audit"
	"comptoir/internal/id"
	"comptoir/internal/mail"
)

// Input limits.
const (
	MaxNameLen        = 200
	MaxEmailLen       = 254
	MaxMessageLen     = 20000
	MaxAttachments    = 10
	MaxFileNameLen    = 255
	maxOrderRefLength = 64
)

// ContactInput is what the Contact page sends.
type ContactInput struct {
	CustomerID  string // the signed-in customer; empty for guests
	Name        string
	Email       string
	OrderRef    string // optional order id ("ord_…")
	Topic       string // one of Topics
	Message     string
	Lang        string // "fr" or "en"; empty is the desk's default
	Attachments []Attachment
	// After, when set, runs in the ticket's transaction once it is
	// written: the Contact page stores its form key there, so that the
	// form sent twice opens one ticket. An error rolls the ticket back.
	After func(ctx context.Context, tx *sql.Tx, t Ticket) error
}

// ackData fills the ticket_ack template.
type ackData struct {
	Name      string
	StoreName string
	Reference string
	PromiseAt string // when the customer will have an answer at the latest
	Link      string // the ticket in the customer portal, or a guest's tokenized link
	// Confirm: a guest's Contact form ticket, which the page Link opens
	// asks them to confirm (Ticket.AwaitsConfirmation).
	Confirm bool
	// TooLarge: the ticket was opened by a message over the size limit,
	// this one as people read it ("25 Mo"), of which only the header
	// came: the acknowledgement says so, and how to send it again.
	TooLarge string
}

// hasControl reports a line break or another control character: what could
// smuggle a header into an email.
func hasControl(s string) bool {
	return strings.IndexFunc(s, unicode.IsControl) >= 0
}

// validBody reports whether text written over several lines (a message,
// a survey comment) is valid UTF-8 whose only control characters are line
// breaks and tabs: a NUL could not even be stored on PostgreSQL.
func validBody(s string) bool {
	return utf8.ValidString(s) && strings.IndexFunc(s, func(r rune) bool { return unicode.IsControl(r) && r != '\n' && r != '\r' && r != '\t' }) < 0
}

func checkLine(fields map[string]string, name, v string, required bool, max int) {
	switch {
	case strings.TrimSpace(v) == "":
		if required {
			fields[name] = "required"
		}
	case strings.ContainsAny(v, "\r\n\u2028\u2029"):
		// U+2028 and U+2029 are not control characters, but mail
		// refuses them in a header as the line breaks they are.
		fields[name] = "line_break"
	case hasControl(v) || !utf8.ValidString(v):
		fields[name] = "invalid"
	case utf8.RuneCountInString(v) > max:
		fields[name] = "too_long"
	}
}

// checkText validates a message body: line breaks and tabs are fine, other
// control characters are not.
func checkText(fields map[string]string, name, v string) {
	switch {
	case strings.TrimSpace(v) == "":
		fields[name] = "required"
	case !validBody(v):
		fields[name] = "invalid"
	case utf8.RuneCountInString(v) > MaxMessageLen:
		fields[name] = "too_long"
	}
}

func checkAttachments(fields map[string]string, as []Attachment) {
	if len(as) > MaxAttachments {
		fields["attachments"] = "too_many"
		return
	}
	for _, a := range as {
		if a.FileName == "" || strings.ContainsAny(a.FileName+a.ContentType+a.BlobKey, "\r\n") || hasControl(a.FileName) ||
			len(a.FileName) > MaxFileNameLen || a.BlobKey == "" || a.Size < 0 {
			fields["attachments"] = "invalid"
			return
		}
	}
}

// CheckContact returns the *ValidationError OpenFromContact would for in's
// fields, or nil, and opens nothing; whether the order named is the
// writer's is not checked (it takes the database). The Contact page asks
// it when a file is refused, so that the visitor hears of every wrong
// field at once.
func (s *Service) CheckContact(in ContactInput) error {
	if fields, _ := s.checkContact(in); len(fields) > 0 {
		return &ValidationError{Fields: fields}
	}
	return nil
}

// checkContact is the fields of in that are wrong, and the ticket's
// language.
func (s *Service) checkContact(in ContactInput) (map[string]string, string) {
	fields := map[string]string{}
	checkLine(fields, "name", in.Name, true, MaxNameLen)
	checkLine(fields, "email", in.Email, true, MaxEmailLen)
	if fields["email"] == "" {
		if a, err := netmail.ParseAddress(in.Email); err != nil || a.Name != "" || a.Address != strings.TrimSpace(in.Email) ||
			mail.IsAddressLiteral(a.Address) {
			fields["email"] = "invalid"
		} else if account.Confusable(a.Address) {
			// Reads as another address (the Kelvin sign for "k", a
			// Cyrillic "а" among Latin letters): its ticket would read as
			// that address's, and answers go where they cannot.
			fields["email"] = "confusable"
		}
	}
	checkLine(fields, "order_ref", in.OrderRef, false, maxOrderRefLength)
	if fields["order_ref"] == "" && in.OrderRef != "" && !id.Valid("ord", strings.TrimSpace(in.OrderRef)) {
		fields["order_ref"] = "invalid"
	}
	checkLine(fields, "topic", in.Topic, true, 64)
	if fields["topic"] == "" && !slices.Contains(Topics, in.Topic) {
		fields["topic"] = "invalid"
	}
	checkText(fields, "message", in.Message)
	lang := in.Lang
	if lang == "" {
		lang = s.opts.DefaultLang
	}
	if lang != "fr" && lang != "en" {
		fields["lang"] = "invalid"
	}
	checkAttachments(fields, in.Attachments)
	return fields, lang
}

// OpenFromContact opens a ticket from the Contact page and sends the
// acknowledgement, with the reference and the time by which the customer
// will have an answer, in their language. Invalid input stores nothing.
func (s *Service) OpenFromContact(ctx context.Context, in ContactInput) (Ticket, error) {
	fields, lang := s.checkContact(in)
	if len(fields) > 0 {
		return Ticket{}, &ValidationError{Fields: fields}
	}
	now := s.clock.Now()
	// A signed-out visitor types any address: until the acknowledgement's
	// link shows they read it (ConfirmAsGuest), the ticket is marked as
	// one a mail opened without the trusted server vouching for it: it
	// joins no account, not even once the address's account proves it,
	// and its message is no evidence nor claim. Any guest's, not only
	// one under an account's address: the address's owner may sign up
	// later (and the page would otherwise tell who has an account).
	guest := in.CustomerID == ""
	t := Ticket{CustomerID: in.CustomerID, CustomerEmail: strings.TrimSpace(in.Email), CustomerName: strings.TrimSpace(in.Name),
		Lang: lang, Topic: in.Topic, OrderID: strings.TrimSpace(in.OrderRef), FirstMessage: now, CreatedAt: now, SenderUnverified: guest}
	err := s.db.Tx(ctx, func(tx *sql.Tx) error {
		if t.OrderID != "" {
			// The order must be the writer's: a signed-in customer's, or
			// for a guest one of the account at the address they write
			// from, where every answer goes. Any order was a guest's to
			// name, so anyone signed out could make the console show
			// another customer's order as their ticket's.
			var owner, ownerEmail string
			err := tx.QueryRowContext(ctx, `SELECT o.customer_id, u.email FROM orders o JOIN users u ON u.id = o.customer_id
				WHERE o.id = $1`, t.OrderID).Scan(&owner, &ownerEmail)
			mine := t.CustomerID != "" && owner == t.CustomerID ||
				t.CustomerID == "" && account.SameEmail(ownerEmail, t.CustomerEmail)
			if errors.Is(err, sql.ErrNoRows) || err == nil && !mine {
				return &ValidationError{Fields: map[string]string{"order_ref": "unknown"}}
			}
			if err != nil {
				return wrapDB("read order", err)
			}
		}
		if err := insertTicketTx(ctx, tx, &t); err != nil {
			return err
		}
		m := Message{TicketID: t.ID, Direction: DirectionIn, FromEmail: t.CustomerEmail, Subject: t.Topic,
			Text: in.Message, CreatedAt: now, Attachments: in.Attachments, Lang: t.Lang, FromUnverified: guest}
		if err := insertMessageTx(ctx, tx, &m, nil); err != nil {
			return err
		}
		if err := s.addEventTx(ctx, tx, t.ID, EventCustomer, now); err != nil {
			return err
		}
		var err error
		if t, err = getTicket(ctx, tx, t.ID); err != nil {
			return err
		}
		if err := s.sendAckTx(ctx, tx, t, "", nil); err != nil {
			return err
		}
		actor := audit.Actor{ID: t.CustomerID, Role: "customer"} // no ID: a guest
		if err := audit.Record(ctx, tx, audit.Entry{At: now, Actor: actor, SubjectType: "ticket", SubjectID: t.ID,
			Action: "ticket.opened", After: map[string]any{"status": t.Status, "topic": t.Topic, "via": "contact", "order_id": t.OrderID}}); err != nil {
			return err
		}
		if in.After != nil {
			return in.After(ctx, tx, t)
		}
		return nil
	})
	if err != nil {
		return Ticket{}, err
	}
	return t, nil
}

func (s *Service) sendAckTx(ctx context.Context, tx *sql.Tx, t Ticket, inReplyTo string, tooLarge *TooLarge) error {
	// A guest's name is whatever the sender typed or put in From, and the
	// acknowledgement goes out at once to an address nobody proved:
	// echoed, it would let anyone have the store mail their words
	// ("Hello <visit this link>,") to anyone. Guests are greeted, and
	// addressed, without it; so are customers whose account never showed
	// it reads its address (anyone can sign up with someone else's, under
	// any name, then write through the Contact form).
	unnamed := t.CustomerID == ""
	if !unnamed {
		proven, err := account.AddressProvenTx(ctx, tx, t.CustomerID)
		if err != nil {
			return err
		}
		unnamed = !proven
	}
	d := ackData{StoreName: s.opts.StoreName, Reference: t.Reference, Confirm: t.AwaitsConfirmation()}
	if !unnamed {
		d.Name = t.CustomerName
	}
	if !t.PromiseAt.IsZero() {
		d.PromiseAt = s.formatTime(t.PromiseAt, t.Lang)
	}
	if tooLarge != nil {
		d.TooLarge = s.opts.Messages.Size(t.Lang, tooLarge.Limit)
	}
	var err error
	if d.Link, err = s.ticketLinkTx(ctx, tx, t); err != nil {
		return err
	}
	o := outgoing{kind: "ticket_ack", data: d, unnamed: unnamed}
	if inReplyTo != "" {
		o.inReplyTo, o.references = inReplyTo, []string{inReplyTo}
	}
	_, err = s.sendTx(ctx, tx, t, o)
	return err
}
