package mail_test

import (
	"errors"
	"slices"
	"strings"
	"testing"

	"comptoir/internal/mail"
)

type welcomeData struct {
	Name                         string
	StoreName                    string
	Link, ContactLink, ResetLink string
}

// samples holds data for every template kind: a kind without one fails the
// test, so a new template comes with a rendering check.
var samples = map[string]any{
	"password_reset": resetData{Name: "Zoé", StoreName: "Comptoir", Link: "https://shop.example/reset/abc", Minutes: 60},
	"welcome": welcomeData{Name: "Zoé", StoreName: "Comptoir", Link: "https://shop.example/account", ContactLink: "https://shop.example/contact",
		ResetLink: "https://shop.example/reset"},
	// Filled by internal/subscriptions (mailData); one map serves every kind.
	"subscription_started":          subscriptionSample,
	"subscription_renewed":          subscriptionSample,
	"subscription_payment_failed":   withAuthLink(subscriptionSample),
	"subscription_canceled_unpaid":  subscriptionSample,
	"subscription_cancel_confirmed": withClaim(subscriptionSample),
	"subscription_cancel_undone":    subscriptionSample,
	"subscription_ended":            subscriptionSample,
	// Filled by internal/orders (confirmationData); a map with the same
	// fields keeps this package free of the orders package.
	// Filled by internal/alerts (alerts.Data).
	"alert_licence_pool_empty":         map[string]any{"StoreName": "Comptoir", "Name": "Zoé", "Subject": "Logiciel", "Detail": "", "Link": "https://shop.example/admin/products/prd_1"},
	"alert_licence_key_missing":        map[string]any{"StoreName": "Comptoir", "Name": "Zoé", "Subject": "commande ord_1, Ana Dupont", "Detail": "logiciel", "Link": "https://shop.example/console/orders/ord_1"},
	"alert_card_refund_failed":         map[string]any{"StoreName": "Comptoir", "Name": "Zoé", "Subject": "réclamation clm_1, Ana Dupont", "Detail": "card expired", "Link": "https://shop.example/console/claims/clm_1"},
	"alert_dispute_opened":             map[string]any{"StoreName": "Comptoir", "Name": "Zoé", "Subject": "commande ord_1, Ana Dupont", "Detail": "25,00 €, fraudulent", "Link": "https://shop.example/console/disputes/dsp_1"},
	"alert_dispute_closed":             map[string]any{"StoreName": "Comptoir", "Name": "Zoé", "Subject": "renouvellement de 9,90 €, Ana Dupont", "Detail": "25,00 €, fraudulent", "Link": "https://shop.example/console/disputes/dsp_1"},
	"alert_dispute_submit_failed":      map[string]any{"StoreName": "Comptoir", "Name": "Zoé", "Subject": "commande ord_1, Ana Dupont", "Detail": "25,00 €, fraudulent", "Link": "https://shop.example/console/disputes/dsp_1"},
	"alert_subscription_disputed":      map[string]any{"StoreName": "Comptoir", "Name": "Zoé", "Subject": "subscription to Veille, Ana Dupont", "Detail": "€9.90, fraudulent", "Link": "https://shop.example/console/disputes/dsp_1"},
	"alert_subscription_refund_failed": map[string]any{"StoreName": "Comptoir", "Name": "Zoé", "Subject": "subscription to Veille, Ana Dupont", "Detail": "€9.90, card payment pay_1", "Link": ""},
	"alert_order_refund_failed":        map[string]any{"StoreName": "Comptoir", "Name": "Zoé", "Subject": "order ord_1, Ana Dupont", "Detail": "card expired", "Link": "https://shop.example/console/orders/ord_1"},
	"alert_card_payment_duplicate":     map[string]any{"StoreName": "Comptoir", "Name": "Zoé", "Subject": "renewal of €9.90, Ana Dupont", "Detail": "€9.90, renewal spd_1, customer usr_1, already paid by pay_1: refund rfd_1 requested", "Link": ""},
	"alert_topup_refund_failed":        map[string]any{"StoreName": "Comptoir", "Name": "Zoé", "Subject": "€20.00, erased-1234ABCD", "Detail": "€20.00, erased customer usr_1: card expired", "Link": ""},
	"order_confirmation": map[string]any{
		"Name": "Zoé", "StoreName": "Comptoir", "Trader": "Comptoir SAS, 12 rue de la Paix, 75002 Paris, support@shop.example", "OrderID": "ord_1", "OrderLink": "https://shop.example/orders/ord_1",
		"PlacedAt": "8 mars 2026 à 11:00 CET", "Total": "25,00 €", "PaidWith": "balance",
		"Lines":        []map[string]any{{"Name": "Publications", "Quantity": 100, "Amount": "25,00 €", "Key": ""}},
		"ConsentShown": true, "Ticked": true, "ImmediateTicked": true, "WaiverTicked": true, "Immediate": "Je demande…", "Waiver": "Je reconnais…",
		"PolicyVersion": "default@1", "PolicyLink": "https://shop.example/policy?version=default%401", "PolicyNumber": "1",
		"TermsVersion": "terms@1", "TermsLink": "https://shop.example/legal/terms?version=terms%401&lang=fr", "TermsNumber": "1",
		"InvoiceLink": "https://shop.example/invoices/inv_1", "InvoiceAttached": true,
	},
	// Filled by internal/invoices (notify).
	"invoice_issued": map[string]any{
		"Name": "Zoé", "StoreName": "Comptoir", "Number": "A-2026-000001", "CreditNote": true, "RefersTo": "F-2026-000001",
		"Total": "25,00 €", "Link": "https://shop.example/invoices/inv_1", "PDFLink": "https://shop.example/invoices/inv_1.pdf",
		"DocumentIn": "en",
	},
	// Filled by internal/desk (ackData, replyData, surveyData).
	"ticket_ack": map[string]any{
		"Name": "Zoé", "StoreName": "Comptoir", "Reference": "T-7K3M9QXA",
		"PromiseAt": "10 mars 2026 à 11:00 (Europe/Paris)", "Link": "https://shop.example/support/tickets/tkt_1", "Confirm": true,
		"TooLarge": "25 Mo",
	},
	"ticket_reply": map[string]any{
		"Name": "Zoé", "StoreName": "Comptoir", "Reference": "T-7K3M9QXA",
		"Text": "Votre licence a été renvoyée.", "Link": "https://shop.example/support/tickets/tkt_1", "Greeted": false, "Signed": false,
	},
	"ticket_survey": map[string]any{
		"Name": "Zoé", "StoreName": "Comptoir", "Reference": "T-7K3M9QXA", "Link": "https://shop.example/survey/ABC",
		"StopLink": "https://shop.example/survey/ABC/stop",
	},
	"ticket_sla_warning": map[string]any{
		"Name": "Agent", "StoreName": "Comptoir", "Reference": "T-7K3M9QXA", "Customer": "Zoé (zoe@example.net)",
		"Assigned": true, "PromiseAt": "10 mars 2026 à 11:00 (Europe/Paris)", "Link": "https://shop.example/console/tickets/tkt_1",
	},
	// Filled by internal/claims (warningData): the staff's warning before a
	// claim's promised answer time.
	"claim_answer_warning": map[string]any{
		"Name": "Zoé", "StoreName": "Comptoir", "ClaimID": "clm_1", "Kind": "non-livraison", "About": "la commande ord_1",
		"PromiseAt": "10 mars 2026 à 11:00 CET", "Link": "https://shop.example/console/claims/clm_1",
	},
	// Filled by internal/claims (mailData): the claim emails share one shape.
	"claim_filed":      claimSample(true),
	"claim_decided":    claimSample(false),
	"claim_withdrawal": claimSample(false),
}

