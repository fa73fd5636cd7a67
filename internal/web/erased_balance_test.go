package web_test

import (
	"context"
	"database/sql"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"comptoir/internal/account"
	"comptoir/internal/apptest"
	"comptoir/internal/audit"
	"comptoir/internal/claims"
	"comptoir/internal/orders"
	"comptoir/internal/policy"
	"comptoir/internal/privacy"
	"comptoir/internal/subscriptions"
	"comptoir/internal/web"
)

// Once a customer's account is erased, nothing more goes into its balance
// by hand: neither an admin's credit nor an agent's refund of a claim on an
// order paid from it, decided again after the erasure (409
// customer_erased, in the caller's language,
// nothing changed). Nobody can sign in to use that balance: the money was
// kept there unseen, after the customer had given up only what the
// deletion page showed. An admin may still take money out of it.
func TestNothingIsCreditedToAnErasedAccount(t *testing.T) {
	h := apptest.Start(t)
	ctx := context.Background()
	u, c := h.User(t, account.RoleCustomer, "ana@example.fr")
	o := buyAndDeliver(t, h, u, 40)
	r := postJSON(c, "/api/v1/claims", `{"kind":"dissatisfied","order_id":"`+o.ID+`","message":"Not what I hoped."}`, h.Bearer(t, u.ID))
	filed := decodeAs[struct{ ID string }](t, r)
	if r.Status != http.StatusCreated {
		t.Fatalf("claim: %d %s", r.Status, r.Body)
	}
	admin, _ := h.User(t, account.RoleAdmin, "admin@shop.test")
	agent, _ := h.User(t, account.RoleAgent, "agent@shop.test")
	adminAuth, agentAuth := h.Bearer(t, admin.ID), h.Bearer(t, agent.ID)
	// Decided before the erasure, which waits for open claims; an agent
	// may still decide it again afterwards.
	if r := postJSON(c, "/api/v1/claims/"+filed.ID+"/decision", `{"outcome":"refused","reason_code":"expectation_only"}`, agentAuth); r.Status != http.StatusOK {
		t.Fatalf("refusal: %d %s", r.Status, r.Body)
	}
	if _, err := h.App.Privacy.Erase(ctx, u.ID, audit.Actor{ID: admin.ID, Role: account.RoleAdmin}, privacy.ReasonOnBehalf); err != nil {
		t.Fatal(err)
	}
	before := balanceOf(t, h, u)
	for path, body := range map[string]string{
		"/api/v1/balance/credits":                  `{"customer_id":"` + u.ID + `","amount":{"amount":500,"currency":"EUR"},"reason":"goodwill"}`,
		"/api/v1/claims/" + filed.ID + "/decision": `{"outcome":"refund","refund":{"amount":300,"currency":"EUR"}}`,
	} {
		auth := adminAuth
		if strings.HasPrefix(path, "/api/v1/claims/") {
			auth = agentAuth
		}
		r := postJSON(c, path, body, auth)
		if r.Status != http.StatusConflict || !strings.Contains(r.Body, `"code":"customer_erased"`) || !strings.Contains(r.Body, "erased") {
			t.Errorf("%s: %d %s; want 409 customer_erased", path, r.Status, r.Body)
		}
	}
	if got := balanceOf(t, h, u); got != before {
		t.Fatalf("balance %d, was %d: credited after the erasure", got, before)
	}
	// Nor is a claim filed on it any more: nobody could follow it.
	r = postJSON(c, "/api/v1/claims", `{"kind":"not_as_described","order_id":"`+o.ID+`","message":"From an old email."}`, agentAuth)
	if r.Status != http.StatusConflict || !strings.Contains(r.Body, `"code":"account_erased"`) || !strings.Contains(r.Body, "aucune réclamation ne peut y être déposée") {
		t.Errorf("claim on an erased account: %d %s; want 409 account_erased", r.Status, r.Body)
	}
	if before > 0 {
		r := postJSON(c, "/api/v1/balance/credits", `{"customer_id":"`+u.ID+`","amount":{"amount":-100,"currency":"EUR"},"reason":"closing"}`, adminAuth)
		if r.Status != http.StatusCreated {
			t.Fatalf("debit of an erased account's balance: %d %s", r.Status, r.Body)
		}
	}
	if m, err := h.App.Ledger.Reconcile(ctx); err != nil || len(m) != 0 {
		t.Fatalf("ledger: %v %v", m, err)
	}
}

