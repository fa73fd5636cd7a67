package invoices

import (
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/encoding/charmap"
	"golang.org/x/text/unicode/norm"
)

// CP1252 turns UTF-8 text into the cp1252 bytes of the core fonts, so that
// every buyer of the EU can be named on their invoice:
//
//   - a letter they lack is written without its accent when it has one (the
//     Polish, Czech, Romanian, Hungarian… names of EU buyers: "Łukasz
//     Dvořák" becomes "Lukasz Dvorák", still their name, where a dot per
//     letter made ".ukasz Dvo.ák");
//   - Greek and Cyrillic are transliterated into Latin letters (Greece and
//     Bulgaria are member states: "Γιώργος Παπαδόπουλος" is "Giorgos
//     Papadopoulos", "Иван Петров" is "Ivan Petrov"; see transliterate);
//   - arrows are written with the signs cp1252 has ("→" is "->");
//   - anything else (Chinese, Japanese, symbols…) becomes a dot.
//
// Embedding a Unicode font instead is not an option: we may not vendor
// font files, and parsing one per document would cost every checkout.
//
// Documents are drawn concurrently (mail batches in parallel, an evidence
// pack beside them), and fpdf's own translator reuses one buffer from call
// to call: shared, it mixed two documents' text and panicked. This one keeps
// nothing between calls. It runs on every text of every PDF, so ASCII text
// comes back as it is, without a copy, and other text costs one allocation
// (x/text's code page is a table lookup).
func CP1252(s string) string {
	i := 0
	for i < len(s) && s[i] < utf8.RuneSelf {
		i++
	}
	if i == len(s) {
		return s // ASCII is the same bytes in cp1252
	}
	var b strings.Builder
	b.Grow(len(s))
	b.WriteString(s[:i])
	for i < len(s) {
		r, size := utf8.DecodeRuneInString(s[i:])
		if r < utf8.RuneSelf {
			b.WriteByte(byte(r))
		} else if c, ok := charmap.Windows1252.EncodeRune(r); ok {
			b.WriteByte(c)
		} else if sym, ok := symbols[r]; ok {
			b.WriteString(sym)
		} else if n := transliterate(&b, s, i); n > 0 {
			size = n
		} else {
			writeUnaccented(&b, r)
		}
		i += size
	}
	return b.String()
}

// symbols are the signs of our own texts that cp1252 lacks, written with
// characters it has: a subscription period's line reads "Formule —
// 08/03/2026 → 08/04/2026", whose arrow was a dot in the PDF.
var symbols = map[rune]string{'→': "->", '←': "<-", '↔': "<->", '⇒': "=>"}

// strokes are the Latin letters whose mark is not a separate accent, so
// that decomposing them leaves them whole.
var strokes = map[rune]string{
	'Ł': "L", 'ł': "l", 'Đ': "D", 'đ': "d", 'Ħ': "H", 'ħ': "h", 'ı': "i", 'Ŧ': "T", 'ŧ': "t", 'Ŀ': "L", 'ŀ': "l",
}

// writeUnaccented writes r as cp1252 without its accents (č → c, ő → o,
// ș → s), or a dot when nothing of it is left.
func writeUnaccented(b *strings.Builder, r rune) {
	if s, ok := strokes[r]; ok {
		b.WriteString(s)
		return
	}
	wrote := false
	for _, c := range string(decompose(r)) {
		if unicode.Is(unicode.Mn, c) {
			continue
		}
		if e, ok := charmap.Windows1252.EncodeRune(c); ok {
			b.WriteByte(e)
			wrote = true
		}
	}
	if !wrote {
		b.WriteByte('.') // no decomposition, or none of it in cp1252
	}
}

// decompose gives r's canonical decomposition (a base letter and its
// marks) as UTF-8, or nil when it has none. It reads x/text's table without
// allocating, as CP1252 must for every accented letter.
func decompose(r rune) []byte {
	var rb [utf8.UTFMax]byte
	return norm.NFD.Properties(utf8.AppendRune(rb[:0], r)).Decomposition()
}