// claimSample is internal/claims' mailData as a map (open: the claim stays
// open after the decision the email reports).
func claimSample(open bool) map[string]any {
	return map[string]any{
		"Name": "Zoé", "StoreName": "Comptoir", "ClaimID": "clm_1", "Kind": "non-livraison",
		"About": "la commande ord_1 (Publications)", "ReceivedAt": "8 mars 2026 à 11:00:00 (fuseau horaire Europe/Paris)",
		"Reason": "400 sur 1 000 ont été livrés. Nous vous remboursons la part non livrée, soit 6,00 €.",
		"Open":   open, "PromiseAt": "10 mars 2026 à 11:00 CET", "Link": "https://shop.example/claims/clm_1",
	}
}

// subscriptionSample has every field of internal/subscriptions' mailData.
var subscriptionSample = map[string]any{
	"Name": "Zoé", "StoreName": "Comptoir", "Trader": "Comptoir SAS, 12 rue de la Paix, 75002 Paris, support@shop.example", "SubscriptionID": "sub_1", "Link": "https://shop.example/subscriptions/sub_1",
	"Plan": "Veille", "Amount": "9,90 €", "Interval": "mois", "Every": "chaque mois", "PaidWith": "balance",
	"Trial": true, "TrialEnd": "7 février 2026 à 10:00 UTC", "PeriodStart": "31 janvier 2026 à 10:00 UTC",
	"PeriodEnd": "28 février 2026 à 10:00 UTC", "NextCharge": "28 février 2026 à 10:00 UTC",
	"NextAttempt": "1er mars 2026 à 10:00 UTC", "AttemptsLeft": 2, "Effective": "28 février 2026 à 10:00 UTC",
	"Now": false, "Reason": "votre solde ne suffisait pas",
	"ConsentShown": true, "NotAsked": false, "Ticked": true, "ImmediateTicked": true, "WaiverTicked": true, "Immediate": "Je demande…", "Waiver": "Je reconnais…",
	"PolicyVersion": "default@1", "PolicyLink": "https://shop.example/policy?version=default%401", "PolicyNumber": "1",
	"Claim": nil,
}

