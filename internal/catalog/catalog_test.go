package catalog_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"comptoir/internal/audit"
	"comptoir/internal/catalog"
	"comptoir/internal/clock"
	"comptoir/internal/db"
	"comptoir/internal/db/dbtest"
	"comptoir/internal/money"
)

var t0 = time.Date(2026, 3, 8, 10, 0, 0, 0, time.UTC)

var admin = audit.Actor{ID: "usr_admin", Role: "admin"}

type env struct {
	ctx   context.Context
	db    *db.DB
	clock *clock.Manual
	svc   *catalog.Service
}

func setup(t *testing.T) *env {
	t.Helper()
	e := &env{ctx: context.Background(), db: dbtest.Open(t), clock: clock.NewManual(t0)}
	e.svc = catalog.New(e.db, e.clock)
	return e
}

func eur(minor int64) money.Amount { return money.MustNew(minor, "EUR") }

// validInput returns a complete, valid product of the kind; slugs differ per
// call so that several can be created in one database.
var slugSeq int

func validInput(kind string) catalog.ProductInput {
	slugSeq++
	in := catalog.ProductInput{
		Slug:          fmt.Sprintf("%s-%d", kind, slugSeq),
		Kind:          kind,
		NameFR:        "Produit d’essai",
		NameEN:        "Test product",
		DescriptionFR: "Une description en français.",
		DescriptionEN: "A description in English.",
		UnitPrice:     eur(1500),
	}
	switch kind {
	case catalog.KindService:
		in.MinQuantity, in.MaxQuantity = 10, 1000
		in.ProcessingTime = 72 * time.Hour
	case catalog.KindDigital:
		in.DigitalDelivery = catalog.DeliveryFile
		in.FileKey = "products/guide.pdf"
		in.DownloadTTL = 48 * time.Hour
	case catalog.KindSubscription:
		in.PlanInterval = catalog.IntervalMonth
		in.TrialDays = 7
	}
	return in
}

func licenceInput() catalog.ProductInput {
	in := validInput(catalog.KindDigital)
	in.DigitalDelivery, in.FileKey, in.DownloadTTL = catalog.DeliveryLicenceKey, "", 0
	return in
}

func (e *env) create(t *testing.T, in catalog.ProductInput) catalog.Product {
	t.Helper()
	p, err := e.svc.Create(e.ctx, admin, in)
	if err != nil {
		t.Fatalf("Create(%s): %v", in.Kind, err)
	}
	return p
}

func TestCreateAndReadEachKind(t *testing.T) {
	e := setup(t)
	for _, in := range []catalog.ProductInput{validInput(catalog.KindService), validInput(catalog.KindDigital),
		licenceInput(), validInput(catalog.KindSubscription)} {
		t.Run(in.Kind+"/"+in.DigitalDelivery, func(t *testing.T) {
			p := e.create(t, in)
			if !strings.HasPrefix(p.ID, "prd_") || p.Revision != 1 || p.Archived || !p.CreatedAt.Equal(t0) || !p.RevisedAt.Equal(t0) {
				t.Fatalf("created %+v", p)
			}
			want := in
			if want.Kind != catalog.KindService {
				want.MinQuantity, want.MaxQuantity = 1, 1 // zero means one for single-unit kinds
			}
			if got := p.Input(); got != want {
				t.Fatalf("stored\n %+v\nwant\n %+v", got, want)
			}
			for name, get := range map[string]func() (catalog.Product, error){
				"Get":       func() (catalog.Product, error) { return e.svc.Get(e.ctx, p.ID) },
				"GetBySlug": func() (catalog.Product, error) { return e.svc.GetBySlug(e.ctx, in.Slug) },
				"Revision":  func() (catalog.Product, error) { return e.svc.Revision(e.ctx, p.ID, 1) },
			} {
				got, err := get()
				if err != nil || got != p {
					t.Errorf("%s = %+v, %v\nwant %+v", name, got, err, p)
				}
			}
			if p.Name("fr") != in.NameFR || p.Name("fr-CA") != in.NameFR || p.Name("en") != in.NameEN || p.Name("de") != in.NameEN ||
				p.Description("FR") != in.DescriptionFR || p.Description("") != in.DescriptionEN {
				t.Errorf("Name/Description by language wrong on %+v", p)
			}
		})
	}
	// A NUL or invalid UTF-8 (from a form: PostgreSQL refuses both in
	// text, a 500 there) names no product either.
	for _, unknown := range []string{"prd_nope", "prd_\x00", "prd_\xff"} {
		if _, err := e.svc.Get(e.ctx, unknown); !errors.Is(err, catalog.ErrNotFound) {
			t.Errorf("Get(%q) = %v", unknown, err)
		}
	}
	if _, err := e.svc.GetBySlug(e.ctx, "nope"); !errors.Is(err, catalog.ErrNotFound) {
		t.Errorf("GetBySlug unknown = %v", err)
	}
}

