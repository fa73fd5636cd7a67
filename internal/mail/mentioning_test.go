package mail_test

import (
	"context"
	"testing"
	"time"

	"comptoir/internal/clock"
	"comptoir/internal/db/dbtest"
	"comptoir/internal/mail"
)

// MentioningTx finds the messages of one kind sent to one user whose text
// names the reference, oldest first; another kind, another user or another
// reference is left out.
func TestMentioningTx(t *testing.T) {
	ctx := context.Background()
	d := dbtest.Open(t)
	clk := clock.NewManual(start)
	o := newOutbox(t, d, insertOnly(t, d), clk)
	send := func(user, kind, text string) {
		t.Helper()
		enqueue(t, d, o, mail.Message{Kind: kind, To: "ana@example.fr", Lang: "fr", Subject: kind, Text: text, UserID: user})
		clk.Advance(time.Minute)
	}
	send("usr_a", "order_confirmation", "Commande ord_2 confirmée.\n")    // the second order
	send("usr_a", "order_confirmation", "Commande ord_1 confirmée.\n")    // first match
	send("usr_a", "order_shipped", "Commande ord_1 livrée.\n")            // another kind
	send("usr_b", "order_confirmation", "Commande ord_1 confirmée.\n")    // another user
	send("usr_a", "order_confirmation", "Rappel : ord_1, toujours là.\n") // second match, later

	tx, err := d.Read.BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback()
	got, err := mail.MentioningTx(ctx, tx, "usr_a", "order_confirmation", "ord_1")
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got[0].Text != "Commande ord_1 confirmée.\n" || got[1].Text != "Rappel : ord_1, toujours là.\n" ||
		!got[0].CreatedAt.Before(got[1].CreatedAt) || got[0].UserID != "usr_a" || got[0].Status != mail.Queued {
		t.Fatalf("mentioning ord_1: %+v", got)
	}
	if none, err := mail.MentioningTx(ctx, tx, "usr_a", "order_confirmation", "ord_3"); err != nil || len(none) != 0 {
		t.Fatalf("mentioning ord_3: %+v %v", none, err)
	}
}
