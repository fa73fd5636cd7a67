package legal_test

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"comptoir/internal/account"
	"comptoir/internal/audit"
	"comptoir/internal/clock"
	"comptoir/internal/db"
	"comptoir/internal/db/dbtest"
	"comptoir/internal/legal"
)

var admin = audit.Actor{ID: "usr_admin", Role: account.RoleAdmin}

type env struct {
	ctx   context.Context
	db    *db.DB
	clock *clock.Manual
	svc   *legal.Service
}

func setup(t *testing.T) *env {
	t.Helper()
	e := &env{ctx: context.Background(), db: dbtest.Open(t), clock: clock.NewManual(time.Date(2026, 3, 8, 10, 0, 0, 0, time.UTC))}
	e.svc = legal.New(e.db, e.clock)
	return e
}

func (e *env) current(t *testing.T, s *legal.Service, k legal.Kind) *legal.Document {
	t.Helper()
	d, err := s.Current(e.ctx, k)
	if err != nil {
		t.Fatalf("Current(%s): %v", k, err)
	}
	return d
}

// Every kind ships a first version in both languages, published and in
// force, with the placeholders the store must fill.
func TestShippedFirstVersions(t *testing.T) {
	e := setup(t)
	for _, k := range legal.Kinds {
		d := e.current(t, e.svc, k)
		if d.ID() != string(k)+"@1" || d.IsDraft() || !d.InForce || d.CreatedBy != "" {
			t.Errorf("%s: %+v", k, d)
		}
		if d.FR == d.EN || strings.TrimSpace(d.FR) == "" || strings.TrimSpace(d.EN) == "" {
			t.Errorf("%s: a language is missing", k)
		}
		if len(d.Placeholders()) == 0 {
			t.Errorf("%s: the shipped text has no placeholder for the store's details", k)
		}
		for _, lang := range []string{"fr", "en"} {
			if blocks := legal.Render(d.Text(lang)); len(blocks) < 3 || blocks[0].Kind != "h2" {
				t.Errorf("%s/%s renders to %d blocks", k, lang, len(blocks))
			}
		}
	}
	// Concurrent first uses on several "nodes" seed once.
	var wg sync.WaitGroup
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := legal.New(e.db, e.clock).Current(e.ctx, legal.Terms); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	var n int
	if err := e.db.Read.QueryRowContext(e.ctx, `SELECT COUNT(*) FROM audit_log WHERE action = 'legal.seed'`).Scan(&n); err != nil || n != len(legal.Kinds) {
		t.Fatalf("seed audit entries: %d, %v", n, err)
	}
}

func TestDraftPublishAndOldVersions(t *testing.T) {
	e := setup(t)
	e.current(t, e.svc, legal.Terms)
	e.clock.Advance(time.Hour)
	d, err := e.svc.SaveDraft(e.ctx, admin, legal.Terms, "# Conditions\nTexte v2.", "# Terms\nText v2.")
	if err != nil || d.ID() != "terms@2" || !d.IsDraft() || d.CreatedBy != admin.ID {
		t.Fatalf("draft: %+v, %v", d, err)
	}
	// Saving again rewrites the same draft, not a new version.
	d, err = e.svc.SaveDraft(e.ctx, admin, legal.Terms, "# Conditions\nTexte v2 bis.", "# Terms\nText v2 again.")
	if err != nil || d.ID() != "terms@2" || d.EN != "# Terms\nText v2 again." {
		t.Fatalf("draft again: %+v, %v", d, err)
	}
	// A draft binds nobody: not in force, not shown to customers.
	if cur := e.current(t, e.svc, legal.Terms); cur.Version != 1 {
		t.Fatalf("in force before publishing: %s", cur.ID())
	}
	if _, err := e.svc.Get(e.ctx, legal.Terms, 2); !errors.Is(err, legal.ErrNotFound) {
		t.Fatalf("Get(draft) = %v", err)
	}
	if err := e.svc.Publish(e.ctx, admin, legal.Terms, 2); err != nil {
		t.Fatal(err)
	}
	if cur := e.current(t, e.svc, legal.Terms); cur.ID() != "terms@2" || cur.FR != "# Conditions\nTexte v2 bis." || !cur.InForce {
		t.Fatalf("in force after publishing: %+v", cur)
	}
	if err := e.svc.Publish(e.ctx, admin, legal.Terms, 2); !errors.Is(err, legal.ErrVersionPublished) {
		t.Errorf("publish twice: %v", err)
	}
	if err := e.svc.Publish(e.ctx, admin, legal.Terms, 9); !errors.Is(err, legal.ErrNotFound) {
		t.Errorf("publish unknown: %v", err)
	}
	// The next edit is a new version; the published one stays.
	if d, err := e.svc.SaveDraft(e.ctx, admin, legal.Terms, "v3", "v3"); err != nil || d.Version != 3 {
		t.Fatalf("next draft: %+v, %v", d, err)
	}
	// An old version still resolves, on a node that never cached it.
	old, err := legal.New(e.db, e.clock).Get(e.ctx, legal.Terms, 1)
	if fr, _ := legal.Default(legal.Terms); err != nil || old.FR != fr {
		t.Fatalf("terms@1: %v", err)
	}
	// Other kinds did not move.
	if cur := e.current(t, e.svc, legal.Privacy); cur.Version != 1 {
		t.Errorf("privacy: %s", cur.ID())
	}
	vs, err := e.svc.List(e.ctx, legal.Terms)
	if err != nil || len(vs) != 3 || vs[0].Version != 3 || !vs[1].InForce || vs[2].InForce {
		t.Fatalf("list: %v", err)
	}
}

