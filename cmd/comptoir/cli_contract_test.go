package main

import (
	"bytes"
	"context"
	"fmt"
	"net"
	neturl "net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"comptoir/internal/testfifo"
	"comptoir/internal/testlog"

	"comptoir/internal/db"
	"comptoir/internal/db/dbtest"
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
	code, out, errOut := runCmd(t, nil, "migrate", "-h")
	if code != 0 || !strings.Contains(out, "-database-url") || errOut != "" {
		t.Errorf("migrate -h: exit %d, stdout %q, stderr %q", code, out, errOut)
	}
}

// Help asked for is an answer: exit 0, on stdout, whichever way it is
// asked. "comptoir user -h" and "token -h" were bad usage (exit 2), where
// "policy -h" and "comptoir -h" answered; and a command's flags went to
// stderr, so "comptoir serve -h | grep seller" found nothing.
func TestHelpIsAnAnswerOnStdout(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--help"}, "token create --email E"},
		{[]string{"user", "-h"}, "user add --email E --role"},
		{[]string{"token", "--help"}, "token create --email E"},
		{[]string{"policy", "-h"}, "policy eval --facts F"},
		{[]string{"serve", "-h"}, "-seller-address"},
		{[]string{"user", "add", "--help"}, "-password-file"},
		{[]string{"token", "create", "-h"}, "-email"},
		{[]string{"backup", "-h"}, "-to"},
		{[]string{"policy", "eval", "-h"}, "-facts"},
	} {
		code, out, errOut := runCmd(t, nil, tc.args...)
		if code != 0 || !strings.Contains(out, tc.want) || errOut != "" {
			t.Errorf("%v: exit %d, stdout %.80q, stderr %.80q; want 0 and the help on stdout", tc.args, code, out, errOut)
		}
	}
	// Without a subcommand it is still bad usage, in one line.
	for _, args := range [][]string{{"user"}, {"token"}, {"user", "remove"}} {
		if code, out, errOut := runCmd(t, nil, args...); code != 2 || out != "" || strings.Count(errOut, "\n") != 1 {
			t.Errorf("%v: exit %d, stdout %q, stderr %q; want 2 and one line", args, code, out, errOut)
		}
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

// Bad usage is one line on stderr, the reason (API.md). user add and token
// create find some of theirs only once the store is open (no such user, a
// taken email), and the store's start-up note on where mail is spooled came
// first: two lines.
func TestAdminCommandRefusalIsOneLine(t *testing.T) {
	env := storeEnv(t)
	if code, _, errOut := runCmd(t, env, "migrate"); code != 0 {
		t.Fatalf("migrate: %d %s", code, errOut)
	}
	if code, _, errOut := runCmd(t, env, "user", "add", "--email", "agent@shop.test", "--role", "agent"); code != 0 {
		t.Fatalf("user add: %d %s", code, errOut)
	}
	shortPassword := writeFile(t, "pw", "short\n")
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"token", "create", "--email", "nobody@shop.test"}, "comptoir: no user with email nobody@shop.test\n"},
		{[]string{"user", "add", "--email", "agent@shop.test", "--role", "agent"}, "comptoir: a user with email agent@shop.test already exists\n"},
		// The store's refusals in the command line's terms: they were its
		// codes ("account: invalid password: password_too_short").
		{[]string{"user", "add", "--email", "shop.test", "--role", "agent"}, "comptoir: --email: not an email address\n"},
		{[]string{"user", "add", "--email", "new@shop.test", "--role", "agent", "--password-file", shortPassword},
			"comptoir: --password-file: the password is too short (at least 10 characters)\n"},
		{[]string{"user", "add", "--email", "new@shop.test", "--role", "agent", "--name", "Ana\r\nBcc: x@evil.test"},
			"comptoir: --name: holds characters that are not allowed (line breaks, control characters)\n"},
		// A token's name is checked by the store: it was exit 1.
		{[]string{"token", "create", "--email", "agent@shop.test", "--name", ""}, "comptoir: --name: must not be empty\n"},
	} {
		code, out, errOut := runCmd(t, env, tc.args...)
		if code != 2 || out != "" || errOut != tc.want {
			t.Errorf("%v: exit %d, stdout %q, stderr %q; want 2 and only %q", tc.args, code, out, errOut, tc.want)
		}
	}
	// The one-shot commands say nothing else either when they succeed.
	if code, out, errOut := runCmd(t, env, "token", "create", "--email", "agent@shop.test"); code != 0 || errOut != "" || strings.Count(out, "\n") != 1 {
		t.Errorf("token create: exit %d, stdout %q, stderr %q; want the token alone", code, out, errOut)
	}
}