// The same for a subscription paid from the balance: canceled for the end
// of its period, its customer erased, an agent's later refund of its last
// payment is refused (customer_erased) and the period stays paid.
func TestNoSubscriptionRefundToAnErasedAccount(t *testing.T) {
	h := apptest.Start(t)
	ctx := context.Background()
	plan := newPlan(t, h, "pro", 990, 0)
	u, c := h.User(t, account.RoleCustomer, "ana@example.fr")
	credit(t, h, u, 5000)
	subID := subscribeWithBalance(t, c, h.Bearer(t, u.ID), plan.ID)
	r := postJSON(c, "/api/v1/subscriptions/"+subID+"/cancel", `{"mode":"period_end","refund":false}`, h.Bearer(t, u.ID))
	canceled := decodeAs[struct {
		ClaimID string `json:"claim_id"`
	}](t, r)
	if r.Status != http.StatusOK || canceled.ClaimID == "" {
		t.Fatalf("cancel: %d %s", r.Status, r.Body)
	}
	admin, _ := h.User(t, account.RoleAdmin, "admin@shop.test")
	agent, _ := h.User(t, account.RoleAgent, "agent@shop.test")
	if _, err := h.App.Privacy.Erase(ctx, u.ID, audit.Actor{ID: admin.ID, Role: account.RoleAdmin}, privacy.ReasonOnBehalf); err != nil {
		t.Fatal(err)
	}
	before := balanceOf(t, h, u)
	r = postJSON(c, "/api/v1/claims/"+canceled.ClaimID+"/decision", `{"outcome":"refund"}`, h.Bearer(t, agent.ID))
	if r.Status != http.StatusConflict || !strings.Contains(r.Body, `"code":"customer_erased"`) {
		t.Fatalf("refund of an erased customer's subscription: %d %s; want 409 customer_erased", r.Status, r.Body)
	}
	if got := balanceOf(t, h, u); got != before {
		t.Fatalf("balance %d, was %d", got, before)
	}
	if last, ok, err := h.App.Subscriptions.LastPayment(ctx, subID); err != nil || !ok || last.Status != subscriptions.PeriodPaid {
		t.Fatalf("last payment %+v %v %v, want still paid", last, ok, err)
	}
}

// fileWaitingClaim files, through the API, a non_delivery claim on an
// order of the customer paid from their balance whose line is still within
// its processing time: the claim waits (open), and a re-decision once the
// time has passed refunds the undelivered part to the balance.
func fileWaitingClaim(t *testing.T, h *apptest.Harness, u account.User, c *apptest.Client) (orders.Order, string) {
	t.Helper()
	o := buyAndDeliver(t, h, u, 40)
	r := postJSON(c, "/api/v1/claims", `{"kind":"non_delivery","order_id":"`+o.ID+`","message":"Only 40 posts so far."}`, h.Bearer(t, u.ID))
	filed := decodeAs[struct {
		ID       string
		Status   string
		Decision struct{ Outcome string }
	}](t, r)
	if r.Status != http.StatusCreated || filed.Status != claims.StatusOpen || filed.Decision.Outcome != string(policy.OutcomeWaitingDelivery) {
		t.Fatalf("claim: %d %s", r.Status, r.Body)
	}
	return o, filed.ID
}

// A claim still open when the customer asks for the erasure (here one
// waiting for its line's processing time, re-decided by a job later) may
// give money back to the balance: the erasure waits for it, as for an
// open dispute (409 claim_open, the reason on the page in the customer's
// language, nothing changed). Once the claim is decided, and its refund
// credited to the balance the customer can see, the erasure goes through.
// Before, the erasure went through, and the job's refund went into the
// balance of the erased account, money nobody could use or claim.
func TestErasureWaitsForAnOpenClaim(t *testing.T) {
	h := apptest.Start(t)
	ctx := context.Background()
	u, c := h.User(t, account.RoleCustomer, "ana@example.fr")
	_, claimID := fileWaitingClaim(t, h, u, c)
	api := h.NewClient(t)
	r := api.Send(http.MethodDelete, "/api/v1/me", "", nil, h.Bearer(t, u.ID))
	if r.Status != http.StatusConflict || !strings.Contains(r.Body, `"code":"claim_open"`) || !strings.Contains(r.Body, `"message":"`) {
		t.Fatalf("API erasure with a waiting claim: %d %s", r.Status, r.Body)
	}
	r = c.PostForm("/account/delete", url.Values{"password": {apptest.Password}, "forfeit_balance": {"7500"}})
	if r.Status != http.StatusConflict || !strings.Contains(r.Body, "réclamation") || !strings.Contains(r.Body, `id="password-error"`) {
		t.Fatalf("page erasure with a waiting claim: %d %s", r.Status, r.Body)
	}
	if got, _ := h.App.Accounts.UserByID(ctx, u.ID); got.Email != "ana@example.fr" {
		t.Fatalf("a refused erasure changed the account: %+v", got)
	}
	h.Clock.Advance(73 * time.Hour)
	if cl, err := h.App.Claims.Redecide(ctx, claimID); err != nil || cl.Open() {
		t.Fatalf("re-decision: %+v %v", cl, err)
	}
	if got := balanceOf(t, h, u); got != 7500+1500 {
		t.Fatalf("balance after the refund: %d", got)
	}
	if r := api.Send(http.MethodDelete, "/api/v1/me", "", nil, h.Bearer(t, u.ID)); r.Status != http.StatusOK {
		t.Fatalf("erasure once the claim is decided: %d %s", r.Status, r.Body)
	}
}