// withClaim is a subscription sample whose cancellation carried out a
// claim (subscriptions.CancelInput.Claim): its confirmation tells it.
func withClaim(m map[string]any) map[string]any {
	out := map[string]any{"Claim": map[string]any{"ID": "clm_1", "ReceivedAt": "8 février 2026 à 10:00:00 CET",
		"Reason": "Votre abonnement est résilié.", "Open": true, "PromiseAt": "9 février 2026 à 10:00 CET",
		"Link": "https://shop.example/claims/clm_1", "ReplyTo": "support@shop.example"}}
	for k, v := range m {
		if _, ok := out[k]; !ok {
			out[k] = v
		}
	}
	return out
}

// withAuthLink is a subscription sample whose renewal waits for the
// customer's authentication (the link to pay it on-session).
func withAuthLink(m map[string]any) map[string]any {
	out := map[string]any{"AuthLink": "https://shop.example/subscriptions/sub_1/authenticate", "PaidWith": "card", "Authenticate": true}
	for k, v := range m {
		if _, ok := out[k]; !ok {
			out[k] = v
		}
	}
	return out
}

func TestEveryTemplateExistsInEveryLanguage(t *testing.T) {
	all, err := mail.Templates()
	if err != nil {
		t.Fatal(err)
	}
	if len(all) != 2 || all["fr"] == nil || all["en"] == nil {
		t.Fatalf("template languages %v, want fr and en", all)
	}
	for lang, kinds := range all {
		for other, otherKinds := range all {
			for _, k := range kinds {
				if !slices.Contains(otherKinds, k) {
					t.Errorf("template %s/%s.txt has no %s/%s.txt", lang, k, other, k)
				}
			}
		}
	}
	for _, k := range all["en"] {
		if _, ok := samples[k]; !ok {
			t.Errorf("template %q has no sample data in render_test.go", k)
		}
	}
}

// unnamedKinds are the mails that never echo the name on the account: it
// is whatever was typed at sign-up, and they may go to an address nobody
// proved, so anyone could otherwise have the store mail their words
// ("Hello <visit this link>,") to anyone.
var unnamedKinds = []string{"welcome", "password_reset"}

func TestTemplatesRender(t *testing.T) {
	all, err := mail.Templates()
	if err != nil {
		t.Fatal(err)
	}
	for _, lang := range []string{"en", "fr"} {
		for _, kind := range all[lang] {
			subject, text, err := mail.Render(lang, kind, samples[kind])
			if err != nil {
				t.Errorf("%s/%s: %v", lang, kind, err)
				continue
			}
			if subject == "" || strings.Contains(subject, "{{") || strings.TrimSpace(text) == "" {
				t.Errorf("%s/%s: subject %q, text %q", lang, kind, subject, text)
			}
			if strings.Contains(subject+text, "<no value>") || strings.Contains(text, "Subject:") {
				t.Errorf("%s/%s renders badly:\n%s\n%s", lang, kind, subject, text)
			}
			// The mails of sign-up and password reset may reach an address
			// nobody proved (anyone can sign up with someone else's): the
			// name typed there is never in them. The others greet by name.
			if slices.Contains(unnamedKinds, kind) == strings.Contains(text, "Zoé") || strings.HasPrefix(text, "\n") || !strings.HasSuffix(text, ".\n") && !strings.HasSuffix(text, "\n") {
				t.Errorf("%s/%s body %q", lang, kind, text)
			}
		}
	}
}