func TestBadDraftsSaveNothing(t *testing.T) {
	e := setup(t)
	for _, c := range []struct{ fr, en, field, code string }{
		{"", "x", "body_fr", "required"},
		{"x", "  \n", "body_en", "required"},
		{"x", strings.Repeat("a", legal.MaxText+1), "body_en", "too_long"},
		{"a\x00b", "x", "body_fr", "invalid_text"},
		{"\xff", "x", "body_fr", "invalid_text"},
	} {
		_, err := e.svc.SaveDraft(e.ctx, admin, legal.Notice, c.fr, c.en)
		var ie *legal.InvalidError
		if !errors.As(err, &ie) || ie.Field != c.field || ie.Code != c.code {
			t.Errorf("%q/%q: %v", c.fr, c.en, err)
		}
	}
	if _, err := e.svc.SaveDraft(e.ctx, admin, legal.Kind("cookies"), "x", "x"); !errors.Is(err, legal.ErrNotFound) {
		t.Errorf("unknown kind: %v", err)
	}
	if vs, _ := e.svc.List(e.ctx, legal.Notice); len(vs) != 1 {
		t.Errorf("%d versions after refused drafts", len(vs))
	}
}

// The database itself refuses to change or delete a published version.
func TestPublishedVersionIsImmutable(t *testing.T) {
	e := setup(t)
	e.current(t, e.svc, legal.Terms)
	if _, err := e.svc.SaveDraft(e.ctx, admin, legal.Terms, "v2", "v2"); err != nil {
		t.Fatal(err)
	}
	if err := e.svc.Publish(e.ctx, admin, legal.Terms, 2); err != nil {
		t.Fatal(err)
	}
	if _, err := e.svc.SaveDraft(e.ctx, admin, legal.Terms, "v3", "v3"); err != nil {
		t.Fatal(err)
	}
	for _, stmt := range []string{
		`UPDATE legal_documents SET body_fr = 'autre' WHERE kind = 'terms' AND version = 2`,
		`UPDATE legal_documents SET body_en = 'other' WHERE kind = 'terms' AND version = 1`,
		`UPDATE legal_documents SET published_at = NULL WHERE kind = 'terms' AND version = 2`,
		`UPDATE legal_documents SET version = 7 WHERE kind = 'terms' AND version = 2`,
		`DELETE FROM legal_documents WHERE kind = 'terms' AND version = 2`,
		`DELETE FROM legal_documents`,
		`UPDATE legal_current SET version = 3, generation = generation + 1 WHERE kind = 'terms'`,
		`UPDATE legal_current SET generation = 1 WHERE kind = 'terms'`,
		`DELETE FROM legal_current`,
	} {
		_, err := e.db.Write.ExecContext(e.ctx, stmt)
		if err == nil {
			t.Errorf("the database accepted %s", stmt)
			continue
		}
		if msg := err.Error(); !strings.Contains(msg, "legal") && !strings.Contains(msg, "constraint") {
			t.Errorf("%s: refused for another reason: %v", stmt, err)
		}
	}
	if e.db.Engine == db.Postgres {
		for _, stmt := range []string{`TRUNCATE legal_documents CASCADE`, `TRUNCATE legal_current`} {
			if _, err := e.db.Write.ExecContext(e.ctx, stmt); err == nil {
				t.Errorf("the database accepted %s", stmt)
			}
		}
	}
	d, err := legal.New(e.db, e.clock).Get(e.ctx, legal.Terms, 2)
	if err != nil || d.FR != "v2" {
		t.Fatalf("terms@2 after the attempts: %+v, %v", d, err)
	}
	// A draft may still be rewritten.
	if _, err := e.db.Write.ExecContext(e.ctx, `UPDATE legal_documents SET created_by = 'usr_other' WHERE kind = 'terms' AND version = 3`); err != nil {
		t.Errorf("update of a draft: %v", err)
	}
}

