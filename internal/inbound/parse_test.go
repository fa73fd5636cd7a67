package inbound

import (
	"bytes"
	"errors"
	"net/mail"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

func readFixture(t testing.TB, name string) []byte {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return raw
}

func TestParseFixtures(t *testing.T) {
	tests := []struct {
		file  string
		check func(t *testing.T, m Message)
	}{
		{"apple-references.eml", func(t *testing.T, m Message) {
			wantEq(t, "MessageID", m.MessageID, "<5E1B0F0C-8A2D-4C1E-9F3B-0D4C2A7E11AA@example.fr>")
			wantEq(t, "InReplyTo", m.InReplyTo, "<msg_01JD2S7@shop.example>")
			wantEq(t, "References", m.References, []string{
				"<msg_01JD2Q8@shop.example>", "<msg_01JD2R4@shop.example>",
				"<CAF=x9ab@mail.example.fr>", "<msg_01JD2S7@shop.example>",
			})
			wantEq(t, "ThreadIDs", ThreadIDs(m), []string{
				"<msg_01JD2S7@shop.example>", "<CAF=x9ab@mail.example.fr>",
				"<msg_01JD2R4@shop.example>", "<msg_01JD2Q8@shop.example>",
			})
			wantEq(t, "From", m.From, mail.Address{Name: "Claire Martin", Address: "claire.martin@example.fr"})
			wantEq(t, "Date", m.Date, time.Date(2026, 11, 24, 17, 2, 11, 0, time.UTC))
			tok, ok := ReplyToken(m.To, "support@shop.example")
			wantEq(t, "token", tok, "Ab12Cd34Ef")
			wantEq(t, "token ok", ok, true)
			ref, _ := SubjectReference(m.Subject)
			wantEq(t, "ref", ref, "T-7K3P9Q")
			wantContains(t, m.Text, "le colis est bien arrivé ce matin")
			wantContains(t, m.Text, "Service client <support@shop.example> a écrit")
			wantEq(t, "AutoReply", m.AutoReply, false)
		}},
		{"no-message-id.eml", func(t *testing.T, m Message) {
			wantEq(t, "SyntheticID", m.SyntheticID, true)
			if !strings.HasPrefix(m.MessageID, "<") || !strings.HasSuffix(m.MessageID, "@"+SyntheticIDDomain+">") {
				t.Errorf("MessageID = %q", m.MessageID)
			}
			again, _ := Parse(readFixture(t, "no-message-id.eml"))
			wantEq(t, "stable id", again.MessageID, m.MessageID)
			// Transport adds headers in front (the mailbox's delivery
			// agent, a relay): the same mail, the same id.
			relayed, _ := Parse(append([]byte("Return-Path: <x@example.org>\r\nDelivered-To: support@shop.example\r\n"+
				"Received: from relay.example.net by imap.shop.example; Wed, 25 Nov 2026 14:30:05 +0000\r\n"), readFixture(t, "no-message-id.eml")...))
			wantEq(t, "id through another route", relayed.MessageID, m.MessageID)
			other, _ := Parse(append(readFixture(t, "no-message-id.eml"), "P.S. thanks\r\n"...))
			if other.MessageID == m.MessageID {
				t.Error("different bytes gave the same synthetic id")
			}
			wantEq(t, "Date", m.Date, time.Date(2026, 11, 25, 14, 30, 0, 0, time.UTC))
			wantContains(t, m.Text, "I ordered a teapot")
		}},
		{"html-only.eml", func(t *testing.T, m Message) {
			lower := strings.ToLower(m.HTML)
			for _, bad := range []string{"<script", "alert", "onerror", "onclick", "javascript:", "<iframe", "<style", "evil.example"} {
				if strings.Contains(lower, bad) {
					t.Errorf("sanitized HTML contains %q:\n%s", bad, m.HTML)
				}
				if strings.Contains(strings.ToLower(m.Text), bad) {
					t.Errorf("derived text contains %q:\n%s", bad, m.Text)
				}
			}
			wantContains(t, m.HTML, "<b>invoice</b>")
			wantContains(t, m.HTML, `href="https://shop.example/orders/1042"`)
			wantContains(t, m.Text, "Hello, my *invoice* is wrong.")
			wantEq(t, "From", m.From, mail.Address{Name: "Promo Hunter", Address: "hunter@example.net"})
		}},
		{"latin1-qp.eml", func(t *testing.T, m Message) {
			wantContains(t, m.Text, "Bonjour, ma commande n'est pas arrivée — où en est-elle ?")
			wantContains(t, m.Text, "Hélène")
			wantEq(t, "Subject", m.Subject, "Commande non reçue")
			wantEq(t, "From", m.From, mail.Address{Name: "Hélène Durand", Address: "helene.durand@example.fr"})
		}},
		{"nested-attachments.eml", func(t *testing.T, m Message) {
			wantContains(t, m.Text, "j'ai reçu deux factures pour la même commande")
			wantContains(t, m.HTML, "<em>deux factures</em>")
			if len(m.Attachments) != 2 {
				t.Fatalf("got %d attachments, want 2", len(m.Attachments))
			}
			wantEq(t, "name 0", m.Attachments[0].FileName, "passwd.pdf")
			wantEq(t, "name 1", m.Attachments[1].FileName, "facture.pdf")
			for _, a := range m.Attachments {
				wantEq(t, "type", a.ContentType, "application/pdf")
				if !bytes.HasPrefix(a.Data, []byte("%PDF-1.4\n")) {
					t.Errorf("attachment data = %q", a.Data)
				}
			}
			wantEq(t, "Cc", m.Cc, []mail.Address{{Address: "compta@example.fr"}})
		}},
		{"auto-reply.eml", func(t *testing.T, m Message) {
			wantEq(t, "AutoReply", m.AutoReply, true)
			wantEq(t, "Subject", m.Subject, "Réponse automatique\u00a0: Re: [#T-7K3P9Q] Votre commande")
			ref, ok := SubjectReference(m.Subject)
			wantEq(t, "ref", ref, "T-7K3P9Q")
			wantEq(t, "ref ok", ok, true)
		}},
		{"bounce.eml", func(t *testing.T, m Message) {
			wantEq(t, "AutoReply", m.AutoReply, true)
			wantContains(t, m.Text, "could not be delivered")
		}},
		{"header-injection.eml", func(t *testing.T, m Message) {
			for name, v := range map[string]string{"Subject": m.Subject, "From.Name": m.From.Name, "From.Address": m.From.Address} {
				if strings.ContainsAny(v, "\r\n\x00") {
					t.Errorf("%s keeps a line break: %q", name, v)
				}
			}
			wantEq(t, "Subject", m.Subject, "Contact form Bcc: victim@example.com body")
			wantEq(t, "From.Address", m.From.Address, "eve@example.com")
			wantEq(t, "Cc", len(m.Cc), 0)
		}},
		{"broken-mime.eml", func(t *testing.T, m Message) {
			wantEq(t, "Unparsed", m.Unparsed, true)
			if len(m.ParseErrors) == 0 {
				t.Error("no ParseErrors")
			}
			// Best-effort headers still thread it.
			wantEq(t, "MessageID", m.MessageID, "<broken-1@example.fr>")
			wantEq(t, "InReplyTo", m.InReplyTo, "<msg_01JD0AA@shop.example>")
			wantEq(t, "Subject", m.Subject, "Pièce jointe illisible")
			wantEq(t, "From", m.From.Address, "paul.lefebvre@example.fr")
			wantContains(t, m.Text, "je vous renvoie le bon de retour")
		}},
	}
	seen := map[string]bool{}
	for _, tt := range tests {
		seen[tt.file] = true
		t.Run(tt.file, func(t *testing.T) {
			raw := readFixture(t, tt.file)
			m, err := Parse(raw)
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			if !bytes.Equal(m.Raw, raw) {
				t.Error("Raw is not the input")
			}
			if tt.file != "broken-mime.eml" && m.Unparsed {
				t.Errorf("Unparsed: %q", m.ParseErrors)
			}
			tt.check(t, m)
		})
	}
	files, _ := filepath.Glob("testdata/*.eml")
	for _, f := range files {
		if !seen[filepath.Base(f)] {
			t.Errorf("fixture %s has no test", f)
		}
	}
}

func TestParseEmpty(t *testing.T) {
	for _, in := range [][]byte{nil, {}} {
		if _, err := Parse(in); !errors.Is(err, ErrEmpty) {
			t.Errorf("Parse(%q) err = %v, want ErrEmpty", in, err)
		}
	}
}

func TestParseGarbageIsKept(t *testing.T) {
	for _, in := range []string{
		"\x00\x01\x02\xff\xfe",
		"just some words, no header\r\n",
		"From: a@example.com\r\nContent-Type: multipart/mixed\r\n\r\nhello\r\n",
	} {
		m, err := Parse([]byte(in))
		if err != nil {
			t.Fatalf("Parse(%q): %v", in, err)
		}
		if !m.Unparsed || len(m.ParseErrors) == 0 || string(m.Raw) != in || !m.SyntheticID {
			t.Errorf("Parse(%q) = Unparsed %v, errors %q, synthetic %v", in, m.Unparsed, m.ParseErrors, m.SyntheticID)
		}
	}
}

func TestAutoReplyHeaders(t *testing.T) {
	tests := []struct {
		headers string
		want    bool
	}{
		{"Auto-Submitted: auto-replied", true},
		{"Auto-Submitted: auto-generated; owner-email=x@example.com", true},
		{"Auto-Submitted: No", false},
		{"Precedence: bulk", true},
		{"Precedence: JUNK", true},
		{"Precedence: list", true},
		{"Precedence: auto_reply", true},
		{"Precedence: first-class", false},
		{"X-Autoreply: yes", true},
		{"X-Autorespond: Out of office", true},
		{"Return-Path: <>", true},
		{"Return-Path: <someone@example.com>", false},
		{"X-Auto-Response-Suppress: All", false}, // a request to others, not an auto-reply
		{"Content-Type: multipart/report; report-type=delivery-status; boundary=x", true},
		{"Content-Type: multipart/report; report-type=disposition-notification; boundary=x", true}, // a read receipt
		{"Content-Type: Multipart/Report; boundary=x; report-type=\"feedback-report\"", true},      // an abuse report
		{"Content-Type: multipart/mixed; boundary=x", false},
		{"List-Id: Shop news <news.shop.example>", true},
		{"List-Unsubscribe: <https://mailer.example/u/1>, <mailto:u@mailer.example>", true},
		{"List-Post: NO", true},
		{"List-Unsubscribe:", false},
		{"", false},
	}
	for _, tt := range tests {
		raw := "From: a@example.com\r\nTo: support@shop.example\r\nSubject: x\r\nMessage-ID: <1@example.com>\r\n"
		if tt.headers != "" {
			raw += tt.headers + "\r\n"
		}
		raw += "\r\n--x--\r\nbody\r\n"
		m, err := Parse([]byte(raw))
		if err != nil {
			t.Fatal(err)
		}
		if m.AutoReply != tt.want {
			t.Errorf("%q: AutoReply = %v, want %v", tt.headers, m.AutoReply, tt.want)
		}
	}
}

func TestSafeFileName(t *testing.T) {
	tests := map[string]string{
		"facture.pdf":                   "facture.pdf",
		"../../etc/passwd.pdf":          "passwd.pdf",
		`C:\Users\x\facture.pdf`:        "facture.pdf",
		`C:facture.pdf`:                 "facture.pdf",
		"/abs/path/x.txt":               "x.txt",
		"..":                            "attachment",
		"":                              "attachment",
		"dir/":                          "attachment",
		".htaccess":                     "htaccess",
		"bon\r\nde\x00 retour.pdf":      "bonde retour.pdf",
		"gpj.\u202eexe":                 "gpj.exe", // right-to-left override dropped
		"récépissé été.pdf":             "récépissé été.pdf",
		"a/b\\..\\..\\c\tmd.txt":        "cmd.txt",
		strings.Repeat("é", 150) + ".p": strings.Repeat("é", 99) + ".p",
	}
	for in, want := range tests {
		if got := SafeFileName(in); got != want {
			t.Errorf("SafeFileName(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestParseMessageIDs(t *testing.T) {
	tests := map[string][]string{
		"<a@b>":                               {"<a@b>"},
		"  a@b  ":                             {"<a@b>"},
		"<a@b>\r\n\t<c@d>, e@f <a@b>":         {"<a@b>", "<c@d>", "<e@f>"},
		"<a@b> (Claire's message of Tuesday)": {"<a@b>"},
		"Your message of Tue <x@y>":           {"<x@y>"},
		"<no-at-sign> <@> <a@>":               nil,
		"<unterminated@x":                     {"<unterminated@x>"},
		"< spaced @ example.com >":            {"<spaced@example.com>"},
		"":                                    nil,
	}
	for in, want := range tests {
		wantEq(t, in, ParseMessageIDs(in), want)
	}
}

func wantEq[T any](t *testing.T, what string, got, want T) {
	t.Helper()
	if !reflect.DeepEqual(got, want) {
		t.Errorf("%s = %#v, want %#v", what, got, want)
	}
}

func wantContains(t *testing.T, s, sub string) {
	t.Helper()
	if !strings.Contains(s, sub) {
		t.Errorf("%q does not contain %q", s, sub)
	}
}

func TestParseInlineImageKeepsCID(t *testing.T) {
	raw := "From: a@example.com\r\nMessage-ID: <cid-1@example.com>\r\nMIME-Version: 1.0\r\n" +
		"Content-Type: multipart/related; boundary=rel\r\n\r\n" +
		"--rel\r\nContent-Type: text/html; charset=utf-8\r\n\r\n<p>Voici le colis abîmé :</p><img src=\"cid:photo1@example.com\" alt=\"colis\">\r\n" +
		"--rel\r\nContent-Type: image/png\r\nContent-ID: <photo1@example.com>\r\nContent-Disposition: inline; filename=\"photo.png\"\r\nContent-Transfer-Encoding: base64\r\n\r\niVBORw0KGgo=\r\n" +
		"--rel--\r\n"
	m, err := Parse([]byte(raw))
	if err != nil {
		t.Fatal(err)
	}
	wantContains(t, m.HTML, `src="cid:photo1@example.com"`)
	wantContains(t, m.Text, "Voici le colis abîmé")
	if len(m.Attachments) != 1 {
		t.Fatalf("attachments = %+v", m.Attachments)
	}
	a := m.Attachments[0]
	wantEq(t, "inline", a.Inline, true)
	wantEq(t, "cid", a.ContentID, "photo1@example.com")
	wantEq(t, "name", a.FileName, "photo.png")
	wantEq(t, "data", string(a.Data), "\x89PNG\r\n\x1a\n")
}

func TestReportNamesTheReturnedMessage(t *testing.T) {
	report := func(kind, part string) string {
		return "From: MAILER-DAEMON@mx.example.org\r\nTo: support@shop.example\r\nSubject: Undelivered Mail\r\n" +
			"Message-ID: <dsn-1@mx.example.org>\r\nMIME-Version: 1.0\r\n" +
			"Content-Type: " + kind + "; boundary=\"b\"\r\n\r\n" +
			"--b\r\nContent-Type: text/plain\r\n\r\nYour message could not be delivered.\r\n" +
			"--b\r\nContent-Type: message/delivery-status\r\n\r\nReporting-MTA: dns; mx.example.org\r\n\r\n" +
			"Final-Recipient: rfc822; nobody@example.org\r\nAction: failed\r\nStatus: 5.1.1\r\n" +
			"--b\r\n" + part + "\r\n--b--\r\n"
	}
	original := "From: Shop <support@shop.example>\r\nTo: nobody@example.org\r\nSubject: Your answer [#T-7K3P9QAB]\r\n" +
		"Message-ID: <Out-1@shop.example>\r\n"
	tests := []struct {
		name, raw, want string
	}{
		{"returned message", report("multipart/report; report-type=delivery-status",
			"Content-Type: message/rfc822\r\n\r\n"+original+"Content-Type: text/plain\r\n\r\nHello\r\n"), "<Out-1@shop.example>"},
		{"returned header", report("multipart/report; report-type=delivery-status",
			"Content-Type: text/rfc822-headers\r\n\r\n"+original), "<Out-1@shop.example>"},
		{"folded id", report("Multipart/Report; report-type=delivery-status",
			"Content-Type: message/rfc822\r\n\r\nFrom: support@shop.example\r\nMessage-ID:\r\n <out-2@shop.example>\r\n\r\nHi\r\n"), "<out-2@shop.example>"},
		{"read receipt", report("multipart/report; report-type=disposition-notification",
			"Content-Type: message/disposition-notification\r\n\r\nFinal-Recipient: rfc822;gus@example.org\r\n"+
				"Original-Message-ID: <out-3@shop.example>\r\nDisposition: manual-action/MDN-sent-manually; displayed\r\n"), "<out-3@shop.example>"},
		// A person forwarding a mail as an attachment does not report on it.
		{"forward", report("multipart/mixed", "Content-Type: message/rfc822\r\n\r\n"+original+"\r\nHello\r\n"), ""},
	}
	for _, tt := range tests {
		m, err := Parse([]byte(tt.raw))
		if err != nil {
			t.Fatal(err)
		}
		if m.ReturnedMessageID != tt.want {
			t.Errorf("%s: ReturnedMessageID = %q, want %q (%v)", tt.name, m.ReturnedMessageID, tt.want, m.ParseErrors)
		}
	}
}

func TestParseLanguage(t *testing.T) {
	for v, want := range map[string]string{"": "", "en": "en", "EN-gb": "en", " fr-FR, en": "fr", "i-klingon": "", "x": "", "fr_FR": ""} {
		raw := "From: a@example.com\r\nMessage-ID: <1@example.com>\r\nContent-Language: " + v + "\r\n\r\nbody\r\n"
		m, err := Parse([]byte(raw))
		if err != nil {
			t.Fatal(err)
		}
		if m.Language != want {
			t.Errorf("Content-Language %q: %q, want %q", v, m.Language, want)
		}
	}
}

// MaybeAutomatic: what isAutoReply reads, and signs too weak for it that
// an autoresponder wrote the mail (vendors' fields, Exchange's request
// not to be answered, an autoresponder's subject in English, French,
// German, Spanish, Italian, Dutch or Portuguese).
// A person's reply ("Re: …") and subjects that only look alike are not.
func TestMaybeAutomatic(t *testing.T) {
	tests := []struct {
		headers, subject string
		want             bool
	}{
		{"", "Re: Votre message [#T-7K3P9QAB]", false},
		{"Auto-Submitted: auto-replied", "Re: x", true},
		{"X-Auto-Response-Suppress: All", "Re: x", true},
		{"X-Auto-Response-Suppress: DR, OOF, AutoReply", "Re: x", true},
		{"X-Auto-Response-Suppress: None", "Re: x", false},
		{"X-Precedence: auto_reply", "Re: x", true},
		{"X-Autogenerated: Reply", "Re: x", true},
		{"X-AutoReply-From: a@example.com", "Re: x", true},
		{"X-Mail-Autoreply: yes", "Re: x", true},
		{"X-FC-MachineGenerated: true", "Re: x", true},
		{"", "Automatic reply: Votre message [#T-7K3P9QAB]", true},
		{"", "AUTO: Votre message", true},
		{"", "Out of Office AutoReply: Votre message", true},
		{"", "Out of the office", true},
		{"", "Votre message is out of the office.", true},
		{"", "Réponse automatique : Votre message", true},
		{"", "=?utf-8?q?R=C3=A9ponse_automatique_=3A_Votre_message?=", true},
		{"", "Réponse\u00a0automatique\u202f: Votre message", true},
		{"", "Absence du bureau : Votre message", true},
		{"", "Message d’absence", true},
		{"", "Absence de livraison de ma commande", false},
		{"", "Auto-entrepreneur : facture", false},
		{"", "Re: Automatic reply: x", false}, // a person answering one
		// German, Spanish, Italian, Dutch and Portuguese: Outlook's and
		// the usual absence notices, accented or not, and Lotus Notes'.
		{"", "Automatische Antwort: Ihre Nachricht [#T-7K3P9QAB]", true},
		{"", "Abwesenheitsnotiz: Ihre Nachricht", true},
		{"", "Nicht im Büro: Ihre Nachricht", true},
		{"", "Außer Haus: bis 12.3.", true},
		{"", "Jana Schmidt ist außer Haus.", true},
		{"", "Respuesta automática: Su mensaje", true},
		{"", "Respuesta automatica: Su mensaje", true},
		{"", "Fuera de la oficina: Su mensaje", true},
		{"", "Risposta automatica: Il suo messaggio", true},
		{"", "Fuori sede: Il suo messaggio", true},
		{"", "Automatisch antwoord: Uw bericht", true},
		{"", "Afwezig: Uw bericht", true},
		{"", "Afwezigheidsbericht", true},
		{"", "Resposta automática: Sua mensagem", true},
		{"", "Fora do escritório: Sua mensagem", true},
		{"", "Mensagem de ausência", true},
		// Ordinary subjects that only begin alike: a word going on, or
		// the words meaning something else.
		{"", "Out of officers' reach: my order", false},
		{"", "Automatische Verlängerung meines Abos", false},
		{"", "Automatische Antworten einrichten?", false},
		{"", "Außer Hausverkauf: Rechnung", false},
		{"", "Respuesta automáticamente enviada dos veces", false},
		{"", "Fuera de stock", false},
		{"", "Risposta automaticamente errata", false},
		{"", "Fuori sedere", false},
		{"", "Afwezigheid van levering", false},
		{"", "Automatisch antwoorden werkt niet", false},
		{"", "Resposta automáticas?", false},
		{"", "Fora do prazo: entrega", false},
		{"", "Re: Respuesta automática: x", false},
	}
	for _, tt := range tests {
		raw := "From: a@example.com\r\nTo: support@shop.example\r\nSubject: " + tt.subject + "\r\nMessage-ID: <1@example.com>\r\n"
		if tt.headers != "" {
			raw += tt.headers + "\r\n"
		}
		raw += "\r\nbody\r\n"
		m, err := Parse([]byte(raw))
		if err != nil {
			t.Fatal(err)
		}
		if m.MaybeAutomatic != tt.want {
			t.Errorf("%q, subject %q: MaybeAutomatic = %v, want %v", tt.headers, tt.subject, m.MaybeAutomatic, tt.want)
		}
		if u := unparsed([]byte(raw), "test"); u.MaybeAutomatic != tt.want {
			t.Errorf("%q, subject %q, unparsed: MaybeAutomatic = %v, want %v", tt.headers, tt.subject, u.MaybeAutomatic, tt.want)
		}
	}
}
