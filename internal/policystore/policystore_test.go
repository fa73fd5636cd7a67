package policystore_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"comptoir/internal/audit"
	"comptoir/internal/clock"
	"comptoir/internal/db"
	"comptoir/internal/db/dbtest"
	"comptoir/internal/locale"
	"comptoir/internal/policy"
	"comptoir/internal/policystore"
)

var t0 = time.Date(2026, 3, 8, 10, 0, 0, 0, time.UTC)

var admin = audit.Actor{ID: "usr_admin", Role: "admin"}

type env struct {
	ctx   context.Context
	db    *db.DB
	clock *clock.Manual
	svc   *policystore.Service
}

func setup(t *testing.T) *env {
	t.Helper()
	e := &env{ctx: context.Background(), db: dbtest.Open(t), clock: clock.NewManual(t0)}
	e.svc = policystore.New(e.db, e.clock)
	return e
}

// seededRows counts the versions stored but the built-in default@2, which
// a migration publishes in every store (builtin_test.go).
const seededRows = `SELECT COUNT(*) FROM policies WHERE NOT (name = 'default' AND version = 2)`

func isMigratedDefault2(v policystore.Version) bool { return v.ID == "default@2" && v.CreatedBy == "" }

// shopDoc is the default document renamed shop@version, with edit applied
// (old → new pairs).
func shopDoc(version int, edit ...string) []byte {
	doc := strings.Replace(string(policy.DefaultDocument()), "name = \"default\"\nversion = 1",
		fmt.Sprintf("name = \"shop\"\nversion = %d", version), 1)
	for i := 0; i+1 < len(edit); i += 2 {
		if !strings.Contains(doc, edit[i]) {
			panic("shopDoc: no " + edit[i])
		}
		doc = strings.Replace(doc, edit[i], edit[i+1], 1)
	}
	return []byte(doc)
}

func (e *env) save(t *testing.T, doc []byte) policystore.Draft {
	t.Helper()
	d, err := e.svc.SaveDraft(e.ctx, admin, doc)
	if err != nil || len(d.Errors) > 0 || d.Policy == nil {
		t.Fatalf("SaveDraft: %+v, %v", d.Errors, err)
	}
	return d
}

func (e *env) publish(t *testing.T, id string) {
	t.Helper()
	if err := e.svc.Publish(e.ctx, admin, id); err != nil {
		t.Fatalf("Publish(%s): %v", id, err)
	}
}

func (e *env) current(t *testing.T, svc *policystore.Service) string {
	t.Helper()
	p, err := svc.Current(e.ctx)
	if err != nil {
		t.Fatalf("Current: %v", err)
	}
	return p.ID()
}

func (e *env) count(t *testing.T, query string, args ...any) int {
	t.Helper()
	var n int
	if err := e.db.Read.QueryRowContext(e.ctx, query, args...).Scan(&n); err != nil {
		t.Fatalf("%s: %v", query, err)
	}
	return n
}

func (e *env) auditActions(t *testing.T, id string) []string {
	t.Helper()
	rows, err := audit.ForSubject(e.ctx, e.db.Read, "policy", id)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, r := range rows {
		out = append(out, r.Action)
	}
	return out
}

