package account

import (
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"
)

// An email address names a person: the account it signs in to, the guest
// tickets it wrote, the orders a Contact form names. Two addresses that
// read the same must therefore be one address, and one that reads as
// another's must not reach it. EmailKey lowers letters, so that "Ann@X.fr"
// is "ann@x.fr"; beyond case, the rule is:
//
//   - An address is refused where an account or a ticket is made from it
//     (sign-up, an account made by an admin, the Contact form) when it is
//     Confusable: it holds a character that only looks like an ordinary
//     one (a compatibility form such as the Kelvin sign K or a fullwidth
//     letter, a letter whose case is an ASCII letter such as the dotless
//     ı, an invisible character), letters of Latin, Greek, Cyrillic,
//     Armenian or Cherokee mixed in one part ("kаte" with a Cyrillic а),
//     or a part written only with letters of another alphabet that look
//     like Latin ones ("сора", all Cyrillic, reads "copa"). Addresses in
//     one script ("zoë", "почта", "山田") stay welcome.
//   - A look-up by address (sign-in, the sender of an inbound mail, the
//     owner of an order a guest names) matches an account only when the
//     two addresses are the same but for case (SameEmail): EmailKey's
//     lowering turns the Kelvin sign into "k", so "Kate@x.fr" written
//     with it found kate@x.fr's account.

// Confusable reports whether email holds what makes it read as another
// address (see above). It expects an address validEmail accepts.
func Confusable(email string) bool {
	email = strings.TrimSpace(email)
	if !norm.NFKC.IsNormalString(email) {
		return true // the Kelvin sign, ligatures, fullwidth, decomposed accents…
	}
	for _, r := range email {
		if r >= utf8.RuneSelf && (foldsToASCII(r) || invisible(r)) {
			return true
		}
	}
	at := strings.LastIndexByte(email, '@')
	if at < 0 {
		return false
	}
	parts := append([]string{email[:at]}, strings.Split(email[at+1:], ".")...)
	for _, p := range parts {
		if mixedScripts(p) || latinLookalike(p) {
			return true
		}
	}
	return false
}

// SameEmail reports whether a and b are one address: equal but for the
// case of their letters and the spaces around them. Unlike comparing
// EmailKeys, a letter outside ASCII whose lower or upper case is an ASCII
// letter (the Kelvin sign, the dotted İ) is not the ASCII letter.
func SameEmail(a, b string) bool {
	return safeLower(strings.TrimSpace(a)) == safeLower(strings.TrimSpace(b))
}

// safeLower lowers s as EmailKey does, except the letters outside ASCII
// that would become ASCII letters: they stay themselves.
func safeLower(s string) string {
	return strings.Map(func(r rune) rune {
		if l := unicode.ToLower(r); r < utf8.RuneSelf || l >= utf8.RuneSelf {
			return l
		}
		return r
	}, s)
}

// foldsToASCII reports whether r, outside ASCII, is another case of an
// ASCII letter: K (Kelvin), ı, İ, ſ.
func foldsToASCII(r rune) bool {
	for c := unicode.SimpleFold(r); c != r; c = unicode.SimpleFold(c) {
		if c < utf8.RuneSelf {
			return true
		}
	}
	return unicode.ToLower(r) < utf8.RuneSelf || unicode.ToUpper(r) < utf8.RuneSelf
}

// invisible reports whether r shows nothing, or nothing of its own:
// format characters (zero-width space and joiners, soft hyphen, the
// direction marks and overrides), variation selectors, the combining
// grapheme joiner, the Hangul fillers and spaces.
func invisible(r rune) bool {
	switch {
	case unicode.In(r, unicode.Cf, unicode.Zs, unicode.Variation_Selector):
		return true
	case r == 0x034f, r == 0x115f, r == 0x1160, r == 0x3164, r == 0xffa0:
		return true
	}
	return false
}

// lookalikeScripts are the scripts with letters that read as Latin ones.
var lookalikeScripts = []*unicode.RangeTable{unicode.Latin, unicode.Greek, unicode.Cyrillic, unicode.Armenian, unicode.Cherokee}

// mixedScripts reports whether part holds letters of two of
// lookalikeScripts.
func mixedScripts(part string) bool {
	seen := -1
	for _, r := range part {
		if !unicode.IsLetter(r) {
			continue
		}
		for i, t := range lookalikeScripts {
			if unicode.Is(t, r) {
				if seen >= 0 && seen != i {
					return true
				}
				seen = i
				break
			}
		}
	}
	return false
}

// latinLookalikes are the letters of other scripts that read as a Latin
// letter (after Unicode's confusables, the ones common fonts draw alike).
var latinLookalikes = map[rune]bool{}

func init() {
	for _, r := range "" +
		"аеорсухѕіјԁһԛԝӏү" + "АВЕКМНОРСТУХЅІЈԚԜӀҮ" + // Cyrillic
		"ονιυαχρϲϳ" + "ΑΒΕΖΗΙΚΜΝΟΡΤΥΧ" + // Greek
		"օսհոզց" + "ՕՍ" + // Armenian
		"ᎪᏴᏟᎬᎻᏆᏫᎠᎢᏙᏔ" { // Cherokee
		latinLookalikes[r] = true
	}
}

// latinLookalike reports whether part is written in letters outside ASCII
// that all read as Latin letters, so that the whole of it reads as a
// Latin word ("сора").
func latinLookalike(part string) bool {
	letters := 0
	for _, r := range part {
		if !unicode.IsLetter(r) {
			continue
		}
		if r < utf8.RuneSelf || !latinLookalikes[r] {
			return false
		}
		letters++
	}
	return letters > 0
}
