package invoices_test

import (
	"context"
	"testing"
	"time"

	"comptoir/internal/clock"
	"comptoir/internal/db"
	"comptoir/internal/db/dbtest"
	"comptoir/internal/invoices"
	"comptoir/internal/localtime"
)

// Invoices issued before numbering left the payment's transaction keep
// their numbers, lines and references through the migration, and the
// rebuilt table keeps every rule.
func TestMigrationKeepsNumberedInvoices(t *testing.T) {
	ctx := context.Background()
	d := dbtest.OpenMigratedTo(t, 25)
	at := time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)
	exec := func(q string, args ...any) error {
		_, err := d.Write.ExecContext(ctx, q, args...)
		return err
	}
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(exec(`INSERT INTO users (id, email, email_key, name, role, password_hash, language, customer_type, country, created_at, updated_at)
		VALUES ('usr_1', 'a@x.fr', 'a@x.fr', 'Zoé', 'customer', 'h', 'fr', 'consumer', 'FR', $1, $1)`, at))
	insert := func(id, kind, series string, seq, number any, source, sourceID string, refersTo any, total int64) error {
		return exec(`INSERT INTO invoices (id, kind, series, year, seq, number, source_type, source_id, order_id, customer_id, refers_to,
			issued_at, lang, currency, net, vat, total, seller_name, seller_address, seller_country, seller_vat_number, seller_registration,
			buyer_name, buyer_address, buyer_country, buyer_type, buyer_vat_number, prices_include_vat, billing_country, card_country,
			vat_country, vat_reason, reverse_charge)
			VALUES ($1, $2, $3, 2026, $4, $5, $6, $7, 'ord_1', 'usr_1', $8, $9, 'fr', 'EUR', $10, 0, $10, 'S', 'A', 'FR', '', '',
			'Zoé', 'Ville', 'FR', 'consumer', '', TRUE, 'FR', '', 'FR', 'seller_country', FALSE)`,
			id, kind, series, seq, number, source, sourceID, refersTo, at, total)
	}
	must(insert("inv_1", "invoice", "F", 1, "F-2026-000001", "order", "ord_1", nil, 1200))
	must(insert("inv_2", "credit_note", "A", 1, "A-2026-000001", "refund", "ref_1", "inv_1", 600))
	for _, l := range []struct {
		inv   string
		total int64
	}{{"inv_1", 1200}, {"inv_2", 600}} {
		must(exec(`INSERT INTO invoice_lines (invoice_id, position, ref, description, quantity, net, rate_bp, vat, total)
			VALUES ($1, 1, 'l', 'Posts', 1, $2, 0, 0, $2)`, l.inv, l.total))
	}
	must(exec(`INSERT INTO invoice_counters (series, year, last) VALUES ('F', 2026, 1), ('A', 2026, 1)`))

	if err := d.Migrate(ctx); err != nil {
		t.Fatalf("migrate to 0026: %v", err)
	}
	var n, lines int
	var number, refersTo string
	must(d.Read.QueryRowContext(ctx, `SELECT COUNT(*) FROM invoices`).Scan(&n))
	must(d.Read.QueryRowContext(ctx, `SELECT COUNT(*) FROM invoice_lines`).Scan(&lines))
	must(d.Read.QueryRowContext(ctx, `SELECT number, refers_to FROM invoices WHERE id = 'inv_2'`).Scan(&number, &refersTo))
	if n != 2 || lines != 2 || number != "A-2026-000001" || refersTo != "inv_1" {
		t.Fatalf("after migration: %d invoices, %d lines, credit note %q referring to %q", n, lines, number, refersTo)
	}
	if d.Engine == db.SQLite {
		rows, err := d.Read.QueryContext(ctx, `PRAGMA foreign_key_check`)
		must(err)
		if rows.Next() {
			t.Fatal("foreign key violations after the rebuild")
		}
		rows.Close()
		var left int
		must(d.Read.QueryRowContext(ctx, `SELECT COUNT(*) FROM sqlite_master WHERE sql LIKE '%_numbered%'`).Scan(&left))
		if left != 0 {
			t.Fatalf("%d schema entries still name the rebuilt tables", left)
		}
	}

	// The rules still hold.
	for _, tc := range []struct {
		what string
		q    string
	}{
		{"a line of no invoice", `INSERT INTO invoice_lines (invoice_id, position, description, quantity, net, rate_bp, vat, total) VALUES ('inv_x', 1, 'x', 1, 1, 0, 0, 1)`},
		{"a numbered invoice renumbered", `UPDATE invoices SET seq = 7, number = 'F-2026-000007' WHERE id = 'inv_1'`},
		{"a numbered invoice changed", `UPDATE invoices SET total = 1, net = 1 WHERE id = 'inv_1'`},
		{"an invoice deleted", `DELETE FROM invoices WHERE id = 'inv_2'`},
		{"a line changed", `UPDATE invoice_lines SET description = 'y' WHERE invoice_id = 'inv_1'`},
		{"a number reused", `INSERT INTO invoices (id, kind, series, year, seq, number, source_type, source_id, order_id, customer_id, refers_to,
			issued_at, lang, currency, net, vat, total, seller_name, seller_address, seller_country, seller_vat_number, seller_registration,
			buyer_name, buyer_address, buyer_country, buyer_type, buyer_vat_number, prices_include_vat, billing_country, card_country,
			vat_country, vat_reason, reverse_charge) SELECT 'inv_3', kind, series, year, seq, number, source_type, 'ord_3', order_id, customer_id, refers_to,
			issued_at, lang, currency, net, vat, total, seller_name, seller_address, seller_country, seller_vat_number, seller_registration,
			buyer_name, buyer_address, buyer_country, buyer_type, buyer_vat_number, prices_include_vat, billing_country, card_country,
			vat_country, vat_reason, reverse_charge FROM invoices WHERE id = 'inv_1'`},
	} {
		if err := exec(tc.q); err == nil {
			t.Errorf("%s was accepted", tc.what)
		}
	}

	// A pending invoice takes its number once, and nothing else changes.
	must(insert("inv_4", "invoice", "F", nil, nil, "order", "ord_4", nil, 500))
	if err := insert("inv_5", "invoice", "F", 5, nil, "order", "ord_5", nil, 500); err == nil {
		t.Error("a seq without a number was accepted")
	}
	if err := exec(`UPDATE invoices SET total = 1, net = 1 WHERE id = 'inv_4'`); err == nil {
		t.Error("a pending invoice's content was changed")
	}
	if err := exec(`UPDATE invoices SET seq = 2 WHERE id = 'inv_4'`); err == nil {
		t.Error("a seq without a number was accepted")
	}
	must(exec(`UPDATE invoices SET seq = 2, number = 'F-2026-000002' WHERE id = 'inv_4'`))
	if err := exec(`UPDATE invoices SET seq = 3, number = 'F-2026-000003' WHERE id = 'inv_4'`); err == nil {
		t.Error("an invoice was numbered twice")
	}
}

