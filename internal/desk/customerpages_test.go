package desk_test

import (
	"context"
	"testing"
	"time"

	"comptoir/internal/desk"
)

// A customer's pages of tickets go through every ticket once, even when
// several were last active at the same instant (the clock did not move:
// the cursor's id breaks the tie), and a ticket active again after its page
// was read is not shown twice: the next page starts from where the page
// ended, not from where that ticket is now.
func TestCustomerPagesKeepTheirPlace(t *testing.T) {
	e := setup(t)
	ctx := context.Background()
	var opened []string
	for range 5 {
		tk, err := e.desk.OpenFromContact(ctx, desk.ContactInput{Name: "Ana", Email: e.customer.Email, CustomerID: e.customer.ID,
			Topic: desk.TopicQuestion, Message: "Hello", Lang: "fr"})
		if err != nil {
			t.Fatal(err)
		}
		opened = append(opened, tk.ID)
	}
	seen := map[string]int{}
	after := ""
	for pages := 0; ; pages++ {
		if pages > 5 {
			t.Fatal("the pages never end")
		}
		page, next, err := e.desk.ListForCustomer(ctx, e.customer.ID, after, 2)
		if err != nil {
			t.Fatal(err)
		}
		for _, tk := range page {
			seen[tk.ID]++
		}
		if pages == 0 {
			// The first ticket of the first page is active again.
			e.clock.Advance(time.Minute)
			if _, err := e.desk.ReplyAsCustomerThen(ctx, e.customer.ID, page[0].ID, "Anything new?", nil, nil); err != nil {
				t.Fatal(err)
			}
		}
		if next == "" {
			break
		}
		after = next
	}
	for _, id := range opened {
		if seen[id] != 1 {
			t.Errorf("ticket %s shown %d times over the pages, want once (%v)", id, seen[id], seen)
		}
	}
	if _, _, err := e.desk.ListForCustomer(ctx, e.customer.ID, opened[0], 2); err != desk.ErrNotFound {
		t.Errorf("a bare ticket id as the cursor: %v, want ErrNotFound", err)
	}
}