func TestCreateNormalizesAndDerivesSlug(t *testing.T) {
	e := setup(t)
	in := validInput(catalog.KindService)
	in.Slug = ""
	in.NameEN = "  Café Crème & Œuvres — 100 % “bio”  "
	in.NameFR = " Nom\u00a0français "
	in.DescriptionFR = "Ligne 1\r\nLigne 2\r\n"
	p := e.create(t, in)
	if p.Slug != "cafe-creme-oeuvres-100-bio" || p.NameEN != "Café Crème & Œuvres — 100 % “bio”" || p.NameFR != "Nom\u00a0français" ||
		p.DescriptionFR != "Ligne 1\nLigne 2" {
		t.Fatalf("normalized to %q %q %q %q", p.Slug, p.NameEN, p.NameFR, p.DescriptionFR)
	}
	// The same name again: the derived slug is taken.
	var ve *catalog.ValidationError
	if _, err := e.svc.Create(e.ctx, admin, in); !errors.As(err, &ve) || ve.Fields["slug"] != catalog.CodeSlugTaken {
		t.Fatalf("second product with the same slug: %v", err)
	}
	in.Slug = "CAFE-creme-OEUVRES-100-bio" // upper case is the same slug
	if _, err := e.svc.Create(e.ctx, admin, in); !errors.As(err, &ve) || ve.Fields["slug"] != catalog.CodeSlugTaken {
		t.Fatalf("same slug in capitals: %v", err)
	}
}

