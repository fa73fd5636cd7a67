package desk

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/base64"
	"errors"
	"time"

	"comptoir/internal/account"
	"comptoir/internal/audit"
)

// Guest ticket links. A guest (no account) follows a ticket through
// /support/t/<token>: every email to a guest about a ticket (the
// acknowledgement, each answer) carries a link with a fresh token. The
// token is 256 random bits, so guessing one is pointless; only its SHA-256
// is stored; it opens its own ticket and nothing else, and keeps working
// while the ticket exists (erasing the ticket removes its tokens, ON DELETE
// CASCADE). Once the guest's tickets are linked to their account (the
// address proved, LinkGuestTicketsTx), the links keep working as before:
// the visitor may not be signed in on the device where they read the mail,
// and the ticket is theirs either way; the emails sent from then on point
// to the portal instead.

// GuestLinkPath is where a guest ticket link points, before the token.
const GuestLinkPath = "/support/t/"

// guestTokenLen is the length of a token: 32 random bytes in unpadded
// base64url.
const guestTokenLen = 43

func newGuestToken() string {
	b := make([]byte, 32)
	rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

// validGuestToken tells a token's shape, so that garbage never reaches the
// database.
func validGuestToken(token string) bool {
	if len(token) != guestTokenLen {
		return false
	}
	_, err := base64.RawURLEncoding.DecodeString(token)
	return err == nil
}

// guestLinkTx mints a token for the ticket and returns the link to put in
// an email.
func (s *Service) guestLinkTx(ctx context.Context, tx *sql.Tx, ticketID string) (string, error) {
	token := newGuestToken()
	if _, err := tx.ExecContext(ctx, `INSERT INTO ticket_guest_links (token_hash, ticket_id, created_at) VALUES ($1, $2, $3)`,
		hashToken(token), ticketID, s.clock.Now()); err != nil {
		return "", wrapDB("store guest link", err)
	}
	return s.opts.BaseURL + GuestLinkPath + token, nil
}

// ticketLinkTx is the link an email about the ticket carries: the portal
// for a customer's ticket, a fresh guest link for a guest's.
func (s *Service) ticketLinkTx(ctx context.Context, tx *sql.Tx, t Ticket) (string, error) {
	if t.CustomerID != "" {
		return s.opts.BaseURL + "/support/tickets/" + t.ID, nil
	}
	if !validRecipient(t.CustomerEmail) || t.Erased() {
		// No email will carry it, or the ticket was erased: a new link
		// would bring back what the erasure deleted.
		return "", nil
	}
	return s.guestLinkTx(ctx, tx, t.ID)
}

func guestTicketID(ctx context.Context, q interface {
	QueryRowContext(context.Context, string, ...any) *sql.Row
}, token string) (string, error) {
	if !validGuestToken(token) {
		return "", ErrNotFound
	}
	var ticketID string
	err := q.QueryRowContext(ctx, `SELECT ticket_id FROM ticket_guest_links WHERE token_hash = $1`, hashToken(token)).Scan(&ticketID)
	if errors.Is(err, sql.ErrNoRows) {
		return "", ErrNotFound
	}
	return ticketID, wrapDB("read guest link", err)
}

// GuestTicket returns the ticket a guest link opens; an unknown token is
// ErrNotFound.
func (s *Service) GuestTicket(ctx context.Context, token string) (Ticket, error) {
	ticketID, err := guestTicketID(ctx, s.db.Read, token)
	if err != nil {
		return Ticket{}, err
	}
	return getTicket(ctx, s.db.Read, ticketID)
}

// ReplyAsGuest adds a message written on a guest ticket page: the same
// thread and the same effects as a reply by email from the ticket's
// address (the ticket reopens and its SLA restarts, so it is back in the
// agents' queue with a reply due).
func (s *Service) ReplyAsGuest(ctx context.Context, token, text string, attachments []Attachment) (Ticket, error) {
	return s.ReplyAsGuestThen(ctx, token, text, attachments, nil)
}

// ReplyAsGuestThen is ReplyAsGuest with after, when set, run in the
// reply's transaction (the page's form key: the form sent twice is one
// message). An error rolls the reply back.
func (s *Service) ReplyAsGuestThen(ctx context.Context, token, text string, attachments []Attachment,
	after func(ctx context.Context, tx *sql.Tx, t Ticket) error) (Ticket, error) {
	if err := checkReply(text, attachments); err != nil {
		return Ticket{}, err
	}
	var t Ticket
	err := s.db.Tx(ctx, func(tx *sql.Tx) error {
		ticketID, err := guestTicketID(ctx, tx, token)
		if err != nil {
			return err
		}
		if t, err = s.pageReplyTx(ctx, tx, ticketID, audit.Actor{Role: "customer"}, text, attachments, "guest_link"); err != nil || after == nil {
			return err
		}
		return after(ctx, tx, t)
	})
	return t, err
}

// ConfirmAsGuest records that the guest who followed a link mailed to a
// Contact form ticket's address (token) confirms they wrote it: whoever
// reads the mailbox vouches for it, as the trusted mail server vouches for
// a mail. A deliberate form, never the link alone, which mail scanners
// follow by themselves. What the confirmation does is confirmTx's; a
// reply by mail to the ticket's mail confirms it the same way (Receive).
func (s *Service) ConfirmAsGuest(ctx context.Context, token string) (Ticket, error) {
	var t Ticket
	err := s.db.Tx(ctx, func(tx *sql.Tx) error {
		ticketID, err := guestTicketID(ctx, tx, token)
		if err != nil {
			return err
		}
		t, err = s.confirmTx(ctx, tx, ticketID, "guest_link")
		return err
	})
	return t, err
}

// confirmTx records that whoever reads the address of a Contact form
// ticket awaiting confirmation confirms it, through via ("guest_link":
// the button of the page a mailed link opens; "email": a reply to the
// ticket's mail, verified from the address). The ticket and the messages
// the form and the mailbox's links wrote are then the address's (an
// unverified mail threaded on it stays flagged), and the ticket joins the
// address's account if that account already proved it reads the address,
// or when it does (LinkGuestTicketsTx). A ticket that awaits no
// confirmation (a mail's, one confirmed already, an erased one) is left
// as it is. It returns the ticket as it stands.
func (s *Service) confirmTx(ctx context.Context, tx *sql.Tx, ticketID, via string) (Ticket, error) {
	t, err := lockTicketTx(ctx, tx, ticketID)
	if err != nil || !t.AwaitsConfirmation() || t.Erased() {
		return t, err
	}
	now := s.clock.Now()
	// The conditional update decides: a confirmation sent twice at
	// once records one.
	res, err := tx.ExecContext(ctx, `UPDATE tickets SET sender_unverified = FALSE, updated_at = $1
		WHERE id = $2 AND sender_unverified AND topic <> $3`, now, t.ID, TopicEmail)
	if err != nil {
		return Ticket{}, wrapDB("confirm ticket", err)
	}
	if n, err := res.RowsAffected(); err != nil || n == 0 {
		return t, wrapDB("confirm ticket", err)
	}
	// Written on a page (no raw mail): the form's message. A mail is
	// kept raw, so one that came unverified stays so.
	if _, err := tx.ExecContext(ctx, `UPDATE ticket_messages SET sender_unverified = FALSE
		WHERE ticket_id = $1 AND sender_unverified AND raw IS NULL AND message_id IS NULL`, t.ID); err != nil {
		return Ticket{}, wrapDB("confirm messages", err)
	}
	if err := audit.Record(ctx, tx, audit.Entry{At: now, Actor: audit.Actor{Role: "customer"}, SubjectType: "ticket", SubjectID: t.ID,
		Action: "ticket.sender_confirmed", Before: map[string]any{"sender_unverified": true},
		After: map[string]any{"sender_unverified": false, "via": via}}); err != nil {
		return Ticket{}, err
	}
	if err := s.linkConfirmedTx(ctx, tx, t, now); err != nil {
		return Ticket{}, err
	}
	return getTicket(ctx, tx, t.ID)
}

// linkConfirmedTx gives a just confirmed guest ticket to the account of its
// address when that account already proved it reads it, as the proof did
// with the address's other tickets (LinkGuestTicketsTx); otherwise the
// proof, when it comes, links it.
func (s *Service) linkConfirmedTx(ctx context.Context, tx *sql.Tx, t Ticket, now time.Time) error {
	if s.opts.Customers == nil || t.CustomerID != "" {
		return nil
	}
	// Through tx: the transaction holds its connection, and a second one
	// from the pool may never come while every connection is held so.
	u, err := account.UserByEmailTx(ctx, tx, t.CustomerEmail)
	if errors.Is(err, account.ErrNotFound) {
		return nil
	}
	if err != nil {
		return wrapDB("find the address's account", err)
	}
	if proven, err := account.AddressProvenTx(ctx, tx, u.ID); err != nil || !proven {
		return err
	}
	_, err = LinkGuestTicketsTx(ctx, tx, u, now)
	return err
}
