package web_test

import (
	"encoding/json"
	"net/http"
	"net/url"
	"testing"
	"time"

	"comptoir/internal/account"
	"comptoir/internal/apptest"
)

// POLICY.md: both clocks, the answer aimed for and the one promised, are
// visible on every ticket and claim. The pages show both; the API, which
// can do all a page does, gave the promise alone.
func TestAPIShowsBothClocks(t *testing.T) {
	h := apptest.Start(t)
	cus, customer := h.User(t, account.RoleCustomer, "ana@example.fr")
	customer.PostForm("/contact", url.Values{"name": {"Ana"}, "email": {"ana@example.fr"}, "topic": {"question"}, "message": {"Hello"}})
	tk := ticketOf(t, h, "ana@example.fr")
	target, promise := time.Date(2026, 3, 9, 10, 0, 0, 0, time.UTC), time.Date(2026, 3, 10, 10, 0, 0, 0, time.UTC)
	r := customer.Send(http.MethodGet, "/api/v1/tickets/"+tk.ID, "", nil, h.Bearer(t, cus.ID))
	var ticket struct {
		DueAt    *time.Time `json:"due_at"`
		TargetAt *time.Time `json:"target_at"`
	}
	if r.Status != http.StatusOK || json.Unmarshal([]byte(r.Body), &ticket) != nil || ticket.TargetAt == nil || ticket.DueAt == nil ||
		!ticket.TargetAt.Equal(target) || !ticket.DueAt.Equal(promise) {
		t.Errorf("API ticket: %d %s; want target_at %v, due_at %v", r.Status, r.Body, target, promise)
	}
	id, c, u := fileUnhappy(t, h, "ben@example.fr")
	r = c.Send(http.MethodGet, "/api/v1/claims/"+id, "", nil, h.Bearer(t, u.ID))
	var claim struct {
		AnswerDueAt    *time.Time `json:"answer_due_at"`
		AnswerTargetAt *time.Time `json:"answer_target_at"`
	}
	if r.Status != http.StatusOK || json.Unmarshal([]byte(r.Body), &claim) != nil || claim.AnswerTargetAt == nil ||
		!claim.AnswerTargetAt.Equal(target) || !claim.AnswerDueAt.Equal(promise) {
		t.Errorf("API claim: %d %s; want answer_target_at %v, answer_due_at %v", r.Status, r.Body, target, promise)
	}
}
