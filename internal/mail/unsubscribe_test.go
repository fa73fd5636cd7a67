package mail_test

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"strings"
	"testing"

	"comptoir/internal/mail"
)

// A satisfaction survey carries its stop link as List-Unsubscribe, with
// RFC 8058's one-click List-Unsubscribe-Post over HTTPS. The link is the
// message's own (Message.ListUnsubscribe, stored with it), not read back
// from its text: before, compose took the text's last line, so a survey
// whose text ended otherwise (a footer below the link) lost the header,
// and any mail of the survey's kind ending with such a line got one. A
// mail without a link carries none, whatever its text ends with; a link
// that is no http or https URL, or holds a line break, is refused.
func TestSurveyMailOffersOneClickUnsubscribe(t *testing.T) {
	ctx := context.Background()
	d, _, o := outboxOnly(t)
	head := func(m mail.Message) string {
		t.Helper()
		var msgID string
		if err := d.Tx(ctx, func(tx *sql.Tx) (err error) {
			msgID, err = o.EnqueueTx(ctx, tx, m)
			return err
		}); err != nil {
			t.Fatal(err)
		}
		var raw bytes.Buffer
		if err := mail.WriteMessage(&raw, get(t, o, msgID)); err != nil {
			t.Fatal(err)
		}
		h, _, _ := strings.Cut(raw.String(), "\r\n\r\n")
		return h + "\r\n"
	}
	survey := func(link, text string) mail.Message {
		return mail.Message{Kind: "ticket_survey", To: "zoe@example.org", Lang: "fr", Subject: "Votre avis", Text: text, ListUnsubscribe: link}
	}
	// The link above a last line of something else.
	h := head(survey("https://shop.example/survey/ABC/stop", "Pour ne plus en recevoir :\nhttps://shop.example/survey/ABC/stop\n\n-- \nL'équipe Comptoir\n"))
	for _, want := range []string{"List-Unsubscribe: <https://shop.example/survey/ABC/stop>\r\n", "List-Unsubscribe-Post: List-Unsubscribe=One-Click\r\n"} {
		if !strings.Contains(h, want) {
			t.Errorf("the survey's header lacks %q:\n%s", want, h)
		}
	}
	// Over HTTP (a store without TLS) no one-click POST: a link to open.
	h = head(survey("http://shop.example/survey/ABC/stop", "Merci.\n"))
	if !strings.Contains(h, "List-Unsubscribe: <http://shop.example/survey/ABC/stop>\r\n") || strings.Contains(h, "List-Unsubscribe-Post") {
		t.Errorf("over HTTP:\n%s", h)
	}
	// No link, though the text ends with one: no header.
	stopLast := "Pour ne plus en recevoir :\nhttps://shop.example/survey/ABC/stop\n"
	for _, m := range []mail.Message{survey("", stopLast), {Kind: "ticket_reply", To: "zoe@example.org", Lang: "fr", Subject: "Re", Text: stopLast}, plainMessage("a@example.net")} {
		if h := head(m); strings.Contains(h, "List-Unsubscribe") {
			t.Errorf("%s: a List-Unsubscribe where none belongs:\n%s", m.Kind, h)
		}
	}
	for _, bad := range []string{"https://shop.example/stop\r\nBcc: x@example.net", "mailto:stop@shop.example", "/survey/ABC/stop", "https://shop.example/a b"} {
		err := d.Tx(ctx, func(tx *sql.Tx) error {
			_, err := o.EnqueueTx(ctx, tx, survey(bad, "Merci.\n"))
			return err
		})
		if !errors.Is(err, mail.ErrInvalid) {
			t.Errorf("ListUnsubscribe %q: %v, want ErrInvalid", bad, err)
		}
	}
}