// A --smtp-listen that cannot be used is bad configuration found before
// anything else, like a busy --listen: it was found only after the store had
// started (migrations, jobs, "comptoir is serving"), its reason the last of
// several lines on stderr.
func TestBadSMTPListenIsOneLine(t *testing.T) {
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	for _, addr := range []string{"nonsense", busy.Addr().String()} {
		code, out, errOut := runCmd(t, storeEnv(t), "serve", "--listen", "127.0.0.1:0", "--smtp-listen", addr)
		if code != 2 || out != "" || strings.Count(errOut, "\n") != 1 || !strings.HasPrefix(errOut, "comptoir: cannot listen on "+addr+" for SMTP") {
			t.Errorf("--smtp-listen %s: exit %d, stdout %q, stderr %q; want 2 and one line", addr, code, out, errOut)
		}
	}
	// The profiler's listener likewise: a busy port is one line, before
	// the store starts.
	code, out, errOut := runCmd(t, storeEnv(t), "serve", "--listen", "127.0.0.1:0", "--debug-listen", busy.Addr().String())
	if code != 2 || out != "" || strings.Count(errOut, "\n") != 1 || !strings.HasPrefix(errOut, "comptoir: cannot listen on "+busy.Addr().String()+" for the profiler") {
		t.Errorf("--debug-listen %s: exit %d, stdout %q, stderr %q; want 2 and one line", busy.Addr(), code, out, errOut)
	}
}

// version takes the shared configuration like every command (API.md): a
// stray argument or an unknown flag is bad usage, not ignored with exit 0.
func TestVersionRefusesBadUsage(t *testing.T) {
	for _, args := range [][]string{{"version", "extra"}, {"version", "--no-such-flag"}, {"--version", "x"}} {
		code, out, errOut := runCmd(t, nil, args...)
		if code != 2 || out != "" || strings.Count(errOut, "\n") != 1 || !strings.HasPrefix(errOut, "comptoir: ") {
			t.Errorf("%v: exit %d, stdout %q, stderr %q; want 2 and one line", args, code, out, errOut)
		}
	}
	if code, out, _ := runCmd(t, nil, "version", "--data-dir", t.TempDir()); code != 0 || !strings.HasPrefix(out, "comptoir ") {
		t.Errorf("version with a shared flag: exit %d, stdout %q", code, out)
	}
}

// Settings found faulty only by trying them (half a Stripe configuration, a
// malformed fulfilment secret, an IMAP mailbox without its password, a
// bucket that cannot be reached) were found while the store was being built,
// after its start-up notes on a new data directory (where mail is spooled,
// the new secret key): the reason was the last of three lines.
func TestServiceSettingsRefusedInOneLine(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		// In the flags' terms: it was "stripe: cardpay: invalid input:
		// Stripe needs both the secret key and the webhook secret".
		{[]string{"--stripe-secret-key", "sk_test_x"}, "comptoir: --stripe-secret-key needs --stripe-webhook-secret: "},
		{[]string{"--stripe-webhook-secret", "whsec_x"}, "comptoir: --stripe-webhook-secret needs --stripe-secret-key: "},
		{[]string{"--fulfilment-webhook-secret", "nope"}, "comptoir: --fulfilment-webhook-secret: "},
		{[]string{"--imap-url", "imaps://support@127.0.0.1:1/INBOX"}, "comptoir: --imap-url: "},
		{[]string{"--blob-url", fmt.Sprintf("s3://bucket?endpoint=127.0.0.1:%d&insecure=true", freePort(t))}, "comptoir: --blob-url: "},
	} {
		env := storeEnv(t)
		args := append([]string{"serve", "--listen", "127.0.0.1:0"}, tc.args...)
		code, out, errOut := runCmd(t, env, args...)
		if code != 2 || out != "" || strings.Count(errOut, "\n") != 1 || !strings.HasPrefix(errOut, tc.want) {
			t.Errorf("%v: exit %d, stdout %q, stderr %q; want 2 and one line %q…", tc.args, code, out, errOut, tc.want)
		}
	}
}

