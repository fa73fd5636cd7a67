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

// What an entry lacks (the system's actor id, a state) is NULL, not "".
func TestRecordWritesNullForWhatIsMissing(t *testing.T) {
	ctx := context.Background()
	d := dbtest.Open(t)
	err := d.Tx(ctx, func(tx *sql.Tx) error {
		return audit.Record(ctx, tx, audit.Entry{At: time.Now(), Actor: audit.System, SubjectType: "order", SubjectID: "ord_3", Action: "paid",
			After: map[string]any{"status": "paid"}})
	})
	if err != nil {
		t.Fatal(err)
	}
	var nulls int
	var after string
	if err := d.Read.QueryRowContext(ctx, `SELECT (CASE WHEN actor_id IS NULL THEN 1 ELSE 0 END) + (CASE WHEN before_state IS NULL THEN 1 ELSE 0 END), after_state
		FROM audit_log WHERE subject_id = 'ord_3'`).Scan(&nulls, &after); err != nil || nulls != 2 || after != `{"status":"paid"}` {
		t.Fatalf("NULLs %d, after %q, %v; want actor_id and before_state NULL", nulls, after, err)
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

// BenchmarkRecord appends a balance movement's entry, as every checkout
// does (issue #9), in one transaction.
//
//	go test ./internal/audit -run '^$' -bench Record -benchmem
func BenchmarkRecord(b *testing.B) {
	ctx := context.Background()
	d := dbtest.Open(b)
	at := time.Date(2026, 3, 8, 10, 0, 0, 0, time.UTC)
	e := audit.Entry{
		At: at, Actor: audit.Actor{ID: "usr_0123456789abcdef", Role: "customer"}, SubjectType: "balance", SubjectID: "usr_0123456789abcdef",
		Action: "balance_debit", Before: map[string]any{"currency": "EUR", "balance": int64(10000)},
		After: map[string]any{"entry_id": "ent_0123456789abcdef", "kind": "purchase", "amount": int64(-5000), "currency": "EUR", "balance": int64(5000)},
	}
	b.ReportAllocs()
	err := d.Tx(ctx, func(tx *sql.Tx) error {
		for b.Loop() {
			if err := audit.Record(ctx, tx, e); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		b.Fatal(err)
	}
}