// Ten requests on one node and ten nodes starting at once all find default@1
// in force, and it is written once.
func TestDefaultSeededOnceUnderConcurrency(t *testing.T) {
	e := setup(t)
	services := []*policystore.Service{}
	for range 10 {
		services = append(services, e.svc) // ten requests on one node
	}
	for range 10 {
		services = append(services, policystore.New(e.db, e.clock)) // ten nodes
	}
	var wg sync.WaitGroup
	ids := make([]string, len(services))
	errs := make([]error, len(services))
	start := make(chan struct{})
	for i, svc := range services {
		wg.Go(func() {
			<-start
			p, err := svc.Current(e.ctx)
			if err == nil {
				ids[i] = p.ID()
			}
			errs[i] = err
		})
	}
	close(start)
	wg.Wait()
	for i := range services {
		if errs[i] != nil || ids[i] != "default@1" {
			t.Errorf("call %d: %q, %v", i, ids[i], errs[i])
		}
	}
	if n := e.count(t, seededRows); n != 1 {
		t.Errorf("%d policy rows, want 1", n)
	}
	if n := e.count(t, `SELECT COUNT(*) FROM policies WHERE name = 'default' AND version = 1 AND published_at IS NOT NULL AND created_by IS NULL`); n != 1 {
		t.Errorf("default@1 is not stored as published by the system")
	}
	if n := e.count(t, `SELECT generation FROM policy_current WHERE id = 1`); n != 1 {
		t.Errorf("generation %d after seeding, want 1", n)
	}
	if got := e.auditActions(t, "default@1"); !reflect.DeepEqual(got, []string{"policy.seed"}) {
		t.Errorf("audit %v, want one policy.seed", got)
	}
	// The stored text is the built-in one, byte for byte.
	v, err := e.svc.Version(e.ctx, "default@1")
	if err != nil || !bytes.Equal(v.Document, policy.DefaultDocument()) || v.Digest != policy.Default().Digest ||
		!v.InForce || v.IsDraft() || !v.Published.Equal(t0) || v.CreatedBy != "" {
		t.Errorf("Version(default@1) = %+v, %v", v, err)
	}
}

// default@1 resolves before anything is stored: an order placed by a build
// that had no policy table still finds its version.
func TestGetDefaultBeforeSeeding(t *testing.T) {
	e := setup(t)
	p, err := e.svc.Get(e.ctx, "default@1")
	if err != nil || p != policy.Default() {
		t.Fatalf("Get(default@1) = %v, %v", p, err)
	}
	if n := e.count(t, seededRows); n != 0 {
		t.Errorf("Get wrote %d rows; reading must not seed", n)
	}
	for _, id := range []string{"", "default", "default@", "default@0", "default@01", "default@+1", "@1", "default@3", "nope@1", "default@1@1"} {
		if _, err := e.svc.Get(e.ctx, id); !errors.Is(err, policystore.ErrNotFound) {
			t.Errorf("Get(%q) = %v, want ErrNotFound", id, err)
		}
	}
}

