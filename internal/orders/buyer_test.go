package orders

import (
	"context"
	"testing"

	"comptoir/internal/account"
)

// countingCustomers is the account reader, counting its reads.
type countingCustomers struct {
	users map[string]account.User
	reads int
}

func (c *countingCustomers) UserByID(_ context.Context, id string) (account.User, error) {
	c.reads++
	u, ok := c.users[id]
	if !ok {
		return account.User{}, account.ErrNotFound
	}
	return u, nil
}

func TestPlaceTakesTheBuyerTheRequestRead(t *testing.T) {
	stored := account.User{ID: "usr_a", Email: "a@example.fr", Country: "FR"}
	signedIn := stored
	signedIn.Name = "as the request read it"
	other := account.User{ID: "usr_b", Email: "b@example.fr"}
	for _, tc := range []struct {
		name      string
		in        PlaceInput
		wantName  string
		wantReads int
	}{
		{"no buyer given: read", PlaceInput{CustomerID: "usr_a"}, "", 1},
		{"the customer's own record: not read again", PlaceInput{CustomerID: "usr_a", Buyer: &signedIn}, signedIn.Name, 0},
		{"someone else's record: ignored, read", PlaceInput{CustomerID: "usr_a", Buyer: &other}, "", 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cust := &countingCustomers{users: map[string]account.User{"usr_a": stored}}
			s := &Service{customers: cust}
			u, err := s.buyer(context.Background(), tc.in)
			if err != nil {
				t.Fatal(err)
			}
			if u.ID != "usr_a" || u.Name != tc.wantName || cust.reads != tc.wantReads {
				t.Fatalf("buyer = %q %q after %d reads, want usr_a %q after %d", u.ID, u.Name, cust.reads, tc.wantName, tc.wantReads)
			}
		})
	}
}
