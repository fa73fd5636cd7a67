package main

import (
	"bufio"
	"context"
	"database/sql"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/smtp"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"comptoir/internal/db"
	"comptoir/internal/db/dbtest"
	"comptoir/internal/testlog"
	"comptoir/internal/testport"
	"comptoir/internal/testwait"
)

// runCmd runs a command the way main does, with an environment of its own.
func runCmd(t *testing.T, env map[string]string, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errOut testlog.Buffer
	code = run(context.Background(), args, &out, &errOut, func(k string) string { return env[k] })
	return code, out.String(), errOut.String()
}

// storeEnv points the configuration at a fresh database of the run's engine.
func storeEnv(t *testing.T) map[string]string {
	t.Helper()
	_, url := dbtest.OpenURL(t)
	return map[string]string{"COMPTOIR_DATABASE_URL": url, "COMPTOIR_DATA_DIR": t.TempDir()}
}

func TestVersionAndUsage(t *testing.T) {
	if code, out, _ := runCmd(t, nil, "version"); code != 0 || !strings.HasPrefix(out, "comptoir ") {
		t.Fatalf("version: %d %q", code, out)
	}
	if code, _, errOut := runCmd(t, nil, "frobnicate"); code != 2 || !strings.Contains(errOut, `unknown command "frobnicate"`) {
		t.Fatalf("unknown command: %d %q", code, errOut)
	}
	if code, _, _ := runCmd(t, nil); code != 2 {
		t.Fatalf("no command: %d", code)
	}
}

func TestBadConfigurationExitsTwoWithOneLine(t *testing.T) {
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	notADir := filepath.Join(t.TempDir(), "file")
	os.WriteFile(notADir, []byte("x"), 0o600)
	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"unknown scheme", []string{"migrate", "--database-url", "mysql://localhost/x"}, `unknown database scheme "mysql"`},
		{"port in use", []string{"serve", "--listen", busy.Addr().String(), "--data-dir", t.TempDir()}, "cannot listen on"},
		{"data dir unusable", []string{"migrate", "--data-dir", filepath.Join(notADir, "sub")}, "data directory"},
		{"bad flag", []string{"serve", "--no-such-flag"}, "flag provided but not defined"},
		{"bad env", []string{"migrate"}, "--log-level"},
		{"bad trusted proxy", []string{"serve", "--data-dir", t.TempDir(), "--trusted-proxies", "10.0.0.0/8,nginx"}, `--trusted-proxies: "nginx" is not an address or a CIDR`},
		{"bad zone", []string{"serve", "--data-dir", t.TempDir(), "--zone", "Paris"}, `--zone: "Paris" is not an IANA time zone`},
		{"short secret key", []string{"serve", "--data-dir", t.TempDir(), "--secret-key", "0123456789abcdef"}, "--secret-key: want 32 random bytes"},
		{"negative free space", []string{"serve", "--data-dir", t.TempDir(), "--min-free-mb", "-1"}, "--min-free-mb must not be negative"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			env := map[string]string{}
			if tc.name == "bad env" {
				env["COMPTOIR_LOG_LEVEL"] = "loud"
			}
			code, _, errOut := runCmd(t, env, tc.args...)
			if code != 2 || !strings.Contains(errOut, tc.want) {
				t.Fatalf("exit %d, stderr %q; want 2 and %q", code, errOut, tc.want)
			}
			if lines := strings.Count(strings.TrimSpace(lastLine(errOut)), "\n"); lines != 0 {
				t.Fatalf("reason spans lines: %q", errOut)
			}
		})
	}
}

func lastLine(s string) string {
	s = strings.TrimRight(s, "\n")
	return s[strings.LastIndex(s, "\n")+1:]
}

