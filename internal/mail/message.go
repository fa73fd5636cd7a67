// Package mail sends comptoir's email. A message is stored in the caller's
// transaction (the outbox); once that commits, the dispatcher puts it in a
// batch with one River job, which hands it to the SMTP relay, or writes it to
// the data directory when no relay is set.
package mail

// Message is an email to send. Callers fill it from a template (see Render)
// in the recipient's language.
type Message struct {
	// Kind names what the message is for ("password_reset", "order_confirmation"…),
	// for the record and for tests.
	Kind    string
	To      string
	ToName  string
	Lang    string // "fr" or "en": the recipient's language
	Subject string
	Text    string // plain-text body; always present
	HTML    string // optional HTML alternative
	// ReplyTo, when set, is where replies should go (a ticket's reply address).
	ReplyTo string
	// InReplyTo and References thread a reply onto an earlier message.
	InReplyTo  string
	References []string
	// UserID is the recipient's account, when there is one.
	UserID string
	// ListUnsubscribe, when set, is the link that stops mails of this
	// kind to the recipient (a satisfaction survey's stop link), an
	// absolute http or https URL: sent as List-Unsubscribe, and over
	// HTTPS with RFC 8058's one-click List-Unsubscribe-Post.
	ListUnsubscribe string
	// Attachments are files sent with a plain-text message (an invoice's
	// PDF): stored with it, so every attempt sends the same bytes, or named
	// by Source and drawn when it is sent from a record that never changes.
	Attachments []Attachment
}

// Attachment is a file attached to a message.
type Attachment struct {
	Filename    string // letters, digits, ".", "-" and "_"
	ContentType string // "application/pdf"
	Data        []byte
	// Source, instead of Data, names an immutable document the sending
	// worker renders ("invoice:inv_…", see Worker.RenderAttachments), so
	// that the transaction queuing the message does not pay for drawing it.
	Source string
}
