package web_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"comptoir/internal/account"
	"comptoir/internal/apptest"
	"comptoir/internal/config"
	"comptoir/internal/policy"
)

// fileUnhappy files a dissatisfied claim through the form, which the
// policy leaves to an agent, and returns its id.
func fileUnhappy(t *testing.T, h *apptest.Harness, email string) (string, *apptest.Client, account.User) {
	t.Helper()
	u, c := h.User(t, account.RoleCustomer, email)
	o := buyAndDeliver(t, h, u, 100)
	r := c.PostForm("/orders/"+o.ID+"/claims", url.Values{"kind": {"dissatisfied"}, "message": {"Not what I hoped."}})
	if r.Status != http.StatusSeeOther {
		t.Fatalf("file: %d %s", r.Status, r.Body)
	}
	id := strings.TrimPrefix(r.Location, "/claims/")
	cl, err := h.App.Claims.Get(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	if cl.Decision.Outcome != policy.OutcomeSolution {
		t.Fatalf("dissatisfied claim decided %v", cl.Decision.Outcome)
	}
	return id, c, u
}

// The test clock starts on Sunday 8 March 2026 at 10:00 UTC: in wall-clock
// hours the first answer is aimed for 24 h later and promised 48 h later.
func TestClaimPagesShowBothAnswerClocks(t *testing.T) {
	h := apptest.Start(t)
	id, c, u := fileUnhappy(t, h, "ana@example.fr")

	c.PostForm("/lang", url.Values{"lang": {"en"}})
	page := c.Get("/claims/" + id)
	mustContain(t, page, `id="claim-clocks"`, "first answer aimed for by 9 March 2026 at 10:00 UTC", "first answer promised by 10 March 2026 at 10:00 UTC")
	if strings.Contains(page.Body, `id="claim-late"`) || strings.Contains(page.Body, "business hours") {
		t.Fatalf("a claim in time, in wall-clock hours, shows:\n%s", page.Body)
	}
	c.PostForm("/lang", url.Values{"lang": {"fr"}})
	mustContain(t, c.Get("/claims/"+id), "première réponse visée d’ici le 9 mars 2026 à 10:00 UTC", "première réponse promise d’ici le 10 mars 2026 à 10:00 UTC")

	// The API carries the promise while the claim waits.
	r := c.Send(http.MethodGet, "/api/v1/claims/"+id, "", nil, h.Bearer(t, u.ID))
	var got struct {
		AnswerDueAt *time.Time `json:"answer_due_at"`
	}
	if r.Status != http.StatusOK || json.Unmarshal([]byte(r.Body), &got) != nil || got.AnswerDueAt == nil ||
		!got.AnswerDueAt.Equal(time.Date(2026, 3, 10, 10, 0, 0, 0, time.UTC)) {
		t.Fatalf("API claim: %d %s", r.Status, r.Body)
	}

	// Past the promise: late, on both pages, in both languages.
	h.Clock.Advance(49 * time.Hour)
	mustContain(t, c.Get("/claims/"+id), `id="claim-late"`, "en retard")
	agent, console := h.User(t, account.RoleAgent, "agent@shop.test")
	console.PostForm("/lang", url.Values{"lang": {"en"}})
	mustContain(t, console.Get("/console/claims/"+id), `id="claim-late"`, ">late<",
		"first answer aimed for by 9 March 2026 at 10:00 UTC", "first answer promised by 10 March 2026 at 10:00 UTC")
	mustContain(t, console.Get("/console/claims"), "10 March 2026 at 10:00 UTC", ">late<")
	// The scan counts it (the periodic job may have got there first:
	// either way it is flagged once); the gauge shows it.
	if _, err := h.App.Claims.MarkBreaches(context.Background(), h.Clock.Now()); err != nil {
		t.Fatal(err)
	}
	mustContain(t, h.NewClient(t).Get("/metrics"), "comptoir_claims_breached 1")

	// An agent's answer stops the clocks: the pages and the API drop them.
	if r := postJSON(c, "/api/v1/claims/"+id+"/decision", `{"outcome":"refused","reason_code":"expectation_only"}`, h.Bearer(t, agent.ID)); r.Status != http.StatusOK {
		t.Fatalf("decision: %d %s", r.Status, r.Body)
	}
	if page := c.Get("/claims/" + id); strings.Contains(page.Body, `id="claim-clocks"`) {
		t.Fatal("the answered claim still shows its clocks")
	}
	mustContain(t, h.NewClient(t).Get("/metrics"), "comptoir_claims_breached 0")
	if r := c.Send(http.MethodGet, "/api/v1/claims/"+id, "", nil, h.Bearer(t, u.ID)); strings.Contains(r.Body, "answer_due_at") {
		t.Fatalf("answered claim in the API: %s", r.Body)
	}
}

// The console lists the claims waiting for an agent nearest promise first,
// although the later one is the newest.
func TestConsoleClaimsListNearestPromiseFirst(t *testing.T) {
	h := apptest.Start(t)
	first, _, _ := fileUnhappy(t, h, "ana@example.fr")
	h.Clock.Advance(time.Hour)
	second, _, _ := fileUnhappy(t, h, "ben@example.fr")
	_, console := h.User(t, account.RoleAgent, "agent@shop.test")
	console.PostForm("/lang", url.Values{"lang": {"en"}})
	body := console.Get("/console/claims").Body
	i, j := strings.Index(body, "/console/claims/"+first), strings.Index(body, "/console/claims/"+second)
	if i < 0 || j < 0 || i > j {
		t.Fatalf("console list order: first at %d, second at %d:\n%s", i, j, body)
	}
	mustContain(t, console.Get("/console/claims"), "10 March 2026 at 10:00 UTC", "10 March 2026 at 11:00 UTC")
}

// With a business calendar the claim's clocks count business hours, as the
// tickets' do, and the page says so with the tickets' sentence.
func TestClaimClocksInBusinessHours(t *testing.T) {
	h := apptest.StartWith(t, func(c *config.Config) {
		c.SLAHours, c.SLAZone, c.SLAHolidays = "mon-fri 09:00-18:00", "Europe/Paris", "2026-04-06"
	})
	id, c, _ := fileUnhappy(t, h, "ana@example.fr")
	c.PostForm("/lang", url.Values{"lang": {"en"}})
	mustContain(t, c.Get("/claims/"+id), "11 March 2026 at 14:00 UTC", "16 March 2026 at 11:00 UTC",
		`id="claim-business-hours"`, "in business hours: mon-fri 09:00-18:00 (Europe/Paris)")
	c.PostForm("/lang", url.Values{"lang": {"fr"}})
	mustContain(t, c.Get("/claims/"+id), "en heures ouvrées\u00A0: mon-fri 09:00-18:00 (Europe/Paris)")
}
