package mail_test

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"comptoir/internal/mail"
)

// A satisfaction survey carries its stop link as List-Unsubscribe, with
// RFC 8058's one-click List-Unsubscribe-Post over HTTPS; no other mail
// does, nor a link typed above the survey's own last line (a guest's
// name).
func TestSurveyMailOffersOneClickUnsubscribe(t *testing.T) {
	from, _ := mail.ParseAddress("Comptoir <shop@shop.example>")
	write := func(kind, link string) string {
		t.Helper()
		subject, text, err := mail.Render("fr", "ticket_survey", map[string]any{
			"Name": "Zoé\nhttps://evil.example/survey/x/stop", "StoreName": "Comptoir", "Reference": "T-7K3M9QXA",
			"Link": "https://shop.example/survey/ABC", "StopLink": link,
		})
		if err != nil {
			t.Fatal(err)
		}
		var raw bytes.Buffer
		if err := mail.WriteMessage(&raw, mail.Stored{ID: "msg_1", Kind: kind, From: from, To: "zoe@example.org", Lang: "fr",
			Subject: subject, Text: text, MessageID: "<msg_1@shop.example>", CreatedAt: time.Date(2026, 3, 8, 10, 0, 0, 0, time.UTC)}); err != nil {
			t.Fatal(err)
		}
		head, _, _ := strings.Cut(raw.String(), "\r\n\r\n")
		return head + "\r\n"
	}
	head := write("ticket_survey", "https://shop.example/survey/ABC/stop")
	for _, want := range []string{"List-Unsubscribe: <https://shop.example/survey/ABC/stop>\r\n", "List-Unsubscribe-Post: List-Unsubscribe=One-Click\r\n"} {
		if !strings.Contains(head, want) {
			t.Errorf("the survey's header lacks %q:\n%s", want, head)
		}
	}
	// Over HTTP (a store without TLS) no one-click POST: a link to open.
	head = write("ticket_survey", "http://shop.example/survey/ABC/stop")
	if !strings.Contains(head, "List-Unsubscribe: <http://shop.example/survey/ABC/stop>\r\n") || strings.Contains(head, "List-Unsubscribe-Post") {
		t.Errorf("over HTTP:\n%s", head)
	}
	for _, head := range []string{write("ticket_reply", "https://shop.example/survey/ABC/stop"), write("ticket_survey", "https://shop.example/survey/ABC")} {
		if strings.Contains(head, "List-Unsubscribe") {
			t.Errorf("a List-Unsubscribe where none belongs:\n%s", head)
		}
	}
}
