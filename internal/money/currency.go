package money

import "fmt"

// exponents lists the currencies whose minor unit is not the hundredth
// (ISO 4217 "minor unit" column). Every other well-formed code, known or
// not, has exponent 2: that is true of the vast majority of currencies,
// including all the ones a European store sells in (EUR, USD, GBP, CHF,
// SEK, DKK, NOK, PLN, CZK, CAD, AUD…), and it keeps a newly listed
// currency usable without a code change. The table stays small on purpose;
// add a line when a store sells in a currency that is missing.
var exponents = map[string]int{
	// No minor unit in use.
	"BIF": 0, "CLP": 0, "DJF": 0, "GNF": 0, "ISK": 0, "JPY": 0, "KMF": 0,
	"KRW": 0, "PYG": 0, "RWF": 0, "UGX": 0, "UYI": 0, "VND": 0, "VUV": 0,
	"XAF": 0, "XOF": 0, "XPF": 0,
	// Thousandths.
	"BHD": 3, "IQD": 3, "JOD": 3, "KWD": 3, "LYD": 3, "OMR": 3, "TND": 3,
	// Ten-thousandths (units of account).
	"CLF": 4, "UYW": 4,
}

// Exponent returns the number of decimal digits of currency's minor unit:
// 2 for EUR (1 EUR = 100 cents), 0 for JPY, 3 for KWD. Unknown codes get 2.
func Exponent(currency string) int {
	if e, ok := exponents[currency]; ok {
		return e
	}
	return 2
}

// CheckCurrency reports whether code is shaped like an ISO 4217 code:
// exactly three ASCII upper-case letters. It does not check that the code
// is assigned (see Exponent for why unknown codes are allowed); it refuses
// "eur", "" and "EURO", which would otherwise end up as distinct values in
// the database and never compare equal to "EUR".
func CheckCurrency(code string) error {
	if len(code) != 3 {
		return fmt.Errorf("%w: %q is not 3 upper-case letters", ErrInvalidCurrency, code)
	}
	for i := 0; i < 3; i++ {
		if code[i] < 'A' || code[i] > 'Z' {
			return fmt.Errorf("%w: %q is not 3 upper-case letters", ErrInvalidCurrency, code)
		}
	}
	return nil
}
