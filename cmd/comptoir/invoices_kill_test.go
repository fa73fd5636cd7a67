package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"comptoir/internal/account"
	"comptoir/internal/app"
	"comptoir/internal/audit"
	"comptoir/internal/catalog"
	"comptoir/internal/config"
	"comptoir/internal/db"
	"comptoir/internal/money"
	"comptoir/internal/testlog"
	"comptoir/internal/testwait"
)

// TestKillHelperProcess is not a test by itself: it is the store process
// that TestInvoiceNumbersSurviveSIGKILL starts (this test binary, run again)
// and kills.
func TestKillHelperProcess(t *testing.T) {
	if os.Getenv("COMPTOIR_KILL_HELPER") != "1" {
		t.Skip("run by TestInvoiceNumbersSurviveSIGKILL")
	}
	if d, err := time.ParseDuration(os.Getenv("COMPTOIR_TEST_RESCUE_AFTER")); err == nil {
		// Each kill costs the jobs then running an attempt, and River's
		// delay grows with attempts: cap it too, so that after the last
		// restart every job runs within the test's wait.
		serveOptionsHook = func(o *app.Options) { o.RescueStuckJobsAfter, o.RetryBackoffCap = d, d }
	}
	args := os.Args
	for i, a := range args {
		if a == "--" {
			args = args[i+1:]
			break
		}
	}
	// Signals stop it as they do the real binary.
	ctx, stop := signalContext()
	defer stop()
	os.Exit(run(ctx, args, os.Stdout, os.Stderr, os.Getenv))
}

// storeProcess is `comptoir serve` in a process of its own.
type storeProcess struct {
	cmd  *exec.Cmd
	base string
	out  *testlog.Buffer
}

