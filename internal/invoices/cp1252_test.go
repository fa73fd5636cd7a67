package invoices_test

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"comptoir/internal/account"
	"comptoir/internal/apptest"
	"comptoir/internal/catalog"
	"comptoir/internal/invoices"
	"comptoir/internal/money"
)

func TestCP1252(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"Facture F-2026-000042", "Facture F-2026-000042"},
		{"Réglé 12,50\u00A0€ — «\u00A0merci\u00A0» ’…", "R\xe9gl\xe9 12,50\xa0\x80 \x97 \xab\xa0merci\xa0\xbb \x92\x85"},
		{"Œuvre, Ÿ, ž", "\x8cuvre, \x9f, \x9e"},
		{"東京 ✓", ".. ."},
		// EU buyers' names outside cp1252 keep their letters, without
		// the accents cp1252 lacks.
		{"Łukasz Wróbel, Dvořák, Țăranu, Erdős, Đurić", "Lukasz Wr\xf3bel, Dvor\xe1k, Taranu, Erdos, Duric"},
		{"", ""},
	} {
		if got := invoices.CP1252(tc.in); got != tc.want {
			t.Errorf("CP1252(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

// Greece and Bulgaria are member states: a Greek or Bulgarian buyer's name,
// street and city, or a product named in Greek, came out as one dot per
// letter. They are transliterated: Greek as ELOT 743 (ISO 843), Cyrillic as
// Bulgaria's Streamlined System, with the other Cyrillic alphabets' letters
// mapped beside it.
func TestCP1252TransliteratesGreekAndCyrillic(t *testing.T) {
	for _, tc := range []struct{ name, in, want string }{
		// Greek names: accents dropped, final sigma, ου, γγ, αυ/ευ, μπ.
		{"greek name", "Γιώργος Παπαδόπουλος", "Giorgos Papadopoulos"},
		{"greek digraphs", "Ευάγγελος Μπακογιάννης", "Evangelos Bakogiannis"},
		{"ευ before a voiceless consonant", "Ευθυμίου", "Efthymiou"},
		{"αύ keeps its accent's digraph", "Ναύπλιο", "Nafplio"},
		{"αυ at a word's end", "ταυ", "taf"},
		{"μπ inside a word", "Λαμπράκης", "Lamprakis"},
		{"dialytika parts the vowels", "αϋπνία, Μαΐου", "aypnia, Maiou"},
		{"an accent on the first vowel parts them", "άυλος", "aylos"},
		{"θ χ ψ", "Θεσσαλονίκη, Ψ. Χατζής", "Thessaloniki, Ps. Chatzis"},
		{"final sigma and σ", "Σωκράτης Σισμάνης", "Sokratis Sismanis"},
		// Capitals: a two-letter capital is capital twice inside a word in
		// capitals, and once in a capitalised word or a lone initial.
		{"greek capitals", "ΓΙΩΡΓΟΣ ΠΑΠΑΔΟΠΟΥΛΟΣ", "GIORGOS PAPADOPOULOS"},
		{"greek capitals, two-letter ones", "ΘΕΟΔΩΡΟΣ ΧΑΤΖΗΣ, ΟΥΡΑΝΟΣ, ΜΠΑΚΟΣ", "THEODOROS CHATZIS, OURANOS, BAKOS"},
		{"greek capitals with tonos", "ΆΝΝΑ Ύδρα", "ANNA Ydra"},
		{"greek capitalised", "Θεόδωρος Ουρανός", "Theodoros Ouranos"},
		{"polytonic", "Ὅμηρος ἀρετή", "Omiros areti"},
		// Bulgarian: the Streamlined System, "ия" at a word's end is "ia".
		{"bulgarian name", "Иван Петров", "Ivan Petrov"},
		{"bulgarian zh sht ts h", "Жечо Щерев, Цветана Христова", "Zhecho Shterev, Tsvetana Hristova"},
		{"bulgarian ъ and ия", "Мария Ъгълова, София", "Maria Agalova, Sofia"},
		{"bulgarian ьо", "Дьорд", "Dyord"},
		{"cyrillic capitals", "ЩЕРЕВ, ЖЕЧО, Ш. ШОПОВ, Щ", "SHTEREV, ZHECHO, Sh. SHOPOV, Sht"},
		// Russian and Ukrainian: their own letters.
		{"russian name", "Наталья Смирнова, Фёдор Достоевский", "Natalya Smirnova, Fyodor Dostoevskiy"},
		{"russian ы э, soft sign at the end", "Эдуард Рыбаков, Игорь", "Eduard Rybakov, Igor"},
		{"ukrainian name", "Андрій Шевченко, Олена Ковальчук", "Andriy Shevchenko, Olena Kovalchuk"},
		{"ukrainian є ї ґ", "Євген, Київ, Ґалаґан", "Yevgen, Kiiv, Galagan"},
		{"serbian and macedonian", "Ђорђе Јовановић, Љубица, Ѓорѓи Џамбаз", "Djordje Jovanovic, Ljubitsa, Gjorgji Dzhambaz"},
		// Mixed with Latin text and cp1252's own letters.
		{"mixed latin and greek", "Café Ωμέγα, οδός Ερμού 12, 54624 Θεσσαλονίκη", "Caf\xe9 Omega, odos Ermou 12, 54624 Thessaloniki"},
		{"greek product name", "Λογότυπο «Ελιά» — 12,50\u00A0€", "Logotypo \xabElia\xbb \x97 12,50\xa0\x80"},
		// Still nothing Latin: a dot per character.
		{"cjk name", "王小明", "..."},
		{"cjk beside greek", "王 Γιάννης", ". Giannis"},
		// Latin letters outside cp1252 as before.
		{"polish and czech", "Łukasz Wróbel, Dvořák, Łódź", "Lukasz Wr\xf3bel, Dvor\xe1k, L\xf3dz"},
		{"two accents on one letter", "Nguyễn Thị Ánh, Lǚ", "Nguyen Thi \xc1nh, Lu"},
	} {
		if got := invoices.CP1252(tc.in); got != tc.want {
			t.Errorf("%s: CP1252(%q) = %q, want %q", tc.name, tc.in, got, tc.want)
		}
	}
}

// CP1252 runs on every text of every PDF (one per order's email): ASCII
// text is given back without a copy, other text costs one allocation.
func TestCP1252Allocations(t *testing.T) {
	for _, tc := range []struct {
		in   string
		most float64
	}{
		{"Invoice F-2026-000042, 12.50 EUR", 0},
		{"Réglé 12,50\u00A0€ — «\u00A0merci\u00A0»", 1},
		{"Łukasz Dvořák, Łódź", 1},
		{"Γιώργος Παπαδόπουλος, Θεσσαλονίκη", 1},
		{"Жечо Щерев, София", 1},
	} {
		if n := testing.AllocsPerRun(100, func() { invoices.CP1252(tc.in) }); n > tc.most {
			t.Errorf("CP1252(%q): %v allocations, want at most %v", tc.in, n, tc.most)
		}
	}
}

func BenchmarkCP1252(b *testing.B) {
	for _, bc := range []struct{ name, in string }{
		{"ascii", "Invoice F-2026-000042 - Posts, 12 x 10.00 EUR, VAT 20%"},
		{"latin", "Facture F-2026-000042 — Publications réglées, 12,50\u00A0€"},
		{"latin-outside-cp1252", "Łukasz Dvořák, ul. Piłsudskiego 3, Łódź"},
		{"greek", "Γιώργος Παπαδόπουλος, οδός Ερμού 12, Θεσσαλονίκη"},
		{"cyrillic", "Жечо Щерев, ул. Витоша 15, София"},
	} {
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				invoices.CP1252(bc.in)
			}
		})
	}
}

