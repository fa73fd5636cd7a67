package invoices

import (
	"testing"

	"comptoir/internal/money"
)

func TestDecide(t *testing.T) {
	for _, tc := range []struct {
		name string
		c    TaxCase
		want Decision
	}{
		{"French consumer", TaxCase{SellerCountry: "FR", BillingCountry: "FR", BuyerType: Consumer}, Decision{Country: "FR", Reason: ReasonSellerCountry}},
		{"Belgian consumer pays Belgian VAT", TaxCase{SellerCountry: "FR", BillingCountry: "BE", BuyerType: Consumer}, Decision{Country: "BE", Reason: ReasonBuyerCountry}},
		{"German business, valid number: reverse charge", TaxCase{SellerCountry: "FR", BillingCountry: "DE", BuyerType: Business, BuyerVAT: "DE123456789"},
			Decision{Reason: ReasonReverseCharge, ReverseCharge: true}},
		{"Greek business uses EL", TaxCase{SellerCountry: "FR", BillingCountry: "GR", BuyerType: Business, BuyerVAT: "EL123456789"},
			Decision{Reason: ReasonReverseCharge, ReverseCharge: true}},
		{"business with a malformed number is taxed as a consumer", TaxCase{SellerCountry: "FR", BillingCountry: "DE", BuyerType: Business, BuyerVAT: "DE12345"},
			Decision{Country: "DE", Reason: ReasonBuyerCountry}},
		{"business whose number is another country's", TaxCase{SellerCountry: "FR", BillingCountry: "DE", BuyerType: Business, BuyerVAT: "NL123456789B01"},
			Decision{Country: "DE", Reason: ReasonBuyerCountry}},
		{"French business pays French VAT", TaxCase{SellerCountry: "FR", BillingCountry: "FR", BuyerType: Business, BuyerVAT: "FR12345678901"},
			Decision{Country: "FR", Reason: ReasonSellerCountry}},
		{"consumer with a VAT number is still a consumer", TaxCase{SellerCountry: "FR", BillingCountry: "DE", BuyerType: Consumer, BuyerVAT: "DE123456789"},
			Decision{Country: "DE", Reason: ReasonBuyerCountry}},
		{"Swiss consumer: outside the EU", TaxCase{SellerCountry: "FR", BillingCountry: "CH", BuyerType: Consumer}, Decision{Reason: ReasonOutsideEU}},
		{"US business: outside the EU", TaxCase{SellerCountry: "FR", BillingCountry: "US", BuyerType: Business, BuyerVAT: "X"}, Decision{Reason: ReasonOutsideEU}},
		{"Monaco is French VAT territory: a consumer there pays French VAT", TaxCase{SellerCountry: "FR", BillingCountry: "MC", BuyerType: Consumer},
			Decision{Country: "FR", Reason: ReasonSellerCountry}},
		{"Monaco consumer of a Belgian seller pays French VAT", TaxCase{SellerCountry: "BE", BillingCountry: "mc", BuyerType: Consumer},
			Decision{Country: "FR", Reason: ReasonBuyerCountry}},
		{"Monaco business with its French VAT number: reverse charge", TaxCase{SellerCountry: "DE", BillingCountry: "MC", BuyerType: Business, BuyerVAT: "FR12345678901"},
			Decision{Reason: ReasonReverseCharge, ReverseCharge: true}},
		{"no billing country", TaxCase{SellerCountry: "FR", BuyerType: Consumer}, Decision{Country: "FR", Reason: ReasonNoCountry}},
		{"card from elsewhere is recorded, billing address wins", TaxCase{SellerCountry: "FR", BillingCountry: "IT", CardCountry: "ES", BuyerType: Consumer},
			Decision{Country: "IT", Reason: ReasonBuyerCountry, CardDisagrees: true}},
		{"lower case accepted", TaxCase{SellerCountry: "fr", BillingCountry: "it", CardCountry: "it", BuyerType: Consumer}, Decision{Country: "IT", Reason: ReasonBuyerCountry}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := Decide(tc.c); got != tc.want {
				t.Errorf("Decide(%+v) = %+v, want %+v", tc.c, got, tc.want)
			}
		})
	}
}

