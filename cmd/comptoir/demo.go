package main

import (
	"context"
	"errors"
	"fmt"
	"io"

	"comptoir/internal/account"
	"comptoir/internal/app"
	"comptoir/internal/catalog"
	"comptoir/internal/money"
)

// demoUsers are created by serve --demo on a database that has none of them.
var demoUsers = []account.CreateUserInput{
	{Email: "admin@demo.comptoir.test", Role: account.RoleAdmin, Name: "Admin Démo", Language: "fr"},
	{Email: "agent@demo.comptoir.test", Role: account.RoleAgent, Name: "Agent Démo", Language: "fr"},
	{Email: "client@demo.comptoir.test", Role: account.RoleCustomer, Name: "Camille Client", Language: "fr"},
}

// seedDemo creates the demo accounts with fresh random passwords and prints
// them once. A database that already has them is left alone, so restarting
// the demo keeps its data.
func seedDemo(ctx context.Context, a *app.App, out io.Writer) error {
	if _, err := a.Accounts.UserByEmail(ctx, demoUsers[0].Email); err == nil {
		fmt.Fprintln(out, "demo: accounts already exist (their passwords were printed on the first run)")
		return nil
	} else if !errors.Is(err, account.ErrNotFound) {
		return err
	}
	fmt.Fprintf(out, "demo: store at %s — these credentials are shown only once:\n", a.Config.BaseURL)
	var admin account.User
	for _, in := range demoUsers {
		in.Password = randomPassword()
		in.Country, in.City = "FR", "Lyon"
		u, err := a.Accounts.CreateUser(ctx, in)
		if err != nil {
			return err
		}
		fmt.Fprintf(out, "  %-8s %-28s %s\n", u.Role, u.Email, in.Password)
		switch u.Role {
		case account.RoleAdmin:
			admin = u
		case account.RoleCustomer:
			// The demo customer can buy at once, from the balance.
			if _, err := a.Ledger.AdminCredit(ctx, admin.Actor(), u.ID, money.MustNew(100_00, "EUR"), "Crédit de démonstration"); err != nil {
				return err
			}
		}
	}
	for _, in := range catalog.DemoProducts() {
		if in.Kind == catalog.KindDigital && in.DigitalDelivery == catalog.DeliveryFile {
			continue // file downloads need the upload store, which comes later
		}
		p, err := a.Catalog.Create(ctx, admin.Actor(), in)
		if err != nil {
			return fmt.Errorf("demo product %s: %w", in.Slug, err)
		}
		if p.DigitalDelivery == catalog.DeliveryLicenceKey {
			if _, err := a.Catalog.AddLicenceKeys(ctx, admin.Actor(), p.ID, catalog.DemoLicenceKeys()); err != nil {
				return err
			}
		}
	}
	fmt.Fprintln(out, "demo: the customer has 100,00 € on their balance; the shop has a demo catalog")
	return nil
}
