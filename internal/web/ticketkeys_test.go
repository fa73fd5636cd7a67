package web_test

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"comptoir/internal/account"
	"comptoir/internal/apptest"
	"comptoir/internal/desk"
)

// outMessages counts the store's emails recorded on a ticket and the
// customer's messages.
func ticketMessages(t *testing.T, h *apptest.Harness, ticketID string) (in, out int) {
	t.Helper()
	msgs, err := h.App.Desk.Thread(context.Background(), ticketID, true)
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range msgs {
		switch m.Direction {
		case desk.DirectionIn:
			in++
		case desk.DirectionOut:
			out++
		}
	}
	return in, out
}

// The ticket routes create records (a ticket, a message, an agent's email
// to the customer), so they take an Idempotency-Key like the others: an
// agent's client that retried a reply whose answer it lost mailed the
// customer twice, and a customer's retry wrote their message twice.
func TestTicketRoutesHonourIdempotencyKey(t *testing.T) {
	h := apptest.Start(t)
	cus, _ := h.User(t, account.RoleCustomer, "ana@example.fr")
	agentUser, _ := h.User(t, account.RoleAgent, "agent@shop.test")
	c := h.NewClient(t)

	open := h.Bearer(t, cus.ID)
	open.Set("Idempotency-Key", "open-1")
	body := `{"name":"Ana","email":"ana@example.fr","topic":"question","message":"Where is my licence?"}`
	first := postJSON(c, "/api/v1/tickets", body, open)
	if first.Status != http.StatusCreated {
		t.Fatalf("open: %d %s", first.Status, first.Body)
	}
	again := postJSON(c, "/api/v1/tickets", body, open)
	if again.Status != http.StatusCreated || again.Body != first.Body || again.Header.Get("Idempotent-Replayed") != "true" {
		t.Errorf("retried open: %d %s, want the first answer %s", again.Status, again.Body, first.Body)
	}
	mine, _, err := h.App.Desk.ListForCustomer(context.Background(), cus.ID, "", 0)
	if err != nil || len(mine) != 1 {
		t.Fatalf("%d tickets after a retried open (%v), want 1", len(mine), err)
	}
	tk := mine[0]

	reply := h.Bearer(t, agentUser.ID)
	reply.Set("Idempotency-Key", "reply-1")
	path := "/api/v1/tickets/" + tk.ID + "/messages"
	first = postJSON(c, path, `{"message":"Here it is."}`, reply)
	if first.Status != http.StatusCreated {
		t.Fatalf("reply: %d %s", first.Status, first.Body)
	}
	again = postJSON(c, path, `{"message":"Here it is."}`, reply)
	if again.Status != http.StatusCreated || again.Body != first.Body || again.Header.Get("Idempotent-Replayed") != "true" {
		t.Errorf("retried reply: %d %s, want the first answer %s", again.Status, again.Body, first.Body)
	}
	if in, out := ticketMessages(t, h, tk.ID); in != 1 || out != 2 {
		t.Errorf("after a retried reply: %d in, %d out; want 1 in, 2 out (the acknowledgement and one answer)", in, out)
	}
	other := postJSON(c, path, `{"message":"Something else."}`, reply)
	if other.Status != http.StatusUnprocessableEntity || !strings.Contains(other.Body, `"code":"idempotency_key_reused"`) {
		t.Errorf("same key, another reply: %d %s", other.Status, other.Body)
	}

	if _, err := h.App.Desk.Note(context.Background(), agentUser.Actor(), tk.ID, "Internal: customer is a reseller"); err != nil {
		t.Fatal(err)
	}
	back := h.Bearer(t, cus.ID)
	back.Set("Idempotency-Key", "reply-1") // the same key, another caller: another request
	first = postJSON(c, path, `{"message":"Thanks, it works."}`, back)
	again = postJSON(c, path, `{"message":"Thanks, it works."}`, back)
	if first.Status != http.StatusCreated || again.Body != first.Body || again.Header.Get("Idempotent-Replayed") != "true" {
		t.Errorf("customer's retried message: %d %s then %s", first.Status, first.Body, again.Body)
	}
	if strings.Contains(first.Body, `"direction":"note"`) || strings.Contains(first.Body, "reseller") {
		t.Errorf("the customer's answer shows a note: %s", first.Body)
	}
	if in, out := ticketMessages(t, h, tk.ID); in != 2 || out != 2 {
		t.Errorf("after a retried customer message: %d in, %d out; want 2 in, 2 out", in, out)
	}
}