func TestSlugify(t *testing.T) {
	for in, want := range map[string]string{
		"Traduction FR→EN — 100 mots":      "traduction-fr-en-100-mots",
		"Gestion de réseaux sociaux":       "gestion-de-reseaux-sociaux",
		"  --Hello,   World!--  ":          "hello-world",
		"!!!":                              "",
		"ÀÉÎÕÜ çæœß":                       "aeiou-caeoess",
		strings.Repeat("mot ", 30):         strings.TrimSuffix(strings.Repeat("mot-", 20), "-"),
		"Licence Carnet Pro — 1 poste":     "licence-carnet-pro-1-poste",
		"Abonnement (mensuel) 9,90 €/mois": "abonnement-mensuel-9-90-mois",
	} {
		if got := catalog.Slugify(in); got != want {
			t.Errorf("Slugify(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestValidation(t *testing.T) {
	e := setup(t)
	kinds := []string{catalog.KindService, catalog.KindDigital, catalog.KindSubscription}
	type tc struct {
		name   string
		kind   string // "" = every kind
		mutate func(*catalog.ProductInput)
		field  string
		code   string
	}
	cases := []tc{
		// Common to every kind.
		{"no kind", "", func(in *catalog.ProductInput) { in.Kind = "" }, "kind", catalog.CodeRequired},
		{"bad kind", "", func(in *catalog.ProductInput) { in.Kind = "physical" }, "kind", catalog.CodeKindInvalid},
		{"bad slug", "", func(in *catalog.ProductInput) { in.Slug = "a b" }, "slug", catalog.CodeSlugInvalid},
		{"slug double hyphen", "", func(in *catalog.ProductInput) { in.Slug = "a--b" }, "slug", catalog.CodeSlugInvalid},
		{"slug edge hyphen", "", func(in *catalog.ProductInput) { in.Slug = "-ab" }, "slug", catalog.CodeSlugInvalid},
		{"slug accent", "", func(in *catalog.ProductInput) { in.Slug = "café" }, "slug", catalog.CodeSlugInvalid},
		{"long slug", "", func(in *catalog.ProductInput) { in.Slug = strings.Repeat("a", 81) }, "slug", catalog.CodeTooLong},
		{"slug from nothing", "", func(in *catalog.ProductInput) { in.Slug, in.NameEN = "", "!!!" }, "slug", catalog.CodeRequired},
		{"no name fr", "", func(in *catalog.ProductInput) { in.NameFR = "  " }, "name_fr", catalog.CodeRequired},
		{"no name en", "", func(in *catalog.ProductInput) { in.NameEN = "" }, "name_en", catalog.CodeRequired},
		{"long name fr", "", func(in *catalog.ProductInput) { in.NameFR = strings.Repeat("é", 201) }, "name_fr", catalog.CodeTooLong},
		{"long name en", "", func(in *catalog.ProductInput) { in.NameEN = strings.Repeat("e", 201) }, "name_en", catalog.CodeTooLong},
		{"name with newline", "", func(in *catalog.ProductInput) { in.NameFR = "a\nb" }, "name_fr", catalog.CodeInvalidCharacters},
		{"name not utf-8", "", func(in *catalog.ProductInput) { in.NameEN = "a\xffb" }, "name_en", catalog.CodeInvalidCharacters},
		{"no description fr", "", func(in *catalog.ProductInput) { in.DescriptionFR = "" }, "description_fr", catalog.CodeRequired},
		{"no description en", "", func(in *catalog.ProductInput) { in.DescriptionEN = "\n" }, "description_en", catalog.CodeRequired},
		{"long description fr", "", func(in *catalog.ProductInput) { in.DescriptionFR = strings.Repeat("x", 20001) }, "description_fr", catalog.CodeTooLong},
		{"description control char", "", func(in *catalog.ProductInput) { in.DescriptionEN = "a\x00b" }, "description_en", catalog.CodeInvalidCharacters},
		{"no currency", "", func(in *catalog.ProductInput) { in.UnitPrice.Currency = "" }, "currency", catalog.CodeRequired},
		{"bad currency", "", func(in *catalog.ProductInput) { in.UnitPrice.Currency = "eur" }, "currency", catalog.CodeCurrencyInvalid},
		{"zero price", "", func(in *catalog.ProductInput) { in.UnitPrice.Minor = 0 }, "unit_price", catalog.CodePriceNotPositive},
		{"negative price", "", func(in *catalog.ProductInput) { in.UnitPrice.Minor = -100 }, "unit_price", catalog.CodePriceNotPositive},

		// Services.
		{"min quantity 0", catalog.KindService, func(in *catalog.ProductInput) { in.MinQuantity = 0 }, "min_quantity", catalog.CodeQuantityInvalid},
		{"min quantity negative", catalog.KindService, func(in *catalog.ProductInput) { in.MinQuantity = -1 }, "min_quantity", catalog.CodeQuantityInvalid},
		{"min quantity huge", catalog.KindService, func(in *catalog.ProductInput) { in.MinQuantity = 2_000_000 }, "min_quantity", catalog.CodeTooLarge},
		{"max quantity 0", catalog.KindService, func(in *catalog.ProductInput) { in.MaxQuantity = 0 }, "max_quantity", catalog.CodeQuantityInvalid},
		{"max below min", catalog.KindService, func(in *catalog.ProductInput) { in.MaxQuantity = 9 }, "max_quantity", catalog.CodeMaxBelowMin},
		{"max quantity huge", catalog.KindService, func(in *catalog.ProductInput) { in.MaxQuantity = 1_000_001 }, "max_quantity", catalog.CodeTooLarge},
		{"price times max overflows", catalog.KindService, func(in *catalog.ProductInput) { in.UnitPrice.Minor = 1 << 62 }, "unit_price", catalog.CodeTooLarge},
		{"no processing time", catalog.KindService, func(in *catalog.ProductInput) { in.ProcessingTime = 0 }, "processing_seconds", catalog.CodeRequired},
		{"negative processing", catalog.KindService, func(in *catalog.ProductInput) { in.ProcessingTime = -time.Hour }, "processing_seconds", catalog.CodeDurationInvalid},
		{"sub-second processing", catalog.KindService, func(in *catalog.ProductInput) { in.ProcessingTime = 1500 * time.Millisecond }, "processing_seconds", catalog.CodeDurationInvalid},
		{"processing over a year", catalog.KindService, func(in *catalog.ProductInput) { in.ProcessingTime = 366 * 24 * time.Hour }, "processing_seconds", catalog.CodeTooLarge},
		{"service with delivery", catalog.KindService, func(in *catalog.ProductInput) { in.DigitalDelivery = catalog.DeliveryFile }, "digital_delivery", catalog.CodeNotApplicable},
		{"service with file", catalog.KindService, func(in *catalog.ProductInput) { in.FileKey = "a.pdf" }, "file_key", catalog.CodeNotApplicable},
		{"service with ttl", catalog.KindService, func(in *catalog.ProductInput) { in.DownloadTTL = time.Hour }, "download_ttl_seconds", catalog.CodeNotApplicable},
		{"service with interval", catalog.KindService, func(in *catalog.ProductInput) { in.PlanInterval = catalog.IntervalMonth }, "plan_interval", catalog.CodeNotApplicable},
		{"service with trial", catalog.KindService, func(in *catalog.ProductInput) { in.TrialDays = 7 }, "trial_days", catalog.CodeNotApplicable},

		// Digital products.
		{"digital min 2", catalog.KindDigital, func(in *catalog.ProductInput) { in.MinQuantity = 2 }, "min_quantity", catalog.CodeMustBeOne},
		{"digital max 5", catalog.KindDigital, func(in *catalog.ProductInput) { in.MaxQuantity = 5 }, "max_quantity", catalog.CodeMustBeOne},
		{"digital with processing", catalog.KindDigital, func(in *catalog.ProductInput) { in.ProcessingTime = time.Hour }, "processing_seconds", catalog.CodeNotApplicable},
		{"no delivery", catalog.KindDigital, func(in *catalog.ProductInput) { in.DigitalDelivery = "" }, "digital_delivery", catalog.CodeRequired},
		{"bad delivery", catalog.KindDigital, func(in *catalog.ProductInput) { in.DigitalDelivery = "email" }, "digital_delivery", catalog.CodeDeliveryInvalid},
		{"file without key", catalog.KindDigital, func(in *catalog.ProductInput) { in.FileKey = "" }, "file_key", catalog.CodeRequired},
		{"file key climbs", catalog.KindDigital, func(in *catalog.ProductInput) { in.FileKey = "../etc/passwd" }, "file_key", catalog.CodeFileKeyInvalid},
		{"file key absolute", catalog.KindDigital, func(in *catalog.ProductInput) { in.FileKey = "/etc/passwd" }, "file_key", catalog.CodeFileKeyInvalid},
		{"file key spaces", catalog.KindDigital, func(in *catalog.ProductInput) { in.FileKey = "my file.pdf" }, "file_key", catalog.CodeFileKeyInvalid},
		{"file key long", catalog.KindDigital, func(in *catalog.ProductInput) { in.FileKey = strings.Repeat("a", 301) }, "file_key", catalog.CodeTooLong},
		{"file without ttl", catalog.KindDigital, func(in *catalog.ProductInput) { in.DownloadTTL = 0 }, "download_ttl_seconds", catalog.CodeRequired},
		{"negative ttl", catalog.KindDigital, func(in *catalog.ProductInput) { in.DownloadTTL = -time.Hour }, "download_ttl_seconds", catalog.CodeDurationInvalid},
		{"ttl over 90 days", catalog.KindDigital, func(in *catalog.ProductInput) { in.DownloadTTL = 91 * 24 * time.Hour }, "download_ttl_seconds", catalog.CodeTooLarge},
		{"licence with file", catalog.KindDigital, func(in *catalog.ProductInput) { in.DigitalDelivery = catalog.DeliveryLicenceKey; in.DownloadTTL = 0 }, "file_key", catalog.CodeNotApplicable},
		{"licence with ttl", catalog.KindDigital, func(in *catalog.ProductInput) { in.DigitalDelivery = catalog.DeliveryLicenceKey; in.FileKey = "" }, "download_ttl_seconds", catalog.CodeNotApplicable},
		{"digital with interval", catalog.KindDigital, func(in *catalog.ProductInput) { in.PlanInterval = catalog.IntervalYear }, "plan_interval", catalog.CodeNotApplicable},
		{"digital with trial", catalog.KindDigital, func(in *catalog.ProductInput) { in.TrialDays = 1 }, "trial_days", catalog.CodeNotApplicable},

		// Subscription plans.
		{"plan min 3", catalog.KindSubscription, func(in *catalog.ProductInput) { in.MinQuantity = 3 }, "min_quantity", catalog.CodeMustBeOne},
		{"plan max 2", catalog.KindSubscription, func(in *catalog.ProductInput) { in.MaxQuantity = 2 }, "max_quantity", catalog.CodeMustBeOne},
		{"no interval", catalog.KindSubscription, func(in *catalog.ProductInput) { in.PlanInterval = "" }, "plan_interval", catalog.CodeRequired},
		{"bad interval", catalog.KindSubscription, func(in *catalog.ProductInput) { in.PlanInterval = "day" }, "plan_interval", catalog.CodeIntervalInvalid},
		{"negative trial", catalog.KindSubscription, func(in *catalog.ProductInput) { in.TrialDays = -1 }, "trial_days", catalog.CodeOutOfRange},
		{"trial over a year", catalog.KindSubscription, func(in *catalog.ProductInput) { in.TrialDays = 366 }, "trial_days", catalog.CodeOutOfRange},
		{"plan with processing", catalog.KindSubscription, func(in *catalog.ProductInput) { in.ProcessingTime = time.Hour }, "processing_seconds", catalog.CodeNotApplicable},
		{"plan with delivery", catalog.KindSubscription, func(in *catalog.ProductInput) { in.DigitalDelivery = catalog.DeliveryLicenceKey }, "digital_delivery", catalog.CodeNotApplicable},
		{"plan with file", catalog.KindSubscription, func(in *catalog.ProductInput) { in.FileKey = "a.pdf" }, "file_key", catalog.CodeNotApplicable},
		{"plan with ttl", catalog.KindSubscription, func(in *catalog.ProductInput) { in.DownloadTTL = time.Hour }, "download_ttl_seconds", catalog.CodeNotApplicable},
	}
	for _, c := range cases {
		for _, kind := range kinds {
			if c.kind != "" && c.kind != kind {
				continue
			}
			t.Run(kind+"/"+c.name, func(t *testing.T) {
				in := validInput(kind)
				c.mutate(&in)
				_, err := e.svc.Create(e.ctx, admin, in)
				var ve *catalog.ValidationError
				if !errors.As(err, &ve) {
					t.Fatalf("Create = %v, want a ValidationError", err)
				}
				if ve.Fields[c.field] != c.code || len(ve.Fields) != 1 {
					t.Fatalf("fields = %v, want only %s: %s", ve.Fields, c.field, c.code)
				}
			})
		}
	}
	// The same rules apply to edits.
	p := e.create(t, validInput(catalog.KindService))
	in := p.Input()
	in.NameFR = ""
	var ve *catalog.ValidationError
	if _, err := e.svc.Update(e.ctx, admin, p.ID, in); !errors.As(err, &ve) || ve.Fields["name_fr"] != catalog.CodeRequired {
		t.Fatalf("Update without a French name = %v", err)
	}
	// Nothing invalid was stored.
	page, _, err := e.svc.List(e.ctx, catalog.ListFilter{IncludeArchived: true})
	if err != nil || len(page) != 1 || page[0].Revision != 1 {
		t.Fatalf("after refused inputs the catalog holds %d products (%v)", len(page), err)
	}
}

func TestUpdateMakesNewRevisionAndKeepsOldOnes(t *testing.T) {
	e := setup(t)
	old := e.create(t, validInput(catalog.KindService))

	e.clock.Advance(time.Hour)
	in := old.Input()
	in.NameFR, in.NameEN = "Nouveau nom", "New name"
	in.UnitPrice = eur(1990)
	in.ProcessingTime = 5 * 24 * time.Hour
	p, err := e.svc.Update(e.ctx, admin, old.ID, in)
	if err != nil {
		t.Fatal(err)
	}
	if p.Revision != 2 || p.NameFR != "Nouveau nom" || p.UnitPrice != eur(1990) || !p.RevisedAt.Equal(t0.Add(time.Hour)) || !p.CreatedAt.Equal(t0) {
		t.Fatalf("after update: %+v", p)
	}
	if got, _ := e.svc.Get(e.ctx, old.ID); got != p {
		t.Fatalf("Get = %+v, want the new revision", got)
	}
	// What an order of revision 1 recorded is unchanged.
	r1, err := e.svc.Revision(e.ctx, old.ID, 1)
	if err != nil || r1 != old {
		t.Fatalf("Revision 1 = %+v, %v\nwant %+v", r1, err, old)
	}
	if _, err := e.svc.Revision(e.ctx, old.ID, 3); !errors.Is(err, catalog.ErrNotFound) {
		t.Fatalf("Revision 3 = %v", err)
	}

	// Saving the form untouched is not an edit.
	same, err := e.svc.Update(e.ctx, admin, old.ID, p.Input())
	if err != nil || same.Revision != 2 {
		t.Fatalf("no-op update = %+v, %v", same, err)
	}
	// A new slug alone needs no revision: no order depends on it.
	in = p.Input()
	in.Slug = "renamed"
	renamed, err := e.svc.Update(e.ctx, admin, old.ID, in)
	if err != nil || renamed.Revision != 2 || renamed.Slug != "renamed" {
		t.Fatalf("slug-only update = %+v, %v", renamed, err)
	}
	if r1, _ := e.svc.Revision(e.ctx, old.ID, 1); r1.Slug != "renamed" {
		t.Fatalf("Revision carries today's slug, got %q", r1.Slug)
	}
	// An empty slug keeps the current one.
	in.Slug = ""
	in.DescriptionEN = "Changed."
	kept, err := e.svc.Update(e.ctx, admin, old.ID, in)
	if err != nil || kept.Slug != "renamed" || kept.Revision != 3 {
		t.Fatalf("update without slug = %+v, %v", kept, err)
	}

	// The kind is fixed: a service cannot become a plan.
	in = validInput(catalog.KindSubscription)
	var ve *catalog.ValidationError
	if _, err := e.svc.Update(e.ctx, admin, old.ID, in); !errors.As(err, &ve) || ve.Fields["kind"] != catalog.CodeKindImmutable {
		t.Fatalf("kind change = %v", err)
	}
	// Another product's slug is taken.
	other := e.create(t, validInput(catalog.KindService))
	in = other.Input()
	in.Slug = "renamed"
	if _, err := e.svc.Update(e.ctx, admin, other.ID, in); !errors.As(err, &ve) || ve.Fields["slug"] != catalog.CodeSlugTaken {
		t.Fatalf("update to a taken slug = %v", err)
	}
	if _, err := e.svc.Update(e.ctx, admin, "prd_nope", validInput(catalog.KindService)); !errors.Is(err, catalog.ErrNotFound) {
		t.Fatalf("update unknown = %v", err)
	}
	if got, _ := e.svc.Get(e.ctx, old.ID); got.Revision != 3 {
		t.Fatalf("refused edits changed the product: %+v", got)
	}
}

func TestConcurrentUpdatesTakeDistinctRevisions(t *testing.T) {
	e := setup(t)
	p := e.create(t, validInput(catalog.KindService))
	const n = 10
	revs := make([]int, n)
	errs := make([]error, n)
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			in := p.Input()
			in.UnitPrice = eur(int64(2000 + i)) // each edit differs, so each makes a revision
			<-start
			got, err := e.svc.Update(e.ctx, admin, p.ID, in)
			revs[i], errs[i] = got.Revision, err
		})
	}
	close(start)
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("edit %d: %v", i, err)
		}
	}
	slices.Sort(revs)
	want := []int{2, 3, 4, 5, 6, 7, 8, 9, 10, 11}
	if !slices.Equal(revs, want) {
		t.Fatalf("revisions = %v, want %v", revs, want)
	}
	cur, err := e.svc.Get(e.ctx, p.ID)
	if err != nil || cur.Revision != 11 {
		t.Fatalf("current = %+v, %v", cur, err)
	}
	prices := map[int64]bool{}
	for rev := 1; rev <= 11; rev++ {
		r, err := e.svc.Revision(e.ctx, p.ID, rev)
		if err != nil {
			t.Fatalf("revision %d: %v", rev, err)
		}
		prices[r.UnitPrice.Minor] = true
	}
	if len(prices) != 11 {
		t.Fatalf("revisions hold %d distinct prices, want 11 (each edit kept)", len(prices))
	}
}