func TestSaveDraftWithErrorsSavesNothing(t *testing.T) {
	e := setup(t)
	tests := []struct {
		name string
		doc  []byte
		want policy.ParseError
	}{
		// Line 73 is [kinds.non_delivery]'s window in default.toml.
		{"bad window", shopDoc(2, `window = "7d"`, `window = "7x"`),
			policy.ParseError{Line: 73, Path: "kinds.non_delivery.window", Msg: `"7x" is not a duration such as 7d or 168h`,
				Code: policy.CodeBadWindow, Arg: policy.Args{Value: "7x"}}},
		{"unknown placeholder on the page", shopDoc(2, "within {window.dissatisfied} of placing it", "within {window.unhappy} of placing it"),
			policy.ParseError{Line: lineOf(t, policy.DefaultDocument(), "within {window.dissatisfied} of placing it"), Path: "page.en",
				Msg:  "{window.unhappy} is not a placeholder (the page has {window.non_delivery}, {window.not_as_described}, {window.subscription_cancel}, {window.dissatisfied}, {window.withdrawal})",
				Code: policy.CodeBadPlaceholder, Arg: policy.Args{Name: "window.unhappy", List: "{window.non_delivery}, {window.not_as_described}, {window.subscription_cancel}, {window.dissatisfied}, {window.withdrawal}"}}},
		{"no French page", shopDoc(2, "\nfr = \"\"\"", "\nfrench = \"\"\""),
			policy.ParseError{Line: lineOf(t, policy.DefaultDocument(), "\nfr = \"\"\"") + 1, Path: "page.french", Msg: "unknown key (the page has title_en, title_fr, en, fr)",
				Code: policy.CodeUnknownPageKey, Arg: policy.Args{List: "title_en, title_fr, en, fr"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d, err := e.svc.SaveDraft(e.ctx, admin, tt.doc)
			if err != nil {
				t.Fatalf("SaveDraft: %v (errors in the document are data, not a Go error)", err)
			}
			if d.Policy != nil || len(d.Errors) != 1 || d.Errors[0] != tt.want {
				t.Fatalf("draft %+v\nwant the error %+v", d, tt.want)
			}
		})
	}
	// Nothing saved, nothing published, nothing logged but the seeding.
	if n := e.count(t, `SELECT COUNT(*) FROM policies WHERE name <> 'default'`); n != 0 {
		t.Errorf("%d rows saved from broken documents", n)
	}
	if id := e.current(t, e.svc); id != "default@1" {
		t.Errorf("in force: %s", id)
	}
	if got := e.auditActions(t, "shop@2"); len(got) != 0 {
		t.Errorf("audit %v for a document never saved", got)
	}
}

func TestDraftThenPublish(t *testing.T) {
	e := setup(t)
	if id := e.current(t, e.svc); id != "default@1" {
		t.Fatalf("in force at first: %s", id)
	}
	e.clock.Advance(time.Hour)
	d := e.save(t, shopDoc(2, `remedy = "refund"`, `remedy = "redeliver"`))
	if d.Policy.ID() != "shop@2" || d.Policy.Kind(policy.NonDelivery).Remedy != policy.RemedyRedeliver {
		t.Errorf("draft %s %+v", d.Policy.ID(), d.Policy.Kind(policy.NonDelivery))
	}
	// The default's warning about the 7-day window, with its line.
	if len(d.Warnings) != 1 || d.Warnings[0].Path != "kinds.not_as_described.window" || d.Warnings[0].Line != 81 {
		t.Errorf("warnings %+v", d.Warnings)
	}
	// A draft binds nobody: Get does not return it, Current is unchanged.
	if _, err := e.svc.Get(e.ctx, "shop@2"); !errors.Is(err, policystore.ErrNotFound) {
		t.Errorf("Get(draft) = %v, want ErrNotFound", err)
	}
	if id := e.current(t, e.svc); id != "default@1" {
		t.Errorf("in force after a draft: %s", id)
	}
	// A draft may be saved again, with another text; the same text again
	// is no change.
	e.clock.Advance(time.Minute)
	second := shopDoc(2, `remedy = "refund"`, `remedy = "redeliver"`, "title_en = \"Refunds, claims and your rights\"", "title_en = \"Refunds and claims\"")
	e.save(t, second)
	e.save(t, second)
	v, err := e.svc.Version(e.ctx, "shop@2")
	if err != nil || !bytes.Equal(v.Document, second) || !v.IsDraft() || v.InForce || v.CreatedBy != "usr_admin" || !v.Created.Equal(t0.Add(time.Hour+time.Minute)) {
		t.Fatalf("Version(shop@2) = %+v, %v", v, err)
	}

	e.clock.Advance(time.Minute)
	e.publish(t, "shop@2")
	p, err := e.svc.Current(e.ctx)
	if err != nil || p.ID() != "shop@2" || p.Digest != v.Digest {
		t.Fatalf("Current after publish = %v, %v", p, err)
	}
	if title, _ := p.Page("en"); title != "Refunds and claims" {
		t.Errorf("page title %q", title)
	}
	// Publishing the version in force again changes nothing.
	e.publish(t, "shop@2")
	if n := e.count(t, `SELECT generation FROM policy_current`); n != 2 {
		t.Errorf("generation %d, want 2 (seed, publish)", n)
	}
	if got := e.auditActions(t, "shop@2"); !reflect.DeepEqual(got, []string{"policy.draft", "policy.draft", "policy.publish"}) {
		t.Errorf("audit %v", got)
	}
	// And the published version is closed to drafts.
	_, err = e.svc.SaveDraft(e.ctx, admin, shopDoc(2, `window = "7d"`, `window = "8d"`))
	var se *policystore.Error
	if !errors.Is(err, policystore.ErrVersionPublished) || !errors.As(err, &se) || se.Code != "version_published" {
		t.Errorf("SaveDraft over a published version = %v, want version_published", err)
	}
	// So is default@1, from the very first use.
	_, err = e.svc.SaveDraft(e.ctx, admin, bytes.Replace(policy.DefaultDocument(), []byte(`window = "7d"`), []byte(`window = "8d"`), 1))
	if !errors.Is(err, policystore.ErrVersionPublished) {
		t.Errorf("SaveDraft over default@1 = %v, want version_published", err)
	}

	list, err := e.svc.List(e.ctx)
	list = slices.DeleteFunc(list, isMigratedDefault2)
	if err != nil || len(list) != 2 {
		t.Fatalf("List = %+v, %v", list, err)
	}
	if list[0].ID != "shop@2" || !list[0].InForce || list[0].IsDraft() || !list[0].Published.Equal(t0.Add(time.Hour+2*time.Minute)) || list[0].Document != nil ||
		list[1].ID != "default@1" || list[1].InForce || list[1].IsDraft() {
		t.Errorf("List = %+v", list)
	}
	if _, err := e.svc.Version(e.ctx, "shop@9"); !errors.Is(err, policystore.ErrNotFound) {
		t.Errorf("Version(unknown) = %v", err)
	}
	if err := e.svc.Publish(e.ctx, admin, "shop@9"); !errors.Is(err, policystore.ErrNotFound) {
		t.Errorf("Publish(unknown) = %v", err)
	}
}

// The database itself refuses to change or delete a published version, on
// both engines, whatever code runs against it.
func TestPublishedVersionIsImmutable(t *testing.T) {
	e := setup(t)
	e.current(t, e.svc)
	e.save(t, shopDoc(2))
	e.save(t, shopDoc(3))
	e.publish(t, "shop@2")
	for _, stmt := range []string{
		`UPDATE policies SET document = 'name = "x"' WHERE name = 'shop' AND version = 2`,
		`UPDATE policies SET digest = '0000000000000000000000000000000000000000000000000000000000000000' WHERE name = 'shop' AND version = 2`,
		`UPDATE policies SET published_at = NULL WHERE name = 'default' AND version = 1`,
		`UPDATE policies SET version = 7 WHERE name = 'shop' AND version = 2`,
		`DELETE FROM policies WHERE name = 'shop' AND version = 2`,
		`DELETE FROM policies`,
		// What is in force is always a published version, and always one.
		`UPDATE policy_current SET version = 3, generation = generation + 1`,
		`UPDATE policy_current SET generation = 1`,
		`DELETE FROM policy_current`,
		`INSERT INTO policy_current (id, name, version, generation, changed_at) VALUES (2, 'shop', 2, 9, '2026-03-08 10:00:00')`,
	} {
		_, err := e.db.Write.ExecContext(e.ctx, stmt)
		if err == nil {
			t.Errorf("the database accepted %s", stmt)
			continue
		}
		// Refused by a trigger or a constraint, not by a typo in the test.
		if msg := err.Error(); !strings.Contains(msg, "policy") && !strings.Contains(msg, "constraint") {
			t.Errorf("%s: refused for another reason: %v", stmt, err)
		}
		if testing.Verbose() {
			t.Logf("%s\n\t→ %v", stmt, err)
		}
	}
	if e.db.Engine == db.Postgres {
		for _, stmt := range []string{`TRUNCATE policies CASCADE`, `TRUNCATE policy_current`} {
			if _, err := e.db.Write.ExecContext(e.ctx, stmt); err == nil {
				t.Errorf("the database accepted %s", stmt)
			}
		}
	}
	// Read back by a node with nothing cached: the text is the one published.
	p, err := policystore.New(e.db, e.clock).Get(e.ctx, "shop@2")
	if err != nil || !bytes.Equal(p.Source(), shopDoc(2)) {
		t.Fatalf("shop@2 after the attempts: %v, %v", p, err)
	}
	// A draft, by contrast, may be rewritten and deleted.
	if _, err := e.db.Write.ExecContext(e.ctx, `UPDATE policies SET created_by = 'usr_other' WHERE name = 'shop' AND version = 3`); err != nil {
		t.Errorf("update of a draft: %v", err)
	}
	if _, err := e.db.Write.ExecContext(e.ctx, `DELETE FROM policies WHERE name = 'shop' AND version = 3`); err != nil {
		t.Errorf("delete of a draft: %v", err)
	}
}

// Orders keep the version they accepted: an old version still resolves after
// newer ones are published, on a node that never cached it too.
func TestOldVersionsStillResolve(t *testing.T) {
	e := setup(t)
	e.save(t, shopDoc(2, `window = "7d"`, `window = "5d"`))
	e.publish(t, "shop@2")
	e.clock.Advance(time.Minute)
	e.save(t, shopDoc(3, `window = "7d"`, `window = "10d"`))
	e.publish(t, "shop@3")
	if id := e.current(t, e.svc); id != "shop@3" {
		t.Fatalf("in force: %s", id)
	}
	other := policystore.New(e.db, e.clock)
	for _, svc := range []*policystore.Service{e.svc, other} {
		for id, days := range map[string]int{"default@1": 7, "shop@2": 5, "shop@3": 10} {
			p, err := svc.Get(e.ctx, id)
			if err != nil || p.ID() != id || p.Kind(policy.NonDelivery).Window.Days != days {
				t.Errorf("Get(%s) = %v, %v", id, p, err)
			}
		}
	}
	// Claims are decided under the order's version: the same late claim is
	// in time under shop@3 and out of time under shop@2.
	facts := []byte(`{"kind":"non_delivery","filed_at":"2026-03-16T10:00:00Z","customer":{"type":"business"},
		"order":{"placed_at":"2026-03-08T10:00:00Z","paid_at":"2026-03-08T10:00:00Z","paid":{"amount":1000,"currency":"EUR"},
		"product_kind":"service","quantity":10,"delivered":0}}`)
	f, err := policy.DecodeFacts(facts)
	if err != nil {
		t.Fatal(err)
	}
	p2, _ := e.svc.Get(e.ctx, "shop@2")
	p3, _ := e.svc.Get(e.ctx, "shop@3")
	if d := policy.Evaluate(p2, f, time.Time{}); d.Outcome != policy.OutcomeRefused || d.PolicyVersion != "shop@2" {
		t.Errorf("under shop@2: %+v", d)
	}
	if d := policy.Evaluate(p3, f, time.Time{}); d.Outcome != policy.OutcomeRefund || d.PolicyVersion != "shop@3" {
		t.Errorf("under shop@3: %+v", d)
	}

	// Going back to an earlier version puts it in force again, logged as such.
	e.clock.Advance(time.Minute)
	e.publish(t, "shop@2")
	if id := e.current(t, e.svc); id != "shop@2" {
		t.Errorf("in force after going back: %s", id)
	}
	if got := e.auditActions(t, "shop@2"); !reflect.DeepEqual(got, []string{"policy.draft", "policy.publish", "policy.reinstate"}) {
		t.Errorf("audit %v", got)
	}
	// A draft numbered below a published version is allowed, with a warning.
	d := e.save(t, shopDoc(1))
	found := false
	for _, w := range d.Warnings {
		if w.Path == "version" && strings.Contains(w.Msg, "shop@3 is already published") {
			found = true
			// The admin pages word it from its code: in English, the same.
			msgs := locale.MustLoad()
			tr := func(lang string) policy.Translator {
				return func(id string, data map[string]any) string { return msgs.T(lang, id, data) }
			}
			if en := w.Localize("en", tr("en")); en != w.Msg {
				t.Errorf("worded from its code: %q, want %q", en, w.Msg)
			}
			if fr := w.Localize("fr", tr("fr")); !strings.Contains(fr, "shop@3 est déjà publiée") || !strings.Contains(fr, "version = 4") {
				t.Errorf("in French: %q", fr)
			}
		}
	}
	if !found {
		t.Errorf("no warning for a draft numbered below shop@3: %+v", d.Warnings)
	}
}

// Another node learns of a publish within a second, through the generation
// counter, without being told.
func TestOtherNodeSeesPublishWithinASecond(t *testing.T) {
	e := setup(t)
	other := policystore.New(e.db, e.clock)
	if id := e.current(t, other); id != "default@1" {
		t.Fatalf("other node: %s", id)
	}
	e.save(t, shopDoc(2))
	e.publish(t, "shop@2")
	if id := e.current(t, e.svc); id != "shop@2" {
		t.Errorf("publishing node: %s, want shop@2 at once", id)
	}
	// Within the second, the other node may still answer from its cache
	// (and does, since the test clock has not moved)…
	if id := e.current(t, other); id != "default@1" {
		t.Errorf("other node within the second: %s (the cache should have answered)", id)
	}
	// …and once it has passed, it reads the counter and follows.
	e.clock.Advance(time.Second)
	if id := e.current(t, other); id != "shop@2" {
		t.Errorf("other node after a second: %s, want shop@2", id)
	}
	// A clock set back does not freeze the cache.
	e.save(t, shopDoc(3))
	e.publish(t, "shop@3")
	e.clock.Advance(-time.Hour)
	if id := e.current(t, other); id != "shop@3" {
		t.Errorf("other node after the clock went back: %s, want shop@3", id)
	}
}

// A draft saved by an older build may no longer parse: publishing it fails
// and publishes nothing.
func TestPublishRefusesADraftThatNoLongerParses(t *testing.T) {
	e := setup(t)
	e.current(t, e.svc)
	old := string(shopDoc(2))
	old = old[:strings.Index(old, "\n[page]")] // before pages were required
	if _, err := e.db.Write.ExecContext(e.ctx, `INSERT INTO policies (name, version, document, digest, created_at, created_by)
		VALUES ('shop', 2, $1, $2, $3, 'usr_admin')`, old, strings.Repeat("a", 64), t0); err != nil {
		t.Fatal(err)
	}
	err := e.svc.Publish(e.ctx, admin, "shop@2")
	var pe *policy.ParseError
	if !errors.Is(err, policystore.ErrInvalid) || !errors.As(err, &pe) || pe.Path != "page" {
		t.Fatalf("Publish = %v, want ErrInvalid with the parse error", err)
	}
	if n := e.count(t, `SELECT COUNT(*) FROM policies WHERE name = 'shop' AND published_at IS NULL`); n != 1 {
		t.Errorf("the draft was published anyway")
	}
	if id := e.current(t, e.svc); id != "default@1" {
		t.Errorf("in force: %s", id)
	}
}

// The page customers read comes from the version in force, in both
// languages, with the windows of its rules.
func TestPageOfTheVersionInForce(t *testing.T) {
	e := setup(t)
	p, err := e.svc.Current(e.ctx)
	if err != nil {
		t.Fatal(err)
	}
	for lang, want := range map[string][]string{
		"en": {"Refunds, claims and your rights", "within 7 days of placing it", "within 14 calendar days of placing it"},
		"fr": {"Remboursements, réclamations et vos droits", "dans un délai de 7 jours après la commande", "dans un délai de 14 jours calendaires après celle-ci"},
	} {
		title, paras := p.Page(lang)
		text := title + "\n" + strings.Join(paras, "\n")
		for _, w := range want {
			if !strings.Contains(text, w) {
				t.Errorf("%s page lacks %q", lang, w)
			}
		}
	}
	// A store that lengthens its windows gets a page that says so, without
	// touching the text.
	e.save(t, shopDoc(2, `window = "7d"`, `window = "10d"`, `window = "14d"`+"\ncounting = \"calendar\"", `window = "30d"`+"\ncounting = \"calendar\""))
	e.publish(t, "shop@2")
	p, _ = e.svc.Current(e.ctx)
	_, en := p.Page("en")
	_, fr := p.Page("fr-FR")
	if !strings.Contains(strings.Join(en, "\n"), "claim within 10 days of placing it") ||
		!strings.Contains(strings.Join(en, "\n"), "within 30 calendar days of placing it") ||
		!strings.Contains(strings.Join(fr, "\n"), "dans un délai de 30 jours calendaires après celle-ci") {
		t.Errorf("page of shop@2 does not follow its rules:\n%s\n%s", strings.Join(en, "\n"), strings.Join(fr, "\n"))
	}
}

func TestPreviewIsEvaluate(t *testing.T) {
	docs := map[string][]byte{
		"default":   policy.DefaultDocument(),
		"redeliver": shopDoc(2, `remedy = "refund"`, `remedy = "redeliver"`, `window = "7d"`, `window = "3d"`),
	}
	for name, doc := range docs {
		p, err := policy.Parse(doc)
		if err != nil {
			t.Fatal(err)
		}
		rules := map[string]bool{}
		for _, s := range policystore.Samples() {
			f, err := policy.DecodeFacts(s.Facts)
			if err != nil {
				t.Fatalf("sample %s: %v", s.Key, err)
			}
			for _, at := range []time.Time{{}, f.FiledAt.Add(72 * time.Hour)} {
				got, err := policystore.Preview(doc, s.Facts, at)
				if err != nil {
					t.Fatalf("%s/%s: %v", name, s.Key, err)
				}
				if want := policy.Evaluate(p, f, at); !reflect.DeepEqual(got, want) {
					t.Errorf("%s/%s at %v:\n got %+v\nwant %+v", name, s.Key, at, got, want)
				}
				if at.IsZero() {
					rules[got.Rule] = true
				}
			}
		}
		// The samples show different rules, not one rule nine times.
		if name == "default" && len(rules) < 8 {
			t.Errorf("the samples exercise only %d rules: %v", len(rules), rules)
		}
	}
	var pe *policy.ParseError
	if _, err := policystore.Preview([]byte("name = 1"), policystore.Samples()[0].Facts, time.Time{}); !errors.As(err, &pe) {
		t.Errorf("Preview of a broken document: %v, want a *policy.ParseError", err)
	}
	var fe *policy.FactsError
	if _, err := policystore.Preview(policy.DefaultDocument(), []byte(`{"kind":"refund_me"}`), time.Time{}); !errors.As(err, &fe) {
		t.Errorf("Preview of broken facts: %v, want a *policy.FactsError", err)
	}
}

// lineOf is the line of the first occurrence of s in doc.
func lineOf(t *testing.T, doc []byte, s string) int {
	t.Helper()
	i := bytes.Index(doc, []byte(s))
	if i < 0 {
		t.Fatalf("no %q", s)
	}
	return bytes.Count(doc[:i], []byte("\n")) + 1
}

// An admin reads draft shop@2 and presses Publish; meanwhile another admin
// saved shop@2 again with another text. Publishing what was read must not
// put the other text in force: ErrDraftChanged, nothing published. Before,
// the version was published by number, whatever its text had become.
func TestPublishAsReadRefusesADraftSavedAgain(t *testing.T) {
	e := setup(t)
	e.current(t, e.svc)
	read := e.save(t, shopDoc(2))
	e.save(t, shopDoc(2, `window = "7d"`, `window = "3d"`))

	err := e.svc.PublishAsRead(e.ctx, admin, "shop@2", read.Policy.Digest)
	if !errors.Is(err, policystore.ErrDraftChanged) {
		t.Fatalf("publishing a text saved over: %v, want ErrDraftChanged", err)
	}
	if cur := e.current(t, e.svc); cur != "default@1" {
		t.Fatalf("in force after the refusal: %s", cur)
	}
	if v, err := e.svc.Version(e.ctx, "shop@2"); err != nil || !v.IsDraft() {
		t.Fatalf("shop@2 after the refusal: %+v, %v", v, err)
	}
	if got := e.auditActions(t, "shop@2"); slices.Contains(got, "policy.publish") {
		t.Fatalf("audit: %v", got)
	}

	// The text now saved, read again, publishes.
	v, _ := e.svc.Version(e.ctx, "shop@2")
	if err := e.svc.PublishAsRead(e.ctx, admin, "shop@2", v.Digest); err != nil {
		t.Fatal(err)
	}
	if p, err := e.svc.Get(e.ctx, "shop@2"); e.current(t, e.svc) != "shop@2" || err != nil || p.Digest != v.Digest {
		t.Fatalf("in force: %s, %v", e.current(t, e.svc), err)
	}
	// Pressing Publish on the page of the first text, once the second is
	// published, does not say the first is in force.
	if err := e.svc.PublishAsRead(e.ctx, admin, "shop@2", read.Policy.Digest); !errors.Is(err, policystore.ErrDraftChanged) {
		t.Fatalf("publishing the first text after the second: %v, want ErrDraftChanged", err)
	}
}

// Alice opens the editor on the policy in force and saves draft shop@2;
// Bob, who opened it on the same version, saves shop@2 with his text: it
// is refused rather than written over Alice's draft. Saving from the text
// he has then read goes through. Before, his save silently replaced hers.
func TestSaveDraftOverRefusesAnotherAdminsDraft(t *testing.T) {
	e := setup(t)
	e.current(t, e.svc)
	opened, err := e.svc.Version(e.ctx, "default@1")
	if err != nil {
		t.Fatal(err)
	}
	alice, err := e.svc.SaveDraftOver(e.ctx, admin, shopDoc(2), opened.Digest)
	if err != nil || alice.Policy == nil {
		t.Fatalf("alice's draft: %v", err)
	}
	// Saving her own draft again, from what she saved, is an edit.
	alice, err = e.svc.SaveDraftOver(e.ctx, admin, shopDoc(2, `window = "7d"`, `window = "5d"`), alice.Policy.Digest)
	if err != nil {
		t.Fatalf("alice saving her draft again: %v", err)
	}
	bob, err := e.svc.SaveDraftOver(e.ctx, admin, shopDoc(2, `window = "7d"`, `window = "3d"`), opened.Digest)
	if !errors.Is(err, policystore.ErrDraftChanged) || bob.Policy == nil || bob.Policy.ID() != "shop@2" {
		t.Fatalf("bob saving over alice's draft: %v, want ErrDraftChanged", err)
	}
	if v, _ := e.svc.Version(e.ctx, "shop@2"); v.Digest != alice.Policy.Digest {
		t.Fatal("alice's draft was replaced")
	}
	if _, err := e.svc.SaveDraftOver(e.ctx, admin, shopDoc(2, `window = "7d"`, `window = "3d"`), alice.Policy.Digest); err != nil {
		t.Fatalf("bob saving having read alice's draft: %v", err)
	}
}

// Putting in force a version published without being put in force (the
// built-in default@2, which a migration publishes in every store) is logged
// as such the first time; going back to a version that was in force before
// (default@1, seeded; default@2 the second time) is a reinstatement. Before,
// default@2's first time was logged as policy.reinstate, as if it had been
// in force before.
func TestFirstTimeInForceIsNotAReinstatement(t *testing.T) {
	e := setup(t)
	e.publish(t, "default@2")
	if got := e.auditActions(t, "default@2"); !reflect.DeepEqual(got, []string{"policy.put_in_force"}) {
		t.Errorf("default@2 put in force the first time: audit %v, want [policy.put_in_force]", got)
	}
	e.clock.Advance(time.Minute)
	e.publish(t, "default@1")
	if got := e.auditActions(t, "default@1"); !reflect.DeepEqual(got, []string{"policy.seed", "policy.reinstate"}) {
		t.Errorf("default@1 back in force: audit %v, want [policy.seed policy.reinstate]", got)
	}
	e.clock.Advance(time.Minute)
	e.publish(t, "default@2")
	if got := e.auditActions(t, "default@2"); !reflect.DeepEqual(got, []string{"policy.put_in_force", "policy.reinstate"}) {
		t.Errorf("default@2 back in force: audit %v, want [policy.put_in_force policy.reinstate]", got)
	}
	if id := e.current(t, e.svc); id != "default@2" {
		t.Errorf("in force: %s", id)
	}
}