// Documents issued before they kept their zone (0038) come out of the
// migration with none, and are dated in the store's zone of the moment, as
// before (until the program fills them, TestKeepZonesDatesOlderDocumentsForGood);
// the zone of a document issued since is as append-only as the rest: the
// numberer cannot change it, nor anyone after.
func TestMigrationLeavesOlderDocumentsInTheStoresZone(t *testing.T) {
	ctx := context.Background()
	d := dbtest.OpenMigratedTo(t, 37)
	at := time.Date(2026, 12, 31, 23, 30, 0, 0, time.UTC)
	exec := func(q string, args ...any) error {
		_, err := d.Write.ExecContext(ctx, q, args...)
		return err
	}
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(exec(`INSERT INTO users (id, email, email_key, name, role, password_hash, language, customer_type, country, created_at, updated_at)
		VALUES ('usr_1', 'a@x.fr', 'a@x.fr', 'Zoé', 'customer', 'h', 'fr', 'consumer', 'FR', $1, $1)`, at))
	const columns = `id, kind, series, year, seq, number, source_type, source_id, order_id, customer_id, refers_to,
		issued_at, lang, currency, net, vat, total, seller_name, seller_address, seller_country, seller_vat_number, seller_registration,
		buyer_name, buyer_address, buyer_country, buyer_type, buyer_vat_number, prices_include_vat, billing_country, card_country,
		vat_country, vat_reason, reverse_charge`
	const values = `'invoice', 'F', 2027, $2, $3, 'order', $1, 'ord_1', 'usr_1', NULL, $4, 'fr', 'EUR', 1200, 0, 1200, 'S', 'A', 'FR', '', '',
		'Zoé', 'Ville', 'FR', 'consumer', '', TRUE, 'FR', '', 'FR', 'seller_country', FALSE`
	must(exec(`INSERT INTO invoices (`+columns+`) VALUES ($1, `+values+`)`, "inv_old", 1, "F-2027-000001", at))
	must(exec(`INSERT INTO invoice_lines (invoice_id, position, ref, description, quantity, net, rate_bp, vat, total)
		VALUES ('inv_old', 1, 'l', 'Posts', 1, 1200, 0, 0, 1200)`))
	if err := d.Migrate(ctx); err != nil {
		t.Fatalf("migrate: %v", err)
	}

	paris, err := localtime.Load("Europe/Paris")
	must(err)
	for _, tc := range []struct {
		zone localtime.Zone
		want string
	}{{paris, "01/01/2027"}, {localtime.UTC, "31/12/2026"}} {
		s := invoices.New(d, clock.NewManual(at), nil, invoices.Options{Zone: tc.zone})
		inv, err := s.Get(ctx, "inv_old")
		must(err)
		if inv.Zone != "" || s.IssuedOn(inv) != tc.want {
			t.Errorf("an older invoice read in %s: zone %q, dated %s, want %s", tc.zone, inv.Zone, s.IssuedOn(inv), tc.want)
		}
	}

	must(exec(`INSERT INTO invoices (`+columns+`, zone) VALUES ($1, `+values+`, 'Europe/Paris')`, "inv_new", nil, nil, at))
	for _, tc := range []struct{ what, q string }{
		{"a zone numbered away", `UPDATE invoices SET seq = 2, number = 'F-2027-000002', zone = 'UTC' WHERE id = 'inv_new'`},
		{"a pending invoice's zone changed", `UPDATE invoices SET zone = 'UTC' WHERE id = 'inv_new'`},
	} {
		if err := exec(tc.q); err == nil {
			t.Errorf("%s was accepted", tc.what)
		}
	}
	must(exec(`UPDATE invoices SET seq = 2, number = 'F-2027-000002' WHERE id = 'inv_new'`))
	if err := exec(`UPDATE invoices SET zone = 'UTC' WHERE id = 'inv_new'`); err == nil {
		t.Error("a numbered invoice's zone was changed")
	}
	var zone string
	must(d.Read.QueryRowContext(ctx, `SELECT zone FROM invoices WHERE id = 'inv_new'`).Scan(&zone))
	if zone != "Europe/Paris" {
		t.Fatalf("zone %q after numbering", zone)
	}
}

