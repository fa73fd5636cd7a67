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

// The reference is matched as itself: ids hold underscores, which LIKE
// reads as "any character", so ord_ab must not find a mail about ordXab.
func TestMentioningTxLiteral(t *testing.T) {
	ctx := context.Background()
	d := dbtest.Open(t)
	clk := clock.NewManual(start)
	o := newOutbox(t, d, insertOnly(t, d), clk)
	for _, text := range []string{"Commande ord_ab confirmée.\n", "Commande ordXab confirmée.\n", "Commande ord%ab confirmée.\n"} {
		enqueue(t, d, o, mail.Message{Kind: "order_confirmation", To: "ana@example.fr", Lang: "fr", Subject: "c", Text: text, UserID: "usr_a"})
		clk.Advance(time.Minute)
	}
	tx, err := d.Read.BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback()
	for ref, want := range map[string]string{"ord_ab": "Commande ord_ab confirmée.\n", "ord%ab": "Commande ord%ab confirmée.\n"} {
		got, err := mail.MentioningTx(ctx, tx, "usr_a", "order_confirmation", ref)
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != 1 || got[0].Text != want {
			var texts []string
			for _, m := range got {
				texts = append(texts, m.Text)
			}
			t.Errorf("mentioning %s: %q, want only %q", ref, texts, want)
		}
	}
}

// Messages stored in the same instant come back in the order of their
// ids, whatever order the engine finds them in (the dispute evidence lists
// them, and two readings of it must agree). Before, they were ordered by
// created_at alone, and these, stored last id first, came back as stored.
func TestMentioningTxBreaksTiesByID(t *testing.T) {
	ctx := context.Background()
	d := dbtest.Open(t)
	at := start.UTC()
	for _, n := range []string{"3", "1", "2"} {
		var contentID int64
		if err := d.Write.QueryRowContext(ctx, `INSERT INTO outgoing_mail_content (subject, text_body, html_body, refs)
			VALUES ('c', $1, '', '') RETURNING content_id`, "Commande ord_1, message "+n+".\n").Scan(&contentID); err != nil {
			t.Fatal(err)
		}
		if _, err := d.Write.ExecContext(ctx, `INSERT INTO outgoing_mail (id, kind, user_id, from_addr, to_addr, message_id, status,
			created_at, content_id) VALUES ($1, 'order_confirmation', 'usr_a', 'shop@example.fr', 'ana@example.fr', $2, 'queued', $3, $4)`,
			"msg_tie"+n, "<msg_tie"+n+"@example.fr>", at, contentID); err != nil {
			t.Fatal(err)
		}
	}
	got, err := mail.MentioningTx(ctx, d.Read, "usr_a", "order_confirmation", "ord_1")
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, m := range got {
		ids = append(ids, m.ID)
	}
	if len(ids) != 3 || ids[0] != "msg_tie1" || ids[1] != "msg_tie2" || ids[2] != "msg_tie3" {
		t.Fatalf("messages of one instant: %v, want msg_tie1, 2, 3", ids)
	}
}
