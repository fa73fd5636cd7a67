package main

import (
	"context"
	"slices"
	"strings"
	"testing"
)

// pg_dump's command line is readable by every local user (ps): the
// database password goes to it in PGPASSWORD, never in its arguments,
// whether the URL carries it as user info (percent-encoded or not) or as
// a password= parameter; everything else of the URL is kept.
func TestPgDumpCommandKeepsThePasswordOffTheCommandLine(t *testing.T) {
	for _, tc := range []struct {
		name, dsn, secret, password string
		keep                        []string
	}{
		{"user info", "postgres://shop:Sup3r-Secret@db.example:5433/store?sslmode=require", "Sup3r-Secret", "Sup3r-Secret",
			[]string{"shop@db.example:5433/store", "sslmode=require"}},
		{"encoded", "postgresql://shop:p%40ss%2Fw%3Ard@db.example/store", "p%40ss", "p@ss/w:rd", []string{"shop@db.example/store"}},
		{"parameter", "postgres://shop@db.example/store?password=Param-Secret&application_name=backup", "Param-Secret", "Param-Secret",
			[]string{"shop@db.example/store", "application_name=backup"}},
		{"none", "postgres://comptoir@127.0.0.1:54999/postgres?sslmode=disable", "", "", []string{"comptoir@127.0.0.1:54999/postgres?sslmode=disable"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cmd, err := pgDumpCommand(context.Background(), tc.dsn, "/tmp/out.dump")
			if err != nil {
				t.Fatal(err)
			}
			argv := strings.Join(cmd.Args, " ")
			if tc.secret != "" && (strings.Contains(argv, tc.secret) || strings.Contains(argv, tc.password)) {
				t.Fatalf("the password is on the command line: %s", argv)
			}
			if !strings.Contains(argv, "--file=/tmp/out.dump") || !strings.Contains(argv, "--format=custom") {
				t.Fatalf("argv %s", argv)
			}
			for _, k := range tc.keep {
				if !strings.Contains(argv, k) {
					t.Errorf("argv %s lost %q", argv, k)
				}
			}
			var got []string
			for _, kv := range cmd.Env {
				if v, ok := strings.CutPrefix(kv, "PGPASSWORD="); ok {
					got = append(got, v)
				}
			}
			if tc.password != "" && !slices.Contains(got, tc.password) {
				t.Fatalf("PGPASSWORD %q, want %q", got, tc.password)
			}
			if tc.password == "" && len(cmd.Env) == 0 {
				t.Fatal("the child lost the environment")
			}
		})
	}
}
