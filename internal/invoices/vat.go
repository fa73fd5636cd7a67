package invoices

import (
	"errors"
	"fmt"
	"math/big"
	"strings"

	"comptoir/internal/eu"
	"comptoir/internal/money"
)

// Why a rate applies (recorded on the invoice, shown in the export).
const (
	// ReasonSellerCountry: a sale taxed where the seller is (a buyer in
	// the seller's country, or a business there).
	ReasonSellerCountry = "seller_country"
	// ReasonBuyerCountry: a digital service to an EU consumer in another
	// member state is taxed at the rate of the consumer's country (one-stop
	// shop); the country is the billing address's.
	ReasonBuyerCountry = "buyer_country"
	// ReasonReverseCharge: a business in another member state with a VAT
	// number of valid format accounts for the VAT itself.
	ReasonReverseCharge = "reverse_charge"
	// ReasonOutsideEU: the buyer is outside the EU; no EU VAT is charged.
	ReasonOutsideEU = "outside_eu"
	// ReasonNoCountry: the buyer gave no billing country (an account made
	// by hand): the seller's country is the only one known.
	ReasonNoCountry = "no_billing_country"
	// ReasonVoucher: a balance top-up, a multi-purpose voucher taxed
	// when spent, not when bought.
	ReasonVoucher = "voucher"
)

// Buyer types, as in internal/account.
const (
	Consumer = "consumer"
	Business = "business"
)

// ErrNoRate means no VAT rate is known for a country at a date.
var ErrNoRate = errors.New("invoices: no VAT rate for the country at that date")

// TaxCase is what decides the VAT of a sale.
type TaxCase struct {
	SellerCountry  string
	BillingCountry string // the buyer's billing address country; may be empty
	CardCountry    string // the card's country when Stripe gave it; evidence only
	BuyerType      string // Consumer or Business
	BuyerVAT       string // the business's VAT number, as stored
}

// Decision is which country's VAT applies and why.
type Decision struct {
	Country       string // the country whose rate applies; empty when none does
	Reason        string
	ReverseCharge bool
	// CardDisagrees records that the card was issued in another country than
	// the billing address: not a reason to change the country (the billing
	// address is the evidence the store relies on), but worth keeping.
	CardDisagrees bool
}

// Decide chooses the country whose VAT rate applies. It is pure and has no
// notion of rates: the caller looks the rate up (Rate) for Decision.Country.
//
// The rules (digital services, a seller established in the EU):
//   - a buyer outside the EU pays no EU VAT;
//   - a business in another member state whose VAT number has a valid
//     format for its country gets the reverse charge (no VIES call is made:
//     the format is checked, not the number's registration);
//   - any other buyer in another member state pays its country's rate;
//   - a buyer in the seller's country, or with no country, pays the
//     seller's.
//
// The EU's €10,000 threshold for micro-businesses is not applied: the
// store always charges the consumer's country rate, which is always
// allowed.
func Decide(c TaxCase) Decision {
	seller := strings.ToUpper(c.SellerCountry)
	buyer := vatTerritory(strings.ToUpper(c.BillingCountry))
	card := vatTerritory(strings.ToUpper(c.CardCountry))
	d := Decision{CardDisagrees: card != "" && buyer != "" && card != buyer}
	switch {
	case buyer == "":
		d.Country, d.Reason = seller, ReasonNoCountry
	case !eu.Member(buyer):
		d.Reason = ReasonOutsideEU
	case buyer == seller:
		d.Country, d.Reason = seller, ReasonSellerCountry
	case c.BuyerType == Business && ValidVATNumber(c.BuyerVAT, buyer):
		d.Reason, d.ReverseCharge = ReasonReverseCharge, true
	default:
		d.Country, d.Reason = buyer, ReasonBuyerCountry
	}
	return d
}

// vatTerritory is the member state whose VAT territory a country belongs
// to, when that is not the country itself: Monaco is treated as France
// (Directive 2006/112/EC, art. 7(1)), so a buyer there pays French VAT and
// its businesses hold French VAT numbers. Other countries are their own.
func vatTerritory(country string) string {
	if country == "MC" {
		return "FR"
	}
	return country
}

// Split is the VAT of one line, in minor units.
type Split struct {
	Net, VAT, Total money.Amount
}

// SplitLine works out a line's net, VAT and total from its price: amount
// includes VAT when inclusive, else it is the net. The VAT is rounded half
// up to the minor unit, once per line.
func SplitLine(amount money.Amount, rateBP int, inclusive bool) (Split, error) {
	if amount.Minor < 0 || rateBP < 0 || rateBP >= 10000 {
		return Split{}, fmt.Errorf("invoices: bad line %v at %d bp", amount, rateBP)
	}
	a := big.NewInt(amount.Minor)
	var vat int64
	if inclusive {
		// VAT inside a gross amount: gross × r / (1 + r).
		vat = roundHalfUp(new(big.Int).Mul(a, big.NewInt(int64(rateBP))), big.NewInt(int64(10000+rateBP)))
		net := money.Amount{Minor: amount.Minor - vat, Currency: amount.Currency}
		return Split{Net: net, VAT: money.Amount{Minor: vat, Currency: amount.Currency}, Total: amount}, nil
	}
	vat = roundHalfUp(new(big.Int).Mul(a, big.NewInt(int64(rateBP))), big.NewInt(10000))
	total, err := amount.Add(money.Amount{Minor: vat, Currency: amount.Currency})
	if err != nil {
		return Split{}, err
	}
	return Split{Net: amount, VAT: money.Amount{Minor: vat, Currency: amount.Currency}, Total: total}, nil
}

// roundHalfUp is num/den rounded to the nearest integer, halves up (both
// are non-negative).
func roundHalfUp(num, den *big.Int) int64 {
	q := new(big.Int).Mul(num, big.NewInt(2))
	q.Add(q, den)
	q.Quo(q, new(big.Int).Mul(den, big.NewInt(2)))
	return q.Int64()
}

// RateBP formats basis points as a percentage for people: 2000 → "20",
// 2550 → "25.5" (decimal point; the callers localise).
func RateBP(bp int) string {
	s := fmt.Sprintf("%d", bp/100)
	if r := bp % 100; r != 0 {
		s += strings.TrimRight(fmt.Sprintf(".%02d", r), "0")
	}
	return s
}