// A file that never ends (/dev/zero) named as facts, a policy or a
// password was read whole: the process grew until the kernel killed it.
// Each is now bad usage, one line, after reading little more than the
// largest such file can be.
func TestInputFileThatNeverEnds(t *testing.T) {
	facts := writeFile(t, "facts.json", partialFacts)
	for _, tc := range []struct {
		args func(endless string) []string
		want string
	}{
		{func(f string) []string { return []string{"policy", "eval", "--facts", f} }, " is larger than 1 MiB"},
		{func(f string) []string { return []string{"policy", "eval", "--facts", facts, "--policy", f} }, " is larger than 1 MiB"},
		{func(f string) []string { return []string{"policy", "check", f} }, " is larger than 1 MiB"},
		{func(f string) []string {
			return []string{"user", "add", "--email", "a@shop.test", "--role", "agent", "--password-file", f}
		}, " is larger than 4 KiB"},
	} {
		path, written := testfifo.Endless(t, 256<<20)
		args := tc.args(path)
		code, out, errOut := runCmd(t, map[string]string{"COMPTOIR_DATA_DIR": t.TempDir()}, args...)
		if code != 2 || out != "" || strings.Count(errOut, "\n") != 1 || !strings.Contains(errOut, path+tc.want) {
			t.Errorf("%v: exit %d, stdout %q, stderr %q; want 2 and one line %q", args, code, out, errOut, tc.want)
		}
		if n := written(); n > 4<<20 {
			t.Errorf("%v: %d bytes were read from an endless file", args, n)
		}
	}
}

// fullWriter fails every write, as stdout on a full disk does.
type fullWriter struct{}

func (fullWriter) Write([]byte) (int, error) { return 0, syscall.ENOSPC }

// What a command prints on stdout is its result. When it could not be
// written (a full disk) the command exited 0 all the same: token create
// left a working token nobody had, user add an account whose generated
// password nobody saw. Each now fails (exit 1) and says so; the token is
// revoked.
func TestResultThatCannotBeWrittenFails(t *testing.T) {
	env := storeEnv(t)
	if code, _, errOut := runCmd(t, env, "migrate"); code != 0 {
		t.Fatalf("migrate: %d %s", code, errOut)
	}
	if code, _, errOut := runCmd(t, env, "user", "add", "--email", "agent@shop.test", "--role", "agent"); code != 0 {
		t.Fatalf("user add: %d %s", code, errOut)
	}
	full := func(args ...string) (int, string) {
		var errOut testlog.Buffer
		code := run(context.Background(), args, fullWriter{}, &errOut, func(k string) string { return env[k] })
		return code, errOut.String()
	}
	facts := writeFile(t, "facts.json", partialFacts)
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"token", "create", "--email", "agent@shop.test"}, "comptoir: the token could not be written, so it was revoked: no space left on device\n"},
		{[]string{"user", "add", "--email", "admin@shop.test", "--role", "admin"},
			"comptoir: created admin admin@shop.test, but its password could not be written (no space left on device): reset it from the sign-in page\n"},
		{[]string{"policy", "eval", "--facts", facts}, "comptoir: no space left on device\n"},
		{[]string{"version"}, "comptoir: cannot write the result to stdout: no space left on device\n"},
	} {
		if code, errOut := full(tc.args...); code != 1 || errOut != tc.want {
			t.Errorf("%v: exit %d, stderr %q; want 1 and %q", tc.args, code, errOut, tc.want)
		}
	}
	d, err := db.Open(context.Background(), env["COMPTOIR_DATABASE_URL"])
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	var usable int
	if err := d.Read.QueryRow(`SELECT COUNT(*) FROM api_tokens WHERE revoked_at IS NULL`).Scan(&usable); err != nil || usable != 0 {
		t.Errorf("%d usable tokens after a token create that failed (%v)", usable, err)
	}
}

