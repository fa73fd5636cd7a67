package main

import (
	"strings"
	"testing"
)

// API.md: bad usage exits 2 "with a one-line reason". A mistyped flag
// printed the flag package's message and then every shared flag with its
// help (some sixty lines) before the reason.
func TestBadFlagIsOneLine(t *testing.T) {
	for _, args := range [][]string{
		{"serve", "--no-such-flag"},
		{"migrate", "--no-such-flag"},
		{"user", "add", "--no-such-flag"},
		{"token", "create", "--no-such-flag"},
		{"backup", "--no-such-flag"},
		{"policy", "eval", "--no-such-flag"},
		{"policy", "check", "--no-such-flag", "x.toml"},
		{"migrate", "--log-level"}, // a flag without its value
		{"serve", "--imap-poll-interval", "soon"},
	} {
		code, out, errOut := runCmd(t, nil, args...)
		if code != 2 || out != "" {
			t.Errorf("%v: exit %d, stdout %q; want 2 and nothing", args, code, out)
		}
		if strings.Count(errOut, "\n") != 1 || !strings.HasPrefix(errOut, "comptoir: ") {
			t.Errorf("%v: stderr %q; want one line, the reason", args, errOut)
		}
	}
	// No command at all is bad usage too: one line, pointing to help.
	if code, out, errOut := runCmd(t, nil); code != 2 || out != "" || errOut != "comptoir: no command given (try comptoir help)\n" {
		t.Errorf("no command: exit %d, stdout %q, stderr %q", code, out, errOut)
	}
	if code, out, _ := runCmd(t, nil, "help"); code != 0 || !strings.Contains(out, "token create --email E") {
		t.Errorf("help: exit %d, stdout %q", code, out)
	}
	// -h still shows the flags, and is not an error.
	code, _, errOut := runCmd(t, nil, "migrate", "-h")
	if code != 0 || !strings.Contains(errOut, "-database-url") {
		t.Errorf("migrate -h: exit %d, stderr %q", code, errOut)
	}
}

// A postgres URL the driver cannot use is bad configuration (exit 2), found
// before any connection; it exited 1 as a failure while running, and a
// malformed one printed the URL with its password.
func TestBadPostgresURLIsConfiguration(t *testing.T) {
	for _, url := range []string{
		"postgres://comptoir:s3cret@127.0.0.1:5432/x?sslmode=bogus",
		"postgres://comptoir:s3cret@127.0.0.1:notaport/x",
	} {
		code, out, errOut := runCmd(t, map[string]string{"COMPTOIR_DATABASE_URL": url, "COMPTOIR_DATA_DIR": t.TempDir()}, "migrate")
		if code != 2 || out != "" || strings.Count(errOut, "\n") != 1 || !strings.Contains(errOut, "bad database URL") {
			t.Errorf("%s: exit %d, stdout %q, stderr %q; want 2 and one line", url, code, out, errOut)
		}
		if strings.Contains(errOut, "s3cret") {
			t.Errorf("%s: stderr shows the password: %q", url, errOut)
		}
	}
}

// user add --language takes fr or en (API.md); another language was found
// out only after the store had started, its reason the last of several
// lines on stderr.
func TestUserAddBadLanguageIsOneLine(t *testing.T) {
	code, out, errOut := runCmd(t, map[string]string{"COMPTOIR_DATA_DIR": t.TempDir()}, "user", "add", "--email", "a@shop.test", "--role", "agent", "--language", "de")
	if code != 2 || out != "" || errOut != "comptoir: --language \"de\": want fr or en\n" {
		t.Errorf("exit %d, stdout %q, stderr %q", code, out, errOut)
	}
}
