package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"comptoir/internal/db"
	"comptoir/internal/db/dbtest"
)

// The commands that work on an existing store, run with a mistyped
// --data-dir, made an empty comptoir.db and uploads/ there, then failed
// with "run comptoir migrate". They now refuse, exit 1, with one line
// naming the directory, and leave nothing behind.
func TestCommandsNeedAnExistingStore(t *testing.T) {
	commands := [][]string{
		{"user", "add", "--email", "agent@shop.test", "--role", "agent"},
		{"user", "disable", "--email", "agent@shop.test"},
		{"user", "enable", "--email", "agent@shop.test"},
		{"token", "create", "--email", "agent@shop.test"},
	}
	check := func(t *testing.T, env map[string]string, dir string, want string, left ...string) {
		t.Helper()
		for _, args := range commands {
			code, out, errOut := runCmd(t, env, args...)
			if code != 1 || out != "" || strings.Count(errOut, "\n") != 1 || !strings.HasPrefix(errOut, "comptoir: ") || !strings.Contains(errOut, want) {
				t.Errorf("%v: exit %d, stdout %q, stderr %q; want 1 and one line with %q", args, code, out, errOut, want)
			}
			entries, err := os.ReadDir(dir)
			if os.IsNotExist(err) && len(left) == 0 {
				continue
			}
			var names []string
			for _, e := range entries {
				names = append(names, e.Name())
			}
			if err != nil || strings.Join(names, ",") != strings.Join(left, ",") {
				t.Errorf("%v left %v in %s (%v), want %v", args, names, dir, err, left)
			}
		}
	}
	t.Run("empty directory", func(t *testing.T) {
		dir := t.TempDir()
		check(t, map[string]string{"COMPTOIR_DATA_DIR": dir}, dir,
			"no store in "+dir+" (no comptoir.db there): run comptoir migrate first, or check --data-dir")
	})
	t.Run("no such directory", func(t *testing.T) {
		dir := filepath.Join(t.TempDir(), "comptoir-dta")
		env := map[string]string{"COMPTOIR_DATA_DIR": dir}
		if dbtest.Engine() == db.Postgres {
			_, env["COMPTOIR_DATABASE_URL"] = dbtest.OpenURL(t)
		}
		check(t, env, dir, "no store in "+dir+" (no such directory): run comptoir migrate first, or check --data-dir")
	})
	t.Run("bad settings said first", func(t *testing.T) {
		dir := filepath.Join(t.TempDir(), "comptoir-dta")
		for env, want := range map[string]string{
			"COMPTOIR_STRIPE_SECRET_KEY": "--stripe-secret-key needs --stripe-webhook-secret",
			"COMPTOIR_DATABASE_URL":      "sqlite URL takes no options",
		} {
			value := "sk_test_x"
			if env == "COMPTOIR_DATABASE_URL" {
				value = "sqlite:x.db?mode=ro"
			}
			for _, args := range commands {
				code, _, errOut := runCmd(t, map[string]string{"COMPTOIR_DATA_DIR": dir, env: value}, args...)
				if code != 2 || strings.Count(errOut, "\n") != 1 || !strings.Contains(errOut, want) {
					t.Errorf("%v with %s=%s: exit %d, stderr %q; want 2 and %q", args, env, value, code, errOut, want)
				}
			}
		}
		if _, err := os.Stat(dir); !os.IsNotExist(err) {
			t.Errorf("%s was made (%v)", dir, err)
		}
	})
	t.Run("database without a store", func(t *testing.T) {
		dir := t.TempDir()
		env := map[string]string{"COMPTOIR_DATA_DIR": dir}
		if dbtest.Engine() == db.Postgres {
			_, url := dbtest.OpenURL(t)
			env["COMPTOIR_DATABASE_URL"] = newPostgresDatabase(t, url, "nostore")
			check(t, env, dir, "the database holds no comptoir store: run comptoir migrate first, or check --database-url")
			return
		}
		// The empty file the commands left before they checked.
		if err := os.WriteFile(filepath.Join(dir, "comptoir.db"), nil, 0o600); err != nil {
			t.Fatal(err)
		}
		check(t, env, dir, "no store in "+dir+" (comptoir.db holds none): run comptoir migrate first", "comptoir.db")
	})
}
