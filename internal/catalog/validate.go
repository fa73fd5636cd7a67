package catalog

import (
	"math"
	"strings"
	"time"
	"unicode/utf8"

	"comptoir/internal/money"
)

// Limits beyond which a field is refused. Generous for a real catalog, small
// enough that a form cannot fill the database, and each one keeps a
// computed total (unit price × quantity, a deadline) far from overflowing.
const (
	maxSlugLen        = 80
	maxNameLen        = 200
	maxDescriptionLen = 20000
	maxFileKeyLen     = 300
	maxLicenceKeyLen  = 500
	maxQuantity       = 1_000_000
	maxProcessingTime = 365 * 24 * time.Hour
	maxDownloadTTL    = 90 * 24 * time.Hour
	maxTrialDays      = 365
)

// Check is what validate finds wrong in in, field by field (named as in
// ValidationError), saving nothing: a form that refuses a field it reads
// itself (a number that does not parse) shows these beside it, rather
// than one save at a time.
func Check(in ProductInput) map[string]string {
	_, f := validate(in)
	return f
}

// validate trims and normalizes in and returns it with the problems found,
// field by field (an empty map when it is valid). An empty slug is left for
// the caller, which derives or keeps one.
func validate(in ProductInput) (ProductInput, map[string]string) {
	f := map[string]string{}

	in.Slug = strings.ToLower(strings.TrimSpace(in.Slug))
	if in.Slug != "" {
		switch {
		case len(in.Slug) > maxSlugLen:
			f["slug"] = CodeTooLong
		case !validSlug(in.Slug):
			f["slug"] = CodeSlugInvalid
		}
	}
	in.NameFR = checkLine(f, "name_fr", in.NameFR, maxNameLen)
	in.NameEN = checkLine(f, "name_en", in.NameEN, maxNameLen)
	in.DescriptionFR = checkText(f, "description_fr", in.DescriptionFR, maxDescriptionLen)
	in.DescriptionEN = checkText(f, "description_en", in.DescriptionEN, maxDescriptionLen)

	switch cur := in.UnitPrice.Currency; {
	case cur == "":
		f["currency"] = CodeRequired
	case money.CheckCurrency(cur) != nil:
		f["currency"] = CodeCurrencyInvalid
	}
	if in.UnitPrice.Minor <= 0 {
		f["unit_price"] = CodePriceNotPositive
	}

	switch in.Kind {
	case "":
		f["kind"] = CodeRequired
	case KindService:
		checkService(f, &in)
	case KindDigital:
		checkSingleUnit(f, &in)
		notApplicable(f, "processing_seconds", in.ProcessingTime != 0)
		notApplicable(f, "plan_interval", in.PlanInterval != "")
		notApplicable(f, "trial_days", in.TrialDays != 0)
		checkDigital(f, &in)
	case KindSubscription:
		checkSingleUnit(f, &in)
		notApplicable(f, "processing_seconds", in.ProcessingTime != 0)
		notApplicable(f, "digital_delivery", in.DigitalDelivery != "")
		notApplicable(f, "file_key", in.FileKey != "")
		notApplicable(f, "download_ttl_seconds", in.DownloadTTL != 0)
		switch in.PlanInterval {
		case "":
			f["plan_interval"] = CodeRequired
		case IntervalWeek, IntervalMonth, IntervalYear:
		default:
			f["plan_interval"] = CodeIntervalInvalid
		}
		if in.TrialDays < 0 || in.TrialDays > maxTrialDays {
			f["trial_days"] = CodeOutOfRange
		}
	default:
		f["kind"] = CodeKindInvalid
	}

	// The largest line total must be representable: an order of the maximum
	// quantity is priced by money.Mul, which would refuse it at checkout.
	if f["unit_price"] == "" && in.MaxQuantity > 0 && in.UnitPrice.Minor > math.MaxInt64/int64(in.MaxQuantity) {
		f["unit_price"] = CodeTooLarge
	}
	return in, f
}

func checkService(f map[string]string, in *ProductInput) {
	minOK := true
	switch {
	case in.MinQuantity < 1:
		f["min_quantity"], minOK = CodeQuantityInvalid, false
	case in.MinQuantity > maxQuantity:
		f["min_quantity"], minOK = CodeTooLarge, false
	}
	switch {
	case in.MaxQuantity < 1:
		f["max_quantity"] = CodeQuantityInvalid
	case in.MaxQuantity > maxQuantity:
		f["max_quantity"] = CodeTooLarge
	case minOK && in.MaxQuantity < in.MinQuantity:
		f["max_quantity"] = CodeMaxBelowMin
	}
	switch d := in.ProcessingTime; {
	case d == 0:
		f["processing_seconds"] = CodeRequired
	case d < 0 || d%time.Second != 0:
		f["processing_seconds"] = CodeDurationInvalid
	case d > maxProcessingTime:
		f["processing_seconds"] = CodeTooLarge
	}
	notApplicable(f, "digital_delivery", in.DigitalDelivery != "")
	notApplicable(f, "file_key", in.FileKey != "")
	notApplicable(f, "download_ttl_seconds", in.DownloadTTL != 0)
	notApplicable(f, "plan_interval", in.PlanInterval != "")
	notApplicable(f, "trial_days", in.TrialDays != 0)
}

// checkSingleUnit holds digital products and plans to a quantity of one. A
// form that does not show the quantity fields sends zeros, read as one.
func checkSingleUnit(f map[string]string, in *ProductInput) {
	if in.MinQuantity == 0 {
		in.MinQuantity = 1
	}
	if in.MaxQuantity == 0 {
		in.MaxQuantity = 1
	}
	if in.MinQuantity != 1 {
		f["min_quantity"] = CodeMustBeOne
	}
	if in.MaxQuantity != 1 {
		f["max_quantity"] = CodeMustBeOne
	}
}

