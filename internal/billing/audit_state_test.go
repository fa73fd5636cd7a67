package billing

import (
	"encoding/json"
	"testing"

	"comptoir/internal/money"
)

// A balance entry's audit states are written as the maps they replaced
// were, with and without a reference.
func TestEntryStateIsTheMapItReplaced(t *testing.T) {
	for _, row := range []EntryRow{
		{ID: "bal_1", Kind: "purchase", Amount: money.MustNew(-5000, "EUR"), BalanceAfter: money.MustNew(1234, "EUR"), ReferenceType: "order", ReferenceID: "ord_1"},
		{ID: "bal_2", Kind: KindAdminCredit, Amount: money.MustNew(700, "USD"), BalanceAfter: money.MustNew(700, "USD")},
		{ID: `<a&"b">`, Kind: "refund", Amount: money.MustNew(1, "EUR"), BalanceAfter: money.MustNew(0, "EUR"), ReferenceType: "", ReferenceID: "clm_é"},
	} {
		signed, after := row.Amount.Minor, row.BalanceAfter.Minor
		wantAfter := map[string]any{"entry_id": row.ID, "kind": row.Kind, "amount": signed, "currency": row.Amount.Currency, "balance": after}
		if row.ReferenceID != "" {
			wantAfter["reference_type"], wantAfter["reference_id"] = row.ReferenceType, row.ReferenceID
		}
		before, state := entryStates(row)
		for _, c := range []struct{ got, want any }{
			{state, wantAfter},
			{before, map[string]any{"currency": row.Amount.Currency, "balance": after - signed}},
		} {
			got, err := json.Marshal(c.got)
			want, werr := json.Marshal(c.want)
			if err != nil || werr != nil || string(got) != string(want) {
				t.Errorf("%s, %v; the map gave %s, %v", got, err, want, werr)
			}
		}
	}
}

// BenchmarkEntryStates encodes a checkout's debit for the audit log, as
// the structs do and as the maps did:
//
//	go test ./internal/billing -run '^$' -bench EntryStates -benchmem
func BenchmarkEntryStates(b *testing.B) {
	row := EntryRow{ID: "bal_01JD3X9K2M4N5P6Q7R8S9T0V", Kind: "purchase", Amount: money.MustNew(-5000, "EUR"),
		BalanceAfter: money.MustNew(1234, "EUR"), ReferenceType: "order", ReferenceID: "ord_01JD3X9K2M4N5P6Q7R8S9T0V"}
	b.Run("structs", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			before, after := entryStates(row)
			json.Marshal(before)
			json.Marshal(after)
		}
	})
	b.Run("maps", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			json.Marshal(map[string]any{"currency": row.Amount.Currency, "balance": row.BalanceAfter.Minor - row.Amount.Minor})
			json.Marshal(map[string]any{"entry_id": row.ID, "kind": row.Kind, "amount": row.Amount.Minor, "currency": row.Amount.Currency,
				"balance": row.BalanceAfter.Minor, "reference_type": row.ReferenceType, "reference_id": row.ReferenceID})
		}
	})
}
