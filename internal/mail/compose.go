package mail

import (
	"bytes"
	"fmt"
	"io"
	netmail "net/mail"
	"strings"

	gomail "github.com/wneessen/go-mail"
)

// compose builds the MIME message for a stored mail. Everything in it
// derives from the row, nothing from the moment of sending: the Date is the
// time it was queued and the multipart boundary comes from its id, so every
// attempt, and the spool and the relay alike, produce the same bytes.
func compose(s Stored) (*gomail.Msg, error) {
	m := gomail.NewMsg(
		gomail.WithCharset(gomail.CharsetUTF8),
		// Quoted-printable keeps accented text readable in the raw message
		// and needs no 8BITMIME from the relay.
		gomail.WithEncoding(gomail.EncodingQP),
		// Only letters, digits, "_" and "." (the id's alphabet): no
		// character that would need quoting in Content-Type.
		gomail.WithBoundary("comptoir."+s.ID),
		// A library banner tells spam filters and attackers more than it
		// tells anyone who reads the mail.
		gomail.WithNoDefaultUserAgent(),
	)
	// Validated when queued; checked again because the row is the input here
	// and a header must never carry a line break, whatever wrote the row.
	for _, f := range []struct{ name, v string }{
		{"From", s.From.Email}, {"From name", s.From.Name}, {"To", s.To}, {"ToName", s.ToName},
		{"Subject", s.Subject}, {"Lang", s.Lang}, {"ReplyTo", s.ReplyTo}, {"InReplyTo", s.InReplyTo},
		{"MessageID", s.MessageID}, {"References", strings.Join(s.References, " ")},
	} {
		if err := checkHeader(f.name, f.v); err != nil {
			return nil, err
		}
	}
	m.FromMailAddress(&netmail.Address{Name: s.From.Name, Address: s.From.Email})
	m.ToMailAddress(&netmail.Address{Name: s.ToName, Address: s.To})
	if s.ReplyTo != "" {
		if err := m.ReplyTo(s.ReplyTo); err != nil {
			return nil, fmt.Errorf("%w: Reply-To: %v", ErrInvalid, err)
		}
	}
	m.Subject(s.Subject)
	m.SetMessageIDWithValue(strings.TrimSuffix(strings.TrimPrefix(s.MessageID, "<"), ">"))
	m.SetDateWithValue(s.CreatedAt.UTC())
	if v := autoSubmitted(s.Kind); v != "" {
		m.SetGenHeader("Auto-Submitted", v)
	}
	if s.InReplyTo != "" {
		m.SetGenHeader(gomail.HeaderInReplyTo, s.InReplyTo)
	}
	if len(s.References) > 0 {
		m.SetGenHeader(gomail.HeaderReferences, strings.Join(s.References, " "))
	}
	if s.Lang != "" {
		m.SetGenHeader(gomail.HeaderContentLang, s.Lang)
	}
	if u := s.ListUnsubscribe; u != "" {
		// RFC 8058: the mail reader's "unsubscribe" POSTs to the link,
		// over HTTPS only; over HTTP, a link to open.
		if m.SetListUnsubscribeOneClick(u) != nil {
			m.SetListUnsubscribe(u)
		}
	}
	m.SetBodyString(gomail.TypeTextPlain, s.Text)
	if s.HTML != "" {
		m.AddAlternativeString(gomail.TypeTextHTML, s.HTML)
	}
	for _, a := range s.Attachments {
		// A ReadSeeker over the stored bytes, not AttachReader: that one
		// copies the whole file (io.ReadAll) before anything is written,
		// and a bytes.Reader cannot fail to read.
		m.AttachReadSeeker(a.Filename, bytes.NewReader(a.Data), gomail.WithFileContentType(gomail.ContentType(a.ContentType)))
	}
	return m, nil
}

// WriteMessage writes the message exactly as it is (or was) sent: what a
// "view source" page or an export shows.
func WriteMessage(w io.Writer, s Stored) error {
	m, err := compose(s)
	if err != nil {
		return err
	}
	_, err = m.WriteTo(w)
	return err
}

// autoSubmitted is the Auto-Submitted value (RFC 3834) of a kind of email.
// Every email the store writes by itself says so, so that a customer's
// vacation responder does not answer it (its answer would come back to the
// desk); the acknowledgement of a customer's message is an automatic reply.
// An agent's answer is written by a person and says nothing.
func autoSubmitted(kind string) string {
	switch kind {
	case "ticket_reply":
		return ""
	case "ticket_ack":
		return "auto-replied"
	}
	return "auto-generated"
}