func checkDigital(f map[string]string, in *ProductInput) {
	switch in.DigitalDelivery {
	case "":
		f["digital_delivery"] = CodeRequired
	case DeliveryFile:
		in.FileKey = strings.TrimSpace(in.FileKey)
		switch {
		case in.FileKey == "":
			f["file_key"] = CodeRequired
		case len(in.FileKey) > maxFileKeyLen:
			f["file_key"] = CodeTooLong
		case !validFileKey(in.FileKey):
			f["file_key"] = CodeFileKeyInvalid
		}
		switch d := in.DownloadTTL; {
		case d == 0:
			f["download_ttl_seconds"] = CodeRequired
		case d < 0 || d%time.Second != 0:
			f["download_ttl_seconds"] = CodeDurationInvalid
		case d > maxDownloadTTL:
			f["download_ttl_seconds"] = CodeTooLarge
		}
	case DeliveryLicenceKey:
		notApplicable(f, "file_key", in.FileKey != "")
		notApplicable(f, "download_ttl_seconds", in.DownloadTTL != 0)
	default:
		f["digital_delivery"] = CodeDeliveryInvalid
	}
}

func notApplicable(f map[string]string, field string, set bool) {
	if set {
		f[field] = CodeNotApplicable
	}
}

// checkLine trims a one-line text (a name, shown in titles, emails and
// invoices) and records when it is missing, too long, or holds control
// characters.
func checkLine(f map[string]string, field, v string, max int) string {
	v = strings.TrimSpace(v)
	switch {
	case v == "":
		f[field] = CodeRequired
	case !plainText(v, false):
		f[field] = CodeInvalidCharacters
	case utf8.RuneCountInString(v) > max:
		f[field] = CodeTooLong
	}
	return v
}

// checkText is checkLine for a description, which may hold line breaks and
// tabs. Line ends are stored as "\n" whatever the browser sent, so that
// saving an untouched form compares equal and makes no new revision.
func checkText(f map[string]string, field, v string, max int) string {
	v = strings.TrimSpace(strings.ReplaceAll(v, "\r\n", "\n"))
	switch {
	case v == "":
		f[field] = CodeRequired
	case !plainText(v, true):
		f[field] = CodeInvalidCharacters
	case utf8.RuneCountInString(v) > max:
		f[field] = CodeTooLong
	}
	return v
}

// plainText reports whether s is valid UTF-8 without control characters
// (other than line breaks and tabs when multiline) or Unicode line
// separators.
func plainText(s string, multiline bool) bool {
	if !utf8.ValidString(s) {
		return false
	}
	for _, r := range s {
		if multiline && (r == '\n' || r == '\t') {
			continue
		}
		if r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0) || r == '\u2028' || r == '\u2029' {
			return false
		}
	}
	return true
}

// validSlug accepts lower-case ASCII words joined by single hyphens: safe
// in a URL path without escaping, and one spelling per slug.
func validSlug(s string) bool {
	if s == "" || s[0] == '-' || s[len(s)-1] == '-' || strings.Contains(s, "--") {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-') {
			return false
		}
	}
	return true
}

// validFileKey accepts blob names of ASCII letters, digits, ".", "_", "-"
// and "/" between non-empty segments, none of them "." or "..": the name
// becomes a path on disk or an S3 key, and must never climb out of the
// upload directory.
func validFileKey(k string) bool {
	for _, seg := range strings.Split(k, "/") {
		if seg == "" || seg == "." || seg == ".." {
			return false
		}
		for i := 0; i < len(seg); i++ {
			c := seg[i]
			if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '_' || c == '-') {
				return false
			}
		}
	}
	return true
}

func validKind(k string) bool {
	return k == KindService || k == KindDigital || k == KindSubscription
}

// Slugify makes a slug from a name: "Traduction FR→EN — 100 mots" becomes
// "traduction-fr-en-100-mots". Accented Latin letters lose their accents
// (French names must give readable URLs); other characters separate words.
// The result may be empty (a name without any letter or digit) and is cut
// at a word boundary to fit the slug length limit.
func Slugify(name string) string {
	var b strings.Builder
	hyphen := false
	for _, r := range strings.ToLower(name) {
		s := fold(r)
		if s == "" {
			hyphen = b.Len() > 0
			continue
		}
		if hyphen {
			b.WriteByte('-')
			hyphen = false
		}
		b.WriteString(s)
	}
	out := b.String()
	if len(out) > maxSlugLen {
		out = out[:maxSlugLen]
		if i := strings.LastIndexByte(out, '-'); i > 0 {
			out = out[:i]
		}
		out = strings.Trim(out, "-")
	}
	return out
}

// fold returns r as slug characters: itself for ASCII letters and digits,
// the base letters of accented Latin letters and ligatures, "" for
// anything else (a word separator).
func fold(r rune) string {
	if r >= 'a' && r <= 'z' || r >= '0' && r <= '9' {
		return string(r)
	}
	switch r {
	case 'à', 'á', 'â', 'ã', 'ä', 'å':
		return "a"
	case 'æ':
		return "ae"
	case 'ç':
		return "c"
	case 'è', 'é', 'ê', 'ë':
		return "e"
	case 'ì', 'í', 'î', 'ï':
		return "i"
	case 'ñ':
		return "n"
	case 'ò', 'ó', 'ô', 'õ', 'ö', 'ø':
		return "o"
	case 'œ':
		return "oe"
	case 'ß':
		return "ss"
	case 'ù', 'ú', 'û', 'ü':
		return "u"
	case 'ý', 'ÿ':
		return "y"
	}
	return ""
}