func TestUserAddAndTokenCreate(t *testing.T) {
	env := storeEnv(t)
	if code, _, errOut := runCmd(t, env, "migrate"); code != 0 {
		t.Fatalf("migrate: %d %s", code, errOut)
	}
	pw := filepath.Join(t.TempDir(), "pw")
	os.WriteFile(pw, []byte("a long agent password\n"), 0o600)
	code, out, errOut := runCmd(t, env, "user", "add", "--email", "Agent@Shop.test", "--role", "agent", "--password-file", pw, "--language", "en")
	if code != 0 || !strings.Contains(out, "created agent Agent@Shop.test") || strings.Contains(out, "password:") {
		t.Fatalf("user add: %d %q %q", code, out, errOut)
	}
	if code, _, errOut := runCmd(t, env, "user", "add", "--email", "agent@shop.test", "--role", "agent"); code != 2 || !strings.Contains(errOut, "already exists") {
		t.Fatalf("duplicate user: %d %q", code, errOut)
	}
	if code, _, _ := runCmd(t, env, "user", "add", "--email", "x@shop.test", "--role", "boss"); code != 2 {
		t.Fatalf("bad role: %d", code)
	}
	code, out, _ = runCmd(t, env, "user", "add", "--email", "admin@shop.test", "--role", "admin")
	if code != 0 || !strings.Contains(out, "password: ") {
		t.Fatalf("generated password not printed: %d %q", code, out)
	}

	code, out, errOut = runCmd(t, env, "token", "create", "--email", "agent@shop.test")
	if code != 0 {
		t.Fatalf("token create: %d %s", code, errOut)
	}
	token := strings.TrimSpace(out)
	if strings.Count(out, "\n") != 1 || len(token) < 40 || strings.ContainsAny(token, " \t") {
		t.Fatalf("token create must print the token alone: %q", out)
	}
	if code, _, _ := runCmd(t, env, "token", "create", "--email", "nobody@shop.test"); code != 2 {
		t.Fatalf("token for an unknown user: %d", code)
	}

	// The token works against a running server.
	base := startServer(t, env)
	req, _ := http.NewRequest(http.MethodGet, base+"/api/v1/me", nil)
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET /api/v1/me with the new token: %d", resp.StatusCode)
	}
}

