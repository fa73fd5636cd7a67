package web_test

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"comptoir/internal/apptest"
	"comptoir/internal/mail"
)

// A Unicode line or paragraph separator in the Contact form's name or topic
// is a line break as far as mail headers go: the form refuses it as it
// refuses CR and LF, in the visitor's language, and stores nothing (before,
// the acknowledgement was refused when queued and the visitor got a 500).
func TestContactRefusesUnicodeLineSeparators(t *testing.T) {
	h := apptest.Start(t)
	c := h.NewClient(t)
	c.Lang = "en"
	for _, sep := range []string{"\u2028", "\u2029"} {
		r := c.PostForm("/contact", url.Values{"name": {"Ana" + sep + "Bcc: x@evil.test"}, "email": {"ana@example.fr"},
			"topic": {"order"}, "message": {"Where is my order?"}})
		if r.Status != http.StatusUnprocessableEntity || !strings.Contains(r.Body, `id="name-error"`) {
			t.Fatalf("form, name with %U: %d", []rune(sep)[0], r.Status)
		}
		r = c.Send(http.MethodPost, "/api/v1/tickets", "application/json",
			strings.NewReader(`{"name":"Ana`+sep+`Bcc: x@evil.test","email":"ana@example.fr","topic":"order","message":"Where?"}`), nil)
		if r.Status != http.StatusUnprocessableEntity || !strings.Contains(r.Body, `"name"`) {
			t.Fatalf("API, name with %U: %d %s", []rune(sep)[0], r.Status, r.Body)
		}
	}
	if acks, _ := h.App.Outbox.List(context.Background(), mail.Filter{Kind: "ticket_ack"}); len(acks) != 0 {
		t.Fatalf("%d acknowledgements queued", len(acks))
	}
	var tickets int
	if err := h.App.DB.Read.QueryRow(`SELECT COUNT(*) FROM tickets`).Scan(&tickets); err != nil || tickets != 0 {
		t.Fatalf("%d tickets stored (%v)", tickets, err)
	}
}
