package jobs_test

import (
	"context"
	"database/sql"
	"slices"
	"testing"

	"comptoir/internal/db"
	"comptoir/internal/db/dbtest"
	"comptoir/internal/jobs"
)

type forgetArgs struct {
	ID string `json:"id"`
}

func (forgetArgs) Kind() string { return "test.forget" }

type otherArgs struct {
	ID string `json:"id"`
}

func (otherArgs) Kind() string { return "test.other" }

// ForgetTx deletes the jobs of its kind whose arguments name the id, and
// matches the id literally: ids hold underscores, which LIKE reads as any
// character, so forgetting usr_ab keeps usrXab's job (and usr%ab keeps
// usr_xyzab's); a job of another kind naming the id is not its business.
func TestForgetTxMatchesTheIDLiterally(t *testing.T) {
	ctx := context.Background()
	d := dbtest.Open(t)
	c, err := jobs.New(d, jobs.Config{})
	if err != nil {
		t.Fatal(err)
	}
	err = d.Tx(ctx, func(tx *sql.Tx) error {
		for _, id := range []string{"usr_ab", "usrXab", "usr%ab", "usr_xyzab"} {
			if _, err := c.InsertTx(ctx, tx, forgetArgs{ID: id}, nil); err != nil {
				return err
			}
		}
		_, err := c.InsertTx(ctx, tx, otherArgs{ID: "usr_ab"}, nil)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	left := func() []string {
		t.Helper()
		arg := `json_extract(args, '$.id')`
		if d.Engine == db.Postgres {
			arg = `(args->>'id')` // ->> binds no tighter than ||
		}
		ids, err := db.Strings(ctx, d.Read, `SELECT kind || ' ' || `+arg+` FROM river_job ORDER BY id`)
		if err != nil {
			t.Fatal(err)
		}
		return ids
	}
	for _, step := range []struct {
		forget string
		want   []string
	}{
		{"usr_ab", []string{"test.forget usrXab", "test.forget usr%ab", "test.forget usr_xyzab", "test.other usr_ab"}},
		{"usr%ab", []string{"test.forget usrXab", "test.forget usr_xyzab", "test.other usr_ab"}},
		{"nobody", []string{"test.forget usrXab", "test.forget usr_xyzab", "test.other usr_ab"}},
	} {
		if err := d.Tx(ctx, func(tx *sql.Tx) error { return jobs.ForgetTx(ctx, tx, "test.forget", step.forget) }); err != nil {
			t.Fatalf("forget %s: %v", step.forget, err)
		}
		if got := left(); !slices.Equal(got, step.want) {
			t.Fatalf("after forgetting %s: %q, want %q", step.forget, got, step.want)
		}
	}
}
