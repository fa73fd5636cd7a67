package web_test

import (
	"archive/zip"
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/stripe/stripe-go/v82"

	"comptoir/internal/account"
	"comptoir/internal/apptest"
	"comptoir/internal/audit"
	"comptoir/internal/cardpay"
	"comptoir/internal/cardpay/cardpaytest"
	"comptoir/internal/claims"
	"comptoir/internal/config"
	"comptoir/internal/desk"
	"comptoir/internal/disputes"
	"comptoir/internal/id"
	"comptoir/internal/mail"
	"comptoir/internal/money"
	"comptoir/internal/orders"
	"comptoir/internal/pdftext"
	"comptoir/internal/policy"
	"comptoir/internal/testwait"
)

// A card dispute from Stripe's first event to the evidence submitted: the
// case opens and alerts the agents, refunds of the payment are refused, the
// pack holds the consent and delivery records and the customer's activity,
// the agent's statement and the pack reach Stripe once, with an
// idempotency key; the PDF's text holds the same records; a lost dispute
// keeps the hold and marks the order's history.
func TestDisputeFromWebhookToSubmittedEvidence(t *testing.T) {
	rec := cardpaytest.NewRecorder(t, cardpaytest.StripeURL(t))
	rec.Rewrite(cardpaytest.To(http.MethodPost, "/v1/checkout/sessions"), func(m map[string]any) {
		m["id"] = "cs_test_" + id.New("s")
		m["url"] = "https://checkout.stripe.com/c/pay/" + m["id"].(string)
		m["payment_intent"] = nil
	})
	h := apptest.StartWith(t, func(c *config.Config) {
		c.StripeSecretKey, c.StripeWebhookSecret, c.StripeAPIURL = "sk_test_comptoir", webhookSecret, rec.URL()
	})
	ctx := context.Background()
	agentUser, ag := h.User(t, account.RoleAgent, "agent@shop.test")
	p := newService(t, h, "posts", 25)
	u, c := h.User(t, account.RoleCustomer, "ana@example.fr")
	c.UserAgent = "Mozilla/5.0 (Ana's laptop)"
	body := `{"lines":[{"product_id":"` + p.ID + `","quantity":100}],"payment":"card","consent":{"immediate_performance":true,"withdrawal_waiver":true},"accept_policy":"default@1"}`
	r := postJSON(c, "/api/v1/orders", body, h.Bearer(t, u.ID))
	var created struct{ ID string }
	if r.Status != http.StatusCreated || json.Unmarshal([]byte(r.Body), &created) != nil {
		t.Fatalf("card order: %d %s", r.Status, r.Body)
	}
	orderID := created.ID
	pay, ok, err := h.App.Card.Pending(ctx, cardpay.PurposeOrder, orderID)
	if err != nil || !ok {
		t.Fatalf("pending payment: %v %v", ok, err)
	}
	deliver := webhookDeliverer(t, h)
	deliver(stripe.EventTypeCheckoutSessionCompleted, completed(pay))

	// What the customer did and got: an order page view, delivery in two
	// steps.
	h.Clock.Advance(time.Hour)
	if r := c.Get("/orders/" + orderID); r.Status != http.StatusOK {
		t.Fatalf("order page: %d", r.Status)
	}
	o, err := h.App.Orders.Get(ctx, orderID)
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range []int{40, 100} {
		h.Clock.Advance(2 * time.Hour)
		if _, err := h.App.Orders.RecordDelivery(ctx, orders.DeliveryInput{OrderID: orderID, LineID: o.Lines[0].ID, Delivered: n,
			Source: orders.SourceAgent, Actor: audit.Actor{ID: agentUser.ID, Role: account.RoleAgent}}); err != nil {
			t.Fatalf("deliver %d: %v", n, err)
		}
	}

	// The customer writes about the order; the agent answers, and leaves
	// an internal note that is not part of what was said.
	tk, err := h.App.Desk.OpenFromContact(ctx, desk.ContactInput{CustomerID: u.ID, Name: "Ana", Email: "ana@example.fr", OrderRef: orderID,
		Topic: desk.TopicOrder, Message: "Merci, tout est bien arrivé.", Lang: "fr"})
	if err != nil {
		t.Fatal(err)
	}
	agentActor := audit.Actor{ID: agentUser.ID, Role: account.RoleAgent}
	if _, err := h.App.Desk.Reply(ctx, agentActor, tk.ID, "Avec plaisir !"); err != nil {
		t.Fatal(err)
	}
	if _, err := h.App.Desk.Note(ctx, agentActor, tk.ID, "internal: loyal customer"); err != nil {
		t.Fatal(err)
	}

	// The bank opens a dispute.
	h.Clock.Advance(24 * time.Hour)
	due := time.Date(2026, 3, 20, 23, 59, 59, 0, time.UTC)
	dispute := map[string]any{
		"id": "dp_test_full", "object": "dispute", "amount": 2500, "currency": "eur", "charge": "ch_test_1",
		"payment_intent": "pi_" + pay.ID, "reason": "product_not_received", "status": "needs_response",
		"evidence_details": map[string]any{"due_by": due.Unix(), "has_evidence": false, "past_due": false, "submission_count": 0},
	}
	deliver(stripe.EventTypeChargeDisputeCreated, dispute)
	cases, err := h.App.Disputes.ForReference(ctx, orderID)
	if err != nil || len(cases) != 1 {
		t.Fatalf("cases of the order: %+v %v", cases, err)
	}
	dc := cases[0]
	if dc.Status != disputes.StatusOpen || dc.Amount != money.MustNew(2500, "EUR") || dc.Reason != "product_not_received" ||
		!dc.DueBy.Equal(due) || dc.PaymentID != pay.ID {
		t.Fatalf("case: %+v", dc)
	}
	alerts, _ := h.App.Outbox.List(ctx, mail.Filter{Kind: "alert_dispute_opened"})
	if len(alerts) != 1 || alerts[0].To != "agent@shop.test" || !strings.Contains(alerts[0].Text, "/console/disputes/"+dc.ID) {
		t.Fatalf("agent alerts: %+v", alerts)
	}
	// The order as the agent finds it: its reference and its customer.
	if want := "Un paiement par carte est contesté (commande " + orderID + ", " + u.Name + ")"; alerts[0].Subject != want {
		t.Errorf("the alert's subject is %q, want %q", alerts[0].Subject, want)
	}
	// The agent reads French: the amount, the bank's reason and the
	// deadline are written in it, the deadline in the store's zone.
	if want := "25,00\u00a0€, motif de la banque\u00a0: Produit non reçu\u00a0; preuves à envoyer avant le 20 mars 2026 à 23:59 UTC"; !strings.Contains(alerts[0].Text, want) {
		t.Errorf("the French alert lacks %q:\n%s", want, alerts[0].Text)
	}
	// The same event again, and an update: still one case, one alert.
	dispute["status"] = "under_review"
	deliver(stripe.EventTypeChargeDisputeUpdated, dispute)
	if cases, _ := h.App.Disputes.ForReference(ctx, orderID); len(cases) != 1 || cases[0].StripeStatus != "under_review" {
		t.Fatalf("after the update: %+v", cases)
	}
	if alerts, _ := h.App.Outbox.List(ctx, mail.Filter{Kind: "alert_dispute_opened"}); len(alerts) != 1 {
		t.Fatalf("%d alerts after an update", len(alerts))
	}

	// Refunds of the payment are held, with a clear code, and nothing
	// changes.
	err = h.App.DB.Tx(ctx, func(tx *sql.Tx) error {
		_, err := h.App.Card.RefundTx(ctx, tx, pay.ID, money.MustNew(500, "EUR"), "goodwill")
		return err
	})
	if !errors.Is(err, cardpay.ErrPaymentDisputed) || claims.Code(err) != "payment_disputed" {
		t.Fatalf("refund of a disputed payment: %v (code %q)", err, claims.Code(err))
	}
	if got, _ := h.App.Card.Get(ctx, pay.ID); got.Refunded.Minor != 0 {
		t.Fatalf("refused refund reserved %v", got.Refunded)
	}

	// The console: the list, the case with its pack.
	mustContain(t, ag.Get("/console/disputes"), `href="/console/disputes/`+dc.ID+`"`, orderID)
	page := ag.Get("/console/disputes/" + dc.ID)
	mustContain(t, page, "127.0.0.1", "Mozilla/5.0 (Ana&#39;s laptop)", "default@1", "delivered 0 -&gt; 40", "delivered 40 -&gt; 100",
		"order_view", `id="dispute-form"`, `/console/disputes/`+dc.ID+`/evidence.pdf`)
	if r := c.Get("/console/disputes/" + dc.ID); r.Status == http.StatusOK {
		t.Fatal("a customer reads the dispute page")
	}

	// A statement too long is refused, nothing saved.
	r = ag.PostForm("/console/disputes/"+dc.ID, url.Values{"statement": {strings.Repeat("x", disputes.MaxStatement+1)}, "action": {"submit"}})
	if r.Status != http.StatusUnprocessableEntity || !strings.Contains(r.Body, `id="statement-error"`) {
		t.Fatalf("long statement: %d", r.Status)
	}
	mustMarkRefused(t, "statement", r.Body, map[string]string{"statement": "statement"})
	if got, _ := h.App.Disputes.Get(ctx, dc.ID); got.Submission != disputes.SubmitNone || got.Statement != "" {
		t.Fatalf("a refused statement changed the case: %+v", got)
	}
	statement := "The customer received all 100 posts; see the delivery record."
	if r := ag.PostForm("/console/disputes/"+dc.ID, url.Values{"statement": {statement}, "action": {"submit"}}); r.Status != http.StatusSeeOther {
		t.Fatalf("submit: %d %s", r.Status, r.Body)
	}
	deadline := time.Now().Add(20 * time.Second)
	var got disputes.Case
	for {
		got, err = h.App.Disputes.Get(ctx, dc.ID)
		if err != nil {
			t.Fatal(err)
		}
		if got.Submission != disputes.SubmitQueued || time.Now().After(deadline) {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	if got.Submission != disputes.SubmitSubmitted || got.SubmittedAt.IsZero() || got.Statement != statement {
		t.Fatalf("after submission: %+v", got)
	}
	sent := rec.Requests(http.MethodPost, "/v1/disputes/dp_test_full")
	if len(sent) != 1 {
		t.Fatalf("%d dispute updates sent to Stripe", len(sent))
	}
	uploads := rec.Requests(http.MethodPost, "/v1/files")
	if len(uploads) != 1 || uploads[0].Form.Get("purpose") != "dispute_evidence" ||
		!strings.HasPrefix(uploads[0].Form.Get("file"), "evidence-"+dc.ID+"-") || !strings.HasPrefix(uploads[0].IdempotencyKey(), "dispute-file-"+dc.ID) {
		t.Fatalf("evidence PDF upload: %+v", uploads)
	}
	f := sent[0].Form
	if !strings.HasPrefix(f.Get("evidence[service_documentation]"), "file_") {
		t.Errorf("service_documentation = %q, want the uploaded file", f.Get("evidence[service_documentation]"))
	}
	if f.Get("submit") != "true" || !strings.HasPrefix(sent[0].IdempotencyKey(), "dispute-evidence-"+dc.ID) {
		t.Fatalf("submission: submit=%q key=%q", f.Get("submit"), sent[0].IdempotencyKey())
	}
	for field, want := range map[string]string{
		"evidence[uncategorized_text]":             statement,
		"evidence[refund_policy_disclosure]":       "default@1",
		"evidence[cancellation_policy_disclosure]": "from IP 127.0.0.1",
		"evidence[access_activity_log]":            "order_view " + orderID,
		"evidence[product_description]":            "Publications posts",
		"evidence[customer_email_address]":         "ana@example.fr",
		"evidence[customer_purchase_ip]":           "127.0.0.1",
		"evidence[service_date]":                   "2026-03-08",
	} {
		if !strings.Contains(f.Get(field), want) {
			t.Errorf("%s = %q, want it to hold %q", field, f.Get(field), want)
		}
	}
	if log := f.Get("evidence[access_activity_log]"); !strings.Contains(log, "sign_in") || !strings.Contains(log, "Ana's laptop") {
		t.Errorf("the activity log lacks the sign-in or the order view's browser: %q", log)
	}
	if comm := f.Get("evidence[uncategorized_text]"); !strings.Contains(comm, "Merci, tout est bien arrivé.") || !strings.Contains(comm, "Avec plaisir") ||
		!strings.Contains(comm, "order_confirmation") || strings.Contains(comm, "loyal customer") {
		t.Errorf("the communication in the evidence is wrong: %q", comm)
	}
	if !strings.Contains(f.Get("evidence[uncategorized_text]"), "delivered 40 -> 100") {
		t.Errorf("the delivery record is not in the evidence: %q", f.Get("evidence[uncategorized_text]"))
	}
	// Submitted once: a second submission is refused.
	if r := ag.PostForm("/console/disputes/"+dc.ID, url.Values{"statement": {"again"}, "action": {"submit"}}); r.Status != http.StatusConflict {
		t.Fatalf("second submission: %d", r.Status)
	}

	// The PDF, read back as text, holds the consent and delivery records.
	pdf := ag.Get("/console/disputes/" + dc.ID + "/evidence.pdf")
	if pdf.Status != http.StatusOK || pdf.Header.Get("Content-Type") != "application/pdf" {
		t.Fatalf("pdf: %d %s", pdf.Status, pdf.Header.Get("Content-Type"))
	}
	text := pdftext.Text(t, []byte(pdf.Body))
	for _, want := range []string{"Consent record", "from IP 127.0.0.1", "Ana's laptop", "wording version", "Refund policy accepted: default@1",
		"Delivery record", "delivered 0 -> 40 (agent)", "delivered 40 -> 100 (agent)", statement, "Merci, tout est bien arrivé."} {
		if !strings.Contains(text, want) {
			t.Errorf("the PDF's text lacks %q:\n%s", want, text)
		}
	}
	zr := ag.Get("/console/disputes/" + dc.ID + "/evidence.zip")
	zf, err := zip.NewReader(bytes.NewReader([]byte(zr.Body)), int64(len(zr.Body)))
	if zr.Status != http.StatusOK || err != nil {
		t.Fatalf("zip: %d %v", zr.Status, err)
	}
	names := map[string]bool{}
	for _, f := range zf.File {
		names[f.Name] = true
	}
	for _, want := range []string{"evidence-" + dc.ID + ".pdf", "04-consent_record.txt", "05-service_documentation.txt", "refund-policy-default-1.toml"} {
		if !names[want] {
			t.Errorf("zip lacks %s: %v", want, names)
		}
	}

	// The bank decides against the store: the case is lost, the hold
	// stays (the bank gave the money back already), the order's history
	// says so, the agents hear of it; a late update changes nothing.
	dispute["status"] = "lost"
	deliver(stripe.EventTypeChargeDisputeClosed, dispute)
	dispute["status"] = "under_review"
	deliver(stripe.EventTypeChargeDisputeUpdated, dispute)
	got, _ = h.App.Disputes.Get(ctx, dc.ID)
	if got.Status != disputes.StatusLost || got.ClosedAt.IsZero() || got.StripeStatus != "lost" {
		t.Fatalf("after closed lost: %+v", got)
	}
	if alerts, _ := h.App.Outbox.List(ctx, mail.Filter{Kind: "alert_dispute_closed"}); len(alerts) != 1 {
		t.Fatalf("%d closing alerts", len(alerts))
	} else if want := "a tranché une contestation de paiement (commande " + orderID + ", " + u.Name + ")\u00a0: perdue (25,00\u00a0€)"; !strings.Contains(alerts[0].Text, want) {
		t.Errorf("the French closing alert lacks %q:\n%s", want, alerts[0].Text)
	}
	mustContain(t, ag.Get("/console/orders/"+orderID), `id="order-disputes"`, `href="/console/disputes/`+dc.ID+`"`, "<strong>Perdue</strong>")
	if strings.Contains(c.Get("/orders/"+orderID).Body, "order-disputes") {
		t.Fatal("the customer's order page shows the dispute case")
	}
	var marks int
	h.App.DB.Read.QueryRowContext(ctx, `SELECT COUNT(*) FROM audit_log WHERE subject_type = 'order' AND subject_id = $1 AND action = 'order.dispute_lost'`, orderID).Scan(&marks)
	if marks != 1 {
		t.Fatalf("%d order.dispute_lost entries", marks)
	}
	err = h.App.DB.Tx(ctx, func(tx *sql.Tx) error {
		_, err := h.App.Card.RefundTx(ctx, tx, pay.ID, money.MustNew(500, "EUR"), "goodwill")
		return err
	})
	if !errors.Is(err, cardpay.ErrPaymentDisputed) {
		t.Fatalf("refund after a lost dispute: %v", err)
	}
	if r := ag.PostForm("/console/disputes/"+dc.ID, url.Values{"statement": {"late"}, "action": {"save"}}); r.Status != http.StatusConflict {
		t.Fatalf("statement on a closed case: %d", r.Status)
	}
}

// A dispute the store wins releases the hold: refunds work again.
func TestDisputeWonReleasesTheRefundHold(t *testing.T) {
	h := startWithStripe(t)
	ctx := context.Background()
	p := newService(t, h, "posts", 25)
	u, c := h.User(t, account.RoleCustomer, "ben@example.fr")
	body := `{"lines":[{"product_id":"` + p.ID + `","quantity":100}],"payment":"card","consent":{"immediate_performance":true,"withdrawal_waiver":true},"accept_policy":"default@1"}`
	r := postJSON(c, "/api/v1/orders", body, h.Bearer(t, u.ID))
	var created struct{ ID string }
	if r.Status != http.StatusCreated || json.Unmarshal([]byte(r.Body), &created) != nil {
		t.Fatalf("card order: %d %s", r.Status, r.Body)
	}
	pay, _, _ := h.App.Card.Pending(ctx, cardpay.PurposeOrder, created.ID)
	deliver := webhookDeliverer(t, h)
	deliver(stripe.EventTypeCheckoutSessionCompleted, completed(pay))
	dispute := map[string]any{"id": "dp_test_won", "object": "dispute", "amount": 2500, "currency": "eur",
		"payment_intent": "pi_" + pay.ID, "reason": "fraudulent", "status": "needs_response"}
	deliver(stripe.EventTypeChargeDisputeCreated, dispute)
	refund := func() error {
		return h.App.DB.Tx(ctx, func(tx *sql.Tx) error {
			_, err := h.App.Card.RefundTx(ctx, tx, pay.ID, money.MustNew(500, "EUR"), "goodwill")
			return err
		})
	}
	if err := refund(); !errors.Is(err, cardpay.ErrPaymentDisputed) {
		t.Fatalf("refund while open: %v", err)
	}
	// A claim whose policy decides a card refund is recorded, as of when
	// the customer sent it, and waits with its refund held: refusing it
	// lost the customer's written contact and its window.
	o, _ := h.App.Orders.Get(ctx, created.ID)
	if _, err := h.App.Orders.RecordDelivery(ctx, deliveryOf(o.ID, o.Lines[0].ID, 40)); err != nil {
		t.Fatal(err)
	}
	h.Clock.Advance(73 * time.Hour)
	cl, err := h.App.Claims.File(ctx, claims.FileInput{Kind: policy.NonDelivery, CustomerID: u.ID, OrderID: o.ID, Actor: u.Actor()})
	if err != nil || !cl.Open() || cl.Decision.Rule != claims.RuleRefundHeld {
		t.Fatalf("claim on a disputed payment: %+v %v", cl, err)
	}
	if rs, _ := h.App.Claims.Refunds(ctx, cl.ID); len(rs) != 0 {
		t.Fatalf("claim refunds while the dispute is open: %+v", rs)
	}
	dispute["status"] = "won"
	deliver(stripe.EventTypeChargeDisputeClosed, dispute)
	cases, _ := h.App.Disputes.ForReference(ctx, created.ID)
	if len(cases) != 1 || cases[0].Status != disputes.StatusWon {
		t.Fatalf("after won: %+v", cases)
	}
	// Its next re-decision refunds to the card.
	if cl, err = h.App.Claims.Redecide(ctx, cl.ID); err != nil || cl.Open() || cl.Decision.Outcome != policy.OutcomeRefund {
		t.Fatalf("claim after a won dispute: %+v %v", cl, err)
	}
	if rs, _ := h.App.Claims.Refunds(ctx, cl.ID); len(rs) != 1 || rs[0].Destination != claims.DestCard {
		t.Fatalf("claim refunds after a won dispute: %+v", rs)
	}
}

// Evidence Stripe refuses (a 400: final) leaves the case "failed" with
// Stripe's reason, alerts the agents, and can be sent again, under a new
// idempotency key (Stripe would answer the old one with the old refusal).
func TestDisputeEvidenceRefusedByStripeCanBeSentAgain(t *testing.T) {
	h, rec := scaStore(t)
	ctx := context.Background()
	_, ag := h.User(t, account.RoleAgent, "agent@shop.test")
	p := newService(t, h, "posts", 25)
	u, c := h.User(t, account.RoleCustomer, "cleo@example.fr")
	body := `{"lines":[{"product_id":"` + p.ID + `","quantity":100}],"payment":"card","consent":{"immediate_performance":true,"withdrawal_waiver":true},"accept_policy":"default@1"}`
	r := postJSON(c, "/api/v1/orders", body, h.Bearer(t, u.ID))
	var created struct{ ID string }
	if r.Status != http.StatusCreated || json.Unmarshal([]byte(r.Body), &created) != nil {
		t.Fatalf("card order: %d %s", r.Status, r.Body)
	}
	pay, _, _ := h.App.Card.Pending(ctx, cardpay.PurposeOrder, created.ID)
	for _, ev := range []struct {
		typ stripe.EventType
		obj map[string]any
	}{
		{stripe.EventTypeCheckoutSessionCompleted, completed(pay)},
		{stripe.EventTypeChargeDisputeCreated, map[string]any{"id": "dp_test_refused", "object": "dispute", "amount": 2500, "currency": "eur",
			"payment_intent": "pi_" + pay.ID, "reason": "fraudulent", "status": "needs_response"}},
	} {
		payload, sig := cardpaytest.Event(t, webhookSecret, cardpaytest.EventID(), ev.typ, ev.obj)
		if got := deliverEvent(t, h, payload, sig); got != http.StatusOK {
			t.Fatalf("%s: %d", ev.typ, got)
		}
	}
	cases, _ := h.App.Disputes.ForReference(ctx, created.ID)
	if len(cases) != 1 {
		t.Fatalf("cases: %+v", cases)
	}
	dc := cases[0]
	path := "/v1/disputes/dp_test_refused"
	rec.Respond(cardpaytest.To(http.MethodPost, path), http.StatusBadRequest,
		cardpaytest.StripeError("invalid_request_error", "parameter_invalid_string_empty", "This dispute is already closed.", nil))
	if r := ag.PostForm("/console/disputes/"+dc.ID, url.Values{"statement": {"first try"}, "action": {"submit"}}); r.Status != http.StatusSeeOther {
		t.Fatalf("submit: %d", r.Status)
	}
	testwait.Until(t, "the submission to fail", func() bool {
		got, _ := h.App.Disputes.Get(ctx, dc.ID)
		return got.Submission == disputes.SubmitFailed
	})
	got, _ := h.App.Disputes.Get(ctx, dc.ID)
	if !strings.Contains(got.SubmitError, "already closed") || !got.SubmittedAt.IsZero() {
		t.Fatalf("after the refusal: %+v", got)
	}
	if alerts, _ := h.App.Outbox.List(ctx, mail.Filter{Kind: "alert_dispute_submit_failed"}); len(alerts) != 1 {
		t.Fatalf("%d refusal alerts", len(alerts))
	}
	mustContain(t, ag.Get("/console/disputes/"+dc.ID), "already closed", `id="dispute-form"`)

	rec.ClearRules()
	if r := ag.PostForm("/console/disputes/"+dc.ID, url.Values{"statement": {"second try"}, "action": {"submit"}}); r.Status != http.StatusSeeOther {
		t.Fatalf("submit again: %d", r.Status)
	}
	testwait.Until(t, "the second submission", func() bool {
		got, _ := h.App.Disputes.Get(ctx, dc.ID)
		return got.Submission == disputes.SubmitSubmitted
	})
	sent := rec.Requests(http.MethodPost, path)
	if len(sent) != 2 || sent[0].IdempotencyKey() == sent[1].IdempotencyKey() ||
		sent[1].Form.Get("evidence[uncategorized_text]") == "" || !strings.HasPrefix(sent[1].Form.Get("evidence[uncategorized_text]"), "second try") {
		t.Fatalf("requests to Stripe: %d", len(sent))
	}
}

// A submission whose job is retried (Stripe answered the evidence with an
// error worth retrying) sends the same evidence file again: the file its
// first attempt uploaded, recorded on the case, whose PDF the retry makes
// again to the byte (the pack keeps its time, the PDF's date). Before,
// the pack was made anew at each attempt, and under the same idempotency
// key Stripe refused the other file for good (the agents had to submit
// again); then the retry uploaded it again, which Stripe answered with
// the same file.
func TestDisputeSubmissionRetrySendsTheSameFile(t *testing.T) {
	h, rec := scaStore(t)
	ctx := context.Background()
	_, ag := h.User(t, account.RoleAgent, "agent@shop.test")
	p := newService(t, h, "posts", 25)
	u, c := h.User(t, account.RoleCustomer, "cleo@example.fr")
	body := `{"lines":[{"product_id":"` + p.ID + `","quantity":100}],"payment":"card","consent":{"immediate_performance":true,"withdrawal_waiver":true},"accept_policy":"default@1"}`
	r := postJSON(c, "/api/v1/orders", body, h.Bearer(t, u.ID))
	var created struct{ ID string }
	if r.Status != http.StatusCreated || json.Unmarshal([]byte(r.Body), &created) != nil {
		t.Fatalf("card order: %d %s", r.Status, r.Body)
	}
	pay, _, _ := h.App.Card.Pending(ctx, cardpay.PurposeOrder, created.ID)
	deliver := webhookDeliverer(t, h)
	deliver(stripe.EventTypeCheckoutSessionCompleted, completed(pay))
	deliver(stripe.EventTypeChargeDisputeCreated, map[string]any{"id": "dp_test_retry", "object": "dispute", "amount": 2500,
		"currency": "eur", "payment_intent": "pi_" + pay.ID, "reason": "fraudulent", "status": "needs_response"})
	cases, _ := h.App.Disputes.ForReference(ctx, created.ID)
	if len(cases) != 1 {
		t.Fatalf("cases: %+v", cases)
	}
	path := "/v1/disputes/dp_test_retry"
	rec.Respond(cardpaytest.To(http.MethodPost, path), http.StatusUnauthorized,
		cardpaytest.StripeError("invalid_request_error", "", "Invalid API Key provided.", nil))
	if r := ag.PostForm("/console/disputes/"+cases[0].ID, url.Values{"statement": {"delivered"}, "action": {"submit"}}); r.Status != http.StatusSeeOther {
		t.Fatalf("submit: %d", r.Status)
	}
	testwait.Until(t, "the first attempt", func() bool { return len(rec.Requests(http.MethodPost, path)) == 1 })
	h.Clock.Advance(2 * time.Minute) // the retry comes later
	rec.ClearRules()
	testwait.Until(t, "the retried submission", func() bool {
		got, _ := h.App.Disputes.Get(ctx, cases[0].ID)
		return got.Submission != disputes.SubmitQueued
	})
	uploads := rec.Requests(http.MethodPost, "/v1/files")
	if len(uploads) != 1 {
		t.Fatalf("%d uploads of the evidence PDF, want one", len(uploads))
	}
	sent := rec.Requests(http.MethodPost, path)
	if len(sent) != 2 || sent[0].Form.Get("evidence[service_documentation]") == "" ||
		sent[0].Form.Get("evidence[service_documentation]") != sent[1].Form.Get("evidence[service_documentation]") {
		t.Fatalf("the evidence named the files %q; want twice the one uploaded", func() (files []string) {
			for _, q := range sent {
				files = append(files, q.Form.Get("evidence[service_documentation]"))
			}
			return files
		}())
	}
	if got, _ := h.App.Disputes.Get(ctx, cases[0].ID); got.Submission != disputes.SubmitSubmitted {
		t.Fatalf("after the retry: %s (%s)", got.Submission, got.SubmitError)
	}
}