func TestPasswordResetReadsWell(t *testing.T) {
	data := resetData{Name: "Zoé", StoreName: "Comptoir", Link: "https://shop.example/reset/abc", Minutes: 60}
	subject, text, err := mail.Render("fr", "password_reset", data)
	if err != nil {
		t.Fatal(err)
	}
	// The store is named, as in every other mail: a reset nobody
	// expected says which account it is about.
	if subject != "Réinitialisation de votre mot de passe Comptoir" {
		t.Errorf("fr subject %q", subject)
	}
	for _, want := range []string{"Bonjour,\n", "Vous avez demandé", "votre compte Comptoir", "https://shop.example/reset/abc", "60 minutes", "votre mot de passe reste inchangé", "\n\nL’équipe Comptoir\n"} {
		if !strings.Contains(text, want) {
			t.Errorf("fr text lacks %q:\n%s", want, text)
		}
	}
	if strings.Contains(text, " tu ") || strings.Contains(text, "ton ") {
		t.Errorf("fr text should address the customer as vous:\n%s", text)
	}
	subject, text, err = mail.Render("en", "password_reset", resetData{StoreName: "Le Comptoir", Link: "https://x.example/r", Minutes: 15})
	if err != nil {
		t.Fatal(err)
	}
	if subject != "Reset your Le Comptoir password" || !strings.HasPrefix(text, "Hello,\n") || !strings.Contains(text, "15 minutes") ||
		!strings.Contains(text, "your Le Comptoir account") || !strings.HasSuffix(text, "\n\nThe Le Comptoir team\n") {
		t.Errorf("en without a name: %q\n%s", subject, text)
	}
}

func TestRenderRefusesWhatItCannotDo(t *testing.T) {
	if _, _, err := mail.Render("de", "welcome", samples["welcome"]); err == nil {
		t.Error("Render in an unknown language succeeded")
	}
	if _, _, err := mail.Render("en", "nope", nil); err == nil {
		t.Error("Render of an unknown kind succeeded")
	}
	if _, _, err := mail.Render("en", "password_reset", struct{ Link string }{}); err == nil {
		t.Error("Render with data lacking StoreName succeeded")
	}
	if _, _, err := mail.Render("en", "welcome", map[string]string{"Name": "x"}); err == nil {
		t.Error("Render with a map lacking StoreName succeeded")
	}
	_, _, err := mail.Render("en", "welcome", welcomeData{StoreName: "Shop\r\nBcc: x@y.z"})
	if !errors.Is(err, mail.ErrInvalid) {
		t.Errorf("a line break reaching the subject: %v, want ErrInvalid", err)
	}
}

func TestParseRelayURL(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want mail.SMTPConfig
		err  bool
	}{
		{in: "smtp://u:p%40ss@relay.example", want: mail.SMTPConfig{Host: "relay.example", Port: 587, Username: "u", Password: "p@ss", TLS: mail.TLSStartTLS}},
		{in: "smtps://relay.example", want: mail.SMTPConfig{Host: "relay.example", Port: 465, TLS: mail.TLSImplicit}},
		{in: "smtp+plain://127.0.0.1:2525", want: mail.SMTPConfig{Host: "127.0.0.1", Port: 2525, TLS: mail.TLSNone}},
		{in: "http://relay.example", err: true},
		{in: "smtp://", err: true},
		{in: "smtp://relay.example:99999", err: true},
	} {
		got, err := mail.ParseRelayURL(tc.in)
		if tc.err {
			if err == nil {
				t.Errorf("ParseRelayURL(%q) succeeded", tc.in)
			}
			continue
		}
		got.Timeout = 0
		if err != nil || got.Host != tc.want.Host || got.Port != tc.want.Port || got.Username != tc.want.Username ||
			got.Password != tc.want.Password || got.TLS != tc.want.TLS {
			t.Errorf("ParseRelayURL(%q) = %+v, %v", tc.in, got, err)
		}
	}
}

func TestParseAddress(t *testing.T) {
	a, err := mail.ParseAddress("Comptoir Assistance <support@Shop.Example>")
	if err != nil || a.Name != "Comptoir Assistance" || a.Email != "support@Shop.Example" || a.Domain() != "shop.example" {
		t.Fatalf("ParseAddress = %+v, %v", a, err)
	}
	if s := (mail.Address{Name: "Zoé", Email: "z@example.net"}).String(); s != "=?utf-8?q?Zo=C3=A9?= <z@example.net>" {
		t.Errorf("String() = %q", s)
	}
	for _, bad := range []string{"", "nobody", "a@b.c\r\nBcc: x@y.z", "A <a@b.c>, B <b@c.d>"} {
		if _, err := mail.ParseAddress(bad); !errors.Is(err, mail.ErrInvalid) {
			t.Errorf("ParseAddress(%q) = %v, want ErrInvalid", bad, err)
		}
	}
}
