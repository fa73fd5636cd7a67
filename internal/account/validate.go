package account

import (
	"net/mail"
	"strings"
	"unicode/utf8"

	"comptoir/internal/db"
)

// Lengths beyond which a field is refused ("too_long"): generous for real
// people, small enough that a form cannot fill the database.
const (
	maxEmailLen    = 254 // RFC 5321's limit on a forward path
	maxNameLen     = 200
	maxPlaceLen    = 100 // region, city
	maxStreetLen   = 200
	maxPostcodeLen = 16
	maxTokenName   = 100
	maxPasswordLen = 1024
)

// EmailKey is the form under which an email is unique: trimmed and
// lower-cased, so that "Ann@X.fr" and "ann@x.fr" are one account. Lowering
// the local part is not what RFC 5321 says, but it is what every mailbox
// provider does and what people expect. Use it too for anything keyed by
// email, such as a rate-limit bucket.
func EmailKey(email string) string {
	return strings.ToLower(strings.TrimSpace(email))
}

// storableKey reports whether an email key can name an account at all: one
// holding a NUL or invalid UTF-8 cannot (validEmail refuses both at
// sign-up), and PostgreSQL refuses them in text, so a look-up by such a key
// would be a server error instead of "no such account".
func storableKey(key string) bool {
	return key != "" && db.ValidText(key)
}

// validEmail accepts a bare address (no display name) that net/mail can
// parse. Whether it receives mail is only known by sending to it.
func validEmail(email string) bool {
	if email == "" || len(email) > maxEmailLen || !plainText(email) {
		return false
	}
	a, err := mail.ParseAddress(email)
	if err != nil || a.Address != email || a.Name != "" {
		return false
	}
	at := strings.LastIndexByte(email, '@')
	domain := email[at+1:]
	// No "[10.0.0.5]": the store does not write to a host named by its IP
	// address (mail.IsAddressLiteral).
	return at > 0 && domain != "" && !strings.HasPrefix(domain, ".") && !strings.HasSuffix(domain, ".") && !strings.HasPrefix(domain, "[")
}

// checkEmail trims email and records a problem with it under "email".
func checkEmail(fields map[string]string, email string) string {
	email = strings.TrimSpace(email)
	switch {
	case email == "":
		fields["email"] = CodeRequired
	case len(email) > maxEmailLen:
		fields["email"] = CodeTooLong
	case !validEmail(email):
		fields["email"] = CodeEmailInvalid
	case Confusable(email):
		fields["email"] = CodeEmailConfusable
	}
	return email
}

// checkPassword records a problem with a new password under field. Length
// is the only rule, as NIST SP 800-63B advises: composition rules make
// passwords harder to remember, not to guess. Passwords are never trimmed.
func (s *Service) checkPassword(fields map[string]string, field, password string) {
	switch n := utf8.RuneCountInString(password); {
	case password == "":
		fields[field] = CodeRequired
	case n < s.opts.MinPasswordLength:
		fields[field] = CodePasswordTooShort
	case n > maxPasswordLen:
		fields[field] = CodePasswordTooLong
	}
}

// checkText trims a free-text field and records when it is missing (if
// required), too long, or holds control characters (a name goes into email
// headers, where a line break would be an injection).
func checkText(fields map[string]string, field, value string, required bool, max int) string {
	value = strings.TrimSpace(value)
	switch {
	case value == "" && required:
		fields[field] = CodeRequired
	case utf8.RuneCountInString(value) > max:
		fields[field] = CodeTooLong
	case !plainText(value):
		fields[field] = CodeInvalidCharacters
	}
	return value
}

// plainText reports whether s is valid UTF-8 without control characters or
// Unicode line separators.
func plainText(s string) bool {
	if !utf8.ValidString(s) {
		return false
	}
	for _, r := range s {
		if r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0) || r == '\u2028' || r == '\u2029' {
			return false
		}
	}
	return true
}

// normalizeLanguage accepts "fr" and "en" in any case.
func normalizeLanguage(lang string) (string, bool) {
	switch l := strings.ToLower(strings.TrimSpace(lang)); l {
	case LangFR, LangEN:
		return l, true
	}
	return "", false
}

func checkLanguage(fields map[string]string, lang string) string {
	if strings.TrimSpace(lang) == "" {
		fields["language"] = CodeRequired
		return ""
	}
	l, ok := normalizeLanguage(lang)
	if !ok {
		fields["language"] = CodeLanguageInvalid
	}
	return l
}

// normalizeCountry upper-cases an ISO 3166-1 alpha-2 code and reports
// whether it is assigned.
func normalizeCountry(c string) (string, bool) {
	c = strings.ToUpper(strings.TrimSpace(c))
	if len(c) != 2 {
		return c, false
	}
	return c, strings.Contains(countryCodes, " "+c+" ")
}

// countryCodes are the officially assigned ISO 3166-1 alpha-2 codes, plus
// XK (Kosovo), user-assigned but used by the EU and payment processors.
const countryCodes = " " +
	"AD AE AF AG AI AL AM AO AQ AR AS AT AU AW AX AZ " +
	"BA BB BD BE BF BG BH BI BJ BL BM BN BO BQ BR BS BT BV BW BY BZ " +
	"CA CC CD CF CG CH CI CK CL CM CN CO CR CU CV CW CX CY CZ " +
	"DE DJ DK DM DO DZ " +
	"EC EE EG EH ER ES ET " +
	"FI FJ FK FM FO FR " +
	"GA GB GD GE GF GG GH GI GL GM GN GP GQ GR GS GT GU GW GY " +
	"HK HM HN HR HT HU " +
	"ID IE IL IM IN IO IQ IR IS IT " +
	"JE JM JO JP " +
	"KE KG KH KI KM KN KP KR KW KY KZ " +
	"LA LB LC LI LK LR LS LT LU LV LY " +
	"MA MC MD ME MF MG MH MK ML MM MN MO MP MQ MR MS MT MU MV MW MX MY MZ " +
	"NA NC NE NF NG NI NL NO NP NR NU NZ " +
	"OM " +
	"PA PE PF PG PH PK PL PM PN PR PS PT PW PY " +
	"QA " +
	"RE RO RS RU RW " +
	"SA SB SC SD SE SG SH SI SJ SK SL SM SN SO SR SS ST SV SX SY SZ " +
	"TC TD TF TG TH TJ TK TL TM TN TO TR TT TV TW TZ " +
	"UA UG UM US UY UZ " +
	"VA VC VE VG VI VN VU " +
	"WF WS " +
	"XK " +
	"YE YT " +
	"ZA ZM ZW "

// normalizeVAT strips the separators people type ("FR 12 345.678-901") and
// upper-cases. It reports false unless 4 to 20 letters and digits remain:
// formats differ too much across countries to check more here, and the
// number is verified against the tax authority's register when invoicing.
func normalizeVAT(v string) (string, bool) {
	var b strings.Builder
	for _, r := range strings.ToUpper(v) {
		switch {
		case r == ' ' || r == '.' || r == '-' || r == '\t':
		case r >= 'A' && r <= 'Z', r >= '0' && r <= '9':
			b.WriteRune(r)
		default:
			return "", false
		}
	}
	n := b.Len()
	return b.String(), n >= 4 && n <= 20
}