// startServer runs "comptoir serve" in the background until the test ends
// and returns its base URL once it answers /healthz.
func startServer(t *testing.T, env map[string]string, extra ...string) string {
	t.Helper()
	port := freePort(t)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan int, 1)
	var out, errOut testlog.Buffer
	args := append([]string{"serve", "--listen", fmt.Sprintf("127.0.0.1:%d", port)}, extra...)
	go func() { done <- run(ctx, args, &out, &errOut, func(k string) string { return env[k] }) }()
	base := fmt.Sprintf("http://127.0.0.1:%d", port)
	deadline := time.Now().Add(30 * time.Second)
	for {
		resp, err := http.Get(base + "/healthz")
		if err == nil {
			resp.Body.Close()
			break
		}
		select {
		case code := <-done:
			t.Fatalf("serve exited with %d: %s", code, errOut.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("server did not answer: %s", errOut.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Cleanup(func() {
		cancel()
		select {
		case code := <-done:
			if code != 0 {
				t.Errorf("serve exited with %d after SIGTERM-like stop: %s", code, errOut.String())
			}
		case <-time.After(30 * time.Second):
			t.Error("serve did not stop")
		}
	})
	serverOutput[base] = &out
	return base
}

var serverOutput = map[string]*testlog.Buffer{}

// freePort is a port nothing listens on, for a store started on it later
// (testport: never one the kernel may hand to another listener meanwhile).
func freePort(t *testing.T) int {
	t.Helper()
	return testport.Free(t)
}

func TestServeDemoPrintsCredentialsOnce(t *testing.T) {
	env := storeEnv(t)
	base := startServer(t, env, "--demo")
	out := serverOutput[base].String()
	for _, want := range []string{"admin@demo.comptoir.test", "agent@demo.comptoir.test", "client@demo.comptoir.test"} {
		if !strings.Contains(out, want) {
			t.Fatalf("demo output lacks %s:\n%s", want, out)
		}
	}
	resp, err := http.Get(base + "/signin")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("sign-in page: %d", resp.StatusCode)
	}
	// The demo trader fills the seller settings left empty: the legal
	// notice (and the invoices) show a complete identity.
	resp, err = http.Get(base + "/legal/notice")
	if err != nil {
		t.Fatal(err)
	}
	notice, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	for _, want := range []string{`id="trader-identity"`, "69002 Lyon", "RCS Lyon 000 000 000", "FR00000000000"} {
		if !strings.Contains(string(notice), want) {
			t.Fatalf("demo legal notice lacks %q", want)
		}
	}
	// A second start keeps the accounts and does not print new passwords.
	again := startServer(t, env, "--demo")
	if out := serverOutput[again].String(); strings.Contains(out, "client@demo.comptoir.test") || !strings.Contains(out, "already exist") {
		t.Fatalf("second demo start printed:\n%s", out)
	}
}

func TestBackupWhileServing(t *testing.T) {
	env := storeEnv(t)
	startServer(t, env)
	pw := filepath.Join(t.TempDir(), "pw")
	os.WriteFile(pw, []byte("a long agent password"), 0o600)
	if code, _, errOut := runCmd(t, env, "user", "add", "--email", "kept@shop.test", "--role", "agent", "--password-file", pw); code != 0 {
		t.Fatalf("user add: %s", errOut)
	}
	to := filepath.Join(t.TempDir(), "backup.db")
	if code, _, errOut := runCmd(t, env, "backup", "--to", to); code != 0 {
		t.Fatalf("backup: %d %s", code, errOut)
	}
	if code, _, errOut := runCmd(t, env, "backup", "--to", to); code != 2 || !strings.Contains(errOut, "already exists") {
		t.Fatalf("backup over an existing file: %d %s", code, errOut)
	}
	// Restore: a store started on the copy has the same data.
	restored := restoreBackup(t, env["COMPTOIR_DATABASE_URL"], to)
	d, err := db.Open(context.Background(), restored)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	if err := d.CheckVersion(context.Background()); err != nil {
		t.Fatalf("restored schema: %v", err)
	}
	var n int
	if err := d.Read.QueryRow(`SELECT COUNT(*) FROM users WHERE email_key = 'kept@shop.test'`).Scan(&n); err != nil || n != 1 {
		t.Fatalf("restored users: %d, %v", n, err)
	}
}

// restoreBackup puts a backup back as a database and returns its URL, the
// way the README says to restore.
func restoreBackup(t *testing.T, originalURL, file string) string {
	t.Helper()
	if dbtest.Engine() == db.SQLite {
		return "sqlite:" + file
	}
	if _, err := exec.LookPath("pg_restore"); err != nil {
		t.Fatal("pg_restore not found: PostgreSQL client tools are needed to test restores")
	}
	// pgx and pg_restore take the URL without comptoir's own
	// pool_max_conns, which newPostgresDatabase leaves out.
	target := newPostgresDatabase(t, originalURL, "restored")
	cmd := exec.Command("pg_restore", "--no-owner", "--dbname="+target, file)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("pg_restore: %v\n%s", err, out)
	}
	return target
}

// newPostgresDatabase creates an empty database on originalURL's server,
// dropped when the test ends, and returns its URL (originalURL's, without
// comptoir's own pool_max_conns, with the new database's name).
func newPostgresDatabase(t *testing.T, originalURL, prefix string) string {
	t.Helper()
	parsed, err := db.ParseURL(originalURL)
	if err != nil {
		t.Fatal(err)
	}
	originalURL = parsed.DSN
	admin, err := sql.Open("pgx", originalURL)
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close()
	name := fmt.Sprintf("%s_%d", prefix, time.Now().UnixNano())
	if _, err := admin.Exec("CREATE DATABASE " + name); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if admin, err := sql.Open("pgx", originalURL); err == nil {
			admin.Exec("DROP DATABASE IF EXISTS " + name + " WITH (FORCE)")
			admin.Close()
		}
	})
	target := originalURL[:strings.LastIndex(originalURL, "/")+1] + name
	if q := strings.Index(originalURL, "?"); q >= 0 {
		target = originalURL[:strings.LastIndex(originalURL[:q], "/")+1] + name + originalURL[q:]
	}
	return target
}

