package mail_test

import (
	"context"
	"database/sql"
	"slices"
	"testing"

	"comptoir/internal/clock"
	"comptoir/internal/db/dbtest"
	"comptoir/internal/mail"
)

// EraseRecipientTx erases the mail sent to the customer and the staff mail
// quoting their address in either body, whatever its case, and looks for
// the address literally: erasing a_b@x.fr leaves the mail of axb@x.fr (and
// the staff mail quoting it) whole, though LIKE reads _ as any character.
func TestEraseRecipientTxMatchesTheAddressLiterally(t *testing.T) {
	ctx := context.Background()
	d := dbtest.Open(t)
	o := newOutbox(t, d, insertOnly(t, d), clock.NewManual(start))
	staff := func(text, html string) mail.Message {
		return mail.Message{Kind: "staff_notice", To: "support@shop.example", Lang: "fr", Subject: "Client", Text: text, HTML: html}
	}
	erased := map[string]string{
		"to a_b":              enqueue(t, d, o, mail.Message{Kind: "welcome", To: "a_b@x.fr", Lang: "fr", Subject: "Bienvenue", Text: "Bonjour.\n"}),
		"to usr_ab":           enqueue(t, d, o, mail.Message{Kind: "welcome", To: "autre@x.fr", Lang: "fr", Subject: "Bienvenue", Text: "Bonjour.\n", UserID: "usr_ab"}),
		"quoting A_B":         enqueue(t, d, o, staff("Le client A_B@X.fr écrit.\n", "")),
		"quoting a_b in html": enqueue(t, d, o, staff("Un client écrit.\n", "<p>Le client a_b@x.fr écrit.</p>")),
	}
	kept := map[string]string{
		"to axb":       enqueue(t, d, o, mail.Message{Kind: "welcome", To: "axb@x.fr", Lang: "fr", Subject: "Bienvenue", Text: "Bonjour axb@x.fr.\n", HTML: "<p>axb@x.fr</p>", UserID: "usrXab"}),
		"quoting axb":  enqueue(t, d, o, staff("Le client AXB@x.fr écrit.\n", "<p>Le client axb@x.fr écrit.</p>")),
		"quoting a%b":  enqueue(t, d, o, staff("Le client a%b@x.fr écrit.\n", "")),
		"quoting a__b": enqueue(t, d, o, staff("Le client a__b@x.fr écrit.\n", "")),
	}
	before := map[string]mail.Stored{}
	for _, id := range kept {
		before[id] = get(t, o, id)
	}
	var ids []string
	if err := d.Tx(ctx, func(tx *sql.Tx) error {
		var err error
		ids, err = mail.EraseRecipientTx(ctx, tx, "usr_ab", " A_B@x.fr ")
		return err
	}); err != nil {
		t.Fatal(err)
	}
	for name, id := range erased {
		if !slices.Contains(ids, id) {
			t.Errorf("the mail %s is not among the erased %q", name, ids)
		}
		if m := get(t, o, id); m.Subject != "erased" || m.Text != "" || m.HTML != "" {
			t.Errorf("the mail %s is left: %+v", name, m)
		}
	}
	if m := get(t, o, erased["to a_b"]); m.To != mail.ErasedAddress {
		t.Errorf("the recipient a_b@x.fr is left: %q", m.To)
	}
	for name, id := range kept {
		if slices.Contains(ids, id) {
			t.Errorf("the mail %s is among the erased", name)
		}
		if m, was := get(t, o, id), before[id]; m.To != was.To || m.Subject != was.Subject || m.Text != was.Text || m.HTML != was.HTML || m.Status != was.Status {
			t.Errorf("the mail %s changed: %+v, was %+v", name, m, was)
		}
	}
	if len(ids) != len(erased) {
		t.Errorf("%d mails erased, want %d: %q", len(ids), len(erased), ids)
	}
}
