package privacy_test

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"comptoir/internal/account"
	"comptoir/internal/apptest"
	"comptoir/internal/audit"
	"comptoir/internal/desk"
	"comptoir/internal/privacy"
	"comptoir/internal/testwait"
)

// A customer whose address has a capital letter outside ASCII
// ("ÉLODIE…") and who wrote as a guest from that same address: the
// export holds that ticket and the erasure blanks it and the mail sent
// about it. Before, both matched lower(customer_email) with Go's lower
// case, and SQLite's lower() leaves É as it is: on SQLite the guest
// ticket and its acknowledgement were left out of the export and
// survived the erasure.
func TestGuestTicketsFoundWhateverTheCaseOfAccents(t *testing.T) {
	h := apptest.Start(t)
	ctx := context.Background()
	d := h.App.DB
	const addr = "ÉLODIE.Quazimir@example.org"
	const said = "QuazimirGuestMessage"
	u, err := h.App.Accounts.SignUp(ctx, account.SignUpInput{Email: addr, Password: apptest.Password, Name: "Élodie Quazimir",
		Language: "fr", Country: "FR", Region: "Bretagne", City: "Brest"})
	if err != nil {
		t.Fatal(err)
	}
	proveAddress(t, h, addr)
	// Written as a guest afterwards, the address typed in another case.
	if _, err := h.App.Desk.OpenFromContact(ctx, desk.ContactInput{Name: "Élodie", Email: "Élodie.Quazimir@EXAMPLE.org",
		Topic: desk.Topics[0], Message: said, Lang: "fr"}); err != nil {
		t.Fatal(err)
	}
	testwait.Until(t, "acknowledgement stored", func() bool {
		return count(t, d, `SELECT COUNT(*) FROM outgoing_mail WHERE kind = 'ticket_ack'`) == 1
	})
	confirmGuest(t, h, "Élodie.Quazimir@EXAMPLE.org")

	c := h.NewClient(t)
	r := c.Send(http.MethodGet, "/api/v1/me/export", "", nil, h.Bearer(t, u.ID))
	if r.Status != http.StatusOK {
		t.Fatalf("export: %d %s", r.Status, r.Body)
	}
	for _, want := range []string{said, "Élodie.Quazimir@EXAMPLE.org"} {
		if !strings.Contains(r.Body, want) {
			t.Errorf("the export lacks the guest ticket's %q", want)
		}
	}

	if _, err := h.App.Privacy.Erase(ctx, u.ID, audit.Actor{ID: u.ID, Role: account.RoleCustomer}, privacy.ReasonCustomerRequest); err != nil {
		t.Fatal(err)
	}
	for _, hit := range scanTables(t, d, []string{said, "quazimir@", "Quazimir@"}) {
		t.Errorf("%q still in %s.%s after the erasure", hit.needle, hit.table, hit.column)
	}
}
