package invoices_test

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"

	"comptoir/internal/account"
	"comptoir/internal/apptest"
	"comptoir/internal/invoices"
	"comptoir/internal/money"
)

func TestCP1252(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"Facture F-2026-000042", "Facture F-2026-000042"},
		{"Réglé 12,50\u00A0€ — «\u00A0merci\u00A0» ’…", "R\xe9gl\xe9 12,50\xa0\x80 \x97 \xab\xa0merci\xa0\xbb \x92\x85"},
		{"Œuvre, Ÿ, ž", "\x8cuvre, \x9f, \x9e"},
		{"東京 ✓", ".. ."},
		// EU buyers' names outside cp1252 keep their letters, without
		// the accents cp1252 lacks.
		{"Łukasz Wróbel, Dvořák, Țăranu, Erdős, Đurić", "Lukasz Wr\xf3bel, Dvor\xe1k, Taranu, Erdos, Duric"},
		{"", ""},
	} {
		if got := invoices.CP1252(tc.in); got != tc.want {
			t.Errorf("CP1252(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

// Documents are drawn from several goroutines at once (mail batches run in
// parallel): each call must give its own text, whatever runs beside it.
func TestCP1252Concurrently(t *testing.T) {
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 2000 {
				in := fmt.Sprintf("Client n°%d — facture %d, réglée", g, i)
				want := fmt.Sprintf("Client n\xb0%d \x97 facture %d, r\xe9gl\xe9e", g, i)
				if got := invoices.CP1252(in); got != want {
					errs <- fmt.Errorf("CP1252(%q) = %q", in, got)
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
}

// The PDF names a Polish buyer by their name: the core fonts lack Ł and
// ř, which came out as dots (".ukasz Dvo.ák"), an invoice that no longer
// identifies its buyer.
func TestPDFNamesBuyersWhoseLettersCP1252Lacks(t *testing.T) {
	h := apptest.Start(t)
	ctx := context.Background()
	p := product(t, h, "posts", 1200)
	u, err := h.App.Accounts.SignUp(ctx, account.SignUpInput{Email: "lukasz@example.pl", Password: apptest.Password, Name: "Łukasz Dvořák",
		Language: "en", Country: "PL", City: "Łódź", CustomerType: "consumer"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := h.App.Ledger.AdminCredit(ctx, adminActor, u.ID, money.MustNew(5000, "EUR"), "test"); err != nil {
		t.Fatal(err)
	}
	o, err := buy(h, u, p, 1)
	if err != nil {
		t.Fatal(err)
	}
	text := pdfText(t, invoiceOf(t, h, o.ID), h)
	for _, want := range []string{"Lukasz Dvorák", "Lódz, PL"} {
		if !strings.Contains(text, want) {
			t.Errorf("PDF lacks %q:\n%s", want, text)
		}
	}
}
