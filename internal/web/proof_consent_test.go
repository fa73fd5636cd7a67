package web_test

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"comptoir/internal/account"
	"comptoir/internal/apptest"
)

// A customer who agreed at checkout to appear in the purchase notices sees
// that consent on their account page (no JavaScript: a plain form), and
// withdraws it with one button: their notice leaves the feed at once, even
// the one the feed had cached, while another buyer's stays. Their next
// checkout starts with "do not show" ticked; giving the consent again
// brings the old notice back. Both changes are in the audit log; a bad
// choice is refused in the visitor's language and changes nothing.
func TestProofConsentCanBeWithdrawnFromTheAccountPage(t *testing.T) {
	h := apptest.Start(t)
	ctx := context.Background()
	_, adm := h.User(t, account.RoleAdmin, "admin@shop.test")
	p := newService(t, h, "posts", 25)
	if r := adm.PostForm("/admin/proof", proofSettings("2")); r.Status != http.StatusSeeOther {
		t.Fatalf("save settings: %d %s", r.Status, r.Body)
	}
	buy := func(c *apptest.Client) {
		t.Helper()
		if r := c.PostForm("/cart", url.Values{"product_id": {p.ID}, "quantity": {"10"}}); r.Status != http.StatusSeeOther {
			t.Fatalf("add to cart: %d", r.Status)
		}
		cart := c.Get("/cart")
		form := url.Values{"checkout_key": {checkoutKey.FindStringSubmatch(cart.Body)[1]}, "payment": {"balance"}, "accept_policy": {"default@1"},
			"immediate_performance": {"yes"}, "withdrawal_waiver": {"yes"}, "proof_asked": {"1"}}
		if r := c.PostForm("/checkout", form); r.Status != http.StatusSeeOther || !strings.HasPrefix(r.Location, "/orders/ord_") {
			t.Fatalf("checkout: %d %s", r.Status, r.Body)
		}
	}
	me, c := h.User(t, account.RoleCustomer, "me@example.fr")
	other, oc := h.User(t, account.RoleCustomer, "other@example.fr")
	credit(t, h, me, 10000)
	credit(t, h, other, 10000)
	buy(c)
	buy(oc)
	h.Clock.Advance(11 * time.Minute)
	visitor := h.NewClient(t)
	if f := readFeed(t, visitor.Get("/api/v1/proof/recent")); len(f.Items) != 2 {
		t.Fatalf("before withdrawal: %d notices, want 2", len(f.Items))
	}

	page := c.Get("/account")
	mustContain(t, page, `id="proof"`, "Retirer mon consentement", `action="/account/proof-consent"`, `name="consent" value="withdraw"`)

	// A made-up choice: refused in French, nothing changed.
	if r := c.PostForm("/account/proof-consent", url.Values{"consent": {"maybe"}}); r.Status != http.StatusBadRequest || !strings.Contains(r.Body, "Choix inconnu") {
		t.Fatalf("bad choice: %d", r.Status)
	}
	if f := readFeed(t, visitor.Get("/api/v1/proof/recent")); len(f.Items) != 2 {
		t.Fatalf("a bad choice changed the feed: %d notices", len(f.Items))
	}

	r := c.PostForm("/account/proof-consent", url.Values{"consent": {"withdraw"}})
	if r.Status != http.StatusSeeOther || r.Location != "/account#proof" {
		t.Fatalf("withdraw: %d %s", r.Status, r.Location)
	}
	// Same moment: the feed computed a moment ago is still cached.
	f := readFeed(t, visitor.Get("/api/v1/proof/recent"))
	if len(f.Items) != 1 {
		t.Fatalf("after withdrawal: %d notices, want only the other buyer's", len(f.Items))
	}
	if shown, err := h.App.Proof.Current(ctx, "en"); err != nil || len(shown) != 1 {
		t.Fatalf("admin list after withdrawal: %v %+v", err, shown)
	} else if o, err := h.App.Orders.Get(ctx, shown[0].OrderID); err != nil || o.CustomerID != other.ID {
		t.Fatalf("the notice left is not the other buyer's: %v %+v", err, o)
	}
	page = c.Get("/account")
	mustContain(t, page, "Vous avez retiré votre consentement", `name="consent" value="give"`, "Donner à nouveau mon consentement")

	// English texts.
	if r := c.PostForm("/account/profile", url.Values{"language": {"en"}}); r.Status != http.StatusSeeOther {
		t.Fatalf("language: %d", r.Status)
	}
	mustContain(t, c.Get("/account"), "You withdrew your consent", "Give my consent again")

	// The next checkout does not enrol them again by default.
	if r := c.PostForm("/cart", url.Values{"product_id": {p.ID}, "quantity": {"10"}}); r.Status != http.StatusSeeOther {
		t.Fatalf("add to cart: %d", r.Status)
	}
	if cart := c.Get("/cart"); !strings.Contains(cart.Body, `id="proof_opt_out" checked`) {
		t.Fatal("after a withdrawal the checkout box does not start ticked")
	}

	if r := c.PostForm("/account/proof-consent", url.Values{"consent": {"give"}}); r.Status != http.StatusSeeOther {
		t.Fatalf("give again: %d", r.Status)
	}
	if f := readFeed(t, visitor.Get("/api/v1/proof/recent")); len(f.Items) != 2 {
		t.Fatalf("after giving consent again: %d notices, want 2", len(f.Items))
	}
	mustContain(t, c.Get("/account"), "Withdraw my consent")

	var actions []string
	rows, err := h.App.DB.Read.QueryContext(ctx, `SELECT action FROM audit_log WHERE subject_type = 'user' AND subject_id = $1
		AND action LIKE 'proof_consent_%' ORDER BY id`, me.ID)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	for rows.Next() {
		var a string
		if err := rows.Scan(&a); err != nil {
			t.Fatal(err)
		}
		actions = append(actions, a)
	}
	if got := strings.Join(actions, " "); got != "proof_consent_withdraw proof_consent_give" {
		t.Fatalf("audit log: %q", got)
	}
}