// Documents issued before 0038, with no zone, moved whenever the store's
// zone changed. KeepZones, run at start, gives them the zone in force then,
// once: a later start in another zone leaves them where they were. It is
// the one change the append-only rule lets through for them, and only from
// no zone to one, nothing else with it.
func TestKeepZonesDatesOlderDocumentsForGood(t *testing.T) {
	ctx := context.Background()
	d := dbtest.OpenMigratedTo(t, 37)
	at := time.Date(2026, 12, 31, 23, 30, 0, 0, time.UTC)
	exec := func(q string, args ...any) error {
		_, err := d.Write.ExecContext(ctx, q, args...)
		return err
	}
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(exec(`INSERT INTO users (id, email, email_key, name, role, password_hash, language, customer_type, country, created_at, updated_at)
		VALUES ('usr_1', 'a@x.fr', 'a@x.fr', 'Zoé', 'customer', 'h', 'fr', 'consumer', 'FR', $1, $1)`, at))
	const columns = `id, kind, series, year, seq, number, source_type, source_id, order_id, customer_id, refers_to,
		issued_at, lang, currency, net, vat, total, seller_name, seller_address, seller_country, seller_vat_number, seller_registration,
		buyer_name, buyer_address, buyer_country, buyer_type, buyer_vat_number, prices_include_vat, billing_country, card_country,
		vat_country, vat_reason, reverse_charge`
	const values = `'invoice', 'F', 2027, $2, $3, 'order', $1, 'ord_1', 'usr_1', NULL, $4, 'fr', 'EUR', 1200, 0, 1200, 'S', 'A', 'FR', '', '',
		'Zoé', 'Ville', 'FR', 'consumer', '', TRUE, 'FR', '', 'FR', 'seller_country', FALSE`
	must(exec(`INSERT INTO invoices (`+columns+`) VALUES ($1, `+values+`)`, "inv_old", 1, "F-2027-000001", at))
	// Issued, still waiting for its number.
	must(exec(`INSERT INTO invoices (`+columns+`) VALUES ($1, `+values+`)`, "inv_pending", nil, nil, at))
	must(exec(`INSERT INTO invoice_counters (series, year, last) VALUES ('F', 2027, 1)`))
	if err := d.Migrate(ctx); err != nil {
		t.Fatalf("migrate: %v", err)
	}

	// Neither changed with the zone nor with anything else.
	for _, tc := range []struct{ what, q string }{
		{"an older invoice changed with its zone", `UPDATE invoices SET zone = 'UTC', total = 1, net = 1 WHERE id = 'inv_old'`},
		{"an older invoice renumbered with its zone", `UPDATE invoices SET zone = 'UTC', seq = 9, number = 'F-2027-000009' WHERE id = 'inv_old'`},
		{"a pending invoice numbered with a zone", `UPDATE invoices SET zone = 'UTC', seq = 2, number = 'F-2027-000002' WHERE id = 'inv_pending'`},
	} {
		if err := exec(tc.q); err == nil {
			t.Errorf("%s was accepted", tc.what)
		}
	}

	paris, err := localtime.Load("Europe/Paris")
	must(err)
	started := invoices.New(d, clock.NewManual(at), nil, invoices.Options{Zone: paris})
	n, err := started.KeepZones(ctx)
	if err != nil || n != 2 {
		t.Fatalf("KeepZones in Paris: %d, %v; want the 2 older documents", n, err)
	}
	// The next start, in UTC: nothing left to fill, and they stay in Paris.
	later := invoices.New(d, clock.NewManual(at), nil, invoices.Options{Zone: localtime.UTC})
	if n, err := later.KeepZones(ctx); err != nil || n != 0 {
		t.Fatalf("KeepZones again in UTC: %d, %v; want 0", n, err)
	}
	for _, id := range []string{"inv_old", "inv_pending"} {
		inv, err := later.Get(ctx, id)
		must(err)
		if inv.Zone != "Europe/Paris" || later.IssuedOn(inv) != "01/01/2027" {
			t.Errorf("%s after a start in Paris, read in UTC: zone %q, dated %s, want Europe/Paris, 01/01/2027", id, inv.Zone, later.IssuedOn(inv))
		}
	}
	if err := exec(`UPDATE invoices SET zone = 'UTC' WHERE id = 'inv_old'`); err == nil {
		t.Error("a filled zone was changed")
	}
	// The pending one was numbered as any other (Get numbers it).
	var number string
	must(d.Read.QueryRowContext(ctx, `SELECT number FROM invoices WHERE id = 'inv_pending'`).Scan(&number))
	if number != "F-2027-000002" {
		t.Errorf("the pending older document is numbered %q, want F-2027-000002", number)
	}
}
