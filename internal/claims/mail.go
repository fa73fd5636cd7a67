package claims

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"comptoir/internal/localtime"
	"comptoir/internal/mail"
	"comptoir/internal/policy"
)

// mailData fills the claim_filed, claim_decided and claim_withdrawal
// templates. Reason is the policy's sentence in the customer's language.
type mailData struct {
	Name       string
	StoreName  string
	ClaimID    string
	Kind       string // the kind, worded
	About      string // what the claim is about: "order ord_… (Product)"
	ReceivedAt string // filed_at, in the store's time zone
	Reason     string
	Open       bool // the claim stays open
	// PromiseAt is when an agent answers at the latest, while the claim
	// waits for one: the date the store's answer clock gives (business
	// hours count as the store set them), not a number of hours.
	PromiseAt string
	Link      string
}

// notifyTx queues the email telling the customer about claim c, in their
// language, in tx: it goes out exactly when the change it reports commits.
// A subscription_cancel claim whose carrying out cancelled the subscription
// sends none: the cancellation's confirmation told the claim too
// (SubscriptionCancel.Mail), and the customer gets one email.
func (s *Service) notifyTx(ctx context.Context, tx *sql.Tx, template string, subj *subject, c Claim) error {
	if subj.mailed {
		return nil
	}
	u := subj.customer
	lang := u.Language
	if lang != "fr" && lang != "en" {
		lang = subj.order.Lang
		if lang != "fr" {
			lang = "en"
		}
	}
	d := s.mailData(subj, c, lang)
	subject, text, err := mail.Render(lang, template, d)
	if err != nil {
		return err
	}
	_, err = s.mailer.EnqueueTx(ctx, tx, mail.Message{
		Kind: template, To: u.Email, ToName: u.Name, Lang: lang, Subject: subject, Text: text, UserID: u.ID, ReplyTo: s.opts.ReplyTo,
	})
	return err
}

// mailData is what an email says of claim c in lang.
func (s *Service) mailData(subj *subject, c Claim, lang string) mailData {
	d := mailData{
		Name: subj.customer.Name, StoreName: s.opts.StoreName, ClaimID: c.ID, Kind: s.kindWord(c.Kind, lang),
		ReceivedAt: formatReceived(c.FiledAt, subj.policy, lang), Open: c.Open(),
		Link: s.opts.BaseURL + "/claims/" + c.ID,
	}
	if c.Waiting() {
		// In the zone the mail gives the receipt's time in.
		zone := s.opts.Zone
		if subj.policy != nil && subj.policy.Location != nil {
			zone = localtime.Of(subj.policy.Location)
		}
		d.PromiseAt = zone.LongTime(c.AnswerPromiseAt, lang)
	}
	// Decisions taken in the same step come first (the redelivery, then
	// the wait for it), so the customer reads what happened and what next.
	for _, r := range append(append([]policy.Reason(nil), subj.before...), c.Decision.Reason) {
		text := r.EN
		if lang == "fr" {
			text = r.FR
		}
		if d.Reason != "" {
			d.Reason += "\n\n"
		}
		d.Reason += text
	}
	switch {
	case c.SubscriptionID != "" && lang == "fr":
		d.About = "l’abonnement " + c.SubscriptionID
	case c.SubscriptionID != "":
		d.About = "subscription " + c.SubscriptionID
	case lang == "fr":
		d.About = fmt.Sprintf("la commande %s (%s)", c.OrderID, subj.line.Name)
	default:
		d.About = fmt.Sprintf("order %s (%s)", c.OrderID, subj.line.Name)
	}
	return d
}

// cancelMail is what the cancellation's confirmation says of claim c, in
// the language that email is written in (SubscriptionCancel.Mail).
func (s *Service) cancelMail(subj *subject, c Claim, lang string) ClaimMail {
	d := s.mailData(subj, c, lang)
	return ClaimMail{ID: d.ClaimID, ReceivedAt: d.ReceivedAt, Reason: d.Reason, Open: d.Open, PromiseAt: d.PromiseAt,
		Link: d.Link, ReplyTo: s.opts.ReplyTo}
}

// kindWord is a claim's kind as the pages name it (claim.kind.*): the
// mails had words of their own ("non-livraison" where the pages say "Non
// livré").
func (s *Service) kindWord(k policy.Kind, lang string) string {
	return s.opts.Messages.T(lang, "claim.kind."+string(k))
}

// formatReceived writes the date and time a claim was received, to the
// second, in the policy's time zone and named as the pages name it ("13
// mars 2026 à 11:00:00 CET"; UTC without a policy): the withdrawal
// acknowledgement must state both (Directive 2011/83/EU art. 11a). The
// mails said "(fuseau horaire Europe/Paris)" where the pages say "CET".
func formatReceived(t time.Time, p *policy.Policy, lang string) string {
	zone := localtime.Zone{}
	if p != nil && p.Location != nil {
		zone = localtime.Of(p.Location)
	}
	return zone.LongTimeSeconds(t, lang)
}