// --smtp-max-connections reaches the listener: with one session held, the
// next connection is told 421 and closed, and once the session ends mail
// is taken again.
func TestServeCapsSMTPConnections(t *testing.T) {
	env := storeEnv(t)
	env["COMPTOIR_SUPPORT_ADDRESS"] = "support@shop.test"
	smtpAddr := fmt.Sprintf("127.0.0.1:%d", freePort(t))
	startServer(t, env, "--smtp-listen", smtpAddr, "--smtp-max-connections", "1")
	held, err := smtp.Dial(smtpAddr)
	if err != nil {
		t.Fatal(err)
	}
	defer held.Close()
	if err := held.Hello("relay.example.org"); err != nil {
		t.Fatal(err)
	}
	conn, err := net.DialTimeout("tcp", smtpAddr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	conn.SetDeadline(time.Now().Add(30 * time.Second))
	line, _ := bufio.NewReader(conn).ReadString('\n')
	conn.Close()
	if !strings.HasPrefix(line, "421 4.7.0 ") {
		t.Fatalf("second connection greeted %q, want 421", line)
	}
	if err := held.Quit(); err != nil {
		t.Fatal(err)
	}
	msg := "From: ana@example.fr\r\nTo: support@shop.test\r\nSubject: Cap\r\nMessage-ID: <cap@example.fr>\r\n\r\nBonjour\r\n"
	testwait.Until(t, "mail taken once the session ended", func() bool {
		return smtp.SendMail(smtpAddr, nil, "ana@example.fr", []string{"support@shop.test"}, []byte(msg)) == nil
	})
}

// --smtp-max-connections-per-ip reaches the listener: with one session
// held from 127.0.0.1, its next connection is told 421 while 127.0.0.2 is
// greeted.
func TestServeCapsSMTPConnectionsPerAddress(t *testing.T) {
	env := storeEnv(t)
	env["COMPTOIR_SUPPORT_ADDRESS"] = "support@shop.test"
	smtpAddr := fmt.Sprintf("127.0.0.1:%d", freePort(t))
	startServer(t, env, "--smtp-listen", smtpAddr, "--smtp-max-connections-per-ip", "1")
	greeting := func(fromIP string) string {
		d := net.Dialer{Timeout: 5 * time.Second, LocalAddr: &net.TCPAddr{IP: net.ParseIP(fromIP)}}
		conn, err := d.Dial("tcp", smtpAddr)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { conn.Close() })
		conn.SetDeadline(time.Now().Add(30 * time.Second))
		line, _ := bufio.NewReader(conn).ReadString('\n')
		return line
	}
	if line := greeting("127.0.0.1"); !strings.HasPrefix(line, "220 ") {
		t.Fatalf("first connection from 127.0.0.1 greeted %q, want 220", line)
	}
	if line := greeting("127.0.0.1"); !strings.HasPrefix(line, "421 4.7.0 ") {
		t.Fatalf("second connection from 127.0.0.1 greeted %q, want 421", line)
	}
	if line := greeting("127.0.0.2"); !strings.HasPrefix(line, "220 ") {
		t.Fatalf("connection from 127.0.0.2 greeted %q, want 220", line)
	}
}

func TestServeTakesMailOnItsSMTPListener(t *testing.T) {
	env := storeEnv(t)
	env["COMPTOIR_SUPPORT_ADDRESS"] = "support@shop.test"
	smtpAddr := fmt.Sprintf("127.0.0.1:%d", freePort(t))
	startServer(t, env, "--smtp-listen", smtpAddr)
	msg := "From: Ana <ana@example.fr>\r\nTo: support@shop.test\r\nSubject: Ma commande\r\nMessage-ID: <m1@example.fr>\r\n\r\nBonjour, où en est ma commande ?\r\n"
	if err := smtp.SendMail(smtpAddr, nil, "ana@example.fr", []string{"support@shop.test"}, []byte(msg)); err != nil {
		t.Fatal(err)
	}
	if err := smtp.SendMail(smtpAddr, nil, "ana@example.fr", []string{"someone@else.test"}, []byte(msg)); err == nil {
		t.Fatal("mail to an address that is not the store's was accepted")
	}
	d, err := db.Open(context.Background(), env["COMPTOIR_DATABASE_URL"])
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	var n int
	if err := d.Read.QueryRow(`SELECT COUNT(*) FROM ticket_messages WHERE message_id = '<m1@example.fr>'`).Scan(&n); err != nil || n != 1 {
		t.Fatalf("stored messages: %d, %v", n, err)
	}
	var acks int
	d.Read.QueryRow(`SELECT COUNT(*) FROM outgoing_mail WHERE kind = 'ticket_ack' AND to_addr = 'ana@example.fr'`).Scan(&acks)
	if acks != 1 {
		t.Fatalf("acknowledgements queued: %d", acks)
	}
}
