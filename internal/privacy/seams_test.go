package privacy_test

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"comptoir/internal/account"
	"comptoir/internal/apptest"
	"comptoir/internal/catalog"
	"comptoir/internal/db"
	"comptoir/internal/money"
	"comptoir/internal/orders"
	"comptoir/internal/privacy"
	"comptoir/internal/proof"
)

// guestLink stores a guest link to the ticket as the desk does (only the
// token's SHA-256) and returns its path.
func guestLink(t *testing.T, d *db.DB, ticketID, token string) string {
	t.Helper()
	sum := sha256.Sum256([]byte(token))
	if _, err := d.Write.ExecContext(context.Background(), `INSERT INTO ticket_guest_links (token_hash, ticket_id, created_at)
		VALUES ($1, $2, $3)`, hex.EncodeToString(sum[:]), ticketID, time.Now().UTC()); err != nil {
		t.Fatal(err)
	}
	return "/support/t/" + token
}

// What other features added about a customer is exported (without
// secrets) and goes with the erasure: guest links of their tickets, a
// second factor, pending sign-ins; their purchases leave the social-proof
// feed.
func TestExportAndErasureCoverNewerFeatures(t *testing.T) {
	h := apptest.Start(t)
	ctx := context.Background()
	d := h.App.DB
	u, err := h.App.Accounts.SignUp(ctx, account.SignUpInput{Email: "mira@example.org", Password: apptest.Password, Name: "Mira",
		Language: "en", Country: "FR", Region: "Bretagne", City: "Brest"})
	if err != nil {
		t.Fatal(err)
	}
	auth := h.Bearer(t, u.ID)

	// A purchase shown in the feed, the buyer having agreed.
	st := proof.DefaultSettings()
	st.Enabled, st.K = true, 2
	if err := h.App.Proof.SaveSettings(ctx, st, admin); err != nil {
		t.Fatal(err)
	}
	p, err := h.App.Catalog.Create(ctx, admin, catalog.ProductInput{
		Slug: "logo", Kind: catalog.KindService, NameFR: "Logo", NameEN: "Logo",
		DescriptionFR: "Un logo.", DescriptionEN: "A logo.", UnitPrice: money.MustNew(500, "EUR"),
		MinQuantity: 1, MaxQuantity: 10, ProcessingTime: 72 * time.Hour,
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := h.App.Ledger.AdminCredit(ctx, admin, u.ID, money.MustNew(10000, "EUR"), "goodwill"); err != nil {
		t.Fatal(err)
	}
	optOut := false
	o, err := h.App.Orders.Place(ctx, orders.PlaceInput{CustomerID: u.ID, Lines: []orders.LineInput{{ProductID: p.ID, Quantity: 1}},
		Payment: orders.PayBalance, ImmediatePerformance: true, WithdrawalWaiver: true, Lang: "en"},
		func(ctx context.Context, tx *sql.Tx, o orders.Order) error {
			return h.App.Proof.RecordChoiceTx(ctx, tx, o.ID, &optOut)
		})
	if err != nil {
		t.Fatal(err)
	}
	h.Clock.Advance(time.Hour)
	feed, err := h.App.Proof.Current(ctx, "en")
	if err != nil || len(feed) != 1 || feed[0].OrderID != o.ID {
		t.Fatalf("feed before erasure: %+v %v", feed, err)
	}

	// A ticket opened as a guest from the customer's address, with a link.
	guest := h.NewClient(t)
	if r := guest.PostForm("/contact", url.Values{"name": {"Mira"}, "email": {"mira@example.org"}, "topic": {"question"},
		"message": {"Where is my logo?"}}); r.Status != http.StatusSeeOther {
		t.Fatalf("contact: %d %s", r.Status, r.Body)
	}
	var ticketID string
	if err := d.Read.QueryRowContext(ctx, `SELECT id FROM tickets WHERE customer_email = 'mira@example.org'`).Scan(&ticketID); err != nil {
		t.Fatal(err)
	}
	link := guestLink(t, d, ticketID, strings.Repeat("A", 42)+"Q")
	if r := guest.Get(link); r.Status != http.StatusOK {
		t.Fatalf("guest link before erasure: %d", r.Status)
	}

	// A second factor and a pending sign-in (customers normally have none).
	now := h.Clock.Now().UTC()
	for _, q := range []string{
		`INSERT INTO user_totp (user_id, secret, created_at, confirmed_at) VALUES ($1, 'ZORGLUBTOTPSECRET', $2, $2)`,
		`INSERT INTO totp_recovery_codes (user_id, code_hash) VALUES ($1, 'zorglubrecoveryhash')`,
		`INSERT INTO signin_challenges (token_hash, user_id, expires_at) VALUES ('zorglubchallengehash', $1, $2)`,
	} {
		args := []any{u.ID}
		if strings.Contains(q, "$2") {
			args = append(args, now)
		}
		if _, err := d.Write.ExecContext(ctx, q, args...); err != nil {
			t.Fatal(err)
		}
	}

	// A card dispute on the order (written as the disputes package does).
	for _, q := range []string{
		`INSERT INTO card_payments (id, purpose, reference_id, customer_id, amount, currency, status, created_at, updated_at)
			VALUES ('pay_seam', 'order', $2, $1, 500, 'EUR', 'succeeded', $3, $3)`,
		`INSERT INTO disputes (id, stripe_dispute_id, payment_id, purpose, reference_id, customer_id, amount, currency, reason,
			status, statement, created_at, updated_at) VALUES ('dsp_seam', 'dp_seam', 'pay_seam', 'order', $2, $1, 500, 'EUR',
			'fraudulent', 'open', 'ZorglubStatement', $3, $3)`,
	} {
		if _, err := d.Write.ExecContext(ctx, q, u.ID, o.ID, now); err != nil {
			t.Fatal(err)
		}
	}

	// The export says the second factor is on and what the buyer chose,
	// and holds no secret.
	r := guest.Send(http.MethodGet, "/api/v1/me/export", "", nil, auth)
	if r.Status != http.StatusOK {
		t.Fatalf("export: %d %s", r.Status, r.Body)
	}
	var exp struct {
		SecondFactor []map[string]any `json:"second_factor"`
		ProofChoices []map[string]any `json:"proof_choices"`
		Disputes     []map[string]any `json:"disputes"`
	}
	if err := json.Unmarshal([]byte(r.Body), &exp); err != nil {
		t.Fatal(err)
	}
	if len(exp.SecondFactor) != 1 || exp.SecondFactor[0]["enabled_since"] == nil {
		t.Errorf("second factor not exported: %+v", exp.SecondFactor)
	}
	if len(exp.ProofChoices) != 1 || exp.ProofChoices[0]["order_id"] != o.ID {
		t.Errorf("proof choice not exported: %+v", exp.ProofChoices)
	}
	if len(exp.Disputes) != 1 || exp.Disputes[0]["status"] != "open" || exp.Disputes[0]["reason"] != "fraudulent" ||
		exp.Disputes[0]["amount"] != float64(500) || exp.Disputes[0]["reference_id"] != o.ID {
		t.Errorf("dispute not exported: %+v", exp.Disputes)
	}
	for _, secret := range []string{"ZorglubStatement", "ZORGLUBTOTPSECRET", "zorglubrecoveryhash", "zorglubchallengehash", "token_hash"} {
		if strings.Contains(r.Body, secret) {
			t.Errorf("export holds %q", secret)
		}
	}

	// While the dispute is open, its evidence is kept: the erasure is
	// refused and changes nothing (GDPR art. 17(3)(e)).
	if _, err := h.App.Privacy.Erase(ctx, u.ID, admin, privacy.ReasonOnBehalf); !errors.Is(err, privacy.ErrOpenDispute) {
		t.Fatalf("erasure during an open dispute: %v, want ErrOpenDispute", err)
	}
	if got, _ := h.App.Accounts.UserByID(ctx, u.ID); got.Email != "mira@example.org" {
		t.Fatalf("a refused erasure changed the account: %+v", got)
	}
	if _, err := d.Write.ExecContext(ctx, `UPDATE disputes SET status = 'lost', closed_at = $2, updated_at = $2 WHERE id = $1`, "dsp_seam", now); err != nil {
		t.Fatal(err)
	}
	if _, err := h.App.Privacy.Erase(ctx, u.ID, admin, privacy.ReasonOnBehalf); err != nil {
		t.Fatal(err)
	}
	if r := guest.Get(link); r.Status != http.StatusNotFound {
		t.Errorf("guest link after erasure: %d, want 404", r.Status)
	}
	for _, q := range []string{
		`SELECT COUNT(*) FROM ticket_guest_links`,
		`SELECT COUNT(*) FROM user_totp WHERE user_id = $1`,
		`SELECT COUNT(*) FROM totp_recovery_codes WHERE user_id = $1`,
		`SELECT COUNT(*) FROM signin_challenges WHERE user_id = $1`,
	} {
		var args []any
		if strings.Contains(q, "$1") {
			args = append(args, u.ID)
		}
		if n := count(t, d, q, args...); n != 0 {
			t.Errorf("%s: %d left", q, n)
		}
	}
	// The same moment: the cached feed is re-checked, the order is gone.
	if feed, err := h.App.Proof.Current(ctx, "en"); err != nil || len(feed) != 0 {
		t.Errorf("feed after erasure: %+v %v", feed, err)
	}
	if items, err := h.App.Proof.Recent(ctx, "en"); err != nil || len(items) != 0 {
		t.Errorf("notices after erasure: %+v %v", items, err)
	}
	// The choice itself stays (append-only evidence of the order).
	if n := count(t, d, `SELECT COUNT(*) FROM proof_choices WHERE order_id = $1`, o.ID); n != 1 {
		t.Errorf("proof choice rows: %d", n)
	}
}

// The export holds what the customer said in a satisfaction survey and
// the card payments and refunds made in their name (amount, status, the
// card's country): data about them that the export left out.
func TestExportHoldsSurveysAndCardPayments(t *testing.T) {
	h := apptest.Start(t)
	ctx := context.Background()
	d := h.App.DB
	u, err := h.App.Accounts.SignUp(ctx, account.SignUpInput{Email: "noor@example.org", Password: apptest.Password, Name: "Noor",
		Language: "en", Country: "FR", Region: "Bretagne", City: "Rennes"})
	if err != nil {
		t.Fatal(err)
	}
	c := h.NewClient(t)
	if r := c.PostForm("/contact", url.Values{"name": {"Noor"}, "email": {"noor@example.org"}, "topic": {"question"},
		"message": {"A question."}}); r.Status != http.StatusSeeOther {
		t.Fatalf("contact: %d %s", r.Status, r.Body)
	}
	confirmGuest(t, h, "noor@example.org")
	proveAddress(t, h, "noor@example.org") // the guest ticket is theirs
	auth := h.Bearer(t, u.ID)              // after the proof, which revokes earlier tokens
	var ticketID string
	if err := d.Read.QueryRowContext(ctx, `SELECT id FROM tickets WHERE customer_email = 'noor@example.org'`).Scan(&ticketID); err != nil {
		t.Fatal(err)
	}
	now := h.Clock.Now().UTC()
	for _, ins := range []struct {
		q    string
		args []any
	}{
		{`INSERT INTO ticket_surveys (ticket_id, token_hash, rating, comment, sent_at, answered_at)
			VALUES ($1, 'zorglubsurveyhash', 2, 'ZorglubSurveyComment', $2, $2)`, []any{ticketID, now}},
		{`INSERT INTO card_payments (id, purpose, reference_id, customer_id, amount, currency, status, card_country, refunded, created_at, updated_at)
			VALUES ('pay_exp', 'topup', 'top_exp', $1, 700, 'EUR', 'succeeded', 'BE', 200, $2, $2)`, []any{u.ID, now}},
		{`INSERT INTO card_refunds (id, payment_id, amount, status, created_at, updated_at)
			VALUES ('rfd_exp', 'pay_exp', 200, 'succeeded', $1, $1)`, []any{now}},
	} {
		if _, err := d.Write.ExecContext(ctx, ins.q, ins.args...); err != nil {
			t.Fatal(err)
		}
	}
	r := c.Send(http.MethodGet, "/api/v1/me/export", "", nil, auth)
	if r.Status != http.StatusOK {
		t.Fatalf("export: %d %s", r.Status, r.Body)
	}
	var exp struct {
		Surveys      []map[string]any `json:"ticket_surveys"`
		CardPayments []map[string]any `json:"card_payments"`
		CardRefunds  []map[string]any `json:"card_refunds"`
	}
	if err := json.Unmarshal([]byte(r.Body), &exp); err != nil {
		t.Fatal(err)
	}
	if len(exp.Surveys) != 1 || exp.Surveys[0]["comment"] != "ZorglubSurveyComment" || exp.Surveys[0]["rating"] != float64(2) {
		t.Errorf("survey not exported: %+v", exp.Surveys)
	}
	if len(exp.CardPayments) != 1 || exp.CardPayments[0]["id"] != "pay_exp" || exp.CardPayments[0]["card_country"] != "BE" ||
		exp.CardPayments[0]["amount"] != float64(700) {
		t.Errorf("card payment not exported: %+v", exp.CardPayments)
	}
	if len(exp.CardRefunds) != 1 || exp.CardRefunds[0]["id"] != "rfd_exp" || exp.CardRefunds[0]["amount"] != float64(200) {
		t.Errorf("card refund not exported: %+v", exp.CardRefunds)
	}
	if strings.Contains(r.Body, "zorglubsurveyhash") {
		t.Error("the export holds the survey's token hash")
	}
}