// transliterate writes the Greek or Cyrillic letter at s[i:] in Latin
// letters and says how many bytes of s it read (two letters for a Greek
// digraph), or 0 when s[i:] starts with neither.
//
// Case: the Latin letters of a lowercase letter are lowercase; a capital
// whose Latin form has several letters (Θ → th, Ш → sh, ΟΥ → ou) is written
// all in capitals inside a word in capitals ("ΘΕΟΔΩΡΟΣ" → "THEODOROS",
// "ЩЕРЕВ" → "SHTEREV") and with only its first letter in capital otherwise
// ("Θεόδωρος" → "Theodoros", a lone initial "Ш." → "Sh."). A word is in
// capitals when the letter after the capital is one (for a digraph, its
// second letter), or, at the end of a word, when the letter before it is.
func transliterate(b *strings.Builder, s string, i int) int {
	r, size := utf8.DecodeRuneInString(s[i:])
	if g, ok := greek(r); ok {
		return writeGreek(b, s, i, size, g)
	}
	if c, ok := cyrillic(r); ok {
		return writeCyrillic(b, s, i, size, c)
	}
	return 0
}

// writeCased writes tok (lowercase ASCII letters) for a letter of the
// given case: see transliterate.
func writeCased(b *strings.Builder, tok string, upper, caps bool) {
	for k := 0; k < len(tok); k++ {
		c := tok[k]
		if upper && (k == 0 || caps) {
			c -= 'a' - 'A'
		}
		b.WriteByte(c)
	}
}

// capsAround says whether a capital between prev and next stands in a word
// written in capitals: see transliterate.
func capsAround(prev, next rune) bool {
	if unicode.IsLetter(next) {
		return unicode.IsUpper(next)
	}
	return unicode.IsUpper(prev)
}

// letter is a Greek or Cyrillic letter reduced to what transliteration
// needs: its lowercase form without accents, its case, and its marks.
type letter struct {
	base      rune // lowercase, unaccented (Greek final ς as σ)
	upper     bool
	tonos     bool // Greek: an accent on it (ά, and the polytonic ones)
	dialytika bool // Greek: ϊ, ϋ (the vowel does not join the one before)
}

// Greek follows the transcription of ELOT 743:2001, the Greek standard
// ISO 843:1997 was drawn from, with which Greek passports write names: the
// letters one by one, final sigma like σ, accents (tonos, and the
// polytonic ones) dropped, and these combinations:
//
//   - ου → ou;
//   - αυ, ευ, ηυ → av, ev, iv, or af, ef, if before θ κ ξ π σ τ φ χ ψ and at
//     the end of a word ("Ευάγγελος" → "Evangelos", "Ναύπλιο" →
//     "Nafplio"); a dialytika on the υ, or an accent on the vowel before it,
//     parts the two ("αϋπνία" → "aypnia", "άυλος" → "aylos");
//   - μπ → b at the start of a word, mp inside one ("Μπακογιάννης" →
//     "Bakogiannis", "Λαμπράκης" → "Lamprakis"; ELOT 743 also writes b at a
//     word's end, which no name needs: we keep mp there);
//   - γγ, γξ, γχ → ng, nx, nch ("Αγγελική" → "Angeliki"); γκ is gk, letter
//     by letter, as the standard writes it.
var greekLatin = [...]string{
	/* α */ 0: "a", 'β' - 'α': "v", 'γ' - 'α': "g", 'δ' - 'α': "d", 'ε' - 'α': "e", 'ζ' - 'α': "z",
	'η' - 'α': "i", 'θ' - 'α': "th", 'ι' - 'α': "i", 'κ' - 'α': "k", 'λ' - 'α': "l", 'μ' - 'α': "m",
	'ν' - 'α': "n", 'ξ' - 'α': "x", 'ο' - 'α': "o", 'π' - 'α': "p", 'ρ' - 'α': "r", 'ς' - 'α': "s",
	'σ' - 'α': "s", 'τ' - 'α': "t", 'υ' - 'α': "y", 'φ' - 'α': "f", 'χ' - 'α': "ch", 'ψ' - 'α': "ps",
	'ω' - 'α': "o",
}

// greekAccented are the accented letters of monotonic Greek (what Greek
// keyboards type); polytonic ones are decomposed by greek.
var greekAccented = map[rune]letter{
	'ά': {base: 'α', tonos: true}, 'έ': {base: 'ε', tonos: true}, 'ή': {base: 'η', tonos: true},
	'ί': {base: 'ι', tonos: true}, 'ό': {base: 'ο', tonos: true}, 'ύ': {base: 'υ', tonos: true},
	'ώ': {base: 'ω', tonos: true},
	'Ά': {base: 'α', upper: true, tonos: true}, 'Έ': {base: 'ε', upper: true, tonos: true},
	'Ή': {base: 'η', upper: true, tonos: true}, 'Ί': {base: 'ι', upper: true, tonos: true},
	'Ό': {base: 'ο', upper: true, tonos: true}, 'Ύ': {base: 'υ', upper: true, tonos: true},
	'Ώ': {base: 'ω', upper: true, tonos: true},
	'ϊ': {base: 'ι', dialytika: true}, 'ϋ': {base: 'υ', dialytika: true},
	'Ϊ': {base: 'ι', upper: true, dialytika: true}, 'Ϋ': {base: 'υ', upper: true, dialytika: true},
	'ΐ': {base: 'ι', tonos: true, dialytika: true}, 'ΰ': {base: 'υ', tonos: true, dialytika: true},
}