// Documents are drawn from several goroutines at once (mail batches run in
// parallel): each call must give its own text, whatever runs beside it.
func TestCP1252Concurrently(t *testing.T) {
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 2000 {
				in := fmt.Sprintf("Client n°%d — facture %d, réglée", g, i)
				want := fmt.Sprintf("Client n\xb0%d \x97 facture %d, r\xe9gl\xe9e", g, i)
				if got := invoices.CP1252(in); got != want {
					errs <- fmt.Errorf("CP1252(%q) = %q", in, got)
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
}

// The PDF names a Polish buyer by their name: the core fonts lack Ł and
// ř, which came out as dots (".ukasz Dvo.ák"), an invoice that no longer
// identifies its buyer.
func TestPDFNamesBuyersWhoseLettersCP1252Lacks(t *testing.T) {
	h := apptest.Start(t)
	ctx := context.Background()
	p := product(t, h, "posts", 1200)
	u, err := h.App.Accounts.SignUp(ctx, account.SignUpInput{Email: "lukasz@example.pl", Password: apptest.Password, Name: "Łukasz Dvořák",
		Language: "en", Country: "PL", City: "Łódź", CustomerType: "consumer"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := h.App.Ledger.AdminCredit(ctx, adminActor, u.ID, money.MustNew(5000, "EUR"), "test"); err != nil {
		t.Fatal(err)
	}
	o, err := buy(h, u, p, 1)
	if err != nil {
		t.Fatal(err)
	}
	text := pdfText(t, invoiceOf(t, h, o.ID), h)
	for _, want := range []string{"Lukasz Dvorák", "Lódz, Poland"} {
		if !strings.Contains(text, want) {
			t.Errorf("PDF lacks %q:\n%s", want, text)
		}
	}
}

// A Greek buyer, in a Greek city, buying a product named in Greek: the
// invoice named them with one dot per letter ("....... ............"); it
// now reads their name in Latin letters, as ELOT 743 writes it.
func TestPDFNamesGreekBuyersInLatinLetters(t *testing.T) {
	h := apptest.Start(t)
	ctx := context.Background()
	p, err := h.App.Catalog.Create(ctx, adminActor, catalog.ProductInput{
		Slug: "elia", Kind: catalog.KindService, NameFR: "Λογότυπο Ελιά", NameEN: "Λογότυπο Ελιά",
		DescriptionFR: "Ένα λογότυπο.", DescriptionEN: "Ένα λογότυπο.", UnitPrice: money.MustNew(1200, "EUR"),
		MinQuantity: 1, MaxQuantity: 1000, ProcessingTime: 72 * time.Hour,
	})
	if err != nil {
		t.Fatal(err)
	}
	u, err := h.App.Accounts.SignUp(ctx, account.SignUpInput{Email: "giorgos@example.gr", Password: apptest.Password, Name: "Γιώργος Παπαδόπουλος",
		Language: "en", Country: "GR", City: "Θεσσαλονίκη", CustomerType: "consumer"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := h.App.Ledger.AdminCredit(ctx, adminActor, u.ID, money.MustNew(5000, "EUR"), "test"); err != nil {
		t.Fatal(err)
	}
	o, err := buy(h, u, p, 1)
	if err != nil {
		t.Fatal(err)
	}
	text := pdfText(t, invoiceOf(t, h, o.ID), h)
	for _, want := range []string{"Giorgos Papadopoulos", "Thessaloniki, Greece", "Logotypo Elia"} {
		if !strings.Contains(text, want) {
			t.Errorf("PDF lacks %q:\n%s", want, text)
		}
	}
	if strings.Contains(text, "...") {
		t.Errorf("PDF still has letters written as dots:\n%s", text)
	}
}

// A subscription period's invoice line reads "Formule — 08/03/2026 →
// 08/04/2026" on its page; the arrow is not in cp1252 and has no letter in
// it, so the PDF read "Formule — 08/03/2026 . 08/04/2026", a period whose
// two dates seem unrelated. Arrows are written with the characters cp1252
// has.
func TestPDFWritesTheArrowOfAPeriod(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"a → b", "a -> b"}, {"a ← b", "a <- b"}, {"a ↔ b", "a <-> b"},
	} {
		if got := invoices.CP1252(tc.in); got != tc.want {
			t.Errorf("CP1252(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
	h := apptest.Start(t)
	ctx := context.Background()
	u := customer(t, h, "ana@example.fr", "fr", "FR", "consumer", "", 10_000)
	sub := subscribedToPlan(t, h, u, 990)
	docs, err := h.App.Invoices.ForOrder(ctx, sub.ID)
	if err != nil || len(docs) != 1 {
		t.Fatalf("%d documents for the subscription (%v)", len(docs), err)
	}
	desc := docs[0].Lines[0].Description
	if !strings.Contains(desc, " → ") {
		t.Fatalf("the period's line %q has no arrow: the test no longer tests anything", desc)
	}
	// The layout may wrap the line's words: look for the arrow, and for
	// no dot standing alone where it was.
	if text := pdfText(t, docs[0], h); !strings.Contains(text, " -> ") || strings.Contains(text, " . ") {
		t.Fatalf("the PDF does not write the period's arrow (%q):\n%s", desc, text)
	}
}
