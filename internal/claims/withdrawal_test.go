package claims_test

import (
	"strings"
	"testing"
	"time"

	"comptoir/internal/claims"
	"comptoir/internal/money"
	"comptoir/internal/orders"
	"comptoir/internal/policy"
)

func TestWithdrawalDeadline(t *testing.T) {
	paris, _ := time.LoadLocation("Europe/Paris")
	for _, tc := range []struct {
		name   string
		placed time.Time
		want   time.Time
	}{
		{"winter morning", time.Date(2026, 3, 8, 10, 0, 0, 0, time.UTC), time.Date(2026, 3, 22, 23, 59, 59, 999e6, paris)},
		{"the order day is not counted, even at 00:30", time.Date(2026, 3, 8, 23, 30, 0, 0, time.UTC), time.Date(2026, 3, 23, 23, 59, 59, 999e6, paris)},
		{"late evening in UTC is already tomorrow in Paris", time.Date(2026, 1, 31, 23, 15, 0, 0, time.UTC), time.Date(2026, 2, 15, 23, 59, 59, 999e6, paris)},
		{"across the change to summer time", time.Date(2026, 3, 20, 12, 0, 0, 0, time.UTC), time.Date(2026, 4, 3, 23, 59, 59, 999e6, paris)},
		{"across the change to winter time", time.Date(2026, 10, 20, 8, 0, 0, 0, time.UTC), time.Date(2026, 11, 3, 23, 59, 59, 999e6, paris)},
		{"across the end of the year", time.Date(2026, 12, 25, 9, 0, 0, 0, time.UTC), time.Date(2027, 1, 8, 23, 59, 59, 999e6, paris)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := claims.WithdrawalDeadline(nil, tc.placed)
			if !got.Equal(tc.want) {
				t.Fatalf("deadline %v, want %v", got.In(paris), tc.want)
			}
			o := orders.Order{PlacedAt: tc.placed, PaidAt: tc.placed, Status: orders.StatusProcessing}
			if !claims.WithdrawalOpen(o, tc.placed) || !claims.WithdrawalOpen(o, got) || claims.WithdrawalOpen(o, got.Add(time.Millisecond)) {
				t.Fatal("WithdrawalOpen disagrees with the deadline")
			}
			// The button and the decision agree on both sides of the
			// deadline.
			for _, at := range []time.Time{got, got.Add(time.Millisecond)} {
				paid := money.MustNew(1000, "EUR")
				d := policy.Evaluate(policy.Default(), policy.Facts{
					Kind: policy.Withdrawal, FiledAt: at, Customer: policy.Customer{Type: policy.Consumer},
					Order: &policy.Order{PlacedAt: tc.placed, PaidAt: tc.placed, Paid: &paid, ProductKind: policy.Service, Quantity: 10},
				}, at)
				if inTime := d.Rule != "withdrawal.out_of_time"; inTime != claims.WithdrawalOpen(o, at) {
					t.Fatalf("at %v the engine says %s, the button %v", at, d.Rule, claims.WithdrawalOpen(o, at))
				}
			}
		})
	}
	unpaid := orders.Order{PlacedAt: time.Date(2026, 3, 8, 10, 0, 0, 0, time.UTC), Status: orders.StatusPendingPayment}
	if claims.WithdrawalOpen(unpaid, unpaid.PlacedAt) {
		t.Fatal("withdrawal button on an unpaid order")
	}
	refunded := orders.Order{PlacedAt: unpaid.PlacedAt, PaidAt: unpaid.PlacedAt, Status: orders.StatusRefunded}
	if claims.WithdrawalOpen(refunded, unpaid.PlacedAt) {
		t.Fatal("withdrawal button on a refunded order")
	}
}

func TestSanitizeFileName(t *testing.T) {
	for in, want := range map[string]string{
		"photo.png":                     "photo.png",
		"../../etc/passwd":              "passwd",
		`C:\Users\ana\facture.pdf`:      "facture.pdf",
		".htaccess":                     "htaccess",
		"  ":                            "file",
		"a\x00b\nc.txt":                 "abc.txt",
		"invoice\u202egnp.exe":          "invoicegnp.exe",
		`"quoted" <name>.pdf`:           "quoted name.pdf",
		"résumé de l’été.pdf":           "résumé de l’été.pdf",
		"x/":                            "file",
		string([]byte{0xff, 0xfe, 'a'}): "a",
	} {
		if got := claims.SanitizeFileName(in); got != want {
			t.Errorf("SanitizeFileName(%q) = %q, want %q", in, got, want)
		}
	}
	long := claims.SanitizeFileName(strings.Repeat("é", 300))
	if n := len([]rune(long)); n != 120 {
		t.Errorf("a long name keeps %d runes", n)
	}
}
