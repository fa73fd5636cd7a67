package orders_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"comptoir/internal/account"
	"comptoir/internal/mail"
	"comptoir/internal/orders"
)

// The consent record keeps the terms of sale version in force, the
// confirmation names it with a link, and it carries the model withdrawal
// form in the buyer's language (here English; French in
// TestPlaceWithBalanceRecordsEverything).
func TestPlaceRecordsTheTermsVersionAndMailsItWithTheWithdrawalForm(t *testing.T) {
	e := setup(t)
	ctx := context.Background()
	terms := "terms@2"
	e.orders = orders.New(e.db, e.clock, e.catalog, e.ledger, e.accounts, e.outbox, orders.Options{
		BaseURL: "http://shop.test", StoreName: "Shop",
		TermsVersion: func(context.Context) (string, error) { return terms, nil },
	})
	u := e.customer(t, "ana@example.fr", "FR", account.CustomerConsumer, 10000)
	p := e.service(t, 25)

	// The page showed terms@1, but terms@2 is now in force: refused, nothing
	// written, nothing charged.
	in := place(u, p.ID, 100, true)
	in.Lang, in.AcceptTerms = "en", "terms@1"
	if _, err := e.orders.Place(ctx, in, nil); !errors.Is(err, orders.ErrTermsNotAccepted) || orders.Code(err) != "terms_not_accepted" {
		t.Fatalf("stale terms: %v", err)
	}
	if e.count(t, "orders") != 0 || e.balance(t, u) != 10000 {
		t.Fatal("a refused checkout left something behind")
	}

	in.AcceptTerms = "terms@2"
	o, err := e.orders.Place(ctx, in, nil)
	if err != nil {
		t.Fatal(err)
	}
	c, err := e.orders.ConsentOf(ctx, o.ID)
	if err != nil || c.TermsVersion != "terms@2" || c.PolicyVersion != "default@1" {
		t.Fatalf("consent %+v, %v", c, err)
	}
	msgs, err := e.outbox.List(ctx, mail.Filter{Kind: "order_confirmation"})
	if err != nil || len(msgs) != 1 {
		t.Fatalf("confirmation emails: %d %v", len(msgs), err)
	}
	// The documents are named by when they were in force, not by their IDs
	// ("version terms@2"), which only the links carry.
	for _, id := range []string{"terms@2", "default@1"} {
		if strings.Contains(msgs[0].Text, id) {
			t.Errorf("confirmation names a document %s:\n%s", id, msgs[0].Text)
		}
	}
	for _, want := range []string{"refund policy (version 1) as in force on ", "and our terms of sale (version 2) as in force at that time:", "http://shop.test/legal/terms?version=terms%402&lang=en",
		"Model withdrawal form", "I/We (*) hereby give notice", "Name of consumer(s)"} {
		if !strings.Contains(msgs[0].Text, want) {
			t.Errorf("confirmation lacks %q:\n%s", want, msgs[0].Text)
		}
	}

	// The API sends no terms version: the one in force is recorded.
	in.AcceptTerms = ""
	o, err = e.orders.Place(ctx, in, nil)
	if err != nil {
		t.Fatal(err)
	}
	if c, err := e.orders.ConsentOf(ctx, o.ID); err != nil || c.TermsVersion != "terms@2" {
		t.Fatalf("consent without accept_terms: %+v, %v", c, err)
	}
}

// A store without versioned terms records none and says nothing of them.
func TestPlaceWithoutTermsRecordsNone(t *testing.T) {
	e := setup(t)
	ctx := context.Background()
	u := e.customer(t, "ana@example.fr", "FR", account.CustomerConsumer, 10000)
	o, err := e.orders.Place(ctx, place(u, e.service(t, 25).ID, 100, true), nil)
	if err != nil {
		t.Fatal(err)
	}
	if c, err := e.orders.ConsentOf(ctx, o.ID); err != nil || c.TermsVersion != "" {
		t.Fatalf("consent %+v, %v", c, err)
	}
	msgs, _ := e.outbox.List(ctx, mail.Filter{Kind: "order_confirmation"})
	if len(msgs) != 1 || strings.Contains(msgs[0].Text, "conditions générales") || !strings.Contains(msgs[0].Text, "Formulaire de rétractation") {
		t.Fatalf("confirmation: %d messages", len(msgs))
	}
}
