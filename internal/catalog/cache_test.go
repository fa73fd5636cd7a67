package catalog_test

import (
	"errors"
	"testing"
	"time"

	"comptoir/internal/catalog"
)

// GetBySlug answers from a cache. The node that changes the catalog sees
// the change at once; another node (another Service on the same database)
// within a second, whether the change came through the service or straight
// from SQL (the generation number is kept up by triggers).
func TestGetBySlugCacheFollowsChanges(t *testing.T) {
	e := setup(t)
	other := catalog.New(e.db, e.clock) // a second node
	in := validInput(catalog.KindService)
	p, err := e.svc.Create(e.ctx, admin, in)
	if err != nil {
		t.Fatal(err)
	}
	read := func(svc *catalog.Service, slug string) catalog.Product {
		t.Helper()
		got, err := svc.GetBySlug(e.ctx, slug)
		if err != nil {
			t.Fatalf("GetBySlug(%s): %v", slug, err)
		}
		return got
	}
	// Both nodes have it cached now.
	if read(e.svc, in.Slug).Revision != 1 || read(other, in.Slug).Revision != 1 {
		t.Fatal("revision 1 not read")
	}

	// An edit: this node sees revision 2 at once, the other one a second later.
	in.UnitPrice = eur(2000)
	if _, err := e.svc.Update(e.ctx, admin, p.ID, in); err != nil {
		t.Fatal(err)
	}
	if got := read(e.svc, in.Slug); got.Revision != 2 || got.UnitPrice != eur(2000) {
		t.Errorf("editing node reads revision %d at %v", got.Revision, got.UnitPrice)
	}
	if got := read(other, in.Slug); got.Revision != 1 {
		t.Errorf("other node within the second reads revision %d, want the cached 1", got.Revision)
	}
	e.clock.Advance(time.Second)
	if got := read(other, in.Slug); got.Revision != 2 || got.UnitPrice != eur(2000) {
		t.Errorf("other node after a second reads revision %d at %v", got.Revision, got.UnitPrice)
	}

	// Archiving and a new slug: same.
	if err := e.svc.Archive(e.ctx, admin, p.ID); err != nil {
		t.Fatal(err)
	}
	if !read(e.svc, in.Slug).Archived {
		t.Error("editing node does not see the archive")
	}
	e.clock.Advance(time.Second)
	if !read(other, in.Slug).Archived {
		t.Error("other node does not see the archive after a second")
	}
	old := in.Slug
	in.Slug = old + "-renamed"
	if _, err := e.svc.Update(e.ctx, admin, p.ID, in); err != nil {
		t.Fatal(err)
	}
	if _, err := e.svc.GetBySlug(e.ctx, old); !errors.Is(err, catalog.ErrNotFound) {
		t.Errorf("old slug on the editing node: %v", err)
	}
	if read(e.svc, in.Slug).ID != p.ID {
		t.Error("new slug not found on the editing node")
	}

	// A change made in SQL, by no service: seen by both within a second.
	e.clock.Advance(time.Second)
	read(e.svc, in.Slug)
	read(other, in.Slug)
	if _, err := e.db.Write.ExecContext(e.ctx, `UPDATE products SET archived_at = NULL WHERE id = $1`, p.ID); err != nil {
		t.Fatal(err)
	}
	e.clock.Advance(time.Second)
	if read(e.svc, in.Slug).Archived || read(other, in.Slug).Archived {
		t.Error("an unarchive in SQL is not seen after a second")
	}

	// A clock set back does not keep a stale entry for ever.
	if _, err := e.db.Write.ExecContext(e.ctx, `UPDATE products SET archived_at = $1 WHERE id = $2`, t0, p.ID); err != nil {
		t.Fatal(err)
	}
	e.clock.Advance(-time.Hour)
	if !read(other, in.Slug).Archived {
		t.Error("a clock set back keeps the cached product")
	}
}

// Unknown slugs are not cached: a product created later under that slug is
// found at once, even by another node.
func TestGetBySlugDoesNotCacheMisses(t *testing.T) {
	e := setup(t)
	other := catalog.New(e.db, e.clock)
	in := validInput(catalog.KindDigital)
	if _, err := other.GetBySlug(e.ctx, in.Slug); !errors.Is(err, catalog.ErrNotFound) {
		t.Fatalf("before creation: %v", err)
	}
	if _, err := e.svc.Create(e.ctx, admin, in); err != nil {
		t.Fatal(err)
	}
	if _, err := other.GetBySlug(e.ctx, in.Slug); err != nil {
		t.Errorf("after creation, on another node within the second: %v", err)
	}
}

// Get (by id, as a checkout reads its lines) answers from the same cache,
// filled by either key, and follows changes the same way.
func TestGetByIDCacheFollowsChanges(t *testing.T) {
	e := setup(t)
	other := catalog.New(e.db, e.clock)
	in := validInput(catalog.KindService)
	p, err := e.svc.Create(e.ctx, admin, in)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := other.GetBySlug(e.ctx, in.Slug); err != nil { // fills other's cache by slug
		t.Fatal(err)
	}
	// Taken off the database by hand: a cached product is still served.
	if _, err := e.db.Write.ExecContext(e.ctx, `UPDATE products SET archived_at = $1 WHERE id = $2`, t0, p.ID); err != nil {
		t.Fatal(err)
	}
	if got, err := other.Get(e.ctx, p.ID); err != nil || got.Archived || got.Revision != 1 {
		t.Fatalf("other node within the second: %+v, %v; want the cached product", got, err)
	}
	e.clock.Advance(time.Second)
	if got, err := other.Get(e.ctx, p.ID); err != nil || !got.Archived {
		t.Fatalf("other node after a second: archived %v, %v", got.Archived, err)
	}
	in.UnitPrice = eur(3000)
	if _, err := e.svc.Update(e.ctx, admin, p.ID, in); err != nil {
		t.Fatal(err)
	}
	if got, err := e.svc.Get(e.ctx, p.ID); err != nil || got.Revision != 2 || got.UnitPrice != eur(3000) {
		t.Fatalf("editing node: revision %d at %v, %v", got.Revision, got.UnitPrice, err)
	}
	if _, err := e.svc.Get(e.ctx, "prd_unknown"); !errors.Is(err, catalog.ErrNotFound) {
		t.Fatalf("unknown id: %v", err)
	}
}
