package privacy_test

import (
	"context"
	"sync"
	"testing"

	"comptoir/internal/account"
	"comptoir/internal/apptest"
	"comptoir/internal/desk"
	"comptoir/internal/privacy"
)

// Erasing one customer from several requests at once (a double click, the
// customer and an admin) erases once: one "erased" entry in the audit log,
// one answer that did it, the others told it was already done. Before,
// on PostgreSQL each transaction read the account as not yet erased
// before the first committed, and each recorded its own erasure.
func TestConcurrentErasuresEraseOnce(t *testing.T) {
	h := apptest.Start(t)
	ctx := context.Background()
	d := h.App.DB
	u, err := h.App.Accounts.SignUp(ctx, account.SignUpInput{Email: "twice@example.org", Password: apptest.Password, Name: "Twice",
		Language: "en", Country: "FR", Region: "Bretagne", City: "Brest"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := h.App.Desk.OpenFromContact(ctx, desk.ContactInput{CustomerID: u.ID, Name: "Twice", Email: "twice@example.org",
		Topic: desk.Topics[0], Message: "Hello.", Lang: "en"}); err != nil {
		t.Fatal(err)
	}
	const n = 6
	var wg sync.WaitGroup
	results := make([]privacy.Erasure, n)
	errs := make([]error, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			results[i], errs[i] = h.App.Privacy.Erase(ctx, u.ID, admin, privacy.ReasonOnBehalf)
		}()
	}
	wg.Wait()
	did := 0
	for i := range n {
		if errs[i] != nil {
			t.Fatalf("erasure %d: %v", i, errs[i])
		}
		if !results[i].Already {
			did++
		}
	}
	if did != 1 {
		t.Errorf("%d of %d concurrent erasures say they erased, want 1", did, n)
	}
	if got := count(t, d, `SELECT COUNT(*) FROM audit_log WHERE subject_id = $1 AND action = 'erased'`, u.ID); got != 1 {
		t.Errorf("%d erasures recorded in the audit log, want 1", got)
	}
}