// greek reads r as a Greek letter.
func greek(r rune) (letter, bool) {
	if l, ok := greekPlain(r); ok {
		return l, true
	}
	if l, ok := greekAccented[r]; ok {
		return l, true
	}
	if r < 0x1F00 || r > 0x1FFF {
		return letter{}, false
	}
	// Polytonic Greek (ἀ, ῆ, ᾳ…): the base letter and its marks.
	d := decompose(r)
	base, n := utf8.DecodeRune(d)
	l, ok := greekPlain(base)
	if !ok {
		return letter{}, false
	}
	for _, m := range string(d[n:]) {
		switch m {
		case '\u0308':
			l.dialytika = true
		case '\u0300', '\u0301', '\u0342': // grave, acute, circumflex
			l.tonos = true
		}
	}
	return l, true
}

// greekPlain reads r as an unaccented Greek letter.
func greekPlain(r rune) (letter, bool) {
	switch {
	case r >= 'α' && r <= 'ω':
		if r == 'ς' {
			r = 'σ'
		}
		return letter{base: r}, true
	case r >= 'Α' && r <= 'Ω' && r != 0x3A2: // U+03A2 is unassigned
		return letter{base: r + ('α' - 'Α'), upper: true}, true
	}
	return letter{}, false
}

// writeGreek writes the Greek letter g (size bytes at s[i:]), or the
// digraph it starts: see greekLatin.
func writeGreek(b *strings.Builder, s string, i, size int, g letter) int {
	prev, _ := utf8.DecodeLastRuneInString(s[:i])
	next, nsize := utf8.DecodeRuneInString(s[i+size:])
	ng, nok := greek(next)
	tok, n := greekLatin[g.base-'α'], size
	digraph := false
	switch {
	case nok && ng.base == 'υ' && !ng.dialytika && !g.tonos &&
		(g.base == 'α' || g.base == 'ε' || g.base == 'η' || g.base == 'ο'):
		digraph, n = true, size+nsize
		if g.base == 'ο' {
			tok = "ou"
			break
		}
		after, _ := utf8.DecodeRuneInString(s[i+n:])
		ag, aok := greek(after)
		voiceless := !unicode.IsLetter(after) || aok && strings.ContainsRune("θκξπστφχψ", ag.base)
		switch {
		case g.base == 'α' && voiceless:
			tok = "af"
		case g.base == 'α':
			tok = "av"
		case g.base == 'ε' && voiceless:
			tok = "ef"
		case g.base == 'ε':
			tok = "ev"
		case voiceless:
			tok = "if"
		default:
			tok = "iv"
		}
	case nok && g.base == 'μ' && ng.base == 'π' && !unicode.IsLetter(prev):
		digraph, n, tok = true, size+nsize, "b"
	case nok && g.base == 'γ' && (ng.base == 'γ' || ng.base == 'ξ' || ng.base == 'χ'):
		tok = "n"
	}
	caps := false
	if digraph {
		caps = ng.upper
	} else if g.upper {
		caps = capsAround(prev, next)
	}
	writeCased(b, tok, g.upper, caps)
	return n
}