func TestArchiveHidesFromList(t *testing.T) {
	e := setup(t)
	a := e.create(t, validInput(catalog.KindService))
	b := e.create(t, validInput(catalog.KindDigital))
	if err := e.svc.Archive(e.ctx, admin, a.ID); err != nil {
		t.Fatal(err)
	}
	if err := e.svc.Archive(e.ctx, admin, a.ID); err != nil {
		t.Fatalf("archiving twice: %v", err)
	}
	ids := func(f catalog.ListFilter) []string {
		t.Helper()
		page, next, err := e.svc.List(e.ctx, f)
		if err != nil || next != "" {
			t.Fatalf("List(%+v) = %v, %q, %v", f, page, next, err)
		}
		var out []string
		for _, p := range page {
			out = append(out, p.ID)
		}
		return out
	}
	if got := ids(catalog.ListFilter{}); !slices.Equal(got, []string{b.ID}) {
		t.Fatalf("List after archive = %v, want only %s", got, b.ID)
	}
	if got := ids(catalog.ListFilter{IncludeArchived: true}); len(got) != 2 {
		t.Fatalf("List with archived = %v", got)
	}
	// Still readable: orders show it.
	if p, err := e.svc.Get(e.ctx, a.ID); err != nil || !p.Archived {
		t.Fatalf("Get archived = %+v, %v", p, err)
	}
	if err := e.svc.Unarchive(e.ctx, admin, a.ID); err != nil {
		t.Fatal(err)
	}
	if got := ids(catalog.ListFilter{}); len(got) != 2 {
		t.Fatalf("List after unarchive = %v", got)
	}
	if err := e.svc.Archive(e.ctx, admin, "prd_nope"); !errors.Is(err, catalog.ErrNotFound) {
		t.Fatalf("Archive unknown = %v", err)
	}
	if err := e.svc.Unarchive(e.ctx, admin, "prd_nope"); !errors.Is(err, catalog.ErrNotFound) {
		t.Fatalf("Unarchive unknown = %v", err)
	}
}

