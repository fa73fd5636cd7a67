package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"comptoir/internal/db"
	"comptoir/internal/db/dbtest"
)

// storeCommands are the commands that work on an existing store (serve
// and migrate make it). {to} is a backup file that must not be left.
var storeCommands = [][]string{
	{"user", "add", "--email", "agent@shop.test", "--role", "agent"},
	{"user", "disable", "--email", "agent@shop.test"},
	{"user", "enable", "--email", "agent@shop.test"},
	{"token", "create", "--email", "agent@shop.test"},
	{"backup", "--to", "{to}"},
}

// A configuration that names no store (a mistyped --data-dir or
// --database-url, a store not made yet) is bad configuration under
// API.md's exit codes: 2, with one line naming where the command looked,
// and nothing made there. comptoir backup said 2 and user and token 1
// ("failed while running", which nothing had begun to do). Before that,
// user add and token create run with a mistyped --data-dir made an empty
// comptoir.db and uploads/ there, then failed with "run comptoir migrate".
func TestCommandsNeedAnExistingStore(t *testing.T) {
	type situation struct {
		name string
		// setup returns the configuration, the directory to check, what
		// it must hold afterwards, and the reason each command must give
		// (user and token; backup).
		setup            func(t *testing.T) (env map[string]string, dir string, left []string, want, wantBackup string)
		notBackedUpAlone bool
	}
	situations := []situation{
		{name: "empty directory", setup: func(t *testing.T) (map[string]string, string, []string, string, string) {
			dir := t.TempDir()
			return map[string]string{"COMPTOIR_DATA_DIR": dir}, dir, nil,
				"no store in " + dir + " (no comptoir.db there): run comptoir migrate first, or check --data-dir",
				"no database at " + filepath.Join(dir, "comptoir.db") + ": nothing to back up"
		}},
		{name: "no such directory", setup: func(t *testing.T) (map[string]string, string, []string, string, string) {
			dir := filepath.Join(t.TempDir(), "comptoir-dta")
			return map[string]string{"COMPTOIR_DATA_DIR": dir}, dir, nil,
				"no store in " + dir + " (no such directory): run comptoir migrate first, or check --data-dir",
				"no database at " + filepath.Join(dir, "comptoir.db") + ": nothing to back up"
		}},
		{name: "no such database file", setup: func(t *testing.T) (map[string]string, string, []string, string, string) {
			dir := t.TempDir()
			file := filepath.Join(t.TempDir(), "shop.db")
			return map[string]string{"COMPTOIR_DATA_DIR": dir, "COMPTOIR_DATABASE_URL": "sqlite:" + file}, dir, nil,
				"no store at " + file + " (no such file): run comptoir migrate first, or check --database-url",
				"no database at " + file + ": nothing to back up"
		}},
		{name: "database without a store", setup: func(t *testing.T) (map[string]string, string, []string, string, string) {
			dir := t.TempDir()
			env := map[string]string{"COMPTOIR_DATA_DIR": dir}
			if dbtest.Engine() == db.Postgres {
				_, url := dbtest.OpenURL(t)
				env["COMPTOIR_DATABASE_URL"] = newPostgresDatabase(t, url, "nostore")
				return env, dir, nil, "the database holds no comptoir store: run comptoir migrate first, or check --database-url",
					"the database holds no comptoir store: nothing to back up"
			}
			// The empty file the commands left before they checked.
			if err := os.WriteFile(filepath.Join(dir, "comptoir.db"), nil, 0o600); err != nil {
				t.Fatal(err)
			}
			return env, dir, []string{"comptoir.db"}, "no store in " + dir + " (comptoir.db holds none): run comptoir migrate first",
				"the database holds no comptoir store: nothing to back up"
		}},
	}
	if dbtest.Engine() == db.Postgres {
		// The store's database is there, its data directory (uploads) is
		// not. A backup copies the database alone, so it goes ahead.
		situations = append(situations, situation{name: "postgres store, no such directory", notBackedUpAlone: true,
			setup: func(t *testing.T) (map[string]string, string, []string, string, string) {
				dir := filepath.Join(t.TempDir(), "comptoir-dta")
				_, url := dbtest.OpenURL(t)
				return map[string]string{"COMPTOIR_DATA_DIR": dir, "COMPTOIR_DATABASE_URL": url}, dir, nil,
					"no store in " + dir + " (no such directory): run comptoir migrate first, or check --data-dir", ""
			}})
	}
	for _, s := range situations {
		t.Run(s.name, func(t *testing.T) {
			env, dir, left, want, wantBackup := s.setup(t)
			for _, cmd := range storeCommands {
				to := filepath.Join(t.TempDir(), "backup")
				args := make([]string, len(cmd))
				for i, a := range cmd {
					args[i] = strings.ReplaceAll(a, "{to}", to)
				}
				want := want
				if args[0] == "backup" {
					if s.notBackedUpAlone {
						continue
					}
					want = wantBackup
				}
				code, out, errOut := runCmd(t, env, args...)
				if code != 2 || out != "" || strings.Count(errOut, "\n") != 1 || !strings.HasPrefix(errOut, "comptoir: ") || !strings.Contains(errOut, want) {
					t.Errorf("%v: exit %d, stdout %q, stderr %q; want 2 and one line with %q", args, code, out, errOut, want)
				}
				if _, err := os.Stat(to); err == nil {
					t.Errorf("%v left %s", args, to)
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
		})
	}
}

// Bad settings are bad usage whether the store is there or not, and are
// said first, before looking for the store.
func TestStoreCommandsSayBadSettingsFirst(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "comptoir-dta")
	for env, want := range map[string]string{
		"COMPTOIR_STRIPE_SECRET_KEY": "--stripe-secret-key needs --stripe-webhook-secret",
		"COMPTOIR_DATABASE_URL":      "sqlite URL takes no options",
	} {
		value := "sk_test_x"
		if env == "COMPTOIR_DATABASE_URL" {
			value = "sqlite:x.db?mode=ro"
		}
		for _, args := range storeCommands[:4] {
			code, _, errOut := runCmd(t, map[string]string{"COMPTOIR_DATA_DIR": dir, env: value}, args...)
			if code != 2 || strings.Count(errOut, "\n") != 1 || !strings.Contains(errOut, want) {
				t.Errorf("%v with %s=%s: exit %d, stderr %q; want 2 and %q", args, env, value, code, errOut, want)
			}
		}
	}
	if _, err := os.Stat(dir); !os.IsNotExist(err) {
		t.Errorf("%s was made (%v)", dir, err)
	}
}
