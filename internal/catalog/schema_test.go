package catalog_test

import (
	"strconv"
	"testing"

	"comptoir/internal/catalog"
)

// The database itself refuses what the service refuses, so that no other
// code path can rewrite what was sold or store an unsellable product.

func TestRevisionsAreImmutableInTheDatabase(t *testing.T) {
	e := setup(t)
	p := e.create(t, validInput(catalog.KindService))
	for _, stmt := range []string{
		`UPDATE product_revisions SET name_fr = 'réécrit' WHERE product_id = $1`,
		`UPDATE product_revisions SET unit_price = 1 WHERE product_id = $1`,
		`DELETE FROM product_revisions WHERE product_id = $1`,
	} {
		if _, err := e.db.Write.ExecContext(e.ctx, stmt, p.ID); err == nil {
			t.Errorf("%s succeeded", stmt)
		}
	}
	if got, _ := e.svc.Revision(e.ctx, p.ID, 1); got != p {
		t.Fatalf("revision changed: %+v", got)
	}
}

func TestDatabaseRefusesInvalidProducts(t *testing.T) {
	e := setup(t)
	svc := e.create(t, validInput(catalog.KindService))
	dig := e.create(t, validInput(catalog.KindDigital))

	// insertRev inserts revision 2 of a product with one column overridden.
	insertRev := func(productID, kind, column string, value any) error {
		cols := map[string]any{
			"product_id": productID, "revision": 2, "kind": kind,
			"name_fr": "n", "name_en": "n", "description_fr": "d", "description_en": "d",
			"currency": "EUR", "unit_price": 100, "min_quantity": 1, "max_quantity": 1,
			"processing_seconds": 0, "digital_delivery": nil, "file_key": nil, "download_ttl_seconds": nil,
			"plan_interval": nil, "trial_days": 0, "created_at": t0,
		}
		switch kind {
		case catalog.KindService:
			cols["processing_seconds"] = 3600
		case catalog.KindDigital:
			cols["digital_delivery"] = "licence_key"
		}
		cols[column] = value
		var names, marks string
		var args []any
		for name, v := range cols {
			if names != "" {
				names, marks = names+", ", marks+", "
			}
			args = append(args, v)
			names += name
			marks += "$" + strconv.Itoa(len(args))
		}
		_, err := e.db.Write.ExecContext(e.ctx, `INSERT INTO product_revisions (`+names+`) VALUES (`+marks+`)`, args...)
		return err
	}
	for _, c := range []struct {
		name, productID, kind, column string
		value                         any
	}{
		{"zero price", svc.ID, "service", "unit_price", 0},
		{"min quantity 0", svc.ID, "service", "min_quantity", 0},
		{"max below min", svc.ID, "service", "max_quantity", 0},
		{"service without processing time", svc.ID, "service", "processing_seconds", 0},
		{"service with a plan interval", svc.ID, "service", "plan_interval", "month"},
		{"kind differs from the product's", svc.ID, "digital", "kind", "digital"},
		{"unknown kind", svc.ID, "service", "kind", "physical"},
		{"digital of quantity 2", dig.ID, "digital", "max_quantity", 2},
		{"digital without delivery", dig.ID, "digital", "digital_delivery", nil},
		{"unknown delivery", dig.ID, "digital", "digital_delivery", "email"},
		{"file without blob", dig.ID, "digital", "digital_delivery", "file"},
		{"licence key with a blob", dig.ID, "digital", "file_key", "a.pdf"},
		{"empty name", dig.ID, "digital", "name_en", ""},
		{"lower-case currency", dig.ID, "digital", "currency", "eur"},
		{"revision 0", dig.ID, "digital", "revision", 0},
		{"existing revision number", dig.ID, "digital", "revision", 1},
	} {
		if err := insertRev(c.productID, c.kind, c.column, c.value); err == nil {
			t.Errorf("%s: inserted", c.name)
		} else {
			t.Logf("%s: %v", c.name, err)
		}
	}
	// The baseline itself is accepted (else the cases above prove nothing),
	// and the product's pointer may then move to it.
	if err := insertRev(dig.ID, "digital", "name_fr", "valide"); err != nil {
		t.Fatalf("baseline revision refused: %v", err)
	}

	for _, c := range []struct{ name, stmt string }{
		{"kind change", `UPDATE products SET kind = 'subscription' WHERE id = $1`},
		{"revision jump", `UPDATE products SET current_revision = current_revision + 2 WHERE id = $1`},
		{"revision back", `UPDATE products SET current_revision = 0 WHERE id = $1`},
		{"pointer to a missing revision", `UPDATE products SET current_revision = current_revision + 1 WHERE id = $1`},
		{"upper-case slug", `UPDATE products SET slug = 'ABC' WHERE id = $1`},
		{"empty slug", `UPDATE products SET slug = '' WHERE id = $1`},
	} {
		if _, err := e.db.Write.ExecContext(e.ctx, c.stmt, svc.ID); err == nil {
			t.Errorf("%s: accepted", c.name)
		} else {
			t.Logf("%s: %v", c.name, err)
		}
	}
	if _, err := e.db.Write.ExecContext(e.ctx, `UPDATE products SET current_revision = 2 WHERE id = $1`, dig.ID); err != nil {
		t.Fatalf("moving to an existing next revision: %v", err)
	}
	if _, err := e.db.Write.ExecContext(e.ctx, `INSERT INTO products (id, slug, kind, current_revision, created_at, updated_at)
		VALUES ('prd_orphan', 'orphan', 'service', 1, $1, $1)`, t0); err == nil {
		t.Error("a product without its revision was stored")
	}
}
