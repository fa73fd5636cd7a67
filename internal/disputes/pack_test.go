package disputes

import (
	"archive/zip"
	"bytes"
	"context"
	"slices"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"comptoir/internal/money"
	"comptoir/internal/pdftext"
)

func samplePack() *Pack {
	at := time.Date(2026, 3, 8, 10, 0, 0, 0, time.UTC)
	return &Pack{
		Case:     Case{ID: "dsp_1", StripeDisputeID: "dp_1", Amount: money.MustNew(2500, "EUR"), Reason: "fraudulent", Status: StatusOpen, Statement: "All delivered."},
		Customer: Customer{ID: "usr_1", Name: "Zoé", Email: "zoe@example.fr"},
		Order:    &Order{ID: "ord_1", Lang: "fr", PolicyVersion: "default@1", PlacedAt: at, PaidAt: at},
		Lines:    []Line{{Name: "Publications", Kind: "service", ProductID: "prd_1", Revision: 2, Quantity: 100, Description: "Des publications 🚀 « garanties »"}},
		Consent: &Consent{Required: true, ImmediatePerformance: true, WithdrawalWaiver: true, WordingVersion: "2026-01", Lang: "fr",
			ImmediateText: "Je demande l’exécution immédiate.", WaiverText: "Je renonce à mon droit de rétractation.",
			PolicyVersion: "default@1", At: at, IP: "203.0.113.7", UserAgent: "Firefox/140"},
		Policy:   Policy{Version: "default@1", Digest: strings.Repeat("a", 64)},
		Delivery: []DeliveryEvent{{At: at.Add(time.Hour), LineName: "Publications", Before: 0, After: 100, Source: "api"}},
	}
}

// The pack maps onto Stripe's fields: the consent record in both policy
// disclosures, the purchase IP, the service date from the last delivery,
// the statement first in uncategorized_text, followed by the delivery
// record; empty parts send nothing.
func TestStripeEvidenceFields(t *testing.T) {
	ev := samplePack().StripeEvidence()
	checks := map[string]struct {
		got  *string
		want string
	}{
		"refund_policy_disclosure":       {ev.RefundPolicyDisclosure, "from IP 203.0.113.7"},
		"cancellation_policy_disclosure": {ev.CancellationPolicyDisclosure, "Je renonce à mon droit de rétractation."},
		"customer_purchase_ip":           {ev.CustomerPurchaseIP, "203.0.113.7"},
		"service_date":                   {ev.ServiceDate, "2026-03-08"},
		"product_description":            {ev.ProductDescription, "revision 2"},
		"uncategorized_text":             {ev.UncategorizedText, "All delivered.\n\nDelivery record:\n2026-03-08 11:00:00 UTC  Publications: delivered 0 -> 100 (api)"},
	}
	for name, c := range checks {
		if c.got == nil || !strings.Contains(*c.got, c.want) {
			t.Errorf("%s = %v, want it to hold %q", name, c.got, c.want)
		}
	}
	if ev.AccessActivityLog != nil || ev.RefundRefusalExplanation != nil {
		t.Errorf("empty parts sent: %v %v", ev.AccessActivityLog, ev.RefundRefusalExplanation)
	}
}

func TestLongFieldsAreCut(t *testing.T) {
	got := field(strings.Repeat("é", maxField+100))
	if got == nil || utf8.RuneCountInString(*got) > maxField || !strings.HasSuffix(*got, "[…truncated]") || !utf8.ValidString(*got) {
		t.Fatalf("long field: %d runes", utf8.RuneCountInString(*got))
	}
}

// Characters outside the core fonts' code page (an emoji) do not break the
// PDF; the ZIP carries the PDF and each part.
func TestPDFAndZIP(t *testing.T) {
	p := samplePack()
	pdf, err := p.PDF()
	if err != nil || !strings.HasPrefix(string(pdf), "%PDF-") {
		t.Fatalf("pdf: %v", err)
	}
	if text := pdftext.Text(t, pdf); !strings.Contains(text, "Des publications") || !strings.Contains(text, "garanties") {
		t.Fatalf("the PDF lost the line's description:\n%s", text)
	}
	z, err := p.ZIP(context.Background(), nil)
	if err != nil {
		t.Fatal(err)
	}
	zr, err := zip.NewReader(bytes.NewReader(z), int64(len(z)))
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, f := range zr.File {
		names = append(names, f.Name)
	}
	t.Logf("zip: %v", names)
	if len(names) < 2 || !slices.ContainsFunc(names, func(n string) bool { return strings.HasSuffix(n, ".pdf") }) {
		t.Fatalf("the ZIP holds %v, want the PDF and the parts", names)
	}
}