// Cyrillic follows Bulgaria's official transliteration (the Streamlined
// System of the Transliteration Act, 2009), letter by letter: ж zh, х h,
// ц ts, ч ch, ш sh, щ sht, ъ a, ь y, ю yu, я ya, and "ия" at the end of a
// word is "ia" ("София" → "Sofia", "Мария" → "Maria"). The law's one
// exception, the country's own name "Bulgaria", is not made: България
// comes out "Balgaria", as the rules give it. Letters that other Cyrillic
// alphabets share with Bulgarian follow it too, whatever the language (a
// Russian щ is "sht", not "shch"; a Russian hard sign ъ, rare in names, is
// "a"); their own letters are written as follows:
//
//   - Russian (as BGN/PCGN, without its diacritics): ё yo, ы y, э e; the
//     soft sign ь, which Bulgarian writes only before о ("ьо" → "yo"), is
//     left out elsewhere, as Russian and Ukrainian passports do ("Наталья"
//     → "Natalya", "Игорь" → "Igor");
//   - Ukrainian (the national system of 2010, KMU resolution 55): ґ g, і i,
//     є ye and ї yi at the start of a word, ie and i inside one;
//   - Serbian and Macedonian: ј j, љ lj, њ nj, ђ dj, ћ c (as ć loses its
//     accent in cp1252), ѓ gj, ќ kj, ѕ dz, џ dzh (Bulgarian's дж);
//   - Bulgarian's ѝ and the grave ѐ: i and e; Belarusian ў: u.
var cyrillicLatin = [...]string{
	/* а */ 0: "a", 'б' - 'а': "b", 'в' - 'а': "v", 'г' - 'а': "g", 'д' - 'а': "d", 'е' - 'а': "e",
	'ж' - 'а': "zh", 'з' - 'а': "z", 'и' - 'а': "i", 'й' - 'а': "y", 'к' - 'а': "k", 'л' - 'а': "l",
	'м' - 'а': "m", 'н' - 'а': "n", 'о' - 'а': "o", 'п' - 'а': "p", 'р' - 'а': "r", 'с' - 'а': "s",
	'т' - 'а': "t", 'у' - 'а': "u", 'ф' - 'а': "f", 'х' - 'а': "h", 'ц' - 'а': "ts", 'ч' - 'а': "ch",
	'ш' - 'а': "sh", 'щ' - 'а': "sht", 'ъ' - 'а': "a", 'ы' - 'а': "y", 'ь' - 'а': "y", 'э' - 'а': "e",
	'ю' - 'а': "yu", 'я' - 'а': "ya",
	'ѐ' - 'а': "e", 'ё' - 'а': "yo", 'ђ' - 'а': "dj", 'ѓ' - 'а': "gj", 'є' - 'а': "ye", 'ѕ' - 'а': "dz",
	'і' - 'а': "i", 'ї' - 'а': "yi", 'ј' - 'а': "j", 'љ' - 'а': "lj", 'њ' - 'а': "nj", 'ћ' - 'а': "c",
	'ќ' - 'а': "kj", 'ѝ' - 'а': "i", 'ў' - 'а': "u", 'џ' - 'а': "dzh",
}

// cyrillic reads r as a Cyrillic letter of cyrillicLatin, or one with a
// diacritic over such a letter (ӑ, ӥ…).
func cyrillic(r rune) (letter, bool) {
	if l, ok := cyrillicPlain(r); ok {
		return l, true
	}
	if r < 0x400 || r > 0x4FF {
		return letter{}, false
	}
	base, _ := utf8.DecodeRune(decompose(r))
	if base == r {
		return letter{}, false
	}
	return cyrillicPlain(base)
}

func cyrillicPlain(r rune) (letter, bool) {
	switch {
	case r >= 'а' && r <= 'џ':
		return letter{base: r}, true
	case r >= 'А' && r <= 'Я':
		return letter{base: r + ('а' - 'А'), upper: true}, true
	case r >= 'Ѐ' && r <= 'Џ':
		return letter{base: r + ('ѐ' - 'Ѐ'), upper: true}, true
	case r == 'ґ':
		return letter{base: 'г'}, true // g, as г in Bulgarian
	case r == 'Ґ':
		return letter{base: 'г', upper: true}, true
	}
	return letter{}, false
}

// writeCyrillic writes the Cyrillic letter c (size bytes at s[i:]): see
// cyrillicLatin.
func writeCyrillic(b *strings.Builder, s string, i, size int, c letter) int {
	prev, _ := utf8.DecodeLastRuneInString(s[:i])
	next, _ := utf8.DecodeRuneInString(s[i+size:])
	tok := cyrillicLatin[c.base-'а']
	switch c.base {
	case 'ь':
		if n, ok := cyrillic(next); !ok || n.base != 'о' {
			tok = ""
		}
	case 'я':
		if p, ok := cyrillic(prev); ok && p.base == 'и' && !unicode.IsLetter(next) {
			tok = "a"
		}
	case 'є':
		if unicode.IsLetter(prev) {
			tok = "ie"
		}
	case 'ї':
		if unicode.IsLetter(prev) {
			tok = "i"
		}
	}
	writeCased(b, tok, c.upper, c.upper && capsAround(prev, next))
	return size
}