// buildBinary builds comptoir itself, for what only the real process
// shows (its signal handling).
func buildBinary(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "comptoir")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// A closed pipe on stdout (comptoir token create | head -c0) killed the
// process with SIGPIPE as it printed the token: a working token nobody
// had, never revoked. The write now fails like any other: exit 1, the
// reason, the token revoked.
func TestTokenCreateIntoAClosedPipe(t *testing.T) {
	env := storeEnv(t)
	if code, _, errOut := runCmd(t, env, "migrate"); code != 0 {
		t.Fatalf("migrate: %d %s", code, errOut)
	}
	if code, _, errOut := runCmd(t, env, "user", "add", "--email", "agent@shop.test", "--role", "agent"); code != 0 {
		t.Fatalf("user add: %d %s", code, errOut)
	}
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	r.Close()
	defer w.Close()
	cmd := exec.Command(buildBinary(t), "token", "create", "--email", "agent@shop.test")
	cmd.Env = append(os.Environ(), "COMPTOIR_DATABASE_URL="+env["COMPTOIR_DATABASE_URL"], "COMPTOIR_DATA_DIR="+env["COMPTOIR_DATA_DIR"])
	var errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = w, &errOut
	cmd.Run()
	if code := cmd.ProcessState.ExitCode(); code != 1 || !strings.HasPrefix(errOut.String(), "comptoir: the token could not be written, so it was revoked: ") {
		t.Errorf("%v, stderr %q; want exit 1 and the reason", cmd.ProcessState, errOut.String())
	}
	d, err := db.Open(context.Background(), env["COMPTOIR_DATABASE_URL"])
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	var usable int
	if err := d.Read.QueryRow(`SELECT COUNT(*) FROM api_tokens WHERE revoked_at IS NULL`).Scan(&usable); err != nil || usable != 0 {
		t.Errorf("%d usable tokens after a token create that failed (%v)", usable, err)
	}
}

// A database that cannot be reached fails the command (exit 1) with one
// line naming it and why. The PostgreSQL driver's reason came on three
// lines, one per attempt, the last a repeat of the one before.
func TestUnreachableDatabaseIsOneLine(t *testing.T) {
	url := fmt.Sprintf("postgres://comptoir@127.0.0.1:%d/shop", freePort(t))
	for _, args := range [][]string{{"migrate"}, {"serve", "--listen", "127.0.0.1:0"}, {"token", "create", "--email", "agent@shop.test"}} {
		code, out, errOut := runCmd(t, map[string]string{"COMPTOIR_DATABASE_URL": url, "COMPTOIR_DATA_DIR": t.TempDir()}, args...)
		last := lastLine(errOut)
		if code != 1 || out != "" || !strings.HasPrefix(last, "comptoir: ") || !strings.Contains(last, "connection refused") ||
			strings.Count(last, "connection refused") != 1 || strings.Count(errOut, "comptoir: ") != 1 {
			t.Errorf("%v with the database down: exit %d, stdout %q, stderr %q; want 1 and the reason on one line", args, code, out, errOut)
		}
	}
}

func TestOneLine(t *testing.T) {
	for in, want := range map[string]string{
		"no user with email a@b": "no user with email a@b",
		"connect to postgres database: failed to connect to `user=shop database=shop`:\n\t127.0.0.1:1 (127.0.0.1): dial error: refused\n\t127.0.0.1:1 (127.0.0.1): dial error: refused": "connect to postgres database: failed to connect to `user=shop database=shop`: 127.0.0.1:1 (127.0.0.1): dial error: refused",
		"first\nsecond\n": "first; second",
		"failed to connect to `user=shop database=shop`:\n\thostname resolving error: lookup db.invalid: no such host\n\tlookup db.invalid: no such host": "failed to connect to `user=shop database=shop`: hostname resolving error: lookup db.invalid: no such host",
	} {
		if got := oneLine(in); got != want {
			t.Errorf("oneLine(%q) = %q, want %q", in, got, want)
		}
	}
}

