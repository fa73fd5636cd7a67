package invoices_test

import (
	"fmt"
	"sync"
	"testing"

	"comptoir/internal/invoices"
)

func TestCP1252(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"Facture F-2026-000042", "Facture F-2026-000042"},
		{"Réglé 12,50\u00A0€ — «\u00A0merci\u00A0» ’…", "R\xe9gl\xe9 12,50\xa0\x80 \x97 \xab\xa0merci\xa0\xbb \x92\x85"},
		{"Œuvre, Ÿ, ž", "\x8cuvre, \x9f, \x9e"},
		{"東京 ✓", ".. ."},
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
