package web_test

import (
	"context"
	"html"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"comptoir/internal/account"
	"comptoir/internal/apptest"
	"comptoir/internal/audit"
	"comptoir/internal/privacy"
)

// An agent's redelivery on a decided non_delivery claim would reopen it
// to wait for the line: refused, in the agent's language, on the console
// page and through the API (409 claim_not_reopened), nothing changed. Once
// the customer's account is erased, a redelivery is refused as such (409
// customer_erased_reopen): nobody could be told of it or follow the claim
// it reopens, whose refund could not go to the erased balance. Before, the
// agent got a server error (the database refuses to reopen a decided
// claim). A refusal is still taken.
func TestRedeliveryOnADecidedOrErasedClaimIsRefusedInTheAgentsLanguage(t *testing.T) {
	h := apptest.Start(t)
	ctx := context.Background()
	u, c := h.User(t, account.RoleCustomer, "ana@example.fr")
	o, claimID := fileWaitingClaim(t, h, u, c)
	admin, _ := h.User(t, account.RoleAdmin, "admin@shop.test")
	agent, agc := h.User(t, account.RoleAgent, "agent@shop.test")
	agentAuth := h.Bearer(t, agent.ID)
	if r := postJSON(c, "/api/v1/claims/"+claimID+"/decision", `{"outcome":"refused","reason_code":"delivery_record"}`, agentAuth); r.Status != http.StatusOK {
		t.Fatalf("refusal: %d %s", r.Status, r.Body)
	}
	decided, _ := h.App.Claims.Get(ctx, claimID)
	due := func() string {
		read, err := h.App.Orders.Get(ctx, o.ID)
		if err != nil {
			t.Fatal(err)
		}
		return read.Status + " " + read.Lines[0].ProcessingUntil.String()
	}
	was := due()
	redeliver := func(lang string) apptest.Response {
		t.Helper()
		agc.PostForm("/lang", url.Values{"lang": {lang}})
		page := agc.Get("/console/claims/" + claimID)
		return agc.PostForm("/console/claims/"+claimID+"/decision", url.Values{"decision_key": {formKey(t, page, "decision_key")}, "outcome": {"redeliver"}})
	}
	unchanged := func(when string) {
		t.Helper()
		now, _ := h.App.Claims.Get(ctx, claimID)
		if now.Open() || now.Revision != decided.Revision || due() != was {
			t.Fatalf("%s: claim %s revision %d (was %d), order %s (was %s): want nothing changed", when, now.Status, now.Revision, decided.Revision, due(), was)
		}
	}
	for _, tt := range []struct{ lang, want string }{
		{"fr", "une réclamation décidée n’est jamais rouverte"},
		{"en", "a decided claim is never reopened"},
	} {
		r := redeliver(tt.lang)
		if r.Status != http.StatusConflict || !strings.Contains(html.UnescapeString(r.Body), tt.want) {
			t.Fatalf("page redelivery on a decided claim (%s): %d, want 409 saying %q", tt.lang, r.Status, tt.want)
		}
	}
	// The agent's saved language is now English (the switcher).
	r := postJSON(c, "/api/v1/claims/"+claimID+"/decision", `{"outcome":"redeliver"}`, agentAuth)
	if r.Status != http.StatusConflict || !strings.Contains(r.Body, `"code":"claim_not_reopened"`) || !strings.Contains(r.Body, "never reopened") {
		t.Fatalf("API redelivery on a decided claim: %d %s", r.Status, r.Body)
	}
	unchanged("decided claim")

	if _, err := h.App.Privacy.Erase(ctx, u.ID, audit.Actor{ID: admin.ID, Role: account.RoleAdmin}, privacy.ReasonOnBehalf); err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct{ lang, want string }{
		{"fr", "sa ligne ne peut donc pas être livrée de nouveau ni sa réclamation rouverte"},
		{"en", "their line cannot be delivered again nor their claim reopened"},
	} {
		r := redeliver(tt.lang)
		if r.Status != http.StatusConflict || !strings.Contains(html.UnescapeString(r.Body), tt.want) {
			t.Fatalf("page redelivery on an erased customer's claim (%s): %d, want 409 saying %q", tt.lang, r.Status, tt.want)
		}
	}
	r = postJSON(c, "/api/v1/claims/"+claimID+"/decision", `{"outcome":"redeliver"}`, agentAuth)
	if r.Status != http.StatusConflict || !strings.Contains(r.Body, `"code":"customer_erased_reopen"`) || !strings.Contains(r.Body, "delivered again") {
		t.Fatalf("API redelivery on an erased customer's claim: %d %s", r.Status, r.Body)
	}
	unchanged("erased customer's claim")
	if r := postJSON(c, "/api/v1/claims/"+claimID+"/decision", `{"outcome":"refused","reason_code":"insufficient_evidence"}`, agentAuth); r.Status != http.StatusOK {
		t.Fatalf("refusal after the erasure: %d %s", r.Status, r.Body)
	}
}
