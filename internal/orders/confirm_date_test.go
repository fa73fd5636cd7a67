package orders_test

import (
	"context"
	"strings"
	"testing"

	"comptoir/internal/account"
	"comptoir/internal/localtime"
	"comptoir/internal/mail"
	"comptoir/internal/orders"
)

// The order confirmation dates the order as the other mails date what
// they tell (a subscription's period, a claim's answer): in words, in the
// reader's language and the store's zone, not as "08/03/2026 11:00 CET".
func TestOrderConfirmationDatesTheOrderInWords(t *testing.T) {
	e := setup(t)
	ctx := context.Background()
	paris, err := localtime.Load("Europe/Paris")
	if err != nil {
		t.Fatal(err)
	}
	svc := orders.New(e.db, e.clock, e.catalog, e.ledger, e.accounts, e.outbox, orders.Options{BaseURL: "http://shop.test", StoreName: "Shop", Zone: paris})
	p := e.service(t, 25)
	for _, tc := range []struct{ lang, want string }{
		{"fr", ", passée le 8 mars 2026 à 11:00 CET\n"},
		{"en", ", placed on 8 March 2026 at 11:00 CET\n"},
	} {
		u := e.customer(t, tc.lang+"@example.fr", "FR", account.CustomerConsumer, 10000)
		in := place(u, p.ID, 100, true)
		in.Lang = tc.lang
		o, err := svc.Place(ctx, in, nil)
		if err != nil {
			t.Fatal(err)
		}
		msgs, err := e.outbox.List(ctx, mail.Filter{Kind: "order_confirmation", UserID: u.ID})
		if err != nil || len(msgs) != 1 {
			t.Fatalf("%s: %d confirmations, %v", tc.lang, len(msgs), err)
		}
		if want := o.ID + tc.want; !strings.Contains(msgs[0].Text, want) {
			t.Errorf("%s confirmation lacks %q:\n%s", tc.lang, want, msgs[0].Text)
		}
	}
}