func startStoreProcess(t *testing.T, env map[string]string, extra ...string) *storeProcess {
	t.Helper()
	port := freePort(t)
	args := append([]string{"-test.run=^TestKillHelperProcess$", "--", "serve", "--listen", fmt.Sprintf("127.0.0.1:%d", port)}, extra...)
	cmd := exec.Command(os.Args[0], args...)
	cmd.Env = append(os.Environ(), "COMPTOIR_KILL_HELPER=1")
	for k, v := range env {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	out := &testlog.Buffer{}
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	p := &storeProcess{cmd: cmd, base: fmt.Sprintf("http://127.0.0.1:%d", port), out: out}
	t.Cleanup(func() { p.kill() })
	deadline := time.Now().Add(60 * time.Second)
	for {
		resp, err := http.Get(p.base + "/healthz")
		if err == nil {
			resp.Body.Close()
			return p
		}
		if time.Now().After(deadline) || cmd.ProcessState != nil {
			t.Fatalf("store process did not answer: %s", out.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// kill sends SIGKILL: no deferred function, no graceful shutdown runs.
func (p *storeProcess) kill() {
	if p.cmd.ProcessState == nil {
		p.cmd.Process.Kill()
		p.cmd.Wait()
	}
}

// order places one balance order over the API; it returns the order id
// when the store acknowledged it (201).
func order(client *http.Client, base, token, productID string) (string, bool) {
	body := `{"lines":[{"product_id":"` + productID + `","quantity":1}],"payment":"balance","consent":{"immediate_performance":true,"withdrawal_waiver":true}}`
	req, _ := http.NewRequest("POST", base+"/api/v1/orders", strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Content-Type", "application/json")
	resp, err := client.Do(req)
	if err != nil {
		return "", false
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusCreated {
		return "", false
	}
	var o struct {
		ID string `json:"id"`
	}
	if json.Unmarshal(b, &o) != nil || o.ID == "" {
		return "", false
	}
	return o.ID, true
}

// TestInvoiceNumbersSurviveSIGKILL kills the store with SIGKILL while
// checkouts are in flight, restarts it, and checks that the invoice
// numbers still run 1..n with no gap and no duplicate, and that every
// order the store acknowledged is paid and invoiced exactly once.
func TestInvoiceNumbersSurviveSIGKILL(t *testing.T) {
	if testing.Short() {
		t.Skip("starts and kills store processes")
	}
	env := storeEnv(t)
	ctx := context.Background()

	// Set up the store's data in this process, then close it.
	a := openSeedApp(t, env, "Kill Test", true)
	p := seedPosts(t, a)
	const buyers = 8
	tokens := make([]string, buyers)
	for i := range tokens {
		_, tokens[i] = seedBuyer(t, a, fmt.Sprintf("k%d@example.fr", i), 100_000, "kill")
	}
	a.Close()

	// Checkouts from every buyer at once; SIGKILL once 40 are
	// acknowledged, while others are still in flight.
	srv := startStoreProcess(t, env)
	var (
		mu    sync.Mutex
		acked []string
		wg    sync.WaitGroup
	)
	killed := make(chan struct{})
	var once sync.Once
	client := &http.Client{Timeout: 10 * time.Second}
	for i := range buyers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-killed:
					return
				default:
				}
				id, ok := order(client, srv.base, tokens[i], p.ID)
				if !ok {
					continue
				}
				mu.Lock()
				acked = append(acked, id)
				n := len(acked)
				mu.Unlock()
				if n >= 40 {
					once.Do(func() { srv.kill(); close(killed) })
				}
			}
		}()
	}
	wg.Wait()

	// Invoices are numbered after their payment commits: the kill may
	// leave some written but not numbered.
	d, err := db.Open(ctx, env["COMPTOIR_DATABASE_URL"])
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	pending := func() int {
		var n int
		d.Read.QueryRow(`SELECT COUNT(*) FROM invoices WHERE number IS NULL`).Scan(&n)
		return n
	}
	t.Logf("%d invoices left pending by SIGKILL", pending())

	// Restart on the same data; a few more checkouts. The restarted
	// store numbers what is pending (its sweep, then its commits' wake).
	srv = startStoreProcess(t, env)
	for i := range 5 {
		id, ok := order(client, srv.base, tokens[i], p.ID)
		if !ok {
			t.Fatalf("checkout after restart failed: %s", srv.out.String())
		}
		acked = append(acked, id)
	}
	testwait.Until(t, "the restarted store to number every pending invoice", func() bool { return pending() == 0 })
	srv.kill()

	rows, err := d.Read.Query(`SELECT seq FROM invoices WHERE series = 'F' ORDER BY year, seq`)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for rows.Next() {
		var seq int
		rows.Scan(&seq)
		n++
		if seq != n {
			rows.Close()
			t.Fatalf("invoice number %d where %d was due: a gap or a duplicate", seq, n)
		}
	}
	rows.Close()
	var paid int
	d.Read.QueryRow(`SELECT COUNT(*) FROM orders WHERE paid_at IS NOT NULL`).Scan(&paid)
	if paid != n || n < len(acked) {
		t.Fatalf("%d paid orders, %d invoices, %d acknowledged", paid, n, len(acked))
	}
	for _, id := range acked {
		var c int
		d.Read.QueryRow(`SELECT COUNT(*) FROM invoices WHERE source_type = 'order' AND source_id = $1`, id).Scan(&c)
		if c != 1 {
			t.Fatalf("acknowledged order %s has %d invoices", id, c)
		}
	}
	t.Logf("%d invoices, %d acknowledged orders, numbers unbroken across SIGKILL", n, len(acked))
}

// openSeedApp opens the store of env in this process, to fill it before any
// store process starts; the caller closes it.
func openSeedApp(t *testing.T, env map[string]string, storeName string, migrate bool) *app.App {
	t.Helper()
	cfg := &config.Config{Listen: "127.0.0.1:0", DataDir: env["COMPTOIR_DATA_DIR"], DatabaseURL: env["COMPTOIR_DATABASE_URL"],
		SupportAddress: "support@shop.test", StoreName: storeName, LogLevel: "error"}
	if err := cfg.Resolve(); err != nil {
		t.Fatal(err)
	}
	a, err := app.Open(context.Background(), cfg, app.Options{Migrate: migrate, PasswordParams: &account.FastHashParams})
	if err != nil {
		t.Fatal(err)
	}
	return a
}

// seedPosts creates the service product the loads buy (1 € a unit).
func seedPosts(t *testing.T, a *app.App) catalog.Product {
	t.Helper()
	p, err := a.Catalog.Create(context.Background(), seedAdmin, catalog.ProductInput{
		Slug: "posts", Kind: catalog.KindService, NameFR: "Publications", NameEN: "Posts", DescriptionFR: "Des publications.",
		DescriptionEN: "Some posts.", UnitPrice: money.MustNew(100, "EUR"), MinQuantity: 1, MaxQuantity: 10, ProcessingTime: time.Hour,
	})
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// seedBuyer creates a customer with credit on their balance and an API
// token named tokenName.
func seedBuyer(t *testing.T, a *app.App, email string, credit int64, tokenName string) (account.User, string) {
	t.Helper()
	ctx := context.Background()
	u, err := a.Accounts.CreateUser(ctx, account.CreateUserInput{Email: email, Role: account.RoleCustomer,
		Password: "correct horse battery", Language: "fr", Name: strings.ToUpper(email[:1]), Country: "FR", City: "Lyon"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := a.Ledger.AdminCredit(ctx, seedAdmin, u.ID, money.MustNew(credit, "EUR"), "test"); err != nil {
		t.Fatal(err)
	}
	tok, _, err := a.Accounts.CreateToken(ctx, u.ID, tokenName)
	if err != nil {
		t.Fatal(err)
	}
	return u, tok
}

// seedAdmin is who the seeding steps act as.
var seedAdmin = audit.Actor{ID: "usr_admin", Role: account.RoleAdmin}
