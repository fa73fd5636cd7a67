package app_test

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pquerna/otp"
	"github.com/pquerna/otp/totp"

	"comptoir/internal/account"
	"comptoir/internal/app"
	"comptoir/internal/clock"
	"comptoir/internal/config"
	"comptoir/internal/db"
	"comptoir/internal/db/dbtest"
	"comptoir/internal/secretbox"
)

// lockedBuffer collects log lines from any goroutine.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// node opens the store on dbURL as `comptoir serve` would (with workers,
// not started), with its own log; configure may set --secret-key.
type nodeOpener struct {
	t     *testing.T
	dbURL string
	clock *clock.Manual
}

func (o nodeOpener) open(dataDir string, workers bool, configure func(*config.Config)) (*app.App, *lockedBuffer, error) {
	o.t.Helper()
	cfg := &config.Config{Listen: "127.0.0.1:0", DataDir: dataDir, DatabaseURL: o.dbURL,
		SupportAddress: "support@shop.test", StoreName: "Comptoir Test", LogLevel: "info"}
	if configure != nil {
		configure(cfg)
	}
	if err := cfg.Resolve(); err != nil {
		o.t.Fatal(err)
	}
	logs := &lockedBuffer{}
	a, err := app.Open(context.Background(), cfg, app.Options{Clock: o.clock, Workers: workers, PasswordParams: &account.FastHashParams,
		Logger: slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelInfo}))})
	if err == nil {
		o.t.Cleanup(func() { a.Close() })
	}
	return a, logs, err
}