func TestSplitLine(t *testing.T) {
	for _, tc := range []struct {
		amount          int64
		bp              int
		incl            bool
		net, vat, gross int64
	}{
		{1200, 2000, true, 1000, 200, 1200},
		{1000, 2000, false, 1000, 200, 1200},
		{999, 2000, true, 832, 167, 999},   // 166.5 → 167 (half up)
		{1, 2000, true, 1, 0, 1},           // 0.1667 → 0
		{3, 2000, true, 2, 1, 3},           // 0.5 → 1
		{1000, 2550, true, 797, 203, 1000}, // Finland 25.5 %: 203.18
		{1000, 2550, false, 1000, 255, 1255},
		{25, 2000, false, 25, 5, 30},
		{1000, 0, true, 1000, 0, 1000},
		{1905, 1900, false, 1905, 362, 2267}, // 361.95 → 362
	} {
		got, err := SplitLine(money.MustNew(tc.amount, "EUR"), tc.bp, tc.incl)
		if err != nil {
			t.Fatal(err)
		}
		if got.Net.Minor != tc.net || got.VAT.Minor != tc.vat || got.Total.Minor != tc.gross {
			t.Errorf("SplitLine(%d, %d, %v) = %d + %d = %d, want %d + %d = %d", tc.amount, tc.bp, tc.incl,
				got.Net.Minor, got.VAT.Minor, got.Total.Minor, tc.net, tc.vat, tc.gross)
		}
	}
	if _, err := SplitLine(money.MustNew(100, "EUR"), 10000, true); err == nil {
		t.Error("a 100 % rate was accepted")
	}
}

func TestValidVATNumber(t *testing.T) {
	for _, tc := range []struct {
		number, country string
		ok              bool
	}{
		{"FR12345678901", "FR", true},
		{"FR 12 345 678 901", "FR", true},
		{"FRAB123456789", "FR", true},
		{"FR1234567890", "FR", false},
		{"DE123456789", "DE", true},
		{"DE123456789", "AT", false},
		{"ATU12345678", "AT", true},
		{"EL123456789", "GR", true},
		{"GR123456789", "GR", false},
		{"NL123456789B01", "NL", true},
		{"IE1234567T", "IE", true},
		{"BE0123456789", "BE", true},
		{"BE2123456789", "BE", false},
		{"SE123456789001", "SE", true},
		{"CHE123456789", "CH", false},
		{"", "FR", false},
	} {
		if got := ValidVATNumber(tc.number, tc.country); got != tc.ok {
			t.Errorf("ValidVATNumber(%q, %q) = %v, want %v", tc.number, tc.country, got, tc.ok)
		}
	}
}

func TestRatePercent(t *testing.T) {
	for bp, want := range map[int]string{2000: "20", 2550: "25.5", 550: "5.5", 0: "0", 2105: "21.05"} {
		if got := RateBP(bp); got != want {
			t.Errorf("RateBP(%d) = %q, want %q", bp, got, want)
		}
	}
	if got := RatePercent(550, "fr"); got != "5,5\u00A0%" {
		t.Errorf("fr rate %q", got)
	}
}

// An order priced VAT excluded is invoiced from what it charged (the price
// plus its VAT, rounded per line): split again at the same rate, that
// gives back exactly the price and its VAT, for every amount and rate.
func TestVATInsideChargedAmountGivesBackThePrice(t *testing.T) {
	for _, bp := range []int{0, 550, 1700, 1900, 2000, 2100, 2550, 2700} {
		for net := int64(0); net <= 20_000; net++ {
			added, err := SplitLine(money.Amount{Minor: net, Currency: "EUR"}, bp, false)
			if err != nil {
				t.Fatal(err)
			}
			inside, err := SplitLine(added.Total, bp, true)
			if err != nil {
				t.Fatal(err)
			}
			if inside != added {
				t.Fatalf("%d at %d bp: added %+v, split back %+v", net, bp, added, inside)
			}
		}
	}
}