func TestListPaginatesByCursorAndFiltersKind(t *testing.T) {
	e := setup(t)
	var all []string
	kinds := map[string]string{}
	for i := range 7 {
		kind := []string{catalog.KindService, catalog.KindDigital, catalog.KindSubscription}[i%3]
		p := e.create(t, validInput(kind))
		all = append(all, p.ID)
		kinds[p.ID] = kind
	}
	slices.Sort(all)
	archived := all[3]
	if err := e.svc.Archive(e.ctx, admin, archived); err != nil {
		t.Fatal(err)
	}
	walk := func(f catalog.ListFilter) (ids []string, sizes []int) {
		t.Helper()
		for range 10 {
			page, next, err := e.svc.List(e.ctx, f)
			if err != nil {
				t.Fatal(err)
			}
			sizes = append(sizes, len(page))
			for _, p := range page {
				ids = append(ids, p.ID)
			}
			if next == "" {
				return ids, sizes
			}
			if next != page[len(page)-1].ID {
				t.Fatalf("next = %q, want the last id of the page", next)
			}
			f.After = next
		}
		t.Fatal("pagination does not end")
		return nil, nil
	}
	ids, sizes := walk(catalog.ListFilter{IncludeArchived: true, Limit: 3})
	if !slices.Equal(ids, all) || !slices.Equal(sizes, []int{3, 3, 1}) {
		t.Fatalf("pages %v of %v, want %v in id order", sizes, ids, all)
	}
	// Exactly a multiple of the page size: the last full page says so.
	ids, sizes = walk(catalog.ListFilter{Limit: 3})
	want := slices.DeleteFunc(slices.Clone(all), func(id string) bool { return id == archived })
	if !slices.Equal(ids, want) || !slices.Equal(sizes, []int{3, 3}) {
		t.Fatalf("pages without archived %v of %v, want %v", sizes, ids, want)
	}
	ids, _ = walk(catalog.ListFilter{IncludeArchived: true, Kind: catalog.KindService, Limit: 1})
	for _, id := range ids {
		if kinds[id] != catalog.KindService {
			t.Fatalf("kind filter let %s (%s) through", id, kinds[id])
		}
	}
	if len(ids) != 3 {
		t.Fatalf("services = %v, want 3", ids)
	}
	var ve *catalog.ValidationError
	if _, _, err := e.svc.List(e.ctx, catalog.ListFilter{Kind: "physical"}); !errors.As(err, &ve) {
		t.Fatalf("bad kind = %v", err)
	}
	if _, _, err := e.svc.List(e.ctx, catalog.ListFilter{After: "x' OR 1=1"}); !errors.As(err, &ve) || ve.Fields["after"] != catalog.CodeCursorInvalid {
		t.Fatalf("bad cursor = %v", err)
	}
}

