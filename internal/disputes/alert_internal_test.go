package disputes

import (
	"testing"
	"time"

	"comptoir/internal/alerts"
	"comptoir/internal/locale"
	"comptoir/internal/localtime"
	"comptoir/internal/money"
)

// An agent reads a dispute alert in their language, its deadline in the
// store's zone; a reason Stripe added since is given as Stripe says it.
func TestDisputeAlertSaysItInTheAgentsLanguage(t *testing.T) {
	paris, err := localtime.Load("Europe/Paris")
	if err != nil {
		t.Fatal(err)
	}
	msgs := locale.MustLoad()
	c := Case{Amount: money.MustNew(2500, "EUR"), Reason: "product_not_received", Status: StatusOpen,
		DueBy: time.Date(2026, 3, 20, 22, 59, 0, 0, time.UTC)}
	for _, tc := range []struct {
		kind, lang string
		c          Case
		want       string
	}{
		{"dispute_opened", "en", c, "€25.00, bank's reason: Product not received; evidence due by 20 March 2026 at 23:59 CET"},
		{"dispute_opened", "fr", c, "25,00\u00a0€, motif de la banque\u00a0: Produit non reçu\u00a0; preuves à envoyer avant le 20 mars 2026 à 23:59 CET"},
		{"dispute_opened", "en", Case{Amount: c.Amount, Reason: "new_reason", Status: StatusOpen}, "€25.00, bank's reason: new_reason"},
		{"dispute_closed", "en", Case{Amount: c.Amount, Reason: c.Reason, Status: StatusWon}, "won (€25.00)"},
		{"dispute_closed", "fr", Case{Amount: c.Amount, Reason: c.Reason, Status: StatusLost}, "perdue (25,00\u00a0€)"},
	} {
		if got := alertDetail(tc.kind, tc.c, alerts.Words{Lang: tc.lang, Zone: paris, Messages: msgs}); got != tc.want {
			t.Errorf("%s %s: %q, want %q", tc.kind, tc.lang, got, tc.want)
		}
	}
}
