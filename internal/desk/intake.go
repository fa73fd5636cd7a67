package desk

import (
	"bytes"
	"context"
	"fmt"
	"net/mail"
	"time"

	"comptoir/internal/blob"
	"comptoir/internal/clientaddr"
	"comptoir/internal/desk/sla"
	"comptoir/internal/id"
	"comptoir/internal/inbound"
	cmail "comptoir/internal/mail"
)

// MailIntake hands inbound mail to the desk: it is the SMTP listener's
// Handler (and the IMAP poller's). It parses the message, stores its
// attachments, and files it on a ticket. An error makes the sending server
// retry (451), so a message is never lost.
type MailIntake struct {
	Desk  *Service
	Blobs blob.Store
	// Support is the support address, whose +token forms carry a ticket's
	// reply token.
	Support string
	// TrustedAuthservIDs, when set (--inbound-trusted-authserv-id), are
	// the authserv-ids of the mail servers in front that check senders
	// (DKIM, DMARC) and say so in Authentication-Results: a message counts
	// as written by its From only if such a server vouched for it
	// (inbound.SenderVerified). None: From is taken as it is.
	TrustedAuthservIDs []string
	// TrustedRelays (--inbound-trusted-relays) are the SMTP clients whose
	// mail may carry those servers' word: anyone who reaches the SMTP
	// listener can write an Authentication-Results with their id, so a
	// mail that another client handed the listener (inbound.Peer) counts
	// as unverified whatever it says. Mail polled by IMAP was written to
	// the mailbox by its provider, and is read as it is. Empty: every
	// client is believed (the store warns at start-up).
	TrustedRelays clientaddr.Trusted
}

// Deliver implements inbound.Handler.
func (m MailIntake) Deliver(ctx context.Context, raw []byte, envelopeFrom string, rcpts []string) error {
	msg, err := inbound.Parse(raw)
	if err != nil {
		return err
	}
	in := m.addressed(ctx, &msg)
	if in.ReplyToken == "" {
		// The envelope says where the mail was delivered even when the
		// header does not (Bcc, forwarding): the ticket's reply address.
		// From a mailbox, the delivering MTA's header tells.
		all := append(append([]string(nil), rcpts...), inbound.EnvelopeRecipients(raw)...)
		env := make([]mail.Address, 0, len(all))
		for _, r := range all {
			env = append(env, mail.Address{Address: r})
		}
		if tok, ok := inbound.ReplyToken(env, m.Support); ok {
			in.ReplyToken = tok
		}
	}
	in.Text, in.HTML, in.Unparsed, in.Raw = msg.Text, msg.HTML, msg.Unparsed, msg.Raw
	// An empty envelope sender is a bounce: stored, never answered.
	in.AutoReply = msg.AutoReply || envelopeFrom == ""
	in.MaybeAutomatic = in.MaybeAutomatic || in.AutoReply
	// The files are stored before the message, so they are removed again
	// unless the message that names them is: after a failure (the sender
	// delivers the mail again, and every attempt would leave a copy of
	// each file, named by no ticket, out of reach of retention and
	// erasure) and for a duplicate (an MTA's retry, the same mail by SMTP
	// and IMAP: the first delivery's files are the ones kept). Best effort:
	// a file left behind is only that.
	kept := false
	defer func() {
		if kept {
			return
		}
		for _, a := range in.Attachments {
			_ = m.Blobs.Delete(context.WithoutCancel(ctx), a.BlobKey)
		}
	}()
	for _, a := range msg.Attachments {
		key := id.New("att")
		if err := m.Blobs.Put(ctx, key, bytes.NewReader(a.Data), int64(len(a.Data))); err != nil {
			return fmt.Errorf("desk: store attachment: %w", err)
		}
		in.Attachments = append(in.Attachments, Attachment{FileName: a.FileName, ContentType: a.ContentType, Size: int64(len(a.Data)), BlobKey: key})
	}
	_, res, err := m.Desk.Receive(ctx, in)
	kept = err == nil && res.MessageID != ""
	return err
}