// Another node follows a publish within a second, through the generation.
func TestOtherNodeSeesPublishWithinASecond(t *testing.T) {
	e := setup(t)
	other := legal.New(e.db, e.clock)
	e.current(t, other, legal.Mediator)
	if _, err := e.svc.SaveDraft(e.ctx, admin, legal.Mediator, "m2", "m2"); err != nil {
		t.Fatal(err)
	}
	if err := e.svc.Publish(e.ctx, admin, legal.Mediator, 2); err != nil {
		t.Fatal(err)
	}
	if d := e.current(t, other, legal.Mediator); d.Version != 1 {
		t.Errorf("other node within the second: %s (the cache should answer)", d.ID())
	}
	e.clock.Advance(time.Second)
	if d := e.current(t, other, legal.Mediator); d.Version != 2 {
		t.Errorf("other node after a second: %s", d.ID())
	}
}

func TestParseVersion(t *testing.T) {
	for _, c := range []struct {
		in   string
		want int64
		ok   bool
	}{{"3", 3, true}, {"terms@3", 3, true}, {"privacy@3", 0, false}, {"03", 0, false}, {"0", 0, false}, {"x", 0, false}, {"", 0, false}} {
		n, ok := legal.ParseVersion(legal.Terms, c.in)
		if n != c.want || ok != c.ok {
			t.Errorf("ParseVersion(%q) = %d, %v", c.in, n, ok)
		}
	}
}

// Alice opens the terms with no draft; Bob saves draft terms@2; Alice
// saves her texts from the page she opened: refused, Bob's draft kept.
// Alice reads Bob's draft and presses Publish; Bob saves it again first:
// refused, nothing published. Before, Alice's save rewrote Bob's draft and
// her Publish put in force a text she had not read.
func TestDraftsAreNotSavedOverOrPublishedUnread(t *testing.T) {
	e := setup(t)
	if _, err := e.svc.SaveDraft(e.ctx, admin, legal.Terms, "# CGV\nBob", "# Terms\nBob"); err != nil {
		t.Fatal(err)
	}
	if _, err := e.svc.SaveDraftOver(e.ctx, admin, legal.Terms, "# CGV\nAlice", "# Terms\nAlice", legal.NoDraft); !errors.Is(err, legal.ErrDraftChanged) {
		t.Fatalf("saving over an unseen draft: %v, want ErrDraftChanged", err)
	}
	bob, err := e.svc.Version(e.ctx, legal.Terms, 2)
	if err != nil || bob.EN != "# Terms\nBob" {
		t.Fatalf("Bob's draft: %+v, %v", bob, err)
	}
	if _, err := e.svc.SaveDraft(e.ctx, admin, legal.Terms, "# CGV\nBob 2", "# Terms\nBob 2"); err != nil {
		t.Fatal(err)
	}
	if err := e.svc.PublishAsRead(e.ctx, admin, legal.Terms, 2, bob.Digest); !errors.Is(err, legal.ErrDraftChanged) {
		t.Fatalf("publishing a draft saved over: %v, want ErrDraftChanged", err)
	}
	if cur := e.current(t, e.svc, legal.Terms); cur.Version != 1 {
		t.Fatalf("in force after the refusal: %s", cur.ID())
	}
	// Having read the draft as it is, both go through.
	now, _ := e.svc.Version(e.ctx, legal.Terms, 2)
	if _, err := e.svc.SaveDraftOver(e.ctx, admin, legal.Terms, "# CGV\nAlice", "# Terms\nAlice", now.Digest); err != nil {
		t.Fatal(err)
	}
	now, _ = e.svc.Version(e.ctx, legal.Terms, 2)
	if err := e.svc.PublishAsRead(e.ctx, admin, legal.Terms, 2, now.Digest); err != nil {
		t.Fatal(err)
	}
	if cur := e.current(t, e.svc, legal.Terms); cur.ID() != "terms@2" || cur.EN != "# Terms\nAlice" {
		t.Fatalf("in force: %+v", cur)
	}
	// A draft from a page opened before that publication is a new version's
	// draft only if no draft was read: the page said "draft terms@2".
	if _, err := e.svc.SaveDraftOver(e.ctx, admin, legal.Terms, "x", "x", now.Digest); !errors.Is(err, legal.ErrDraftChanged) {
		t.Fatalf("saving over a draft published since: %v, want ErrDraftChanged", err)
	}
	if d, err := e.svc.SaveDraftOver(e.ctx, admin, legal.Terms, "v3", "v3", legal.NoDraft); err != nil || d.Version != 3 {
		t.Fatalf("next draft: %+v, %v", d, err)
	}
}