func totpNow(t *testing.T, secret string, at time.Time) string {
	t.Helper()
	c, err := totp.GenerateCodeCustom(secret, at, totp.ValidateOpts{Period: 30, Digits: otp.DigitsSix, Algorithm: otp.AlgorithmSHA1})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func storedTOTP(t *testing.T, d *db.DB, userID string) string {
	t.Helper()
	var s string
	if err := d.Read.QueryRow(`SELECT secret FROM user_totp WHERE user_id = $1`, userID).Scan(&s); err != nil {
		t.Fatal(err)
	}
	return s
}

// The first start makes <data-dir>/secret.key (0600, 64 hex characters)
// and the next starts reuse it; TOTP secrets reach the database sealed;
// the clear secret an earlier version wrote keeps working and is sealed by
// the next start, once; a node with another key warns once at start and
// cannot check codes; a key file that is not a key stops the start.
func TestSecretKeyFileAndSealingAtStart(t *testing.T) {
	ctx := context.Background()
	d, dbURL := dbtest.OpenURL(t)
	clk := clock.NewManual(time.Date(2026, 3, 8, 10, 0, 0, 0, time.UTC))
	nodes := nodeOpener{t: t, dbURL: dbURL, clock: clk}
	dataDir := t.TempDir()
	keyPath := filepath.Join(dataDir, "secret.key")

	a, logs, err := nodes.open(dataDir, true, nil)
	if err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(keyPath)
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("key file: %v %v, want mode 0600", fi, err)
	}
	keyBytes, _ := os.ReadFile(keyPath)
	if !regexp.MustCompile(`^[0-9a-f]{64}\n$`).Match(keyBytes) {
		t.Fatalf("key file holds %d bytes, not 64 hex characters and a newline", len(keyBytes))
	}
	if !strings.Contains(logs.String(), "created the key") {
		t.Errorf("the key's creation is not logged: %s", logs)
	}
	if leftovers, _ := filepath.Glob(filepath.Join(dataDir, ".secret.key-*")); len(leftovers) != 0 {
		t.Errorf("temporary files left: %v", leftovers)
	}
	newStaff := func(a *app.App, email string) account.User {
		u, err := a.Accounts.CreateUser(ctx, account.CreateUserInput{Email: email, Role: account.RoleAgent, Password: "correct horse battery", Language: "fr"})
		if err != nil {
			t.Fatal(err)
		}
		return u
	}
	agent := newStaff(a, "agent@shop.test")
	en, err := a.Accounts.BeginTOTP(ctx, agent.ID, "Comptoir Test")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := a.Accounts.ConfirmTOTP(ctx, agent.ID, totpNow(t, en.Secret, clk.Now()), ""); err != nil {
		t.Fatal(err)
	}
	if s := storedTOTP(t, d, agent.ID); !strings.HasPrefix(s, "v1:") || strings.Contains(s, en.Secret) {
		t.Fatalf("stored secret %q", s)
	}
	// A staff member who enrolled under an earlier version: clear secret.
	const oldSecret = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"
	veteran := newStaff(a, "veteran@shop.test")
	if _, err := d.Write.Exec(`INSERT INTO user_totp (user_id, secret, created_at, confirmed_at) VALUES ($1, $2, $3, $3)`,
		veteran.ID, oldSecret, clk.Now()); err != nil {
		t.Fatal(err)
	}
	clk.Advance(time.Minute)
	if err := a.Accounts.VerifySecondFactor(ctx, veteran.ID, totpNow(t, oldSecret, clk.Now())); err != nil {
		t.Fatalf("clear secret: %v", err)
	}
	a.Close()

	// A CLI command (no workers) with a data directory of its own seals
	// nothing with its own key.
	if _, _, err := nodes.open(t.TempDir(), false, nil); err != nil {
		t.Fatal(err)
	}
	if s := storedTOTP(t, d, veteran.ID); s != oldSecret {
		t.Fatalf("a CLI command sealed with its own key: %q", s)
	}

	// The next start: same key file, the clear secret sealed.
	a, logs, err = nodes.open(dataDir, true, nil)
	if err != nil {
		t.Fatal(err)
	}
	if again, _ := os.ReadFile(keyPath); !bytes.Equal(again, keyBytes) || strings.Contains(logs.String(), "created the key") {
		t.Fatal("the key file was not reused")
	}
	if !strings.Contains(logs.String(), "count=1") || strings.Contains(logs.String(), "level=WARN") {
		t.Errorf("start-up log: %s", logs)
	}
	if s := storedTOTP(t, d, veteran.ID); !strings.HasPrefix(s, "v1:") || strings.Contains(s, oldSecret) {
		t.Fatalf("after the start the old secret is stored as %q", s)
	}
	clk.Advance(time.Minute)
	for id, secret := range map[string]string{agent.ID: en.Secret, veteran.ID: oldSecret} {
		if err := a.Accounts.VerifySecondFactor(ctx, id, totpNow(t, secret, clk.Now())); err != nil {
			t.Fatalf("code after the restart: %v", err)
		}
	}
	sealed := storedTOTP(t, d, veteran.ID)
	a.Close()
	// And the one after: nothing left to seal.
	a, logs, err = nodes.open(dataDir, true, nil)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(logs.String(), "sealed") || storedTOTP(t, d, veteran.ID) != sealed {
		t.Fatalf("the third start sealed again: %s", logs)
	}
	a.Close()

	// A node given another key: one warning at start, and codes refused
	// with ErrSecretUnreadable.
	other := secretbox.NewKey()
	a, logs, err = nodes.open(t.TempDir(), true, func(c *config.Config) { c.SecretKey = other.Hex() })
	if err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(logs.String(), "level=WARN"); n != 1 || !strings.Contains(logs.String(), "unreadable=2") {
		t.Fatalf("start with another key: %d warnings: %s", n, logs)
	}
	if strings.Contains(logs.String(), en.Secret) || strings.Contains(logs.String(), oldSecret) {
		t.Fatal("a secret reached the log")
	}
	clk.Advance(time.Minute)
	if err := a.Accounts.VerifySecondFactor(ctx, agent.ID, totpNow(t, en.Secret, clk.Now())); !errors.Is(err, account.ErrSecretUnreadable) {
		t.Fatalf("code on a node with another key: %v", err)
	}

	// A key file that is not a key: configuration error, file kept.
	badDir := t.TempDir()
	os.WriteFile(filepath.Join(badDir, "secret.key"), []byte("not a key\n"), 0o600)
	if _, _, err := nodes.open(badDir, true, nil); !config.IsUsage(err) || !strings.Contains(err.Error(), "secret.key") {
		t.Fatalf("bad key file: %v", err)
	}
	if b, _ := os.ReadFile(filepath.Join(badDir, "secret.key")); string(b) != "not a key\n" {
		t.Fatal("a bad key file was replaced")
	}
}