// A command stopped by a signal before it was done says so: it said only
// "read schema version: context canceled".
func TestInterruptedCommandSaysSo(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel() // SIGTERM
	env := storeEnv(t)
	var out, errOut testlog.Buffer
	code := run(ctx, []string{"migrate"}, &out, &errOut, func(k string) string { return env[k] })
	if code != 1 || !strings.HasPrefix(lastLine(errOut.String()), "comptoir: interrupted by a signal before it was done: ") {
		t.Fatalf("migrate interrupted: exit %d, stderr %q", code, errOut.String())
	}
}

// migrate says what it did: it said "database is up to date" whether it
// had just applied every migration or found none to apply.
func TestMigrateSaysWhatItApplied(t *testing.T) {
	env := map[string]string{"COMPTOIR_DATA_DIR": t.TempDir()}
	all, err := db.Migrations(db.SQLite)
	if err != nil {
		t.Fatal(err)
	}
	last := all[len(all)-1]
	want := fmt.Sprintf("comptoir: applied %d migrations, 0001_%s to %04d_%s; database is up to date\n", len(all), all[0].Name, last.Version, last.Name)
	if code, _, errOut := runCmd(t, env, "migrate"); code != 0 || !strings.HasSuffix(errOut, want) {
		t.Errorf("first migrate: exit %d, stderr %q, want it to end %q", code, errOut, want)
	}
	want = "comptoir: nothing to apply; database is up to date\n"
	if code, _, errOut := runCmd(t, env, "migrate"); code != 0 || !strings.HasSuffix(errOut, want) {
		t.Errorf("second migrate: exit %d, stderr %q, want it to end %q", code, errOut, want)
	}
	if got := migratedSummary(all[len(all)-1:]); got != fmt.Sprintf("applied migration %04d_%s; database is up to date", last.Version, last.Name) {
		t.Errorf("one migration: %q", got)
	}
}

// A PostgreSQL URL the server refuses for good — a database it does not
// have, a user it does not know — is bad configuration (API.md: exit 2,
// one line): trying again changes nothing until --database-url is fixed,
// as for a SQLite file that is not there (TestCommandsNeedAnExistingStore).
// Every command said exit 1, "failed while running", which is for a server
// that cannot be reached (TestUnreachableDatabaseIsOneLine).
func TestPostgresURLTheServerRefusesIsConfiguration(t *testing.T) {
	if dbtest.Engine() != db.Postgres {
		t.Skip("needs a PostgreSQL server (COMPTOIR_TEST_ENGINE=postgres)")
	}
	_, url := dbtest.OpenURL(t)
	parsed, err := db.ParseURL(url)
	if err != nil {
		t.Fatal(err)
	}
	u, err := neturl.Parse(parsed.DSN)
	if err != nil {
		t.Fatal(err)
	}
	noDatabase, noRole := *u, *u
	noDatabase.Path = fmt.Sprintf("/comptoir_no_such_db_%d", time.Now().UnixNano())
	noRole.User = neturl.User(fmt.Sprintf("comptoir_no_such_role_%d", time.Now().UnixNano()))
	for name, url := range map[string]string{"no such database": noDatabase.String(), "no such role": noRole.String()} {
		for _, args := range [][]string{
			{"migrate"},
			{"serve", "--listen", "127.0.0.1:0"},
			{"user", "add", "--email", "agent@shop.test", "--role", "agent"},
			{"token", "create", "--email", "agent@shop.test"},
			{"backup", "--to", filepath.Join(t.TempDir(), "backup")},
		} {
			code, out, errOut := runCmd(t, map[string]string{"COMPTOIR_DATABASE_URL": url, "COMPTOIR_DATA_DIR": t.TempDir()}, args...)
			if code != 2 || out != "" || strings.Count(errOut, "\n") != 1 || !strings.HasPrefix(errOut, "comptoir: ") || !strings.Contains(errOut, "does not exist") {
				t.Errorf("%s: %v: exit %d, stdout %q, stderr %q; want 2 and one line saying what does not exist", name, args, code, out, errOut)
			}
		}
	}
}
