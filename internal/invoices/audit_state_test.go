package invoices

import (
	"encoding/json"
	"testing"

	"comptoir/internal/money"
)

// An issued document's audit state is written as the map it replaced was.
func TestIssuedStateIsTheMapItReplaced(t *testing.T) {
	for _, inv := range []Invoice{
		{Kind: KindInvoice, Source: SourceOrder, SourceID: "ord_1", Total: money.MustNew(6000, "EUR"), VAT: money.MustNew(1000, "EUR"), VATCountry: "FR", VATReason: "buyer_country"},
		{Kind: KindCreditNote, RefersTo: "inv_1", Source: SourceRenewal, SourceID: `<a&"b">`, Total: money.MustNew(-1, "USD"), VAT: money.MustNew(0, "USD"), VATReason: ReasonVoucher},
	} {
		got, err := json.Marshal(issuedStateOf(inv))
		want, werr := json.Marshal(map[string]any{"kind": inv.Kind, "source": inv.Source, "source_id": inv.SourceID, "total": inv.Total,
			"vat": inv.VAT, "vat_country": inv.VATCountry, "vat_reason": inv.VATReason, "refers_to": inv.RefersTo})
		if err != nil || werr != nil || string(got) != string(want) {
			t.Errorf("%s, %v; the map gave %s, %v", got, err, want, werr)
		}
	}
}

// BenchmarkIssuedState encodes an issued invoice for the audit log, as the
// struct does and as the map did:
//
//	go test ./internal/invoices -run '^$' -bench IssuedState -benchmem
func BenchmarkIssuedState(b *testing.B) {
	inv := Invoice{Kind: KindInvoice, Source: SourceOrder, SourceID: "ord_01JD3X9K2M4N5P6Q7R8S9T0V", Total: money.MustNew(6000, "EUR"),
		VAT: money.MustNew(1000, "EUR"), VATCountry: "FR", VATReason: "buyer_country"}
	b.Run("struct", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			json.Marshal(issuedStateOf(inv))
		}
	})
	b.Run("map", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			json.Marshal(map[string]any{"kind": inv.Kind, "source": inv.Source, "source_id": inv.SourceID, "total": inv.Total,
				"vat": inv.VAT, "vat_country": inv.VATCountry, "vat_reason": inv.VATReason, "refers_to": inv.RefersTo})
		}
	})
}