func TestAuditEntries(t *testing.T) {
	e := setup(t)
	in := licenceInput()
	p := e.create(t, in)
	in.UnitPrice = eur(4900)
	if _, err := e.svc.Update(e.ctx, admin, p.ID, in); err != nil {
		t.Fatal(err)
	}
	if _, err := e.svc.Update(e.ctx, admin, p.ID, in); err != nil { // no change: no entry
		t.Fatal(err)
	}
	if err := e.svc.Archive(e.ctx, admin, p.ID); err != nil {
		t.Fatal(err)
	}
	if err := e.svc.Archive(e.ctx, admin, p.ID); err != nil { // already archived: no entry
		t.Fatal(err)
	}
	if err := e.svc.Unarchive(e.ctx, admin, p.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := e.svc.AddLicenceKeys(e.ctx, admin, p.ID, []string{"SECRET-KEY-1", "SECRET-KEY-2"}); err != nil {
		t.Fatal(err)
	}
	rows, err := audit.ForSubject(e.ctx, e.db.Read, "product", p.ID)
	if err != nil {
		t.Fatal(err)
	}
	var actions []string
	for _, r := range rows {
		actions = append(actions, r.Action)
		if r.ActorID != admin.ID || r.ActorRole != "admin" {
			t.Errorf("%s by %s/%s", r.Action, r.ActorID, r.ActorRole)
		}
		for _, text := range []string{in.NameFR, in.NameEN, in.DescriptionEN, "SECRET-KEY"} {
			if strings.Contains(r.Before+r.After, text) {
				t.Errorf("%s entry holds %q: %s → %s", r.Action, text, r.Before, r.After)
			}
		}
	}
	want := []string{"product_create", "product_update", "product_archive", "product_unarchive", "licence_keys_add"}
	if !slices.Equal(actions, want) {
		t.Fatalf("actions = %v, want %v", actions, want)
	}
	if rows[1].Before != `{"revision":1,"slug":"`+in.Slug+`"}` ||
		rows[1].After != `{"revision":2,"slug":"`+in.Slug+`","unit_price":4900,"currency":"EUR","fields":["unit_price"]}` {
		t.Errorf("update entry %s → %s", rows[1].Before, rows[1].After)
	}
	if rows[4].After != `{"added":2,"submitted":2}` {
		t.Errorf("keys entry %s", rows[4].After)
	}
}

func TestDemoProducts(t *testing.T) {
	e := setup(t)
	kinds := map[string]int{}
	deliveries := map[string]int{}
	for _, in := range catalog.DemoProducts() {
		p, err := e.svc.Create(e.ctx, audit.System, in)
		if err != nil {
			t.Fatalf("demo product %q: %v", in.Slug, err)
		}
		kinds[p.Kind]++
		deliveries[p.DigitalDelivery]++
		if w := catalog.Warnings(p, 7*24*time.Hour); len(w) > 0 {
			t.Errorf("demo product %s warns %v", p.Slug, w)
		}
		if p.NameFR == p.NameEN || p.DescriptionFR == p.DescriptionEN {
			t.Errorf("demo product %s is not translated", p.Slug)
		}
		if p.Kind == catalog.KindSubscription && (p.PlanInterval != catalog.IntervalMonth || p.TrialDays != 7) {
			t.Errorf("demo plan %+v, want monthly with a 7-day trial", p)
		}
		if p.DigitalDelivery == catalog.DeliveryLicenceKey {
			n, err := e.svc.AddLicenceKeys(e.ctx, audit.System, p.ID, catalog.DemoLicenceKeys())
			if err != nil || n != 10 {
				t.Fatalf("demo keys: %d, %v", n, err)
			}
		}
	}
	if kinds[catalog.KindService] < 1 || kinds[catalog.KindDigital] < 2 || kinds[catalog.KindSubscription] < 1 ||
		deliveries[catalog.DeliveryFile] != 1 || deliveries[catalog.DeliveryLicenceKey] != 1 {
		t.Fatalf("demo catalog kinds %v, deliveries %v", kinds, deliveries)
	}
}

// Two admins open the same revision; the first saves a new price, the
// second a new name from the page they opened. The second save must not
// put the old price back: it is refused as stale and changes nothing.
// Before, it made revision 3 with the first admin's price silently undone.
func TestUpdateFromAStaleRevisionIsRefused(t *testing.T) {
	e := setup(t)
	p := e.create(t, validInput(catalog.KindService))

	first := p.Input()
	first.BaseRevision, first.BaseSlug = p.Revision, p.Slug
	first.UnitPrice = eur(2500)
	if _, err := e.svc.Update(e.ctx, admin, p.ID, first); err != nil {
		t.Fatal(err)
	}
	second := p.Input()
	second.BaseRevision, second.BaseSlug = p.Revision, p.Slug
	second.NameEN = "Renamed"
	_, err := e.svc.Update(e.ctx, admin, p.ID, second)
	var verr *catalog.ValidationError
	if !errors.As(err, &verr) || verr.Fields["revision"] != catalog.CodeStale {
		t.Fatalf("stale update: %v, want revision %s", err, catalog.CodeStale)
	}
	got, _ := e.svc.Get(e.ctx, p.ID)
	if got.Revision != 2 || got.UnitPrice != eur(2500) || got.NameEN != p.NameEN {
		t.Fatalf("after the stale update: %+v", got)
	}

	// A slug changed meanwhile (no new revision) is as much a change.
	slugged := got.Input()
	slugged.BaseRevision, slugged.BaseSlug = got.Revision, got.Slug
	slugged.Slug = "moved"
	if _, err := e.svc.Update(e.ctx, admin, p.ID, slugged); err != nil {
		t.Fatal(err)
	}
	late := got.Input()
	late.BaseRevision, late.BaseSlug = got.Revision, got.Slug
	late.NameEN = "Renamed"
	if _, err := e.svc.Update(e.ctx, admin, p.ID, late); !errors.As(err, &verr) || verr.Fields["revision"] != catalog.CodeStale {
		t.Fatalf("update from the old slug: %v, want revision %s", err, catalog.CodeStale)
	}
	if got, _ := e.svc.Get(e.ctx, p.ID); got.Slug != "moved" || got.NameEN != p.NameEN {
		t.Fatalf("after the stale update: %+v", got)
	}

	// From the revision in force, the edit goes through.
	cur, _ := e.svc.Get(e.ctx, p.ID)
	ok := cur.Input()
	ok.BaseRevision, ok.BaseSlug = cur.Revision, cur.Slug
	ok.NameEN = "Renamed"
	if p2, err := e.svc.Update(e.ctx, admin, p.ID, ok); err != nil || p2.Revision != 3 || p2.NameEN != "Renamed" || p2.UnitPrice != eur(2500) {
		t.Fatalf("update from the current revision: %+v, %v", p2, err)
	}
}

func TestAllowsQuantity(t *testing.T) {
	p := catalog.Product{MinQuantity: 10, MaxQuantity: 1000}
	for q, want := range map[int]bool{-1: false, 0: false, 9: false, 10: true, 500: true, 1000: true, 1001: false} {
		if got := p.AllowsQuantity(q); got != want {
			t.Errorf("AllowsQuantity(%d) = %v, want %v", q, got, want)
		}
	}
}
