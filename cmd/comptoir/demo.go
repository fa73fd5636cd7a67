package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"strings"

	"comptoir/internal/account"
	"comptoir/internal/app"
	"comptoir/internal/blob"
	"comptoir/internal/catalog"
	"comptoir/internal/config"
	"comptoir/internal/money"
)

// demoUsers are created by serve --demo on a database that has none of them.
var demoUsers = []account.CreateUserInput{
	{Email: "admin@demo.comptoir.test", Role: account.RoleAdmin, Name: "Admin Démo", Language: "fr"},
	{Email: "agent@demo.comptoir.test", Role: account.RoleAgent, Name: "Agent Démo", Language: "fr"},
	{Email: "client@demo.comptoir.test", Role: account.RoleCustomer, Name: "Camille Client", Language: "fr"},
}

// demoSeller fills the seller settings the operator left empty with a
// fictitious trader, so that the demo store's invoices and legal notice
// show a complete identity (flags and environment still win).
func demoSeller(cfg *config.Config) {
	for _, f := range []struct {
		field *string
		value string
	}{
		{&cfg.SellerName, "Comptoir Démo SAS"},
		{&cfg.SellerAddress, "12 rue de l’Exemple, 69002 Lyon, France"},
		{&cfg.SellerRegistration, "RCS Lyon 000 000 000 (démonstration)"},
		{&cfg.SellerVATNumber, "FR00000000000"},
	} {
		if *f.field == "" {
			*f.field = f.value
		}
	}
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
		if in.DigitalDelivery == catalog.DeliveryFile {
			pdf := demoPDF(in.NameFR)
			in.FileKey = "demo-guide"
			if err := a.Blobs.Put(ctx, in.FileKey, bytes.NewReader(pdf), int64(len(pdf))); err != nil && !errors.Is(err, blob.ErrExists) {
				return err
			}
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

// demoPDF makes a one-page PDF showing title, for the demo's file product.
func demoPDF(title string) []byte {
	text := strings.NewReplacer(`\`, `\\`, "(", `\(`, ")", `\)`).Replace(asciiOnly(title))
	stream := "BT /F1 18 Tf 72 720 Td (" + text + ") Tj ET"
	objects := []string{
		"<< /Type /Catalog /Pages 2 0 R >>",
		"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
		"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R /Resources << /Font << /F1 5 0 R >> >> >>",
		fmt.Sprintf("<< /Length %d >>\nstream\n%s\nendstream", len(stream), stream),
		"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
	}
	var b bytes.Buffer
	b.WriteString("%PDF-1.4\n")
	offsets := make([]int, len(objects))
	for i, o := range objects {
		offsets[i] = b.Len()
		fmt.Fprintf(&b, "%d 0 obj\n%s\nendobj\n", i+1, o)
	}
	xref := b.Len()
	fmt.Fprintf(&b, "xref\n0 %d\n0000000000 65535 f \n", len(objects)+1)
	for _, off := range offsets {
		fmt.Fprintf(&b, "%010d 00000 n \n", off)
	}
	fmt.Fprintf(&b, "trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n", len(objects)+1, xref)
	return b.Bytes()
}

// asciiOnly keeps what the standard Helvetica font can show without an
// encoding: accents become their base letter.
func asciiOnly(s string) string {
	r := strings.NewReplacer("é", "e", "è", "e", "ê", "e", "à", "a", "ç", "c", "ô", "o", "î", "i", "—", "-", "’", "'")
	out := []rune{}
	for _, c := range r.Replace(s) {
		if c < 128 {
			out = append(out, c)
		}
	}
	return string(out)
}
