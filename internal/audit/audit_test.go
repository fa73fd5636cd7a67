package audit_test

import (
	"context"
	"database/sql"
	"testing"
	"time"

	"comptoir/internal/audit"
	"comptoir/internal/db/dbtest"
)

func TestRecordAppendsAndLogRefusesChanges(t *testing.T) {
	ctx := context.Background()
	d := dbtest.Open(t)
	at := time.Date(2026, 3, 8, 10, 0, 0, 0, time.UTC)
	err := d.Tx(ctx, func(tx *sql.Tx) error {
		return audit.Record(ctx, tx, audit.Entry{
			At: at, Actor: audit.Actor{ID: "usr_1", Role: "agent"},
			SubjectType: "order", SubjectID: "ord_1", Action: "refund",
			Before: map[string]int{"refunded": 0}, After: map[string]int{"refunded": 600},
		})
	})
	if err != nil {
		t.Fatal(err)
	}
	rows, err := audit.ForSubject(ctx, d.Read, "order", "ord_1")
	if err != nil || len(rows) != 1 {
		t.Fatalf("ForSubject = %v, %v", rows, err)
	}
	r := rows[0]
	if !r.At.Equal(at) || r.ActorID != "usr_1" || r.Action != "refund" || r.Before != `{"refunded":0}` || r.After != `{"refunded":600}` {
		t.Fatalf("read back %+v", r)
	}
	if _, err := d.Write.ExecContext(ctx, `UPDATE audit_log SET action = 'nothing'`); err == nil {
		t.Fatal("an update of the audit log must fail")
	}
	if _, err := d.Write.ExecContext(ctx, `DELETE FROM audit_log`); err == nil {
		t.Fatal("a delete from the audit log must fail")
	}
	if rows, _ := audit.ForSubject(ctx, d.Read, "order", "ord_1"); len(rows) != 1 || rows[0].Action != "refund" {
		t.Fatalf("the entry changed: %+v", rows)
	}
}

func TestRecordRollsBackWithItsTransaction(t *testing.T) {
	ctx := context.Background()
	d := dbtest.Open(t)
	err := d.Tx(ctx, func(tx *sql.Tx) error {
		if err := audit.Record(ctx, tx, audit.Entry{At: time.Now(), Actor: audit.System, SubjectType: "order", SubjectID: "ord_2", Action: "paid"}); err != nil {
			return err
		}
		return sql.ErrTxDone // any failure of the surrounding change
	})
	if err == nil {
		t.Fatal("expected the transaction to fail")
	}
	if rows, _ := audit.ForSubject(ctx, d.Read, "order", "ord_2"); len(rows) != 0 {
		t.Fatalf("an entry survived its rolled-back change: %+v", rows)
	}
}

func TestRecordRefusesIncompleteEntries(t *testing.T) {
	ctx := context.Background()
	d := dbtest.Open(t)
	err := d.Tx(ctx, func(tx *sql.Tx) error {
		return audit.Record(ctx, tx, audit.Entry{At: time.Now(), Actor: audit.System, SubjectType: "order"})
	})
	if err == nil {
		t.Fatal("an entry without subject id and action must be refused")
	}
}