// DeliverTooLarge implements inbound.TooLargeHandler for the IMAP poller
// and the SMTP listener: a message above the size limit is not downloaded
// (or is refused), but its header is
// filed like any message (threaded, deduplicated by Message-ID, a ticket
// opened when it threads nowhere), kept raw and marked unparsed with a note
// saying where the full message stays, so that an agent fetches it or asks
// the customer to send it again. Nothing is dropped silently.
func (m MailIntake) DeliverTooLarge(ctx context.Context, header []byte, size, limit int64, where string) error {
	raw := append(bytes.TrimRight(header, "\r\n"), "\r\n\r\n"...)
	msg, err := inbound.Parse(raw)
	if err != nil {
		return err
	}
	in := m.addressed(ctx, &msg)
	// The envelope's sender when the SMTP listener refused it, else what
	// the mailbox's Return-Path says: "" for a bounce or an automatic
	// answer.
	sender, viaSMTP := inbound.EnvelopeFrom(ctx)
	if !viaSMTP {
		sender = inbound.EnvelopeSender(raw)
	}
	in.AutoReply = msg.AutoReply || sender == ""
	in.MaybeAutomatic = in.MaybeAutomatic || in.AutoReply
	in.Unparsed, in.Raw = true, raw
	// The note is written in the ticket's language once Receive knows it.
	in.TooLarge = &TooLarge{Size: size, Limit: limit, Where: where}
	_, _, err = m.Desk.Receive(ctx, in)
	return err
}

// addressed fills what a parsed message's header says: its ids, sender
// (and whether the trusted mail server vouched for it), subject,
// recipients, and where it threads (reply token, subject reference).
func (m MailIntake) addressed(ctx context.Context, msg *inbound.Message) InboundMessage {
	in := InboundMessage{
		MessageID: msg.MessageID, InReplyTo: msg.InReplyTo, References: msg.References,
		From:    cmail.Address{Name: msg.From.Name, Email: msg.From.Address},
		Subject: msg.Subject, Lang: msg.Language, MaybeAutomatic: msg.MaybeAutomatic,
	}
	if len(m.TrustedAuthservIDs) > 0 {
		in.SenderUnverified = !m.fromTrustedRelay(ctx) || !inbound.SenderVerified(msg.Raw, m.TrustedAuthservIDs, msg.From.Address)
	}
	if msg.ReturnedMessageID != "" {
		// A bounce or a read receipt names the mail it reports on only in
		// its body: threaded by that id, the report of an answer that
		// bounced (a mistyped address) lands on the answer's ticket.
		in.References = append(in.References[:len(in.References):len(in.References)], msg.ReturnedMessageID)
	}
	addrs := append(append([]mail.Address{}, msg.To...), msg.Cc...)
	for _, a := range addrs {
		in.Recipients = append(in.Recipients, a.Address)
	}
	if tok, ok := inbound.ReplyToken(addrs, m.Support); ok {
		in.ReplyToken = tok
	}
	if ref, ok := inbound.SubjectReference(msg.Subject); ok {
		in.SubjectReference = ref
	}
	return in
}

// fromTrustedRelay reports whether the message being delivered may carry
// the trusted servers' Authentication-Results: it did not come over the
// SMTP listener (IMAP), or no relay list was given, or the client that
// handed it over is on the list.
func (m MailIntake) fromTrustedRelay(ctx context.Context) bool {
	peer, viaSMTP := inbound.Peer(ctx)
	if !viaSMTP || m.TrustedRelays.Empty() {
		return true
	}
	return peer.IsValid() && m.TrustedRelays.Contains(peer)
}

// SLADeadlines computes a ticket's deadlines with the sla package: wall
// clock or business hours as the policy's calendar says, the clock paused
// while the store waits on the customer.
func SLADeadlines(p sla.Policy) Deadlines {
	kinds := map[string]sla.EventKind{
		EventCustomer: sla.CustomerMessage, EventReply: sla.AgentReply, EventWait: sla.WaitingOnCustomer, EventClose: sla.Closed,
	}
	return func(events []SLAEvent, now time.Time) (time.Time, time.Time) {
		evs := make([]sla.Event, 0, len(events))
		for _, e := range events {
			if k, ok := kinds[e.Kind]; ok {
				evs = append(evs, sla.Event{At: e.At, Kind: k})
			}
		}
		st := sla.Deadlines(p, evs, now)
		return st.TargetAt, st.PromiseAt
	}
}
