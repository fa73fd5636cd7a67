package main

import (
	"context"
	"errors"
	"fmt"
	"io"

	"comptoir/internal/account"
	"comptoir/internal/app"
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
	for _, in := range demoUsers {
		in.Password = randomPassword()
		in.Country, in.City = "FR", "Lyon"
		u, err := a.Accounts.CreateUser(ctx, in)
		if err != nil {
			return err
		}
		fmt.Fprintf(out, "  %-8s %-28s %s\n", u.Role, u.Email, in.Password)
	}
	return nil
}
