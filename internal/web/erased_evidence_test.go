package web_test

import (
	"bytes"
	"context"
	"encoding/json"
	"html"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"comptoir/internal/account"
	"comptoir/internal/apptest"
	"comptoir/internal/audit"
	"comptoir/internal/claims"
	"comptoir/internal/policy"
	"comptoir/internal/privacy"
)

// A claim's evidence erased with its customer's data was shown to the agent
// as its placeholders: the bare word "erased" for a text, and for a file a
// link named "erased" to a file that is gone (404). The claim's page now
// says, in the agent's language, that a text or a file was given and erased
// with the customer's data, without a link.
func TestErasedClaimEvidenceIsWorded(t *testing.T) {
	h := apptest.Start(t)
	ctx := context.Background()
	u, _ := h.User(t, account.RoleCustomer, "ana@example.fr")
	o := buyAndDeliver(t, h, u, 100)
	auth := h.Bearer(t, u.ID)
	c := h.NewClient(t)
	r := postJSON(c, "/api/v1/claims", `{"kind":"not_as_described","order_id":"`+o.ID+`","message":"Not what the page said."}`, auth)
	var cl struct{ ID string }
	if r.Status != http.StatusCreated || json.Unmarshal([]byte(r.Body), &cl) != nil {
		t.Fatalf("file: %d %s", r.Status, r.Body)
	}
	png := append([]byte("\x89PNG\r\n\x1a\n"), bytes.Repeat([]byte{0}, 64)...)
	ct, body := multipartBody(t, "The posts are about another brand.", map[string][]byte{"screenshot.png": png})
	if r := c.Send(http.MethodPost, "/api/v1/claims/"+cl.ID+"/evidence", ct, body, auth.Clone()); r.Status != http.StatusOK {
		t.Fatalf("evidence: %d %s", r.Status, r.Body)
	}
	agent, ag := h.User(t, account.RoleAgent, "agent@shop.test")
	mustContain(t, ag.Get("/console/claims/"+cl.ID), "The posts are about another brand.", ">screenshot.png</a>")
	if _, err := h.App.Claims.Decide(ctx, claims.AgentDecision{ClaimID: cl.ID, Outcome: policy.OutcomeRefused, ReasonCode: "expectation_only",
		Actor: agent.Actor()}); err != nil {
		t.Fatal(err)
	}
	if _, err := h.App.Privacy.Erase(ctx, u.ID, audit.Actor{ID: u.ID, Role: account.RoleCustomer}, privacy.ReasonCustomerRequest); err != nil {
		t.Fatal(err)
	}
	for _, lang := range []string{"fr", "en"} {
		ag.PostForm("/lang", url.Values{"lang": {lang}, "next": {"/"}})
		r := ag.Get("/console/claims/" + cl.ID)
		mustContain(t, r, `<html lang="`+lang+`"`,
			html.EscapeString(h.App.Messages.T(lang, "claim.evidence_erased_text")), html.EscapeString(h.App.Messages.T(lang, "claim.evidence_erased_file")))
		if strings.Contains(r.Body, ">erased<") || strings.Contains(r.Body, "/evidence/") || strings.Contains(r.Body, "another brand") {
			t.Fatalf("%s: the erased evidence shows its placeholders, or a link to a file that is gone:\n%s", lang, r.Body)
		}
	}
}
