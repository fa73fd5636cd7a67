package proof_test

import (
	"context"
	"database/sql"
	"errors"
	"testing"
	"time"

	"comptoir/internal/clock"
	"comptoir/internal/db/dbtest"
	"comptoir/internal/proof"
	"comptoir/internal/testwait"
)

// Recording the buyer's choice never needs a second connection: with its
// cached settings stale, it reads them in the checkout's own transaction.
// (On PostgreSQL, checkouts that each held a connection and waited for
// another could take the whole pool and wait for ever; a pool of one shows
// it at once.) The choice is recorded with the settings in force.
func TestRecordChoiceReadsInTheCheckoutsTransaction(t *testing.T) {
	d := dbtest.Open(t)
	clk := clock.NewManual(time.Date(2026, 3, 8, 10, 0, 0, 0, time.UTC))
	p := proof.New(d, clk, nil)
	if _, err := p.Settings(context.Background()); err != nil {
		t.Fatal(err)
	}
	clk.Advance(time.Hour) // the cache is stale
	d.Write.SetMaxOpenConns(1)
	d.Read.SetMaxOpenConns(1)
	// Only reached when it waits for ever: on a loaded machine even the
	// right path took more than the 5 s it had.
	ctx, cancel := context.WithTimeout(context.Background(), testwait.Default)
	defer cancel()
	err := d.Tx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `SELECT 1`); err != nil { // hold the connection
			return err
		}
		return p.RecordChoiceTx(ctx, tx, "ord_invented", nil)
	})
	if errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("RecordChoiceTx waited for a second connection: %v", err)
	}
	// The order does not exist: the choice's foreign key refuses it, which
	// shows the insert was reached.
	if err == nil {
		t.Fatal("a choice for an order that does not exist was recorded")
	}
}
