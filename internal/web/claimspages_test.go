package web_test

import (
	"context"
	"fmt"
	"html"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"comptoir/internal/account"
	"comptoir/internal/apptest"
	"comptoir/internal/claims"
	"comptoir/internal/policy"
)

var nextClaimsPage = regexp.MustCompile(`<a href="(\?status=[^"]*from=[^"]*)">`)

// The console's claims list paged by offset: each claim an agent decided
// on the first page moved the claims still waiting up by one, so the
// second page started one claim late and that claim was never shown. It
// pages by position now.
func TestConsoleClaimsNextPageAfterADecision(t *testing.T) {
	h := apptest.Start(t)
	agentUser, console := h.User(t, account.RoleAgent, "agent@shop.test")
	var ids []string
	for i := range 21 {
		id, _, _ := fileUnhappy(t, h, fmt.Sprintf("c%d@example.fr", i))
		ids = append(ids, id)
		h.Clock.Advance(time.Minute)
	}
	first := console.Get("/console/claims")
	m := nextClaimsPage.FindStringSubmatch(first.Body)
	if first.Status != http.StatusOK || m == nil || !strings.Contains(first.Body, ids[19]) || strings.Contains(first.Body, ids[20]) {
		t.Fatalf("first page: %d, want claims 1 to 20 and a next link", first.Status)
	}
	if _, err := h.App.Claims.Decide(context.Background(), claims.AgentDecision{ClaimID: ids[0], Outcome: policy.OutcomeRefused,
		ReasonCode: "expectation_only", Note: "No.", Actor: agentUser.Actor()}); err != nil {
		t.Fatal(err)
	}
	second := console.Get("/console/claims" + html.UnescapeString(m[1]))
	mustContain(t, second, "/console/claims/"+ids[20])
	if strings.Contains(second.Body, "/console/claims/"+ids[19]) {
		t.Errorf("second page repeats the first")
	}
}
