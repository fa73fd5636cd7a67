package desk

import (
	"context"
	"database/sql"
	"strings"
	"time"

	"comptoir/internal/account"
	"comptoir/internal/audit"
	"comptoir/internal/db"
)

// LinkGuestTicketsTx gives a customer the tickets they opened as a guest
// (from the Contact page or by email, before they had an account or while
// signed out) under the same email address, so that those tickets appear in
// their portal. It is safe only once the account owner has proved they read
// that address, which is why account.Options.EmailProven calls it (a
// password set through a reset link): anyone can sign up with someone
// else's email, and linking at sign-up would show them that person's
// tickets. Staff accounts get nothing, and neither does anyone a ticket a
// mail opened under the address without the trusted mail server vouching
// for its From, or a guest's Contact form ticket not yet confirmed from
// the link mailed to the address (Ticket.SenderUnverified): whoever wrote
// it may not be the address's owner. It returns the tickets linked.
func LinkGuestTicketsTx(ctx context.Context, tx *sql.Tx, u account.User, at time.Time) ([]string, error) {
	email := strings.ToLower(strings.TrimSpace(u.Email))
	if u.Role != account.RoleCustomer || u.ID == "" || email == "" {
		return nil, nil
	}
	sameEmail, args := db.LowerIn("customer_email", 3, email) // any case, accents included
	ids, err := db.Strings(ctx, tx, `UPDATE tickets SET customer_id = $1, updated_at = $2
		WHERE customer_id IS NULL AND sender_unverified = FALSE AND `+sameEmail+` RETURNING id`, append([]any{u.ID, at.UTC()}, args...)...)
	if err != nil {
		return nil, wrapDB("link guest tickets", err)
	}
	for _, id := range ids {
		if err := audit.Record(ctx, tx, audit.Entry{At: at.UTC(), Actor: u.Actor(), SubjectType: "ticket", SubjectID: id,
			Action: "ticket.linked_to_account", Before: map[string]any{"customer_id": nil},
			After: map[string]any{"customer_id": u.ID, "proof": "email"}}); err != nil {
			return nil, err
		}
	}
	return ids, nil
}
