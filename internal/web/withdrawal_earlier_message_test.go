package web_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"comptoir/internal/account"
	"comptoir/internal/apptest"
	"comptoir/internal/desk"
	"comptoir/internal/policy"
)

// The customer wrote within the withdrawal period, then pressed the
// withdraw button once it was over, and that withdrawal was refused as out
// of time. The console's "claim from this message" then answered that a
// withdrawal was already received: the agent could not act on the in-time
// message. It now decides the withdrawal on record again, dated from the
// message: refunded, still one withdrawal on the line.
func TestConsoleWithdrawalFromAnEarlierMessage(t *testing.T) {
	h := apptest.Start(t)
	ctx := t.Context()
	u, c := h.User(t, account.RoleCustomer, "ana@example.fr")
	o := buyAndDeliver(t, h, u, 40)
	h.Clock.Advance(10 * 24 * time.Hour)
	tk, err := h.App.Desk.OpenFromContact(ctx, desk.ContactInput{CustomerID: u.ID, Name: "Ana", Email: u.Email, OrderRef: o.ID,
		Topic: desk.TopicOrder, Message: "Je me rétracte de cette commande.", Lang: "fr"})
	if err != nil {
		t.Fatal(err)
	}
	thread, _ := h.App.Desk.Thread(ctx, tk.ID, false)
	h.Clock.Advance(10 * 24 * time.Hour)
	if r := postJSON(c, "/api/v1/claims", `{"kind":"withdrawal","order_id":"`+o.ID+`"}`, h.Bearer(t, u.ID)); r.Status != http.StatusCreated ||
		!strings.Contains(r.Body, `"outcome":"refused"`) {
		t.Fatalf("the late withdrawal: %d %s", r.Status, r.Body)
	}
	before := balanceOf(t, h, u)
	_, ag := h.User(t, account.RoleAgent, "agent@shop.test")
	w := url.Values{"claim_key": {formKey(t, ag.Get("/console/tickets/"+tk.ID), "claim_key")}, "message_id": {thread[0].ID},
		"kind": {"withdrawal"}, "order_id": {o.ID}}
	r := ag.PostForm("/console/tickets/"+tk.ID+"/claim", w)
	if r.Status != http.StatusSeeOther || !strings.HasPrefix(r.Location, "/console/claims/clm_") {
		t.Fatalf("withdrawal from the in-time message: %d %q %s", r.Status, r.Location, r.Body)
	}
	cs := claimsOfOrder(t, h, o.ID)
	if len(cs) != 1 || cs[0].Kind != policy.Withdrawal || cs[0].Decision.Outcome != policy.OutcomeRefund || cs[0].SourceMessageID != thread[0].ID ||
		!cs[0].FiledAt.Equal(thread[0].CreatedAt) {
		t.Fatalf("claims: %+v", cs)
	}
	if b := balanceOf(t, h, u); b != before+1500 {
		t.Errorf("balance %d, want %d", b, before+1500)
	}
}
