package locale

import (
	"strconv"
	"strings"
)

// Int formats a count for lang, grouped by thousands as amounts are:
// "1 000" (a narrow no-break space) in French, "1,000" in English.
func Int(n int, lang string) string {
	digits := strconv.Itoa(n)
	sign := ""
	if n < 0 {
		sign, digits = "-", digits[1:]
	}
	sep := ","
	if lang == FR {
		sep = "\u202f"
	}
	var b strings.Builder
	b.WriteString(sign)
	first := (len(digits)-1)%3 + 1
	b.WriteString(digits[:first])
	for i := first; i < len(digits); i += 3 {
		b.WriteString(sep)
		b.WriteString(digits[i : i+3])
	}
	return b.String()
}

// Size is a size in bytes as people read one, in lang: "512 octets",
// "179 Ko", "2,4 Mo" in French; "512 bytes", "179 KB", "2.4 MB" in
// English (1 KB = 1024 bytes, as file managers count). Pages (the view's
// Size) and the desk's notes say sizes through here.
func (c *Catalog) Size(lang string, n int64) string {
	const kb, mb = 1024, 1024 * 1024
	switch {
	case n < kb:
		return c.TPairs(lang, "size.bytes", "N", Int(int(n), lang))
	case n < mb-kb/2:
		return c.TPairs(lang, "size.kb", "N", Int(int((n+kb/2)/kb), lang))
	case n < 10*mb-mb/20:
		// One decimal below 10 MB: "2,4 Mo".
		tenths := (n*10 + mb/2) / mb
		sep := "."
		if lang == FR {
			sep = ","
		}
		return c.TPairs(lang, "size.mb", "N", strconv.FormatInt(tenths/10, 10)+sep+strconv.FormatInt(tenths%10, 10))
	default:
		return c.TPairs(lang, "size.mb", "N", Int(int((n+mb/2)/mb), lang))
	}
}