// A claim left waiting on an account erased before erasures waited for
// open claims is not refunded to that balance when its re-decision comes:
// ErrCustomerErased, the balance and the claim unchanged, left to an agent
// (who may refund another way). Before, the job credited the erased
// account's balance.
func TestWaitingClaimOfAnErasedAccountIsNotRefundedToItsBalance(t *testing.T) {
	h := apptest.Start(t)
	ctx := context.Background()
	u, c := h.User(t, account.RoleCustomer, "ana@example.fr")
	_, claimID := fileWaitingClaim(t, h, u, c)
	// Erased as the erasure did before it checked open claims.
	if err := h.App.DB.Tx(ctx, func(tx *sql.Tx) error {
		_, err := account.EraseTx(ctx, tx, u.ID, h.Clock.Now(), nil)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	before := balanceOf(t, h, u)
	h.Clock.Advance(73 * time.Hour)
	if _, err := h.App.Claims.Redecide(ctx, claimID); !errors.Is(err, claims.ErrCustomerErased) {
		t.Fatalf("re-decision for an erased account: %v, want ErrCustomerErased", err)
	}
	if got := balanceOf(t, h, u); got != before {
		t.Fatalf("balance %d, was %d: refunded into an erased account", got, before)
	}
	if cl, err := h.App.Claims.Get(ctx, claimID); err != nil || !cl.Open() || cl.Decision.Outcome != policy.OutcomeWaitingDelivery {
		t.Fatalf("claim after the refused re-decision: %+v %v", cl, err)
	}
	if m, err := h.App.Ledger.Reconcile(ctx); err != nil || len(m) != 0 {
		t.Fatalf("ledger: %v %v", m, err)
	}
}

// The deletion page's check that the customer gives up their balance runs
// again in the erasure's transaction: a credit landing between the page's
// check and the erasure (a top-up paid, a refund) refuses the erasure (409,
// the new amount shown with the reason under the box) and changes
// nothing; confirming the new amount erases. Before, the page checked the
// amount before the erasure's transaction, and the credit was given up
// without the customer ever seeing it.
func TestBalanceCreditedDuringTheDeletionIsNotGivenUpUnseen(t *testing.T) {
	h := apptest.Start(t)
	ctx := context.Background()
	u, c := h.User(t, account.RoleCustomer, "ana@example.fr")
	credit(t, h, u, 1250)
	once := false
	web.SetAfterDeleteCheck(h.App.Web, func() {
		if !once {
			once = true
			credit(t, h, u, 500) // a top-up paid meanwhile
		}
	})
	r := c.PostForm("/account/delete", url.Values{"password": {apptest.Password}, "forfeit_balance": {"1250"}})
	if r.Status != http.StatusConflict || !strings.Contains(r.Body, `id="forfeit_balance-error"`) || !strings.Contains(r.Body, "Votre solde a changé") ||
		!strings.Contains(r.Body, `value="1750"`) || !strings.Contains(r.Body, "17,50") {
		t.Fatalf("a credit during the deletion: %d %s", r.Status, r.Body)
	}
	if got, _ := h.App.Accounts.UserByID(ctx, u.ID); got.Email != "ana@example.fr" {
		t.Fatalf("erased with a balance the customer never saw: %+v", got)
	}
	if got := balanceOf(t, h, u); got != 1750 {
		t.Fatalf("balance %d, want 1750", got)
	}
	r = c.PostForm("/account/delete", url.Values{"password": {apptest.Password}, "forfeit_balance": {"1750"}})
	if r.Status != http.StatusSeeOther {
		t.Fatalf("giving up the balance shown: %d %s", r.Status, r.Body)
	}
	if got, _ := h.App.Accounts.UserByID(ctx, u.ID); got.Email != account.ErasedEmail {
		t.Fatalf("not erased: %+v", got)
	}
}
