package orders_test

import (
	"context"
	"database/sql"
	"errors"
	"testing"
	"time"

	"comptoir/internal/account"
	"comptoir/internal/audit"
	"comptoir/internal/catalog"
	"comptoir/internal/id"
	"comptoir/internal/money"
	"comptoir/internal/orders"
)

// The readers the dispute evidence uses in its own snapshot: the order,
// its consent, its delivery and download records, oldest first, events at
// the same instant in the order they were recorded, each named by its
// line; another order's records are left out.
func TestReadersInTheCallersTransaction(t *testing.T) {
	e := setup(t)
	ctx := context.Background()
	u := e.customer(t, "ana@example.fr", "FR", account.CustomerConsumer, 100000)
	posts := e.service(t, 10)
	likes, err := e.catalog.Create(ctx, admin, catalog.ProductInput{
		Slug: "likes", Kind: catalog.KindService, NameFR: "J'aime", NameEN: "Likes", DescriptionFR: "Des j'aime.", DescriptionEN: "Likes.",
		UnitPrice: money.MustNew(5, "EUR"), MinQuantity: 10, MaxQuantity: 1000, ProcessingTime: 72 * time.Hour,
	})
	if err != nil {
		t.Fatal(err)
	}
	in := place(u, posts.ID, 100, true)
	in.Lines = append(in.Lines, orders.LineInput{ProductID: likes.ID, Quantity: 50})
	o, err := e.orders.Place(ctx, in, nil)
	if err != nil {
		t.Fatal(err)
	}
	other, err := e.orders.Place(ctx, place(u, posts.ID, 10, true), nil)
	if err != nil {
		t.Fatal(err)
	}
	a, b := o.Lines[0], o.Lines[1]
	agent := audit.Actor{ID: "usr_agent", Role: account.RoleAgent}
	deliver := func(orderID, lineID string, n int) {
		t.Helper()
		if _, err := e.orders.RecordDelivery(ctx, orders.DeliveryInput{OrderID: orderID, LineID: lineID, Delivered: n, Source: orders.SourceAgent, Actor: agent}); err != nil {
			t.Fatal(err)
		}
	}
	t0 := e.clock.Now()
	deliver(o.ID, b.ID, 5) // same instant, recorded first
	deliver(o.ID, a.ID, 5)
	deliver(other.ID, other.Lines[0].ID, 5)
	e.clock.Advance(time.Hour)
	deliver(o.ID, a.ID, 40)
	// Downloads are written by Download, which needs a file in the blob
	// store; only the reading is under test here.
	download := func(orderID, lineID string, at time.Time, ip string) {
		t.Helper()
		if _, err := e.db.Write.ExecContext(ctx, `INSERT INTO download_events (id, order_id, order_line_id, customer_id, at, ip, user_agent)
			VALUES ($1, $2, $3, $4, $5, $6, $7)`, id.New("dwn"), orderID, lineID, u.ID, at, ip, "browser "+ip); err != nil {
			t.Fatal(err)
		}
	}
	t1 := t0.Add(time.Hour)
	download(o.ID, a.ID, t1, "192.0.2.1")
	download(o.ID, b.ID, t0, "192.0.2.2") // earlier, written later
	download(o.ID, b.ID, t1, "192.0.2.3") // same instant as the first, written after it
	download(other.ID, other.Lines[0].ID, t0, "192.0.2.4")

	tx, err := e.db.Read.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback()
	got, err := orders.GetTx(ctx, tx, o.ID)
	if err != nil || got.ID != o.ID || len(got.Lines) != 2 || got.Lines[0].ID != a.ID || got.Lines[1].ID != b.ID || got.Lines[0].Delivered != 40 {
		t.Fatalf("GetTx: %+v %v", got, err)
	}
	if _, err := orders.GetTx(ctx, tx, "ord_unknown"); !errors.Is(err, orders.ErrNotFound) {
		t.Fatalf("GetTx of an unknown order: %v", err)
	}
	c, err := orders.ConsentTx(ctx, tx, o.ID)
	if err != nil || !c.ImmediatePerformance || !c.WithdrawalWaiver || c.IP != "192.0.2.1" || c.Lang != "fr" {
		t.Fatalf("ConsentTx: %+v %v", c, err)
	}
	if _, err := orders.ConsentTx(ctx, tx, "ord_unknown"); !errors.Is(err, orders.ErrNotFound) {
		t.Fatalf("ConsentTx of an unknown order: %v", err)
	}

	type step struct {
		line          orders.Line
		before, after int
		at            time.Time
	}
	events, err := orders.DeliveryEventsTx(ctx, tx, o.ID)
	if err != nil {
		t.Fatal(err)
	}
	want := []step{{b, 0, 5, t0}, {a, 0, 5, t0}, {a, 5, 40, t1}}
	if len(events) != len(want) {
		t.Fatalf("delivery record: %+v", events)
	}
	for i, w := range want {
		ev := events[i]
		if ev.LineID != w.line.ID || ev.LineName != w.line.Name || ev.DeliveredBefore != w.before || ev.DeliveredAfter != w.after ||
			!ev.At.Equal(w.at) || ev.ActorID != "usr_agent" || ev.Source != orders.SourceAgent {
			t.Errorf("delivery event %d = %+v, want %s %d -> %d at %v", i, ev, w.line.Name, w.before, w.after, w.at)
		}
	}

	downloads, err := orders.DownloadEventsTx(ctx, tx, o.ID)
	if err != nil {
		t.Fatal(err)
	}
	wantDownloads := []struct {
		line orders.Line
		at   time.Time
		ip   string
	}{{b, t0, "192.0.2.2"}, {a, t1, "192.0.2.1"}, {b, t1, "192.0.2.3"}}
	if len(downloads) != len(wantDownloads) {
		t.Fatalf("downloads: %+v", downloads)
	}
	for i, w := range wantDownloads {
		d := downloads[i]
		if d.LineID != w.line.ID || d.LineName != w.line.Name || !d.At.Equal(w.at) || d.IP != w.ip || d.UserAgent != "browser "+w.ip {
			t.Errorf("download %d = %+v, want %s at %v from %s", i, d, w.line.Name, w.at, w.ip)
		}
	}
}
