package db_test

import (
	"context"
	"database/sql"
	"testing"

	"comptoir/internal/db/dbtest"
)

// BenchmarkTxParallel measures durable single-row transactions from many
// goroutines: on SQLite they share commits, so the rate is well above one
// transaction per disk flush.
func BenchmarkTxParallel(b *testing.B) {
	ctx := context.Background()
	d := dbtest.Open(b)
	if _, err := d.Write.ExecContext(ctx, `CREATE TABLE t_b (id INTEGER PRIMARY KEY, v TEXT)`); err != nil {
		b.Fatal(err)
	}
	b.SetParallelism(16)
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if err := d.Tx(ctx, func(tx *sql.Tx) error {
				_, err := tx.ExecContext(ctx, `INSERT INTO t_b (v) VALUES ('x')`)
				return err
			}); err != nil {
				b.Error(err)
				return
			}
		}
	})
}

// BenchmarkRawInsert is the baseline: one durable single-row insert per
// commit on the write connection, one at a time.
func BenchmarkRawInsert(b *testing.B) {
	ctx := context.Background()
	d := dbtest.Open(b)
	if _, err := d.Write.ExecContext(ctx, `CREATE TABLE t_r (id INTEGER PRIMARY KEY, v TEXT)`); err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := d.Write.ExecContext(ctx, `INSERT INTO t_r (v) VALUES ('x')`); err != nil {
			b.Fatal(err)
		}
	}
}
