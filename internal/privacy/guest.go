package privacy

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"

	"comptoir/internal/account"
	"comptoir/internal/audit"
	"comptoir/internal/db"
	"comptoir/internal/desk"
	"comptoir/internal/mail"
)

// A guest is someone who wrote to the store (the contact form, an email)
// without an account: what the store holds about them is their tickets and
// the mail sent to their address. They have the same rights as a customer,
// which an admin exercises for them, on a request received from that
// address, from the customers' data page.

// ErrHasAccount: the address is a customer's, whose data goes through their
// account (Export, Erase), never through the guest path.
var ErrHasAccount = errors.New("privacy: that address has an account")

// GuestData counts what the store holds about the guest who wrote from
// email: tickets opened as a guest, and mail sent to the address.
type GuestData struct {
	Tickets int
	Mails   int
}

// Empty reports whether nothing is held.
func (g GuestData) Empty() bool { return g.Tickets == 0 && g.Mails == 0 }

// Guest counts what is held about the guest address email (none for an
// address that is not one).
func (s *Service) Guest(ctx context.Context, email string) (GuestData, error) {
	var g GuestData
	email = strings.TrimSpace(email)
	if email == "" || !db.ValidText(email) {
		return g, nil
	}
	// $1, the account's id in byAddress, is no account's: only the
	// address's guest tickets and mail match.
	tickets, toThem, args := byAddress(email)
	all := append([]any{""}, args...)
	if err := s.db.Read.QueryRowContext(ctx, `SELECT COUNT(*) FROM tickets WHERE id IN `+tickets, all...).Scan(&g.Tickets); err != nil {
		return g, fmt.Errorf("privacy: guest tickets: %w", err)
	}
	if err := s.db.Read.QueryRowContext(ctx, `SELECT COUNT(*) FROM outgoing_mail WHERE `+toThem, all...).Scan(&g.Mails); err != nil {
		return g, fmt.Errorf("privacy: guest mail: %w", err)
	}
	return g, nil
}

// ExportGuest reads what is held about the guest address email (its
// tickets, their messages, attachments' names and surveys, and the mail
// sent to it) in the export's format, with the address alone as account,
// and records in the audit log who took it. ErrHasAccount when a customer
// has that address.
func (s *Service) ExportGuest(ctx context.Context, email string, by audit.Actor) (*Export, error) {
	email = strings.TrimSpace(email)
	if err := s.noAccount(ctx, s.db.Read, email); err != nil {
		return nil, err
	}
	e := &Export{Format: ExportFormat, Version: ExportVersion, GeneratedAt: s.clock.Now().UTC(), Account: Record{"email": email}}
	tickets, toThem, args := byAddress(email)
	// No account's id as $1: only the address's guest tickets and mail.
	if err := readSections(ctx, s.db.Read, deskSections(e, tickets, toThem), "", args); err != nil {
		return nil, err
	}
	err := s.db.Tx(ctx, func(tx *sql.Tx) error {
		return audit.Record(ctx, tx, audit.Entry{At: e.GeneratedAt, Actor: by, SubjectType: "guest", SubjectID: guestSubject(e),
			Action: "data_exported", After: map[string]any{"format": ExportFormat, "version": ExportVersion,
				"tickets": len(e.Tickets), "mails": len(e.Mail)}})
	})
	if err != nil {
		return nil, err
	}
	return e, nil
}

// EraseGuest erases what is held about the guest address email, as Erase
// does for a customer's tickets and mail: the tickets' content and the
// address blanked, attachments and guest links deleted, the mail to the
// address erased; the files follow the commit (a job retries). An admin
// does it on a request received from that address. ErrHasAccount when a
// customer has that address.
func (s *Service) EraseGuest(ctx context.Context, email string, by audit.Actor) (Erasure, error) {
	email = strings.TrimSpace(email)
	res := Erasure{Reason: ReasonOnBehalf}
	var scrub ScrubArgs
	now := s.clock.Now().UTC()
	err := s.db.Tx(ctx, func(tx *sql.Tx) error {
		scrub = ScrubArgs{}
		if err := s.noAccount(ctx, tx, email); err != nil {
			return err
		}
		tickets, err := desk.EraseCustomerTx(ctx, tx, "", email, now)
		if err != nil {
			return err
		}
		mails, err := mail.EraseRecipientTx(ctx, tx, "", email)
		if err != nil {
			return err
		}
		scrub.BlobKeys = tickets.BlobKeys
		scrub.MailIDs = union(mails, tickets.MailIDs)
		if err := forgetMailJobsTx(ctx, tx, scrub.MailIDs); err != nil {
			return err
		}
		res.Files, res.Mails = len(scrub.BlobKeys), len(scrub.MailIDs)
		if err := audit.Record(ctx, tx, audit.Entry{At: now, Actor: by, SubjectType: "guest", SubjectID: "erased",
			Action: "erased", After: map[string]any{"reason": ReasonOnBehalf, "files": res.Files, "mails": res.Mails}}); err != nil {
			return err
		}
		return s.scheduleScrubTx(ctx, tx, scrub)
	})
	if err != nil {
		return Erasure{}, err
	}
	res.Scrubbed = s.scrubNow(ctx, scrub, "a guest's erasure")
	return res, nil
}

// noAccount refuses an address that is a customer's (or anyone's):
// ErrHasAccount.
func (s *Service) noAccount(ctx context.Context, q db.Querier, email string) error {
	_, err := account.UserByEmailTx(ctx, q, email)
	switch {
	case err == nil:
		return ErrHasAccount
	case errors.Is(err, account.ErrNotFound):
		return nil
	}
	return err
}

// guestSubject names a guest in the audit log without their address: the
// first of their tickets, or "mail" when only mail was held.
func guestSubject(e *Export) string {
	if len(e.Tickets) > 0 {
		if id, ok := e.Tickets[0]["id"].(string); ok {
			return id
		}
	}
	return "mail"
}
