package main

import (
	"context"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	"comptoir/internal/db"
	"comptoir/internal/db/dbtest"
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

// A backup holds every customer's data and password hash: it is readable
// by its owner only, as the data directory is (VACUUM INTO and pg_dump
// made it readable by every local user). A --to that cannot be written is
// bad usage, one line (it was exit 1, with pg_dump's report before ours),
// and an existing file is left as it was.
func TestBackupFileIsPrivateAndItsPathChecked(t *testing.T) {
	env := storeEnv(t)
	dir := t.TempDir()
	to := filepath.Join(dir, "backup")
	if code, out, errOut := runCmd(t, env, "backup", "--to", to); code != 0 || out != "" {
		t.Fatalf("backup: exit %d, stdout %q, stderr %q", code, out, errOut)
	}
	info, err := os.Stat(to)
	if err != nil {
		t.Fatal(err)
	}
	if mode := info.Mode().Perm(); mode&0o077 != 0 {
		t.Errorf("backup file mode %v; want no access for group and others", mode)
	}

	existing := filepath.Join(dir, "existing")
	os.WriteFile(existing, []byte("keep me"), 0o600)
	for _, tc := range []struct{ to, want string }{
		{filepath.Join(dir, "missing", "backup"), "comptoir: --to: open " + filepath.Join(dir, "missing", "backup") + ": no such file or directory\n"},
		{filepath.Join(existing, "backup"), "comptoir: --to: open " + filepath.Join(existing, "backup") + ": not a directory\n"},
		{existing, "comptoir: --to " + existing + " already exists; choose a new file\n"},
	} {
		code, out, errOut := runCmd(t, env, "backup", "--to", tc.to)
		if code != 2 || out != "" || errOut != tc.want {
			t.Errorf("--to %s: exit %d, stdout %q, stderr %q; want 2 and %q", tc.to, code, out, errOut, tc.want)
		}
	}
	if b, _ := os.ReadFile(existing); string(b) != "keep me" {
		t.Errorf("the existing file became %q", b)
	}
}

// A configuration that points at no store (a mistyped --data-dir, a
// database never migrated) gave an empty backup and exit 0; on SQLite it
// also made an empty database file where there was none. It is now bad
// configuration, and a backup that fails leaves no file behind (pg_dump
// left an empty one, which blocked the next attempt's --to).
func TestBackupOfNoStoreLeavesNothing(t *testing.T) {
	dataDir := t.TempDir()
	env := map[string]string{"COMPTOIR_DATA_DIR": dataDir}
	if dbtest.Engine() == db.Postgres {
		env["COMPTOIR_DATABASE_URL"] = newPostgresDatabase(t, storeEnv(t)["COMPTOIR_DATABASE_URL"], "empty")
	}
	to := filepath.Join(t.TempDir(), "backup")
	code, out, errOut := runCmd(t, env, "backup", "--to", to)
	if code != 2 || out != "" || strings.Count(errOut, "\n") != 1 || !strings.Contains(errOut, "nothing to back up") {
		t.Errorf("exit %d, stdout %q, stderr %q; want 2 and one line", code, out, errOut)
	}
	if _, err := os.Stat(to); err == nil {
		t.Errorf("a failed backup left %s", to)
	}
	if entries, _ := os.ReadDir(dataDir); len(entries) != 0 {
		t.Errorf("backup created %v in the data directory", entries)
	}

	// A failure while running (the database cannot be reached) is exit 1,
	// and leaves no file either. (A database the server does not have is
	// bad configuration: TestPostgresURLTheServerRefusesIsConfiguration.)
	if dbtest.Engine() == db.Postgres {
		u, err := url.Parse(env["COMPTOIR_DATABASE_URL"])
		if err != nil {
			t.Fatal(err)
		}
		u.Host = fmt.Sprintf("127.0.0.1:%d", freePort(t))
		env["COMPTOIR_DATABASE_URL"] = u.String()
	} else {
		notADatabase := filepath.Join(t.TempDir(), "notes.txt")
		os.WriteFile(notADatabase, []byte(strings.Repeat("not a database\n", 1000)), 0o600)
		env["COMPTOIR_DATABASE_URL"] = "sqlite:" + notADatabase
	}
	if code, _, errOut := runCmd(t, env, "backup", "--to", to); code != 1 {
		t.Errorf("unreachable database: exit %d, stderr %q; want 1", code, errOut)
	}
	if _, err := os.Stat(to); err == nil {
		t.Errorf("a failed backup left %s", to)
	}
}

// pg_dump (libpq) refuses URL parameters it does not know, where pgx sends
// them to the server as settings: a store serving with ?search_path=… could
// not be backed up. They now reach pg_dump as -c settings in options, and
// pgx's own tuning is left out.
func TestPgDumpCommandTakesServerSettings(t *testing.T) {
	cmd, err := pgDumpCommand(context.Background(),
		"postgres://shop@db.example/store?sslmode=require&search_path=shop&statement_cache_capacity=0&options=-c%20work_mem%3D64MB&TimeZone=Europe/Paris&application_name=a%20b", "/tmp/out.dump")
	if err != nil {
		t.Fatal(err)
	}
	var dbname string
	for _, a := range cmd.Args {
		if v, ok := strings.CutPrefix(a, "--dbname="); ok {
			dbname = v
		}
	}
	u, err := url.Parse(dbname)
	if err != nil {
		t.Fatal(err)
	}
	want := url.Values{
		"sslmode":          {"require"},
		"application_name": {"a b"},
		"options":          {`-c work_mem=64MB -c TimeZone=Europe/Paris -c search_path=shop`},
	}
	if strings.Contains(u.RawQuery, "+") {
		t.Errorf("query %s: libpq reads + as a plus sign, not a space", u.RawQuery)
	}
	if got := u.Query(); !reflect.DeepEqual(got, want) {
		t.Errorf("pg_dump's URL parameters %v, want %v", got, want)
	}
	if _, err := pgDumpCommand(context.Background(), "postgres://shop@db.example/store?search_path=a%20b%5Cc", "/tmp/out.dump"); err != nil {
		t.Fatal(err)
	}
}

func TestBackupWithServerSettingsInTheURL(t *testing.T) {
	if dbtest.Engine() != db.Postgres {
		t.Skip("URL parameters are PostgreSQL's")
	}
	env := storeEnv(t)
	plainURL := env["COMPTOIR_DATABASE_URL"]
	u, err := url.Parse(plainURL)
	if err != nil {
		t.Fatal(err)
	}
	q := u.Query()
	q.Set("search_path", "public")
	q.Set("statement_timeout", "60000")
	u.RawQuery = q.Encode()
	env["COMPTOIR_DATABASE_URL"] = u.String()
	to := filepath.Join(t.TempDir(), "backup")
	if code, _, errOut := runCmd(t, env, "backup", "--to", to); code != 0 {
		t.Fatalf("backup: exit %d, stderr %q", code, errOut)
	}
	d, err := db.Open(context.Background(), restoreBackup(t, plainURL, to))
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	if err := d.CheckVersion(context.Background()); err != nil {
		t.Fatalf("restored schema: %v", err)
	}
}
